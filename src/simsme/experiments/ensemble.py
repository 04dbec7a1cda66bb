"""Runs and comparisons over a posterior ensemble: parameter and stochastic uncertainty together.

``simsme run SCENARIO --ensemble FILE`` and ``simsme compare A B --ensemble FILE`` (issue 13).
A single run answers "what does the model say at these parameter values?": its confidence
interval is the Monte-Carlo (stochastic) uncertainty of the replications only. The calibration's
posterior (:mod:`simsme.calibration.posterior`) says which parameter values the targets leave
plausible; running the scenario at parameter sets drawn from it propagates that uncertainty.

Design (common random numbers, Glasserman and Yao 1992; Law 2015, *Simulation Modeling and
Analysis*, section 11.2): every parameter set -- the posterior's median (``draw = -1``) and
``draws`` sets resampled by weight (:meth:`Posterior.draws`, equally weighted) -- runs the
*same* ``replications`` random streams (the same seed), and in a comparison both arms do too.
So differences between draws are parameter effects, not noise, and a scenario compared with
itself gives exactly 0 in every draw.

Summaries, per statistic:

* *at the posterior median*: the mean over replications with its Student-t interval
  (:func:`simsme.results.summary.mean_ci`): stochastic uncertainty only;
* *with parameter uncertainty*: the central interval of the equal-weight mixture over draws of
  N(mean_d, se_d^2) (:func:`simsme.calibration.posterior.mixture_interval`; law of total
  variance). Each draw's standard error is scaled by t_{n-1}/z so that a posterior concentrated
  on one point gives back exactly the t interval of the first bullet (a normal mixture with the
  plain standard errors would be narrower than the t interval for few replications);
* ``parameter_share``: var(draw means) / (var(draw means) + mean(se_d^2)), the share of the
  mixture's variance due to the parameters (population variance over draws, as in the law of
  total variance).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simsme.calibration.posterior import Posterior, apply_draw, mixture_interval
from simsme.errors import SimsmeError
from simsme.results.summary import bounds_of, mean_ci
from simsme.scenario.schema import Scenario

MEDIAN_DRAW = -1
"""``draw`` of the posterior-median parameter set (the reference set) in the tables."""

METRICS: tuple[str, ...] = (
    "restricted_mean_ttfe_weeks",
    "share_exported_by_horizon",
    "median_ttfe_exporters_years",
    "indirect_share",
)
"""Statistics summarised by default (columns of
:func:`simsme.calibration.check.run_statistics`)."""

COMPARE_METRICS: tuple[str, ...] = METRICS

UNITS: dict[str, str] = {
    "restricted_mean_ttfe_weeks": "weeks",
    "share_exported_by_horizon": "share",
    "median_ttfe_exporters_years": "years",
    "indirect_share": "share",
}

BETTER: dict[str, int] = {
    "restricted_mean_ttfe_weeks": -1,  # exporting sooner
    "share_exported_by_horizon": +1,  # more SMEs exporting
    "median_ttfe_exporters_years": -1,
}
"""Direction in which a statistic is better (-1: lower is better); statistics without one (the
indirect share) get no ``share_b_better``."""


@dataclass
class EnsembleResult:
    """One scenario over a posterior ensemble.

    ``statistics``: one row per parameter set x replication (``draw``: -1 for the posterior
    median, 0.. for the draws; ``replication``; the statistics of ``run_statistics``).
    ``draws``: one row per parameter set (``draw`` and one column per parameter path).
    ``kept``: parameter paths the scenario file sets itself, left at the file's values.
    """

    scenario_name: str
    statistics: pd.DataFrame
    draws: pd.DataFrame
    kept: list[str]
    seed: int
    replications: int
    n_draws: int


@dataclass
class EnsembleComparison:
    """Two scenarios (A, the reference, and B) over the same draws and random streams.

    ``statistics``: both arms' per-draw x per-replication tables with an ``arm`` column (A, B).
    ``per_draw``: one row per draw x metric: each arm's mean, the paired effect B - A, its
    standard error and the replications it is defined in. ``summary``: one row per metric (see
    :func:`compare_ensemble`).
    """

    labels: tuple[str, str]
    statistics: pd.DataFrame
    draws: pd.DataFrame
    per_draw: pd.DataFrame
    summary: pd.DataFrame
    kept: dict[str, list[str]]
    seed: int
    replications: int
    n_draws: int
    level: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the summary, the per-draw effects, kept paths and the design."""
        return {
            "kind": "ensemble comparison",
            "a": self.labels[0],
            "b": self.labels[1],
            "seed": self.seed,
            "replications_per_draw": self.replications,
            "draws": self.n_draws,
            "level": self.level,
            "kept": self.kept,
            "notes": self.notes,
            "summary": _records(self.summary),
            "per_draw": _records(self.per_draw),
            "parameter_sets": _records(self.draws),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NaN as ``None`` (valid JSON)."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append(
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else _plain(v))
                for k, v in row.items()
            }
        )
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def parameter_sets(
    posterior: Posterior, draws: int, seed: int
) -> list[tuple[int, dict[str, float]]]:
    """The posterior median (``draw`` -1) and ``draws`` sets resampled by weight (0..)."""
    if not isinstance(draws, int) or isinstance(draws, bool) or draws < 1:
        raise SimsmeError(f"--draws: expected at least 1 parameter set, got {draws}")
    sampled = posterior.draws(draws, seed)
    return [(MEDIAN_DRAW, posterior.median()), *enumerate(sampled)]


