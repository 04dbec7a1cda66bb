"""``simsme calibrate``: a joint posterior over the unsourced parameters, by ABC-SMC (pyabc).

Method (docs/model.md, "Calibration with uncertainty", says why this one):

* **Parameters and priors**: every parameter of ``simsme/data/priors.yaml``
  (:func:`~simsme.calibration.posterior.load_priors`), uniform or log-uniform over the range the
  parameter table states. pyabc works on the sampling scale (the logarithm for log-uniform
  priors), so its kernels are scale-free for rates.
* **Targets**: the value targets of ``targets.yaml`` with ``role: fit`` (held-out ones are never
  seen). The distance of a parameter set is the largest error over the fitted targets, each in
  units of its tolerance, ``max_i |simulated_i - value_i| / tolerance_i``: a distance of at most
  1 means every fitted target passes the check-model rule. The simulated value is the mean over
  ``replications`` kernel replications.
* **ABC-SMC** (Toni et al. 2009; Beaumont et al. 2009; pyabc: Klinger, Rickert and Hasenauer
  2018, Schaelte et al. 2022): generation 0 draws from the prior; each later generation perturbs
  the last one (a truncated Gaussian kernel per parameter, Silverman's bandwidth or twice the
  particles' variance, :func:`product_kernel`) and accepts particles within a threshold that
  falls to the median distance of the previous generation, never below ``final_epsilon`` (1
  tolerance). It stops when the threshold reaches it, or at ``generations``, or when the
  acceptance rate falls below ``min_acceptance``, or after ``max_minutes``.
* **Common random numbers**: every simulation uses the same replication seeds (the calibration
  seed), so two parameter sets differ by their parameters only, as in the Sobol sweep. The
  replication noise at the calibration's population is small against the tolerances
  (docs/model.md reports it, and the parameter-recovery test fits targets simulated with another
  seed).
* **Reproducible whatever the workers**: each generation's n particles are n jobs, job i seeded
  with the i-th word of ``SeedSequence(seed, spawn_key=(1, t + 1)).generate_state(n)``; a job
  simulates until it has one accepted particle. The jobs run on a local process pool or a Dask cluster (same results).
* **Resumable**: every generation is stored in an SQLite database in the calibration folder
  (pyabc's history) when it completes; each generation starts by loading the database, so a run
  killed or interrupted goes on from the last completed generation, with the same results as an
  uninterrupted one.

The folder (default ``results/calibration-<scenario>-<key digest>/``) holds ``abc.db``,
``calibration.json`` (settings and key), and when it finishes the posterior ensemble
``posterior.parquet`` (:mod:`simsme.calibration.posterior`) and its diagnostics
(``generations.csv``, ``identifiability.csv``, ``fitted_targets.csv``, ``diagnostics.json``,
``marginals.png``, ``pairs.png``). It is a results folder like a run's
(:mod:`simsme.results.folder`): written only when empty or simsme's own calibration, by one
writer at a time, with every file recorded in its marker before it is written.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsme.calibration.posterior import (
    Posterior,
    Prior,
    effective_sample_size,
    weighted_quantile,
    write_posterior,
)
from simsme.calibration.targets import Target, TargetSet
from simsme.errors import SimsmeError
from simsme.scenario.schema import Scenario

DB_NAME = "abc.db"
SETTINGS_NAME = "calibration.json"
#: What this module's sampling does, in the calibration key: change it with the sampling (kernel,
#: thresholds, seeding), so that a folder of the old sampler is never resumed with the new one.
SAMPLER = (
    "product of truncated Gaussian kernels (bandwidth rule in the settings); threshold the "
    "weighted median of the last distances, floored at the final one; job seeds "
    "SeedSequence(seed, (1, t + 1))"
)
#: Every file a calibration may write in its folder (SQLite's journal files included, which a
#: killed calibration can leave behind), recorded in the folder's marker before it is written.
OWNED_NAMES = (
    SETTINGS_NAME,
    DB_NAME,
    *(DB_NAME + suffix for suffix in ("-journal", "-wal", "-shm")),
    "posterior.parquet",
    "generations.csv",
    "identifiability.csv",
    "fitted_targets.csv",
    "diagnostics.json",
    "marginals.png",
    "pairs.png",
)
EXECUTORS = ("local", "dask")


#: Kernel bandwidth rules (:func:`product_kernel`): Silverman's (the shipped calibration) and
#: twice the particles' variance (Beaumont et al. 2009), for a steadier ESS at more simulations.
BANDWIDTHS = ("silverman", "wide")


@dataclass(frozen=True)
class AbcSettings:
    """How the ABC-SMC runs (every field is part of the calibration's key)."""

    particles: int = 200
    generations: int = 16
    replications: int = 1
    final_epsilon: float = 1.0
    quantile: float = 0.5
    min_acceptance: float = 0.01
    seed: int = 20221116
    bandwidth: str = "silverman"

    def __post_init__(self) -> None:
        problems = []
        if self.bandwidth not in BANDWIDTHS:
            problems.append(
                f"--bandwidth: expected one of {', '.join(BANDWIDTHS)}, got {self.bandwidth!r}"
            )
        if self.particles < 10:
            problems.append(f"--particles: expected at least 10, got {self.particles}")
        if self.generations < 1:
            problems.append(f"--generations: expected at least 1, got {self.generations}")
        if self.replications < 1:
            problems.append(f"--replications: expected at least 1, got {self.replications}")
        if not self.final_epsilon > 0:
            problems.append(f"--final-epsilon: expected > 0 tolerances, got {self.final_epsilon}")
        if not 0 < self.quantile < 1:
            problems.append(f"quantile: expected between 0 and 1, got {self.quantile}")
        if self.seed < 0:
            problems.append(f"--seed: expected a non-negative integer, got {self.seed}")
        if not 0 <= self.min_acceptance < 1:
            problems.append(f"--min-acceptance: expected in [0, 1), got {self.min_acceptance}")
        if problems:
            raise SimsmeError("; ".join(problems))


# ---------------------------------------------------------------------------------------------
# The model pyabc calls: parameters on the sampling scale -> fitted statistics


def sampling_names(priors: dict[str, Prior]) -> dict[str, str]:
    """pyabc's parameter names (``p00``, ``p01``, ...) for the dotted paths, in the priors' order.

    pyabc stores parameters by name in its database; short identifiers keep it independent of
    the characters a path holds (``*``, ``.``)."""
    return {f"p{i:02d}": path for i, path in enumerate(priors)}


def sampling_bounds(prior: Prior) -> tuple[float, float]:
    """A prior's range on pyabc's sampling scale (the logarithm for a log-uniform prior)."""
    if prior.log:
        return math.log(prior.low), math.log(prior.high)
    return prior.low, prior.high


def to_values(theta: dict[str, float], priors: dict[str, Prior]) -> dict[str, float]:
    """Parameter values (dotted path -> value) from pyabc's sampling-scale parameters."""
    out = {}
    for name, path in sampling_names(priors).items():
        x = float(theta[name])
        out[path] = math.exp(x) if priors[path].log else x
    return out


def fit_targets(targets: TargetSet) -> list[Target]:
    """The targets calibrate fits: value targets of the checked scenario with ``role: fit``."""
    fitted = targets.by_role("fit")
    bad = [t.name for t in fitted if t.kind != "value" or t.variant != "scenario"]
    if bad:
        raise SimsmeError(
            f"targets {bad}: calibrate fits value targets of the checked scenario only; give "
            "these 'role: held_out' (check-model --ensemble checks them)"
        )
    if not fitted:
        raise SimsmeError("the targets file has no target with 'role: fit' to calibrate against")
    return fitted


class TargetModel:
    """Simulate the fitted statistics for one parameter set (picklable: it travels to workers).

    ``scenario`` is the checked scenario as JSON data; each worker process validates it once.
    """

    def __init__(
        self,
        scenario: dict[str, Any],
        priors: dict[str, Prior],
        statistics: dict[str, str],
        replications: int,
        seed: int,
    ) -> None:
        self.scenario = scenario
        self.priors = priors
        self.statistics = statistics  # target name -> statistic
        self.replications = replications
        self.seed = seed
        self._validated: Scenario | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_validated": None}

    def simulate(self, values: dict[str, float]) -> dict[str, float]:
        """Mean over the replications of each fitted statistic, at parameter ``values``."""
        from simsme.calibration.check import run_statistics
        from simsme.scenario.loading import apply_overrides, validate_scenario

        if self._validated is None:
            self._validated = validate_scenario(self.scenario, "calibrate")
        scenario = apply_overrides(self._validated, list(values.items()), source="calibrate")
        stats = run_statistics(scenario, self.replications, seed=self.seed, threads=1)
        out = {}
        for name, statistic in self.statistics.items():
            column = stats[statistic].to_numpy(float)
            out[name] = float(np.nanmean(column)) if np.isfinite(column).any() else math.nan
        return out

    def __call__(self, theta: dict[str, float]) -> dict[str, float]:
        return self.simulate(to_values(dict(theta), self.priors))


class ToleranceDistance:
    """Largest error over the fitted targets, each in units of its tolerance (inf if undefined)."""

    def __init__(self, tolerances: dict[str, float]) -> None:
        self.tolerances = tolerances

    def __call__(self, x: dict[str, float], x0: dict[str, float]) -> float:
        worst = 0.0
        for name, tol in self.tolerances.items():
            error = abs(float(x[name]) - float(x0[name])) / tol
            if not math.isfinite(error):
                return math.inf
            worst = max(worst, error)
        return worst


# ---------------------------------------------------------------------------------------------
# pyabc pieces: a sampler seeded per job, and a quantile threshold with a floor


def _sample_job(payload: bytes, max_simulations: float, seed: int) -> tuple[Any, int]:
    """One job: simulate until one particle is accepted (or ``max_simulations`` are spent)."""
    import cloudpickle

    simulate_one, sample_factory = cloudpickle.loads(payload)
    np.random.seed(seed)  # pyabc's proposals draw from numpy's global generator
    random.seed(seed)
    sample = sample_factory()
    done = 0
    while done < max_simulations:
        particle = simulate_one()
        done += 1
        sample.append(particle)
        if particle.accepted:
            break
    return sample, done


def _make_sampler(seed: int, map_: Callable[[Callable, Sequence[int]], list]) -> Any:
    from pyabc.sampler import Sampler

    class SeededMappingSampler(Sampler):
        """pyabc's MappingSampler with every job seeded from the calibration seed: the accepted
        population depends on the seed only, not on the workers or the order jobs finish."""

        def sample_until_n_accepted(
            self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None
        ):
            import cloudpickle

            payload = cloudpickle.dumps((simulate_one, self.sample_factory))
            seeds = np.random.SeedSequence(seed, spawn_key=(1, t + 1)).generate_state(n)
            # Every job may spend the generation's whole budget: a cap per job (budget / n)
            # would end a generation whenever one job is unlucky, far above the minimum rate.
            job = functools.partial(_sample_job, payload, max_eval)
            results = map_(job, [int(s) for s in seeds])
            sample = self._create_empty_sample()
            evaluations = 0
            for part, done in results:
                sample += part
                evaluations += done
            self.nr_evaluations_ = evaluations
            if sample.n_accepted < n or evaluations > max_eval:
                sample.ok = False  # the acceptance rate fell below the minimum
            return sample

    return SeededMappingSampler()


def product_kernel(bounds: dict[str, tuple[float, float]], bandwidth: str = "silverman") -> Any:
    """The perturbation kernel: one Gaussian kernel density per parameter, truncated to the
    prior's range (:class:`BoundedProductKernel`), with the ``bandwidth`` rule."""
    from pyabc.transition import Transition

    class BoundedProductKernel(Transition):
        """Product over parameters of one-dimensional weighted Gaussian kernel densities, each
        truncated to its parameter's range.

        Why a product: with one joint 24-dimensional kernel (pyabc's
        MultivariateNormalTransition) the importance weights prior/proposal collapsed (an
        effective sample size of 4 of 200 particles after one generation, on the baseline):
        most parameters stay near their prior, and a mixture of 200 Gaussians is far from flat
        in 24 dimensions. Why truncated: an untruncated kernel puts part of its mass outside the
        range, pyabc draws again until all 24 coordinates fall inside, and once particles crowd
        to an edge that redrawing cost more than the simulations. Here each coordinate is drawn
        again on its own until it falls inside (kernel index and noise together), so its density
        is the mixture restricted to the range and divided by the mass left inside, which
        :meth:`pdf` computes exactly from normal CDFs; the weights stay exact.

        The bandwidth (``bandwidth``, :data:`BANDWIDTHS`): ``"silverman"`` is Silverman's rule
        per parameter on the weighted sample (pyabc's default; the shipped calibration);
        ``"wide"`` gives each kernel twice the particles' weighted variance (Beaumont, Cornuet,
        Marin and Robert 2009, Biometrika 96(4); Filippi et al. 2013, Stat. Appl. Genet. Mol.
        Biol. 12(1)). Silverman's kernels, a third to a half as wide, make bumpy estimates of
        the flat marginals of parameters the targets leave at their prior; the bumps multiply
        over some twenty parameters into weights that can vary by orders of magnitude (in one
        recovery study the ESS fell to 2-4 of 200, BENCHMARKS.md). The wide kernel keeps the
        ESS near half the particles at about 3.4 times the simulations.
        """

        def fit(self, X: pd.DataFrame, w: np.ndarray) -> None:
            from scipy.stats import norm

            self._names = list(X.columns)
            self._x = X.to_numpy(float)
            self._w = np.asarray(w, float) / np.sum(w)
            lo = np.array([bounds[n][0] for n in self._names])
            hi = np.array([bounds[n][1] for n in self._names])
            mean = self._w @ self._x
            sd = np.sqrt(self._w @ (self._x - mean) ** 2)
            if bandwidth == "wide":
                scale = np.sqrt(2.0)
            else:  # Silverman's rule on the effective sample size
                ess = 1.0 / np.square(self._w).sum()
                scale = (4.0 / (3.0 * ess)) ** 0.2
            self._h = np.maximum(scale * sd, 1e-6 * (hi - lo))
            self._lo, self._hi = lo, hi
            inside = norm.cdf((hi - self._x) / self._h) - norm.cdf((lo - self._x) / self._h)
            self._mass = self._w @ inside  # per parameter: mixture mass inside the range
            self._cum = np.cumsum(self._w)

        def rvs_single(self) -> Any:
            from pyabc import Parameter

            n = len(self._w)
            out = {}
            for k, name in enumerate(self._names):
                while True:
                    j = min(int(np.searchsorted(self._cum, np.random.random(), "right")), n - 1)
                    value = self._x[j, k] + self._h[k] * np.random.standard_normal()
                    if self._lo[k] <= value <= self._hi[k]:
                        break
                out[name] = float(value)
            return Parameter(out)

        def pdf(self, x: Any) -> Any:
            if isinstance(x, pd.DataFrame):
                points = x[self._names].to_numpy(float)
                single = False
            else:
                points = np.array([[float(x[n]) for n in self._names]])
                single = True
            z = (points[:, None, :] - self._x[None, :, :]) / self._h  # point x particle x dim
            kernel = np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * self._h)
            marginal = np.einsum("j,ijk->ik", self._w, kernel) / self._mass
            inside = (points >= self._lo) & (points <= self._hi)
            density = np.where(inside.all(axis=1), marginal.prod(axis=1), 0.0)
            return float(density[0]) if single else density

    return BoundedProductKernel()


