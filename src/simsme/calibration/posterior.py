"""Priors and posterior ensembles of the calibrated parameters (issue 13).

A *prior* (:func:`load_priors`, ``simsme/data/priors.yaml``) is a uniform or log-uniform range per
dotted ``--set`` path. A *posterior* (:class:`Posterior`) is a weighted ensemble of parameter
sets, as ``simsme calibrate`` writes it: a parquet table with one row per particle, one column per
parameter path, ``weight`` (summing to 1) and ``distance`` (the particle's distance to the
targets, in tolerances), and the calibration's context in the file's metadata (``simsme``
key: the fitted targets, the final generation and threshold, the settings and the priors).

The posterior shipped with simsme (``simsme/data/posterior.parquet``) is the one the defaults of
:mod:`simsme.scenario.schema` come from: each calibrated default is its posterior median, rounded.
``--ensemble FILE`` on ``simsme run``, ``compare`` and ``check-model`` draws parameter sets from
such a file (:meth:`Posterior.draws`) and applies them with :func:`apply_draw`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simsme.errors import ScenarioError, SimsmeError
from simsme.scenario.loading import apply_overrides, describe_validation_errors, read_yaml
from simsme.scenario.paths import MISSING, expand, get_value
from simsme.scenario.schema import Scenario

DEFAULT_PRIORS = "priors.yaml"
DEFAULT_POSTERIOR = "posterior.parquet"
META_KEY = b"simsme"
RESERVED = ("particle", "weight", "distance")
#: Share of the prior's 90% width above which a parameter counts as "left at its prior", and below
#: which as "pinned down" by the targets (between: "narrowed").
LEFT_AT_PRIOR = 0.8
PINNED = 0.5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Prior(_Strict):
    """Uniform (or log-uniform) prior of one parameter over ``bounds``."""

    bounds: tuple[float, float]
    log: bool = False
    reason: str = Field("", max_length=2_000)

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        low, high = self.bounds
        if not low < high:
            raise ValueError(f"bounds: expected [low, high] with low < high, got [{low}, {high}]")
        if self.log and low <= 0:
            raise ValueError(f"bounds: a log-uniform prior needs low > 0, got {low}")
        return self

    @property
    def low(self) -> float:
        return self.bounds[0]

    @property
    def high(self) -> float:
        return self.bounds[1]

    def quantile(self, q: float | np.ndarray) -> float | np.ndarray:
        """The prior's quantile(s) ``q`` (inverse CDF)."""
        if self.log:
            return np.exp(np.log(self.low) + q * (np.log(self.high) - np.log(self.low)))
        return self.low + q * (self.high - self.low)


class PriorSet(_Strict):
    parameters: dict[str, Prior] = Field(..., min_length=1, max_length=200)


