"""Comparing the TTFE of two runs: median difference, log-rank test, Cox hazard ratio.

* Difference in median TTFE (B - A, weeks) with a percentile bootstrap interval
  (:func:`scipy.stats.bootstrap`). The resampled unit is the replication when both runs have at
  least :data:`MIN_CLUSTERS` replications (SMEs of one replication share agencies and a network,
  so they are not independent), otherwise the SME. Runs made with the same seed and the same
  replications use common random numbers (replication r of both starts from the same population
  and streams), so replication r of A and of B are resampled together (a paired bootstrap);
  otherwise the two runs are resampled independently.
* Log-rank test (:func:`scipy.stats.logrank`) of equal survival curves. It treats SMEs as
  independent; the Cox p-value below is the one robust to clustering.
* Hazard ratio of B against A from a Cox proportional-hazards model
  (:class:`statsmodels.duration.hazard_regression.PHReg`, Efron ties), with standard errors robust
  to clustering by replication under the same rule (by replication number when paired). HR > 1:
  SMEs of B reach first export sooner.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from simsme.analysis.results import WEEKS_PER_YEAR, RunResults
from simsme.analysis.survival import (
    LEVEL,
    KaplanMeier,
    Median,
    combine_runs,
    km_from_smes,
    km_median_weighted,
    km_restricted_mean,
    unique_labels,
)
from simsme.errors import SimsmeError

MIN_CLUSTERS = 10
"""Fewest replications per run for resampling / clustering by replication (``cluster="auto"``)."""

Cluster = Literal["auto", "replication", "sme"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval (and a p-value where there is a test)."""

    estimate: float
    ci_low: float
    ci_high: float
    level: float = LEVEL
    p_value: float | None = None
    method: str = ""