def next_threshold(history: Any, quantile: float, floor: float) -> float:
    """The acceptance threshold of the next generation: the weighted ``quantile`` of the last
    completed generation's distances (pyabc's QuantileEpsilon rule), never below ``floor``;
    infinite for generation 0 (the prior). Computed from the stored history, so a resumed run
    uses the threshold an uninterrupted one would."""
    if history is None or history.max_t < 0:
        return math.inf
    last = history.get_weighted_distances(t=history.max_t)
    value = weighted_quantile(last["distance"].to_numpy(float), last["w"].to_numpy(float), quantile)
    return max(float(value), floor)


# ---------------------------------------------------------------------------------------------
# The calibration folder and the run


def calibration_key(
    scenario: Scenario, priors: dict[str, Prior], fitted: list[Target], settings: AbcSettings
) -> dict[str, Any]:
    """What a calibration's results depend on; a folder is resumed only under the same key."""
    from importlib import metadata

    from simsme.results.fingerprint import code_fingerprint
    from simsme.scenario.loading import scenario_hash

    return {
        "scenario_hash": scenario_hash(scenario),
        # the order matters: pyabc stores parameter i under the name p<i>
        "parameters": list(priors),
        "priors": {k: v.model_dump(mode="json", exclude={"reason"}) for k, v in priors.items()},
        # the model's code, this sampler's (its kernel sets the weights) and pyabc's
        "code": code_fingerprint(),
        "sampler": SAMPLER,
        "pyabc": metadata.version("pyabc"),
        "targets": {t.name: [t.statistic, t.value, t.tolerance] for t in fitted},
        # the stopping rules (generations, min_acceptance) are left out: a calibration stopped
        # by them can be continued with other values
        "settings": {
            k: v for k, v in asdict(settings).items() if k not in ("generations", "min_acceptance")
        },
    }


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]