def _check_replications(replications: int) -> None:
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 2:
        raise SimsmeError(
            f"--replications: expected at least 2 replications per parameter set (a standard "
            f"error needs two), got {replications}"
        )


def _run_sets(
    scenario: Scenario,
    raw: Any,
    sets: list[tuple[int, dict[str, float]]],
    replications: int,
    seed: int,
    threads: int | None,
    progress: Callable[[int], None] | None,
    source: str,
    overrides: Sequence[tuple[str, Any]] = (),
) -> tuple[pd.DataFrame, list[str]]:
    from simsme.calibration.check import run_statistics
    from simsme.scenario.loading import apply_overrides

    tables, kept = [], []
    set_paths = {path for path, _ in overrides}
    for number, values in sets:
        applied, kept_here = apply_draw(scenario, values, raw, source=source)
        # --set values are the user's design too: applied again over the drawn ones
        applied = apply_overrides(applied, list(overrides), source="--set")
        kept_here = [*kept_here, *(p for p in values if p in set_paths)]
        kept = sorted({*kept, *kept_here})
        table = run_statistics(applied, replications, seed=seed, threads=threads, progress=progress)
        table.insert(0, "draw", number)
        tables.append(table)
    return pd.concat(tables, ignore_index=True), kept


def _draws_table(sets: list[tuple[int, dict[str, float]]]) -> pd.DataFrame:
    return pd.DataFrame([{"draw": number, **values} for number, values in sets])


def run_ensemble(
    scenario: Scenario,
    raw: Any,
    posterior: Posterior,
    draws: int = 20,
    replications: int = 10,
    seed: int | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    overrides: Sequence[tuple[str, Any]] = (),
) -> EnsembleResult:
    """Run ``scenario`` at the posterior median and at ``draws`` parameter sets of ``posterior``.

    ``raw`` is the scenario file's own YAML mapping (parameters it sets are kept, see
    :func:`apply_draw`); ``seed`` (default ``scenario.seed``) picks the draws and the random
    streams of the replications, the same streams for every parameter set (see the module
    docstring). ``progress`` is called with the number of replications just finished; the total
    is ``(draws + 1) * replications``. ``overrides`` (``--set`` path, value pairs) are applied
    again after each draw: a parameter the user sets is kept like one the file sets.
    """
    _check_replications(replications)
    seed = scenario.seed if seed is None else seed
    sets = parameter_sets(posterior, draws, seed)
    table, kept = _run_sets(
        scenario, raw, sets, replications, seed, threads, progress, "--ensemble", overrides
    )
    return EnsembleResult(
        scenario_name=scenario.name,
        statistics=table,
        draws=_draws_table(sets),
        kept=kept,
        seed=seed,
        replications=replications,
        n_draws=draws,
    )