def load_priors(path: str | Path | None = None) -> dict[str, Prior]:
    """Read and check a priors file (default: the one shipped in ``simsme/data``).

    Every path must name a numeric field of the scenario, and the schema must accept both ends of
    its range; a problem raises :class:`~simsme.errors.ScenarioError` naming the file and field.
    """
    if path is None:
        ref = resources.files("simsme").joinpath("data", DEFAULT_PRIORS)
        with resources.as_file(ref) as file:
            return load_priors(file)
    raw = read_yaml(path, "priors file")
    if not isinstance(raw, dict):
        raise ScenarioError("top level: expected a mapping with 'parameters'", str(path))
    try:
        priors = PriorSet.model_validate(raw).parameters
    except ValidationError as exc:
        raise ScenarioError(describe_validation_errors(exc, PriorSet), str(path)) from None
    default = Scenario()
    problems = []
    for name, prior in priors.items():
        for end in prior.bounds:
            try:
                apply_overrides(default, [(name, float(end))], source=f"parameters.{name}")
            except SimsmeError as exc:
                problems.append(f"parameters.{name}: {str(exc).strip()}")
                break
    if problems:
        raise ScenarioError(problems, str(path))
    return priors


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> Any:
    """Quantile(s) of a weighted sample (inverse of the weighted empirical CDF, midpoints)."""
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(q, cdf, v)


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights, (sum w)^2 / sum w^2."""
    w = np.asarray(weights, float)
    return float(w.sum() ** 2 / np.square(w).sum())


@dataclass
class Posterior:
    """A weighted ensemble of parameter sets (see the module docstring)."""

    table: pd.DataFrame
    priors: dict[str, Prior]
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = "<posterior>"

    def __post_init__(self) -> None:
        missing = [p for p in self.priors if p not in self.table]
        if missing or "weight" not in self.table or self.table.empty:
            raise SimsmeError(
                f"{self.source}: expected a posterior table with a 'weight' column and a column "
                f"for each parameter; missing {missing or ['weight']}"
            )
        weights = self.table["weight"].to_numpy(float)
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0) and weights.sum() > 0):
            raise SimsmeError(f"{self.source}: weights must be finite, non-negative, not all 0")
        self.table = self.table.assign(weight=weights / weights.sum()).reset_index(drop=True)

    @property
    def parameters(self) -> list[str]:
        return list(self.priors)

    @property
    def weights(self) -> np.ndarray:
        return self.table["weight"].to_numpy(float)

    def __len__(self) -> int:
        return len(self.table)

    def ess(self) -> float:
        return effective_sample_size(self.weights)

    def quantile(self, q: float) -> dict[str, float]:
        """The weighted ``q``-quantile of each parameter."""
        return {
            p: float(weighted_quantile(self.table[p].to_numpy(float), self.weights, q))
            for p in self.parameters
        }

    def median(self) -> dict[str, float]:
        return self.quantile(0.5)

    def draws(self, n: int, seed: int) -> list[dict[str, float]]:
        """``n`` parameter sets resampled by weight (systematic resampling), reproducibly.

        Systematic resampling keeps every particle whose weight exceeds 1/n and spreads the rest
        evenly; the offset comes from ``SeedSequence(seed)``.
        """
        if n < 1:
            raise SimsmeError(f"--draws: expected at least 1 parameter set, got {n}")
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xE45E,)))
        positions = (rng.random() + np.arange(n)) / n
        index = np.searchsorted(np.cumsum(self.weights), positions, side="right")
        index = np.minimum(index, len(self.table) - 1)
        rows = self.table.iloc[index]
        return [{p: float(row[p]) for p in self.parameters} for _, row in rows.iterrows()]

    def widths(self, level: float = 0.9) -> pd.DataFrame:
        """Prior against posterior: each parameter's central ``level`` interval and the ratio of
        the widths (on the log scale for log-uniform priors), and a verdict: ``pinned down``
        (ratio < 0.5), ``narrowed`` or ``left at prior`` (ratio > 0.8)."""
        lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
        rows = []
        post_lo, post_hi, med = self.quantile(lo_q), self.quantile(hi_q), self.median()
        for p, prior in self.priors.items():
            scale = math.log if prior.log else float
            prior_lo, prior_hi = float(prior.quantile(lo_q)), float(prior.quantile(hi_q))
            ratio = (scale(post_hi[p]) - scale(post_lo[p])) / (scale(prior_hi) - scale(prior_lo))
            verdict = (
                "pinned down"
                if ratio < PINNED
                else ("left at prior" if ratio > LEFT_AT_PRIOR else "narrowed")
            )
            rows.append(
                {
                    "parameter": p,
                    "prior_low": prior_lo,
                    "prior_high": prior_hi,
                    "posterior_median": med[p],
                    "posterior_low": post_lo[p],
                    "posterior_high": post_hi[p],
                    "width_ratio": ratio,
                    "verdict": verdict,
                }
            )
        return pd.DataFrame(rows)


def write_posterior(posterior: Posterior, path: str | Path) -> Path:
    """Write the ensemble as parquet (atomically), priors and context in the file's metadata."""
    import pyarrow as pa

    from simsme.results.folder import write_parquet_atomic

    table = pa.Table.from_pandas(posterior.table, preserve_index=False)
    meta = {
        **posterior.meta,
        "priors": {k: v.model_dump(mode="json") for k, v in posterior.priors.items()},
    }
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode()}
    )
    return write_parquet_atomic(table, path)