def default_folder(scenario: Scenario, key: dict[str, Any], root: str | Path = "results") -> Path:
    return Path(root) / f"calibration-{scenario.name}-{key_digest(key)}"


@dataclass
class GenerationRecord:
    generation: int
    epsilon: float
    particles: int
    simulations: int
    acceptance_rate: float
    ess: float
    seconds: float


@dataclass
class CalibrationResult:
    folder: Path
    posterior: Posterior
    generations: pd.DataFrame
    stop_reason: str
    resumed_from: int  # generations found completed when this call started


def _mapper(executor: str, workers: int, scheduler: str | None) -> tuple[Callable, Callable]:
    """A map function for the jobs and a function that shuts it down."""
    if executor not in EXECUTORS:
        raise SimsmeError(f"--executor: expected one of {list(EXECUTORS)}, got '{executor}'")
    if executor == "dask":
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise SimsmeError(
                "--executor dask needs dask.distributed: pip install 'simsme[dask]'"
            ) from None
        if scheduler:
            client = Client(scheduler)
            cluster = None
        else:
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)

        def dask_map(fn: Callable, items: Sequence[int]) -> list:
            return client.gather(client.map(fn, list(items), pure=False))

        def close() -> None:
            client.close()
            if cluster is not None:
                cluster.close()

        return dask_map, close
    if workers <= 1:
        return (lambda fn, items: [fn(i) for i in items]), (lambda: None)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the parent may hold numba's threads and pyabc's database connection
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))

    def pool_map(fn: Callable, items: Sequence[int]) -> list:
        return list(pool.map(fn, items, chunksize=1))

    return pool_map, lambda: pool.shutdown(cancel_futures=True)


