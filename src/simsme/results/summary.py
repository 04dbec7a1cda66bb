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


def mean_ci(values: np.ndarray | pd.Series, level: float = 0.95) -> dict[str, Any]:
    """Mean over replications with a Student-t confidence interval (replications are i.i.d.).

    Replications where the statistic is undefined (NaN, e.g. a median TTFE with no exporter) are
    left out and counted in ``n_undefined``.
    """
    x = np.asarray(values, dtype=float)
    defined = x[np.isfinite(x)]
    n = len(defined)
    out: dict[str, Any] = {"mean": None, "ci_low": None, "ci_high": None, "sd": None, "n": n}
    out["n_undefined"] = int(len(x) - n)
    if n == 0:
        return out
    mean = float(defined.mean())
    out["mean"] = mean
    if n >= 2:
        sd = float(defined.std(ddof=1))
        half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
        out.update(sd=sd, ci_low=mean - half, ci_high=mean + half)
    return out


def summarise(replications: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Headline figures (:data:`HEADLINE`) of a per-replication table, with 95% CIs."""
    return {name: mean_ci(replications[name]) for name in HEADLINE if name in replications}