def _t_over_z(n: np.ndarray, level: float) -> np.ndarray:
    """t_{n-1} / z quantile ratio per draw (NaN for n < 2), see the module docstring."""
    z = stats.norm.ppf(0.5 + level / 2)
    n = np.asarray(n, float)
    with np.errstate(invalid="ignore"):
        t = np.where(n >= 2, stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1)), np.nan)
    return t / z


def _per_draw(values: pd.Series, draw: pd.Series) -> pd.DataFrame:
    """Mean, standard error and defined count of ``values`` per draw (NaN replications left
    out, as :func:`mean_ci` does)."""
    frame = pd.DataFrame({"draw": draw.to_numpy(), "x": values.to_numpy(float)})
    grouped = frame.groupby("draw")["x"]
    out = pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1), "n": grouped.count()})
    out["se"] = out["sd"] / np.sqrt(out["n"])
    return out.drop(columns="sd")


def _uncertainty(
    means: np.ndarray, errors: np.ndarray, n: np.ndarray, level: float, bounds: tuple[float, float]
) -> dict[str, float]:
    """Mixture interval over draws (errors scaled t/z) and the parameter share of variance."""
    ok = np.isfinite(means)
    scaled = errors * _t_over_z(n, level)
    low, high = mixture_interval(means, scaled, level)
    m, s = means[ok], np.where(np.isfinite(errors[ok]), errors[ok], 0.0)
    between = float(np.var(m)) if m.size else math.nan
    within = float(np.mean(np.square(s))) if m.size else math.nan
    total = between + within
    share = between / total if total > 0 else (0.0 if m.size else math.nan)
    return {
        "interval_low": max(low, bounds[0]) if math.isfinite(low) else math.nan,
        "interval_high": min(high, bounds[1]) if math.isfinite(high) else math.nan,
        "parameter_share": share,
        "draws_defined": int(ok.sum()),
    }