def _generations(history: Any) -> pd.DataFrame:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    rows = []
    for row in pops.itertuples():
        _, w = history.get_distribution(t=int(row.t))
        n = len(w)
        rows.append(
            {
                "generation": int(row.t),
                "epsilon": float(row.epsilon),
                "particles": n,
                "simulations": int(row.samples),
                "acceptance_rate": n / max(int(row.samples), 1),
                "ess": effective_sample_size(np.asarray(w)),
            }
        )
    return pd.DataFrame(rows)


def calibrate_abc(
    scenario: Scenario,
    targets: TargetSet,
    priors: dict[str, Prior],
    settings: AbcSettings,
    folder: str | Path | None = None,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    max_minutes: float | None = None,
    log: Callable[[str], None] | None = None,
) -> CalibrationResult:
    """Run (or resume) the ABC-SMC calibration of the module docstring; see there."""
    from simsme.results.folder import ResultsFolder

    fitted = fit_targets(targets)
    key = calibration_key(scenario, priors, fitted, settings)
    folder = Path(folder) if folder is not None else default_folder(scenario, key)
    # the project's rules for a results folder: written only when empty or simsme's own, one
    # writer at a time (a lock), every file recorded before it is written
    with ResultsFolder.open(folder, "calibration") as results:
        if results.marker.get("kind") != "calibration" and results.owned:
            raise SimsmeError(
                f"--out: '{folder}' holds simsme's {results.marker.get('kind')} results, not a "
                "calibration: choose another --out"
            )
        results.set_kind("calibration")
        results.claim(*OWNED_NAMES)
        return _calibrate_in(
            folder, key, scenario, targets, priors, settings, fitted,
            workers, executor, scheduler, max_minutes, log,
        )  # fmt: skip


