"""Per-replication statistics used by the calibration targets.

Every column of :func:`simsme.outputs.replication_table` is available (among them
``restricted_mean_ttfe_weeks``, the area under the Kaplan-Meier curve up to the horizon: unlike
the mean or median over exporters it does not reward a scenario for letting fewer, only the
quickest, SMEs export, so directions are compared on it), plus two derived ones that the
validation patterns of MODEL.md section 7 need:

* ``km_median_ttfe_years``: the Kaplan-Meier median TTFE (``km_median_ttfe_weeks`` of the
  replication table) in years, NaN when fewer than half of the SMEs exported within the horizon;
  the case scenarios (one firm, many replicas founded on the first day) are read with it.
* ``weeks_per_application``: weeks waited on agencies per application (submission to decision
  notified), a plausibility check on agency capacity and bureaucracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simsme.outputs import RunBlock, replication_table
from simsme.scenario.lowering import DAYS_PER_YEAR, ScenarioArrays

WEEKS_PER_YEAR = DAYS_PER_YEAR / 7.0
DERIVED = ("km_median_ttfe_years", "weeks_per_application")


def replication_statistics(
    block: RunBlock, arrays: ScenarioArrays, start_year: int
) -> pd.DataFrame:
    """One row per replication: the replication table plus the derived statistics above."""
    table = replication_table(block, arrays, start_year)
    table["km_median_ttfe_years"] = table["km_median_ttfe_weeks"] / WEEKS_PER_YEAR
    applications = block.applications.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        table["weeks_per_application"] = np.where(
            applications > 0, block.wait_days.sum(axis=1) / 7.0 / applications, np.nan
        )
    return table