@dataclass
class Comparison:
    """TTFE of run B against run A (``labels = (A, B)``)."""

    labels: tuple[str, str]
    curves: dict[str, KaplanMeier]
    n_smes: dict[str, int]
    replications: dict[str, int]
    median_difference: Estimate
    hazard_ratio: Estimate
    logrank_statistic: float
    logrank_p_value: float
    level: float = LEVEL
    notes: list[str] = field(default_factory=list)
    restricted_mean_difference: Estimate | None = None

    @property
    def medians(self) -> dict[str, Median]:
        return {label: curve.median() for label, curve in self.curves.items()}

    def share_exported(self, weeks: float | None = None) -> dict[str, float]:
        """Share exported by ``weeks`` (default: the shorter of the two follow-ups)."""
        if weeks is None:
            weeks = min(c.follow_up for c in self.curves.values())
        return {k: 1.0 - float(c.at(weeks)[0]) for k, c in self.curves.items()}

    def to_frame(self) -> pd.DataFrame:
        """The comparison as a table: one row per statistic, columns A, B and B vs A."""
        a, b = self.labels
        pct = f"{self.level:.0%}"
        med = self.medians
        horizon = min(c.follow_up for c in self.curves.values())
        share = self.share_exported(horizon)
        three = self.share_exported(min(3 * WEEKS_PER_YEAR, horizon))

        def fmt_median(m: Median) -> str:
            est = "not reached" if not m.reached else f"{m.estimate:.0f}"
            return f"{est} [{_num(m.ci_low)}, {_num(m.ci_high)}]"

        d, hr = self.median_difference, self.hazard_ratio
        rows = [
            ("SMEs, all replications", f"{self.n_smes[a]:,}", f"{self.n_smes[b]:,}", ""),
            ("replications", str(self.replications[a]), str(self.replications[b]), ""),
            (
                f"median TTFE, weeks [{pct} CI]",
                fmt_median(med[a]),
                fmt_median(med[b]),
                f"B - A: {_num(d.estimate)} [{_num(d.ci_low)}, {_num(d.ci_high)}]",
            ),
            *(
                [
                    (
                        f"restricted mean TTFE B - A, weeks [{pct} CI]",
                        "",
                        "",
                        f"{_num(rm.estimate)} [{_num(rm.ci_low)}, {_num(rm.ci_high)}]",
                    )
                ]
                if (rm := self.restricted_mean_difference) is not None
                else []
            ),
            (
                "share exported by year 3",
                f"{three[a]:.3f}",
                f"{three[b]:.3f}",
                f"B - A: {three[b] - three[a]:+.3f}",
            ),
            (
                f"share exported by {horizon / WEEKS_PER_YEAR:.0f} years",
                f"{share[a]:.3f}",
                f"{share[b]:.3f}",
                f"B - A: {share[b] - share[a]:+.3f}",
            ),
            (
                "log-rank test",
                "",
                "",
                f"chi2 = {self.logrank_statistic**2:.2f}, {_p(self.logrank_p_value)}",
            ),
            (
                f"hazard ratio B/A (Cox) [{pct} CI]",
                "",
                "",
                f"{hr.estimate:.3f} [{hr.ci_low:.3f}, {hr.ci_high:.3f}], {_p(hr.p_value)}",
            ),
        ]
        return pd.DataFrame(rows, columns=["statistic", a, b, "B vs A"])

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers (for JSON)."""
        return {
            "labels": list(self.labels),
            "level": self.level,
            "n_smes": self.n_smes,
            "replications": self.replications,
            "medians_weeks": {k: asdict(v) for k, v in self.medians.items()},
            "share_exported_by_horizon": self.share_exported(),
            "median_difference_weeks": asdict(self.median_difference),
            "restricted_mean_difference_weeks": (
                asdict(self.restricted_mean_difference)
                if self.restricted_mean_difference is not None
                else None
            ),
            "logrank": {
                "statistic": self.logrank_statistic,
                "chi2": self.logrank_statistic**2,
                "p_value": self.logrank_p_value,
            },
            "hazard_ratio": asdict(self.hazard_ratio),
            "notes": self.notes,
        }


def _num(x: float | None) -> str:
    return "NA" if x is None or not np.isfinite(x) else f"{x:.0f}" if abs(x) >= 10 else f"{x:.2g}"


def _p(p: float | None) -> str:
    """``p = 0.0123`` or ``p < 1e-4``."""
    if p is None or not np.isfinite(p):
        return "p = NA"
    return f"p = {p:.3g}" if p >= 1e-4 else "p < 1e-4"


def _cluster_units(smes: pd.DataFrame, by_replication: bool) -> tuple[np.ndarray, np.ndarray]:
    """Unit index of every SME and the unit ids (replications in sorted order, or the SMEs)."""
    if by_replication:
        codes, uniques = pd.factorize(smes["replication"], sort=True)
        return codes, np.arange(len(uniques))
    return np.arange(len(smes)), np.arange(len(smes))


def _comparability_notes(run_a: RunResults, run_b: RunResults) -> list[str]:
    """What makes two runs a questionable pair (said, not refused: it may be intended)."""
    notes = []
    if run_a.folder.resolve() == run_b.folder.resolve():
        notes.append("A and B are the same results folder: the comparison shows no difference")
    time_a = (run_a.manifest.get("scenario") or {}).get("time") or {}
    time_b = (run_b.manifest.get("scenario") or {}).get("time") or {}
    if time_a and time_b and time_a != time_b:
        notes.append(
            f"the runs cover different periods (A: from {time_a.get('start_date')} for "
            f"{time_a.get('horizon_years')} years, B: from {time_b.get('start_date')} for "
            f"{time_b.get('horizon_years')} years): TTFE is censored at different times and "
            "events fall at different ages"
        )
    return notes


def common_random_numbers(run_a: RunResults, run_b: RunResults) -> bool:
    """Whether replication r of A and of B share their random streams: same seed, same
    replication numbers (then they are paired, not independent)."""
    seed_a, seed_b = run_a.manifest.get("seed"), run_b.manifest.get("seed")
    reps_a, reps_b = run_a.manifest.get("replications"), run_b.manifest.get("replications")
    return seed_a is not None and seed_a == seed_b and reps_a is not None and reps_a == reps_b


def median_difference(
    smes_a: pd.DataFrame,
    smes_b: pd.DataFrame,
    by_replication: bool,
    level: float = LEVEL,
    n_resamples: int = 999,
    seed: int = 0,
    paired: bool = False,
) -> Estimate:
    """Median TTFE of B minus that of A (weeks), percentile bootstrap interval.

    ``paired`` (with ``by_replication``) resamples replication r of A and B together: use it when
    the runs share seed and replications (common random numbers). NaN when a median is not
    reached; the interval is NaN when some resamples do not reach it.
    """
    times = np.unique(np.r_[smes_a["ttfe_weeks"].to_numpy(float), smes_b["ttfe_weeks"]])
    parts = []
    for smes in (smes_a, smes_b):
        codes = np.searchsorted(times, smes["ttfe_weeks"].to_numpy(float))
        unit_of, units = _cluster_units(smes, by_replication)
        parts.append((codes, smes["exported"].to_numpy(float), unit_of, units))

    def median_of(part, drawn: np.ndarray) -> float:
        codes, exported, unit_of, units = part
        weights = np.bincount(drawn, minlength=len(units)).astype(float)[unit_of]
        return km_median_weighted(codes, exported, weights, times)

    def statistic(drawn_a: np.ndarray, drawn_b: np.ndarray) -> float:
        return median_of(parts[1], drawn_b) - median_of(parts[0], drawn_a)

    point = statistic(parts[0][3], parts[1][3])
    paired = paired and by_replication and len(parts[0][3]) == len(parts[1][3])
    unit = "replications" if by_replication else "SMEs"
    pairing = ", paired by replication (same seed)" if paired else ""
    method = f"percentile bootstrap over {unit}{pairing}, {n_resamples} resamples"
    if not np.isfinite(point) or n_resamples <= 0:
        return Estimate(point, np.nan, np.nan, level, None, method)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # degenerate (all equal) resamples warn; NaNs handled
        boot = stats.bootstrap(
            (parts[0][3], parts[1][3]),
            statistic,
            n_resamples=n_resamples,
            paired=paired,
            vectorized=False,
            confidence_level=level,
            method="percentile",
            batch=50,  # bounds memory: each batch holds 50 resamples of every SME index
            rng=np.random.default_rng(seed),
        )
    dist = np.asarray(boot.bootstrap_distribution)
    if not np.all(np.isfinite(dist)):
        return Estimate(point, np.nan, np.nan, level, None, method + " (median not always reached)")
    ci = boot.confidence_interval
    return Estimate(point, float(ci.low), float(ci.high), level, None, method)


def restricted_mean_difference(
    smes_a: pd.DataFrame,
    smes_b: pd.DataFrame,
    horizon: float,
    by_replication: bool,
    level: float = LEVEL,
    paired: bool = False,
) -> Estimate:
    """Restricted mean TTFE of B minus that of A (weeks): the areas under the Kaplan-Meier curves
    up to ``horizon`` (:func:`simsme.analysis.survival.km_restricted_mean`), defined even when
    fewer than half of the SMEs export and a median is not reached.

    With ``by_replication`` each replication's restricted mean is one observation: a t interval
    on the paired differences when ``paired`` (the runs share seed and replications: common
    random numbers), else Welch's. Otherwise (too few replications) the point estimate over all
    SMEs, without an interval.
    """

    def per_replication(smes: pd.DataFrame) -> pd.Series:
        return smes.groupby("replication", observed=True).apply(
            lambda g: km_restricted_mean(
                g["ttfe_weeks"].to_numpy(float), g["exported"].to_numpy(bool), horizon
            )
        )

    if not by_replication:
        point = km_restricted_mean(
            smes_b["ttfe_weeks"].to_numpy(float), smes_b["exported"].to_numpy(bool), horizon
        ) - km_restricted_mean(
            smes_a["ttfe_weeks"].to_numpy(float), smes_a["exported"].to_numpy(bool), horizon
        )
        return Estimate(point, np.nan, np.nan, level, None, "over all SMEs, no interval")
    a, b = per_replication(smes_a), per_replication(smes_b)
    if paired and a.index.equals(b.index):
        diff = (b - a).to_numpy(float)
        point, se, df = diff.mean(), diff.std(ddof=1) / np.sqrt(len(diff)), len(diff) - 1
        method = "t interval over replications, paired (same seed)"
    else:
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        point, se = float(b.mean() - a.mean()), float(np.sqrt(va + vb))
        df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else 1
        method = "Welch t interval over replications"
    q = stats.t.ppf(0.5 + level / 2, df) if se > 0 else 0.0
    p = float(2 * stats.t.sf(abs(point / se), df)) if se > 0 else None
    return Estimate(float(point), float(point - q * se), float(point + q * se), level, p, method)


def cox_hazard_ratio(
    smes: pd.DataFrame, group: np.ndarray, clusters: np.ndarray | None, level: float = LEVEL
) -> Estimate:
    """Hazard ratio of ``group == 1`` against ``group == 0`` (Cox PH, Efron ties).

    ``clusters`` (e.g. run x replication labels) give standard errors robust to dependence
    within a cluster; ``None`` uses the model-based ones.
    """
    from statsmodels.duration.hazard_regression import PHReg

    exog = np.asarray(group, dtype=float)[:, None]
    model = PHReg(
        smes["ttfe_weeks"].to_numpy(float),
        exog,
        status=smes["exported"].to_numpy(float),
        ties="efron",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = model.fit(groups=clusters) if clusters is not None else model.fit()
    beta = float(fit.params[0])
    se = float(fit.bse[0])
    z = stats.norm.ppf(0.5 + level / 2)
    p = float(2 * stats.norm.sf(abs(beta / se))) if se > 0 else float("nan")
    method = "Cox PH (Efron ties), " + (
        "SEs robust to clustering by replication" if clusters is not None else "model-based SEs"
    )
    return Estimate(
        float(np.exp(beta)),
        float(np.exp(beta - z * se)),
        float(np.exp(beta + z * se)),
        level,
        p,
        method,
    )


def compare_runs(
    run_a: RunResults,
    run_b: RunResults,
    level: float = LEVEL,
    n_resamples: int = 999,
    seed: int = 0,
    cluster: Cluster = "auto",
) -> Comparison:
    """Compare the TTFE of two runs (B against A); see the module docstring for the methods."""
    if cluster not in ("auto", "replication", "sme"):
        raise SimsmeError(f"cluster: '{cluster}' is not one of auto, replication, sme")
    if not 0 < level < 1:
        raise SimsmeError(f"--level: expected a confidence level between 0 and 1, got {level}")
    labels = unique_labels([run_a, run_b])
    smes = combine_runs([run_a, run_b])
    a_mask = np.asarray(smes["scenario"] == labels[0])
    smes_a, smes_b = smes[a_mask], smes[~a_mask]
    reps = {
        labels[0]: int(smes_a["replication"].nunique()),
        labels[1]: int(smes_b["replication"].nunique()),
    }
    notes = []
    by_rep = cluster == "replication" or (cluster == "auto" and min(reps.values()) >= MIN_CLUSTERS)
    if cluster == "auto" and not by_rep:
        notes.append(
            f"fewer than {MIN_CLUSTERS} replications in a run: intervals treat SMEs as "
            "independent, but SMEs of one replication share agencies, a network and events, so "
            "the intervals can be too wide or too narrow; run more replications"
        )
    notes.extend(_comparability_notes(run_a, run_b))
    paired = by_rep and common_random_numbers(run_a, run_b)
    curves = {labels[0]: km_from_smes(smes_a, level), labels[1]: km_from_smes(smes_b, level)}
    diff = median_difference(smes_a, smes_b, by_rep, level, n_resamples, seed, paired=paired)
    if not np.isfinite(diff.estimate):
        notes.append("a median TTFE is not reached within the follow-up: no median difference")
    data = [
        stats.CensoredData(
            uncensored=s.loc[s["exported"], "ttfe_weeks"].to_numpy(float),
            right=s.loc[~s["exported"], "ttfe_weeks"].to_numpy(float),
        )
        for s in (smes_a, smes_b)
    ]
    if not (smes["exported"].any()):
        raise SimsmeError("no SME exported in either run: nothing to compare")
    logrank = stats.logrank(data[0], data[1])
    clusters = None
    if paired:  # replication r of A and of B share random numbers: one cluster
        clusters = smes["replication"].to_numpy()
    elif by_rep:
        clusters = smes["scenario"].astype(str).to_numpy() + ":" + smes["replication"].astype(str)
    hr = cox_hazard_ratio(smes, (~a_mask).astype(float), clusters, level)
    horizon = min(c.follow_up for c in curves.values())
    rmean = restricted_mean_difference(smes_a, smes_b, horizon, by_rep, level, paired=paired)
    return Comparison(
        labels=(labels[0], labels[1]),
        curves=curves,
        n_smes={labels[0]: len(smes_a), labels[1]: len(smes_b)},
        replications=reps,
        median_difference=diff,
        hazard_ratio=hr,
        logrank_statistic=float(logrank.statistic),
        logrank_p_value=float(logrank.pvalue),
        level=level,
        notes=notes,
        restricted_mean_difference=rmean,
    )