def _calibrate_in(
    folder: Path,
    key: dict[str, Any],
    scenario: Scenario,
    targets: TargetSet,
    priors: dict[str, Prior],
    settings: AbcSettings,
    fitted: list[Target],
    workers: int | None,
    executor: str,
    scheduler: str | None,
    max_minutes: float | None,
    log: Callable[[str], None] | None,
) -> CalibrationResult:
    """:func:`calibrate_abc` in its folder, opened and locked."""
    import pyabc

    from simsme.results.folder import write_json_atomic

    say = log or (lambda message: None)
    settings_file = folder / SETTINGS_NAME
    db_file = folder / DB_NAME
    if settings_file.is_file():
        stored = json.loads(settings_file.read_text(encoding="utf-8"))
        if stored.get("key") != key:
            changed = sorted(k for k in key if stored.get("key", {}).get(k) != key[k])
            raise SimsmeError(
                f"{folder}: holds a calibration with other {', '.join(changed)}; give another "
                "--out folder (or delete this one) to start a new calibration"
            )
    elif db_file.exists():
        raise SimsmeError(f"{folder}: has {DB_NAME} but no {SETTINGS_NAME}; delete the folder")
    else:
        write_json_atomic({"key": key, "digest": key_digest(key)}, settings_file)

    # pyabc's INFO lines go to our log (one line per generation is written below)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("pyabc").setLevel(logging.WARNING)

    names = sampling_names(priors)
    bounds = {name: sampling_bounds(priors[p]) for name, p in names.items()}
    prior = pyabc.Distribution(
        **{name: pyabc.RV("uniform", lo, hi - lo) for name, (lo, hi) in bounds.items()}
    )
    model = TargetModel(
        scenario.model_dump(mode="json"),
        priors,
        {t.name: t.statistic for t in fitted},
        settings.replications,
        settings.seed,
    )
    distance = ToleranceDistance({t.name: float(t.tolerance) for t in fitted})
    observed = {t.name: float(t.value) for t in fitted}
    db = "sqlite:///" + str(db_file.resolve())
    workers = workers or os.cpu_count() or 1
    map_, close = _mapper(executor, workers, scheduler)
    started = time.monotonic()
    stop_reason = ""
    resumed_from = 0
    try:
        for attempt in range(settings.generations + 1):
            stored = None
            if db_file.exists():
                try:
                    stored = pyabc.History(db)
                    stored.id = 1
                    last_stored = stored.max_t
                except Exception as exc:  # pyabc raises ValueError, sqlalchemy its own errors
                    raise SimsmeError(
                        f"{db_file}: not a readable calibration history ({exc}); it was "
                        "probably killed while being created: delete the folder and start again"
                    ) from None
                if last_stored is None:
                    # killed between pyabc's two first commits (the run record, then the
                    # observed data): nothing was computed, so start the history again
                    db_file.unlink()
                    stored = None
            threshold = next_threshold(stored, settings.quantile, settings.final_epsilon)
            abc = pyabc.ABCSMC(
                model,
                prior,
                distance,
                population_size=settings.particles,
                transitions=product_kernel(bounds, settings.bandwidth),
                eps=pyabc.epsilon.ConstantEpsilon(threshold),
                sampler=_make_sampler(settings.seed, map_),
            )
            history = abc.load(db, 1) if stored is not None else abc.new(db, observed)
            done = history.max_t + 1
            if attempt == 0 and done:
                resumed_from = done
                say(f"resuming {folder}: {done} generation(s) done")
            if done > 0:
                last = _generations(history).iloc[-1]
                if last["epsilon"] <= settings.final_epsilon:
                    stop_reason = f"threshold reached {settings.final_epsilon:g} tolerances"
                    break
                if last["acceptance_rate"] < settings.min_acceptance:
                    stop_reason = f"acceptance rate below {settings.min_acceptance:g}"
                    break
            if done >= settings.generations:
                stop_reason = f"{settings.generations} generations"
                break
            if max_minutes is not None and (time.monotonic() - started) / 60 >= max_minutes:
                stop_reason = f"--max-minutes {max_minutes:g} reached"
                break
            tick = time.monotonic()
            history = abc.run(
                max_nr_populations=1,
                minimum_epsilon=settings.final_epsilon,
                min_acceptance_rate=settings.min_acceptance,
            )
            table = _generations(history)
            if len(table) == done:  # the generation did not complete (acceptance too low)
                stop_reason = f"acceptance rate below {settings.min_acceptance:g}"
                break
            g = table.iloc[-1]
            say(
                f"generation {int(g['generation'])}: threshold {g['epsilon']:.3g} tolerances, "
                f"{int(g['simulations'])} simulations, acceptance {g['acceptance_rate']:.3f}, "
                f"ESS {g['ess']:.0f} ({time.monotonic() - tick:.0f} s)"
            )
        # the outputs are written under the lock, from one generation read once
        history = pyabc.History(db)
        history.id = 1
        if history.max_t < 0:
            raise SimsmeError(f"{folder}: no generation completed ({stop_reason})")
        generations = _generations(history)
        final = _final_population(history, priors)
        posterior = _posterior(final, generations, priors, fitted, settings, stop_reason)
        write_outputs(folder, posterior, generations, final, fitted)
    finally:
        close()
    return CalibrationResult(folder, posterior, generations, stop_reason, resumed_from)


