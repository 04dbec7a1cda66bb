"""Time to first export (TTFE) as survival data: Kaplan-Meier curves, medians, shares by year.

TTFE is right-censored: an SME that has not exported by the end of the run only tells us that its
TTFE is longer than its follow-up (``censored`` in ``smes.parquet``). Averages or medians over the
exporters alone are biased towards short times (the slow SMEs are exactly the ones left out), so
every statistic here comes from the Kaplan-Meier estimate of the survival function
S(t) = P(TTFE > t), the share of SMEs *not yet exporting* t weeks after the start of the run (or
their founding, for entrants).

The estimates use :func:`scipy.stats.ecdf` on :class:`scipy.stats.CensoredData` (Kaplan-Meier,
Greenwood variance, log-log pointwise confidence intervals). SMEs of all replications are pooled;
within a replication SMEs interact (shared agencies, network), so pooled bands are somewhat too
narrow when there are few replications: use several replications, and
:func:`simsme.analysis.compare.compare_runs` for tests between runs (it can resample whole
replications).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from simsme.analysis.results import WEEKS_PER_YEAR, RunResults
from simsme.errors import SimsmeError, did_you_mean

LEVEL = 0.95
OVERALL_LABEL = "all SMEs"
SURVIVAL_COLUMNS = ["replication", "ttfe_weeks", "exported"]


@dataclass(frozen=True)
class Median:
    """A median TTFE (weeks) with its confidence interval; NaN where not reached/not bounded."""

    estimate: float
    ci_low: float
    ci_high: float
    level: float = LEVEL

    @property
    def reached(self) -> bool:
        """Whether at least half of the SMEs exported within the follow-up."""
        return bool(np.isfinite(self.estimate))


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier survival curve of TTFE with pointwise confidence bands.

    ``time`` (weeks) starts at 0 (where S = 1) and lists every distinct observed time; the curve is
    a right-continuous step function: ``survival[i]`` holds on ``[time[i], time[i + 1])``.
    ``follow_up`` is the longest observed time; the curve is not defined beyond it.
    """

    time: np.ndarray
    survival: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: int
    events: int
    follow_up: float
    level: float = LEVEL

    def _index(self, t: np.ndarray | Sequence[float] | float) -> tuple[np.ndarray, np.ndarray]:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        idx = np.searchsorted(self.time, t, side="right") - 1
        # Beyond the last observation S(t) is unknown, unless every SME had exported (S = 0).
        valid = (t >= 0) & ((t <= self.follow_up + 1e-9) | (self.survival[-1] <= 0))
        return np.clip(idx, 0, len(self.time) - 1), valid

    def at(self, t: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """S(t): the share not yet exporting at ``t`` weeks (NaN beyond the follow-up)."""
        idx, valid = self._index(t)
        return np.where(valid, self.survival[idx], np.nan)

    def band_at(self, t: np.ndarray | Sequence[float] | float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper confidence limits of S(t)."""
        idx, valid = self._index(t)
        return np.where(valid, self.ci_low[idx], np.nan), np.where(valid, self.ci_high[idx], np.nan)

    def median(self) -> Median:
        """Median TTFE: the first time S(t) <= 0.5, with the Brookmeyer-Crowley interval.

        The interval is read off the confidence band, as R's ``survival`` package does: from the
        first time the lower limit reaches 0.5 to the first time the upper limit does. An end that
        is never reached within the follow-up is NaN (e.g. median "not reached").
        """
        return Median(
            _first_below(self.time, self.survival),
            _first_below(self.time, self.ci_low),
            _first_below(self.time, self.ci_high),
            self.level,
        )

    def quantile(self, p: float) -> float:
        """The time by which a share ``p`` of SMEs had exported (first t with S(t) <= 1 - p)."""
        return _first_below(self.time, self.survival, 1.0 - p)

    def to_frame(self, years: bool = False) -> pd.DataFrame:
        """The curve as a table (time in weeks, or in years with ``years=True``)."""
        scale = WEEKS_PER_YEAR if years else 1.0
        name = "time_years" if years else "time_weeks"
        return pd.DataFrame(
            {
                name: self.time / scale,
                "survival": self.survival,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
            }
        )


def _first_below(time: np.ndarray, curve: np.ndarray, threshold: float = 0.5) -> float:
    below = np.flatnonzero(curve <= threshold + 1e-12)
    return float(time[below[0]]) if len(below) else float("nan")


def kaplan_meier(
    durations: np.ndarray | Sequence[float],
    exported: np.ndarray | Sequence[bool],
    level: float = LEVEL,
) -> KaplanMeier:
    """Kaplan-Meier estimate of S(t) = P(TTFE > t) with log-log pointwise confidence bands.

    Parameters
    ----------
    durations: TTFE in weeks for exporters, follow-up time in weeks for censored SMEs.
    exported: True where the SME exported (an event), False where it is censored.
    level: confidence level of the bands (Greenwood variance, log-log transform).
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(exported, dtype=bool)
    if t.shape != e.shape or t.ndim != 1:
        raise SimsmeError("durations and exported must be 1-d arrays of the same length")
    if len(t) == 0:
        raise SimsmeError("no SMEs to estimate a survival curve from")
    if np.any(~np.isfinite(t)) or np.any(t < 0):
        raise SimsmeError("durations must be finite and >= 0 weeks")
    if not 0 < level < 1:
        raise SimsmeError(f"confidence level must be between 0 and 1, got {level}")
    follow_up = float(t.max())
    if not e.any():  # no event: S = 1 throughout, nothing to estimate a band from
        return KaplanMeier(
            np.array([0.0]), np.ones(1), np.ones(1), np.ones(1), len(t), 0, follow_up, level
        )
    data = stats.CensoredData(uncensored=t[e], right=t[~e])
    sf = stats.ecdf(data).sf
    with warnings.catch_warnings():
        # At S = 0 the log-log interval is undefined (NaN); that is expected, handled below.
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(level, method="log-log")
    times = np.asarray(sf.quantiles, dtype=float)
    surv = np.asarray(sf.probabilities, dtype=float)
    low = np.asarray(band.low.probabilities, dtype=float)
    high = np.asarray(band.high.probabilities, dtype=float)
    zero = surv <= 0
    low = np.where(zero, 0.0, low)
    high = pd.Series(np.where(zero, np.nan, high)).ffill().fillna(0.0).to_numpy()
    if times[0] > 0:
        times = np.r_[0.0, times]
        surv, low, high = np.r_[1.0, surv], np.r_[1.0, low], np.r_[1.0, high]
    return KaplanMeier(times, surv, low, high, len(t), int(e.sum()), follow_up, level)


def km_from_smes(smes: pd.DataFrame, level: float = LEVEL) -> KaplanMeier:
    """Kaplan-Meier curve of the SMEs in a per-SME table (``ttfe_weeks``, ``exported``)."""
    _require(smes, ["ttfe_weeks", "exported"])
    return kaplan_meier(smes["ttfe_weeks"].to_numpy(), smes["exported"].to_numpy(bool), level)


def _km_survival(
    codes: np.ndarray, exported: np.ndarray, weights: np.ndarray, n_t: int
) -> np.ndarray:
    """Kaplan-Meier survival just after each distinct time (events before censorings at ties)."""
    leaving = np.bincount(codes, weights=weights, minlength=n_t)
    events = np.bincount(codes, weights=weights * exported, minlength=n_t)
    at_risk = leaving[::-1].cumsum()[::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(at_risk > 0, events / at_risk, 0.0)
    return np.cumprod(1.0 - hazard)


def km_median_weighted(
    codes: np.ndarray, exported: np.ndarray, weights: np.ndarray, times: np.ndarray
) -> float:
    """Kaplan-Meier median from weighted observations (used for bootstrap resamples).

    ``codes`` indexes each observation's time in the sorted distinct ``times``; ``weights`` are
    how often each observation was drawn. Same conventions as :func:`kaplan_meier` (events before
    censorings at tied times); the tests check it against :func:`scipy.stats.ecdf`.
    """
    surv = _km_survival(codes, exported, weights, len(times))
    below = np.flatnonzero(surv <= 0.5 + 1e-12)
    return float(times[below[0]]) if len(below) else float("nan")


def km_median_and_restricted_mean(
    ttfe: np.ndarray, exported: np.ndarray, horizon: float
) -> tuple[float, float]:
    """Kaplan-Meier median (NaN when not reached) and restricted mean up to ``horizon``, from one
    curve (see :func:`km_median_weighted` and :func:`km_restricted_mean`)."""
    exported = np.asarray(exported, bool) & (ttfe <= horizon)
    times, codes = np.unique(np.minimum(ttfe, horizon), return_inverse=True)
    surv = _km_survival(codes, exported.astype(float), np.ones(len(codes)), len(times))
    below = np.flatnonzero(surv <= 0.5 + 1e-12)
    median = float(times[below[0]]) if len(below) else float("nan")
    widths = np.diff(np.append(times, horizon))
    return median, float(times[0] + np.sum(surv * widths))


def km_restricted_mean(ttfe: np.ndarray, exported: np.ndarray, horizon: float) -> float:
    """Restricted mean TTFE: the area under the Kaplan-Meier curve from 0 to ``horizon``.

    The censoring-aware mean time to first export within the horizon (Royston and Parmar's
    restricted mean survival time). With every SME followed to the horizon it equals the mean of
    ``min(TTFE, horizon)``; entrants followed for less time count through the risk sets only.
    """
    return km_median_and_restricted_mean(ttfe, exported, horizon)[1]


def km_medians(smes: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    """Kaplan-Meier median TTFE (weeks) of every group of SMEs, e.g. by point and replication.

    NaN where fewer than half of a group's SMEs exported within the follow-up.
    """
    _require(smes, ["ttfe_weeks", "exported", *by])
    times = np.unique(smes["ttfe_weeks"].to_numpy(float))
    codes = np.searchsorted(times, smes["ttfe_weeks"].to_numpy(float))
    exported = smes["exported"].to_numpy(float)
    out = {}
    for key, index in smes.groupby(list(by), observed=True, sort=True).indices.items():
        out[key] = km_median_weighted(codes[index], exported[index], np.ones(len(index)), times)
    result = pd.Series(out, name="km_median_ttfe_weeks", dtype=float)
    result.index.names = list(by)
    return result


# Groups ----------------------------------------------------------------------------------------

GROUPINGS: dict[str, str] = {
    "size_class": "size class (micro, small, medium; 003 section 2.1)",
    "region": "region of the SME (connectivity)",
    "channel_mix": "share of the SME's applications sent on digital channels",
    "agency_digitalisation": "mean digitalisation level of the agencies when the SME entered",
    "scenario": "the run (scenario) the SME belongs to",
}
"""Ways of grouping SMEs for survival curves (``by=``)."""

CHANNEL_MIX_LABELS = ("no applications", "mostly conventional", "mostly digital")
AGENCY_LABELS = ("conventional agencies", "partly digital agencies", "digital agencies")


def _require(smes: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in smes.columns]
    if missing:
        raise SimsmeError(f"per-SME table: missing column(s) {missing}")


def group_columns(by: str | None) -> list[str]:
    """The per-SME columns a grouping needs (besides the survival columns)."""
    if by is None:
        return []
    check_grouping(by)
    return {
        "size_class": ["size_class"],
        "region": ["region"],
        "channel_mix": ["applications", "digital_applications"],
        "agency_digitalisation": ["founded_week"],
        "scenario": [],
    }[by]


def check_grouping(by: str) -> None:
    if by not in GROUPINGS:
        raise SimsmeError(
            f"--by: '{by}' is not a grouping{did_you_mean(by, GROUPINGS)}; expected one of "
            + ", ".join(GROUPINGS)
        )


def group_labels(smes: pd.DataFrame, by: str, results: RunResults | None = None) -> pd.Categorical:
    """The group of every SME (an ordered categorical) for ``by`` in :data:`GROUPINGS`.

    ``channel_mix`` splits SMEs by the share of their applications sent on digital channels (none
    sent / under half / at least half). It describes what happened during the run, so it is not
    a cause: SMEs that stay longer unexported make more applications.

    ``agency_digitalisation`` is the mean digitalisation level of the agencies in the week the SME
    entered the run (the start, or its founding), from the scenario in the manifest (it needs
    ``results``): conventional (0), partly digital, digital (1). In a run without entrants every
    SME shares one level; compare two runs (``simsme compare``) to contrast agency regimes.
    """
    check_grouping(by)
    if by == "scenario":
        if "scenario" not in smes.columns:
            raise SimsmeError(
                "grouping by scenario needs SMEs of several runs (a 'scenario' column)"
            )
        return pd.Categorical(smes["scenario"].astype(str), categories=_ordered(smes["scenario"]))
    _require(smes, group_columns(by))
    if by in ("size_class", "region"):
        col = smes[by]
        if isinstance(col.dtype, pd.CategoricalDtype):
            present = [c for c in col.cat.categories if (col == c).any()]
            return pd.Categorical(col.astype(str), categories=[str(c) for c in present])
        return pd.Categorical(col.astype(str), categories=_ordered(col.astype(str)))
    if by == "channel_mix":
        apps = smes["applications"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(apps > 0, smes["digital_applications"].to_numpy(float) / apps, np.nan)
        code = np.where(apps <= 0, 0, np.where(share < 0.5, 1, 2))
        return _categorical(code, CHANNEL_MIX_LABELS)
    # agency_digitalisation
    if results is None:
        raise SimsmeError("grouping by agency_digitalisation needs the run's manifest")
    level = agency_level_at_entry(smes, results)
    code = np.where(level <= 1e-9, 0, np.where(level >= 1 - 1e-9, 2, 1))
    return _categorical(code, AGENCY_LABELS)


def _ordered(values: pd.Series) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values))


def _categorical(code: np.ndarray, labels: Sequence[str]) -> pd.Categorical:
    present = [lab for k, lab in enumerate(labels) if np.any(code == k)]
    return pd.Categorical(np.asarray(labels, dtype=object)[code], categories=present)


def agency_level_at_entry(smes: pd.DataFrame, results: RunResults) -> np.ndarray:
    """Mean agency digitalisation level (0-1) in the step each SME entered the run."""
    from simsme.scenario.lowering import lower

    arrays = lower(results.scenario)
    mean_level = np.asarray(arrays.tl_agency_level, dtype=float).mean(axis=1)  # [T]
    entry_day = np.maximum(smes["founded_week"].to_numpy(float) * 7.0, 0.0)
    step = np.clip(np.floor(entry_day / arrays.step_days).astype(int), 0, len(mean_level) - 1)
    return mean_level[step]


def km_by_group(
    smes: pd.DataFrame,
    by: str | None = None,
    results: RunResults | None = None,
    level: float = LEVEL,
) -> dict[str, KaplanMeier]:
    """Kaplan-Meier curves per group (``by`` in :data:`GROUPINGS`; ``None``: one curve "all")."""
    if by is None:
        return {OVERALL_LABEL: km_from_smes(smes, level)}
    groups = group_labels(smes, by, results)
    return {
        str(g): km_from_smes(smes[np.asarray(groups == g)], level)
        for g in groups.categories
        if np.any(groups == g)
    }


def survival_table(curves: dict[str, KaplanMeier], years: bool = True) -> pd.DataFrame:
    """Long table of several curves: group, time, survival, ci_low, ci_high."""
    frames = [c.to_frame(years).assign(group=g) for g, c in curves.items()]
    table = pd.concat(frames, ignore_index=True)
    return table[["group", *[c for c in table.columns if c != "group"]]]


def median_table(curves: dict[str, KaplanMeier]) -> pd.DataFrame:
    """Median TTFE per group with its confidence interval (weeks and years)."""
    rows = []
    for group, curve in curves.items():
        m = curve.median()
        rows.append(
            {
                "group": group,
                "n_smes": curve.n,
                "exported": curve.events,
                "share_exported": 1.0 - float(curve.at(curve.follow_up)[0]),
                "median_ttfe_weeks": m.estimate,
                "ci_low_weeks": m.ci_low,
                "ci_high_weeks": m.ci_high,
                "median_ttfe_years": m.estimate / WEEKS_PER_YEAR,
                "level": m.level,
            }
        )
    return pd.DataFrame(rows)


def share_exported_by_year(
    curves: dict[str, KaplanMeier], years: Sequence[int] | None = None
) -> pd.DataFrame:
    """Share of SMEs that have exported within each whole year, 1 - S(year), with its interval.

    Censoring-aware (unlike counting exporters over all SMEs when some SMEs entered late).
    Years beyond a curve's follow-up are left out.
    """
    rows = []
    longest = max(c.follow_up for c in curves.values())
    for group, curve in curves.items():
        # Years to the end of the longest follow-up (a group where every SME has exported
        # stays at 100%); within a group, only years it was followed that long.
        last = int(np.floor(longest / WEEKS_PER_YEAR + 1e-6))
        for year in years if years is not None else range(1, last + 1):
            weeks = year * WEEKS_PER_YEAR
            s = float(curve.at(weeks)[0])
            if not np.isfinite(s):
                continue
            low, high = (float(v[0]) for v in curve.band_at(weeks))
            rows.append(
                {
                    "group": group,
                    "year": int(year),
                    "share_exported": 1.0 - s,
                    "ci_low": 1.0 - high,
                    "ci_high": 1.0 - low,
                }
            )
    return pd.DataFrame(rows, columns=["group", "year", "share_exported", "ci_low", "ci_high"])


def run_smes(results: RunResults, by: str | None = None) -> pd.DataFrame:
    """The per-SME columns needed for survival analysis (and grouping ``by``) of one run."""
    return results.smes(SURVIVAL_COLUMNS + group_columns(by))


def combine_runs(runs: Sequence[RunResults], by: str | None = None) -> pd.DataFrame:
    """Per-SME survival columns of several runs, with a ``scenario`` column (the run's label)."""
    labels = unique_labels(runs)
    frames = []
    for run, label in zip(runs, labels, strict=True):
        extra = [] if by in (None, "scenario") else group_columns(by)
        frame = run.smes(SURVIVAL_COLUMNS + extra)
        frames.append(frame.assign(scenario=label))
    table = pd.concat(frames, ignore_index=True)
    table["scenario"] = pd.Categorical(table["scenario"], categories=labels)
    return table


def unique_labels(runs: Sequence[RunResults]) -> list[str]:
    """Legend labels of several runs: scenario names, with the folder name where they repeat."""
    labels = [r.label for r in runs]
    if len(set(labels)) == len(labels):
        return labels
    out = [f"{r.label} ({r.folder.name})" for r in runs]
    if len(set(out)) == len(out):
        return out
    return [f"{lab} [{k + 1}]" for k, lab in enumerate(out)]