def ensemble_summary(
    result: EnsembleResult, metrics: Sequence[str] = METRICS, level: float = 0.95
) -> pd.DataFrame:
    """One row per metric: the estimate at the posterior median with its stochastic interval
    (``median``, ``ci_low``, ``ci_high``), the interval with parameter uncertainty
    (``interval_low``, ``interval_high``) and ``parameter_share`` (module docstring)."""
    table = result.statistics
    missing = [m for m in metrics if m not in table]
    if missing:
        raise SimsmeError(f"ensemble: no statistic {missing}; expected columns of run_statistics")
    at_median = table[table["draw"] == MEDIAN_DRAW]
    sampled = table[table["draw"] != MEDIAN_DRAW]
    rows = []
    for metric in metrics:
        bounds = bounds_of(metric)
        ci = mean_ci(at_median[metric], level=level, bounds=bounds)
        per = _per_draw(sampled[metric], sampled["draw"])
        row = {
            "metric": metric,
            "unit": UNITS.get(metric, ""),
            "median": _nan(ci["mean"]),
            "ci_low": _nan(ci["ci_low"]),
            "ci_high": _nan(ci["ci_high"]),
            "undefined_at_median": ci["n_undefined"],
            **_uncertainty(
                per["mean"].to_numpy(float),
                per["se"].to_numpy(float),
                per["n"].to_numpy(float),
                level,
                bounds,
            ),
            "draws": int(len(per)),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def compare_ensemble(
    scenario_a: Scenario,
    raw_a: Any,
    scenario_b: Scenario,
    raw_b: Any,
    posterior: Posterior,
    draws: int = 20,
    replications: int = 10,
    seed: int | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    metrics: Sequence[str] = COMPARE_METRICS,
    level: float = 0.95,
    labels: tuple[str, str] | None = None,
    overrides: Sequence[tuple[str, Any]] = (),
) -> EnsembleComparison:
    """Effects B - A over a posterior ensemble, with and without parameter uncertainty.

    Both arms run at the same parameter sets (median and ``draws`` resampled sets) with the same
    seed (default: A's), so each replication of B is paired with the same replication of A in
    every draw. Per metric (``summary``): A and B at the median set; ``effect`` (mean paired
    difference at the median set) with its paired t interval (``ci_low``, ``ci_high``:
    stochastic only); the mixture interval of the per-draw effects (``interval_low``,
    ``interval_high``: with parameter uncertainty); ``parameter_share``; ``share_b_better``: the
    share of draws whose mean effect is strictly in the better direction (:data:`BETTER`;
    restricted mean TTFE: negative = B sooner). ``overrides`` as in :func:`run_ensemble`, for
    both arms.
    """
    _check_replications(replications)
    if not 0 < level < 1:
        raise SimsmeError(f"--level: expected a value between 0 and 1, got {level}")
    seed = scenario_a.seed if seed is None else seed
    sets = parameter_sets(posterior, draws, seed)
    tables, kept = {}, {}
    for arm, scenario, raw in (("A", scenario_a, raw_a), ("B", scenario_b, raw_b)):
        tables[arm], kept[arm] = _run_sets(
            scenario,
            raw,
            sets,
            replications,
            seed,
            threads,
            progress,
            f"--ensemble ({arm})",
            overrides,
        )
    for metric in metrics:
        if metric not in tables["A"]:
            raise SimsmeError(f"ensemble: no statistic '{metric}'")
    keys = ["draw", "replication"]
    joined = tables["A"].merge(tables["B"], on=keys, suffixes=("_a", "_b"), validate="1:1")
    per_draw_rows, summary_rows = [], []
    for metric in metrics:
        a, b = joined[f"{metric}_a"], joined[f"{metric}_b"]
        diff = (b - a).rename(metric)
        per = _per_draw(diff, joined["draw"])
        mean_a = _per_draw(a, joined["draw"])["mean"]
        mean_b = _per_draw(b, joined["draw"])["mean"]
        for number, row in per.iterrows():
            per_draw_rows.append(
                {
                    "draw": int(number),
                    "metric": metric,
                    "a_mean": float(mean_a.loc[number]),
                    "b_mean": float(mean_b.loc[number]),
                    "effect": float(row["mean"]),
                    "se": float(row["se"]),
                    "n": int(row["n"]),
                }
            )
        at_median = joined["draw"] == MEDIAN_DRAW
        ci = mean_ci(diff[at_median], level=level)
        sampled = per.drop(index=MEDIAN_DRAW, errors="ignore")
        means = sampled["mean"].to_numpy(float)
        direction = BETTER.get(metric)
        defined = np.isfinite(means)
        better = (
            float(np.mean(direction * means[defined] > 0))
            if direction is not None and defined.any()
            else math.nan
        )
        summary_rows.append(
            {
                "metric": metric,
                "unit": UNITS.get(metric, ""),
                "a_at_median": float(mean_a.loc[MEDIAN_DRAW]),
                "b_at_median": float(mean_b.loc[MEDIAN_DRAW]),
                "effect": _nan(ci["mean"]),
                "ci_low": _nan(ci["ci_low"]),
                "ci_high": _nan(ci["ci_high"]),
                **_uncertainty(
                    means,
                    sampled["se"].to_numpy(float),
                    sampled["n"].to_numpy(float),
                    level,
                    (-math.inf, math.inf),
                ),
                "share_b_better": better,
                "draws": int(len(sampled)),
            }
        )
    both = pd.concat([tables["A"].assign(arm="A"), tables["B"].assign(arm="B")], ignore_index=True)
    both.insert(0, "arm", both.pop("arm"))
    notes = []
    for arm in ("A", "B"):
        if kept[arm]:
            notes.append(
                f"{arm}: kept the scenario file's own values of {', '.join(kept[arm])} (not drawn)"
            )
    return EnsembleComparison(
        labels=labels or (scenario_a.name, scenario_b.name),
        statistics=both,
        draws=_draws_table(sets),
        per_draw=pd.DataFrame(per_draw_rows),
        summary=pd.DataFrame(summary_rows),
        kept=kept,
        seed=seed,
        replications=replications,
        n_draws=draws,
        level=level,
        notes=notes,
    )


def posterior_digest(posterior: Posterior) -> str:
    """SHA-256 of a posterior's contents (table and priors), whatever file it came from."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(posterior.table, index=False).to_numpy().tobytes())
    digest.update(",".join(map(str, posterior.table.columns)).encode())
    priors = {k: v.model_dump(mode="json") for k, v in posterior.priors.items()}
    digest.update(json.dumps(priors, sort_keys=True).encode())
    return digest.hexdigest()


def ensemble_key(
    posterior: Posterior, scenario: Scenario, draws: int, replications: int, seed: int
) -> dict[str, Any]:
    """Identity of an ensemble run (names its default folder)."""
    from simsme.scenario.loading import scenario_hash

    return {
        "kind": "ensemble",
        "posterior": posterior_digest(posterior),
        "scenario": scenario_hash(scenario),
        "draws": draws,
        "replications": replications,
        "seed": seed,
    }


def default_ensemble_folder(key: dict[str, Any], name: str, root: str = "results") -> str:
    """``<root>/<name>-ensemble-<8 hex of the key>``."""
    from simsme.results.fingerprint import key_digest

    return f"{root}/{name}-ensemble-{key_digest(key)[:8]}"


def check_ensemble_folder(folder: Any, force_new: bool = False) -> None:
    """Refuse, before any work, a folder :func:`write_ensemble` could not write: one holding
    files simsme did not write, being written by another process, or holding a normal run's or
    sweep's results (unless ``force_new``)."""
    from simsme.results.folder import ResultsFolder

    with ResultsFolder.open(folder, "run") as results:
        _refuse_other_results(results, folder, force_new)


def _refuse_other_results(results: Any, folder: Any, force_new: bool) -> None:
    manifest = results.manifest()
    if manifest is not None and not force_new:
        raise SimsmeError(
            f"--out: '{folder}' holds the results of a {manifest.get('kind', 'run')}; choose "
            "another --out or pass --force-new to replace them"
        )


def write_ensemble(
    result: EnsembleResult,
    summary: pd.DataFrame,
    folder: Any,
    context: dict[str, Any],
    force_new: bool = False,
) -> Any:
    """Write ``ensemble.parquet``, ``draws.parquet`` and ``summary.json`` into ``folder`` (a
    results folder: marker, lock, atomic writes, :mod:`simsme.results.folder`). A folder that
    holds a normal run's results is refused unless ``force_new``."""
    import pyarrow as pa

    from simsme.results.folder import ResultsFolder

    with ResultsFolder.open(folder, "run") as results:
        _refuse_other_results(results, folder, force_new)
        results.clear()
        results.write_parquet(
            "ensemble.parquet", pa.Table.from_pandas(result.statistics, preserve_index=False)
        )
        results.write_parquet(
            "draws.parquet", pa.Table.from_pandas(result.draws, preserve_index=False)
        )
        results.write_json(
            "summary.json",
            {
                **context,
                "scenario_name": result.scenario_name,
                "seed": result.seed,
                "draws": result.n_draws,
                "replications_per_draw": result.replications,
                "kept": result.kept,
                "summary": _records(summary),
            },
        )
        return results.path
