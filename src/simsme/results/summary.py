"""Headline figures across replications, each with a 95% confidence interval."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simsme.scenario.schema import FOCUS_AREAS

HEADLINE = (
    "km_median_ttfe_weeks",
    "restricted_mean_ttfe_weeks",
    "median_ttfe_weeks",
    "mean_ttfe_weeks",
    "share_exported",
    "share_exported_within_3y",
    "digital_share_of_applications",
    "indirect_share",
    "cocreated_share",
    "mean_weeks_waiting",
    *(f"uptake_{focus}" for focus in FOCUS_AREAS),
)


BEYOND_HORIZON = ("km_median_ttfe_weeks", "km_median_ttfe_years")
"""Statistics that are NaN when their value lies beyond the horizon (the Kaplan-Meier median
when fewer than half the SMEs export in time), not when they are meaningless: leaving such
replications out would bias the mean short, so one of them makes the mean undefined."""


def mean_ci(
    values: np.ndarray | pd.Series,
    level: float = 0.95,
    bounds: tuple[float, float] = (-math.inf, math.inf),
    nan_beyond_horizon: bool = False,
) -> dict[str, Any]:
    """Mean over replications with a Student-t confidence interval (replications are i.i.d.).

    Replications where the statistic is undefined (NaN, e.g. the share of entrants exporting
    within three years when there is no such entrant) are left out and counted in
    ``n_undefined``; with ``nan_beyond_horizon`` (see :data:`BEYOND_HORIZON`) any such
    replication makes the mean and interval undefined (``None``) instead. The interval is
    clipped to ``bounds`` (a share's to [0, 1]: the t interval is symmetric and can cross 0 when
    a share is rare).
    """
    x = np.asarray(values, dtype=float)
    defined = x[np.isfinite(x)]
    n = len(defined)
    out: dict[str, Any] = {"mean": None, "ci_low": None, "ci_high": None, "sd": None, "n": n}
    out["n_undefined"] = int(len(x) - n)
    if n == 0 or (nan_beyond_horizon and n < len(x)):
        return out
    mean = float(defined.mean())
    out["mean"] = mean
    if n >= 2:
        sd = float(defined.std(ddof=1))
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
        low, high = bounds
        out.update(sd=sd, ci_low=max(mean - half, low), ci_high=min(mean + half, high))
    return out


def summarise(replications: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Headline figures (:data:`HEADLINE`) of a per-replication table, with 95% CIs."""
    return {
        name: mean_ci(
            replications[name],
            bounds=bounds_of(name),
            nan_beyond_horizon=name in BEYOND_HORIZON,
        )
        for name in HEADLINE
        if name in replications
    }


def replication_mean(values: pd.Series) -> float:
    """Mean of one output over replications, as sweeps and sensitivity analysis use it: NaN
    replications are left out, except for :data:`BEYOND_HORIZON` outputs, where one makes the
    mean NaN (the point's median lies beyond the horizon in that replication)."""
    mean = mean_ci(values, nan_beyond_horizon=values.name in BEYOND_HORIZON)["mean"]
    return float("nan") if mean is None else mean


def bounds_of(name: str) -> tuple[float, float]:
    """Range of a per-replication output: shares lie in [0, 1], counts and times are >= 0;
    differences (``*_drop_*``, ``*_minus_*``) take any sign."""
    if "_drop_" in name or "_minus_" in name:
        return (-math.inf, math.inf)
    if "share" in name or name.startswith("uptake_"):
        return (0.0, 1.0)
    return (0.0, math.inf)