def load_posterior(path: str | Path | None = None) -> Posterior:
    """Read a posterior ensemble (default: the one shipped in ``simsme/data``)."""
    import pyarrow.parquet as pq

    if path is None:
        ref = resources.files("simsme").joinpath("data", DEFAULT_POSTERIOR)
        with resources.as_file(ref) as file:
            return load_posterior(file)
    path = Path(path)
    if not path.is_file():
        raise SimsmeError(f"--ensemble: '{path}' is not a file (expected a posterior .parquet)")
    try:
        arrow = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several kinds for a file that is not parquet
        raise SimsmeError(f"{path}: not a parquet file ({exc})") from None
    raw = (arrow.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise SimsmeError(
            f"{path}: no simsme metadata; expected a posterior written by `simsme calibrate`"
        )
    try:
        meta = json.loads(raw)
        priors = {k: Prior.model_validate(v) for k, v in meta.pop("priors").items()}
    except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
        raise SimsmeError(
            f"{path}: its simsme metadata is unreadable ({type(exc).__name__}: {exc}); expected "
            "a posterior written by `simsme calibrate`"
        ) from None
    table = arrow.to_pandas()
    bad = [
        c for c in [*priors, "weight"] if c in table and not pd.api.types.is_numeric_dtype(table[c])
    ]
    if bad:
        raise SimsmeError(f"{path}: columns {bad} are not numeric")
    return Posterior(table, priors, meta, source=str(path))


def written_paths(raw: Any, path: str) -> bool:
    """Whether a scenario file's own mapping ``raw`` sets ``path`` (any item, for ``*`` paths)."""
    if raw is None:
        return False
    if "*" not in path:
        return get_value(raw, path) is not MISSING
    try:
        concrete = expand(raw, path, "ensemble")
    except SimsmeError:
        return False
    return any(get_value(raw, c) is not MISSING for c in concrete if "*" not in c)


def apply_draw(
    scenario: Scenario, draw: dict[str, float], raw: Any = None, source: str = "--ensemble"
) -> tuple[Scenario, list[str]]:
    """``scenario`` with the parameter set ``draw`` applied; returns it and the paths kept.

    A parameter the scenario file sets itself (``raw``, its YAML mapping) is part of the
    scenario's design and is kept; only defaults are replaced. Returns the kept paths too.
    """
    kept = [p for p in draw if written_paths(raw, p)]
    overrides = [(p, v) for p, v in draw.items() if p not in kept]
    return apply_overrides(scenario, overrides, source=source), kept


def resolve_ensemble(value: str | Path) -> Posterior:
    """The posterior an ``--ensemble`` option names: a parquet file, or ``default`` for the one
    shipped with simsme (the calibration the defaults come from)."""
    if str(value) == "default":
        return load_posterior(None)
    return load_posterior(value)


def mixture_interval(
    means: np.ndarray, errors: np.ndarray, level: float = 0.95
) -> tuple[float, float]:
    """Central ``level`` interval of an equal-weight mixture of normals N(mean_d, error_d^2).

    Over posterior draws d (resampled by weight, so equally weighted), ``means`` are each draw's
    estimate (mean over its replications) and ``errors`` their standard errors: the mixture is
    the predictive distribution of the estimate with parameter and stochastic uncertainty
    together (law of total variance: its variance is var(means) + mean(errors^2)). Solved on the
    mixture's CDF by bisection; draws with an undefined mean are left out.
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    m = np.asarray(means, float)
    s = np.asarray(errors, float)
    ok = np.isfinite(m)
    m, s = m[ok], np.where(np.isfinite(s[ok]), s[ok], 0.0)
    if m.size == 0:
        return (math.nan, math.nan)
    s = np.maximum(s, 1e-12 * (1.0 + np.abs(m)))  # a draw with no spread is a point mass

    def cdf(x: float) -> float:
        return float(norm.cdf((x - m) / s).mean())

    spread = 10 * (s.max() + np.ptp(m) + 1e-12)
    low, high = m.min() - spread, m.max() + spread
    alpha = (1.0 - level) / 2.0
    return (
        brentq(lambda x: cdf(x) - alpha, low, high, xtol=1e-10),
        brentq(lambda x: cdf(x) - (1.0 - alpha), low, high, xtol=1e-10),
    )