def _final_population(history: Any, priors: dict[str, Prior]) -> pd.DataFrame:
    """The last generation, one row per particle: parameter values (dotted paths, natural
    scale), ``weight`` (normalised), ``distance`` and the fitted statistics (``stat:<target>``),
    all read from pyabc's particles together (so they stay aligned), in a canonical order."""
    t = int(history.max_t)
    rows = []
    for particle in history.get_population(t=t).particles:
        row = to_values(dict(particle.parameter), priors)
        row["weight"] = float(particle.weight)
        row["distance"] = float(particle.distance)
        for key, value in particle.sum_stat.items():
            row[f"stat:{key}"] = float(value)
        rows.append(row)
    frame = pd.DataFrame(rows).sort_values(list(priors), kind="stable").reset_index(drop=True)
    frame["weight"] = frame["weight"] / frame["weight"].sum()
    frame.attrs["generation"] = t
    return frame


def _posterior(
    final: pd.DataFrame,
    generations: pd.DataFrame,
    priors: dict[str, Prior],
    fitted: list[Target],
    settings: AbcSettings,
    stop_reason: str,
) -> Posterior:
    table = final[[*priors, "weight", "distance"]].copy()
    table.insert(0, "particle", np.arange(len(table)))
    meta = {
        "method": "ABC-SMC (pyabc)",
        "fitted_targets": [t.name for t in fitted],
        "generation": int(final.attrs["generation"]),
        "epsilon": float(generations.iloc[-1]["epsilon"]),
        "stop_reason": stop_reason,
        "settings": asdict(settings),
        "written": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return Posterior(table, priors, meta, source="calibration")


def fitted_statistics(final: pd.DataFrame, fitted: list[Target]) -> pd.DataFrame:
    """The fitted targets at the final generation: target, weighted median and 90% interval of
    each statistic over the accepted particles' simulations (undefined ones left out)."""
    weights = final["weight"].to_numpy(float)
    rows = []
    for t in fitted:
        values = final[f"stat:{t.name}"].to_numpy(float)
        ok = np.isfinite(values)
        if ok.any():
            lo, med, hi = weighted_quantile(values[ok], weights[ok], [0.05, 0.5, 0.95])
        else:
            lo = med = hi = math.nan
        rows.append(
            {
                "target": t.name,
                "value": t.value,
                "tolerance": t.tolerance,
                "posterior_median": med,
                "posterior_low": lo,
                "posterior_high": hi,
                "within_tolerance": bool(abs(med - t.value) <= t.tolerance),
            }
        )
    return pd.DataFrame(rows)


#: An effective sample size below this share of the particles is reported as a warning.
LOW_ESS_SHARE = 0.1


def ess_warning(posterior: Posterior) -> str | None:
    """A warning when the posterior's effective sample size is below :data:`LOW_ESS_SHARE` of
    its particles: a few particles then carry the weight, so the 90% intervals are too narrow
    and a "pinned down" verdict can be an artefact (Liu 2001, s2.5.3, for the ESS rule)."""
    ess, n = posterior.ess(), len(posterior)
    if ess >= LOW_ESS_SHARE * n:
        return None
    return (
        f"effective sample size {ess:.0f} of {n} particles (below {LOW_ESS_SHARE:.0%}): a few "
        "particles carry the posterior, so its intervals are too narrow and its verdicts "
        "unreliable; run again with more --particles or --bandwidth wide"
    )


def write_outputs(
    folder: Path,
    posterior: Posterior,
    generations: pd.DataFrame,
    final: pd.DataFrame,
    fitted: list[Target],
) -> None:
    """Write the posterior ensemble and its diagnostics into the calibration folder."""
    from simsme.results.folder import write_csv_atomic, write_json_atomic

    write_posterior(posterior, folder / "posterior.parquet")
    write_csv_atomic(generations, folder / "generations.csv")
    widths = posterior.widths()
    write_csv_atomic(widths, folder / "identifiability.csv")
    fit = fitted_statistics(final, fitted)
    write_csv_atomic(fit, folder / "fitted_targets.csv")
    write_json_atomic(
        {
            **posterior.meta,
            "particles": len(posterior),
            "ess": posterior.ess(),
            "ess_warning": ess_warning(posterior),
            "median": posterior.median(),
            "verdicts": dict(zip(widths["parameter"], widths["verdict"], strict=True)),
        },
        folder / "diagnostics.json",
    )
    from simsme.plots.posterior import plot_marginals, plot_pairs

    plot_marginals(posterior, folder)
    plot_pairs(posterior, folder)
