"""Per-replication statistics used by the calibration targets.

Every column of :func:`simsme.outputs.replication_table` is available (among them
``restricted_mean_ttfe_weeks``, the area under the Kaplan-Meier curve up to the horizon: unlike
the mean or median over exporters it does not reward a scenario for letting fewer, only the
quickest, SMEs export, so directions are compared on it), plus two derived ones that the
validation patterns of MODEL.md section 7 need:

* ``km_median_ttfe_years``: the Kaplan-Meier median TTFE (``km_median_ttfe_weeks`` of the
  replication table) in years, NaN when fewer than half of the SMEs exported within the horizon;
  the case scenarios (one firm, many replicas founded on the first day) are read with it.
* ``median_ttfe_exporters_years``: the median TTFE among the SMEs that exported, in years.
* ``exporters_within_<k>y`` (k = 1 .. the horizon's years): the share of the replication's
  exporters whose TTFE is at most k years: the predictive distribution, conditional on
  exporting, against which one case firm's observed TTFE is placed (value 0.5 with tolerance
  0.45: the observed TTFE lies between the 5th and 95th percentiles of its replicas').
* ``weeks_per_application``: weeks waited on agencies per application (submission to decision
  notified), a plausibility check on agency capacity and bureaucracy.

and the population and stylised-fact statistics of
:mod:`simsme.calibration.patterns_statistics` (``share_exported_by_horizon``,
``export_entry_rate_per_year``, ``share_exported_<size>``, ``born_global_share``, ...), computed
from the per-SME table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simsme.calibration.patterns_statistics import PATTERN_STATISTICS, pattern_statistics
from simsme.outputs import RunBlock, replication_table, ttfe_arrays
from simsme.scenario.lowering import DAYS_PER_YEAR, ScenarioArrays

WEEKS_PER_YEAR = DAYS_PER_YEAR / 7.0
DERIVED = (
    "km_median_ttfe_years",
    "median_ttfe_exporters_years",
    "weeks_per_application",
    *PATTERN_STATISTICS,
)


def replication_statistics(
    block: RunBlock, arrays: ScenarioArrays, start_year: int
) -> pd.DataFrame:
    """One row per replication: the replication table plus the derived statistics above."""
    table = replication_table(block, arrays, start_year)
    # Columns are gathered first and joined once: inserting them one by one into the frame cost
    # more than the kernel's replications themselves in a calibration's many small runs.
    extra: dict[str, np.ndarray] = {
        "km_median_ttfe_years": table["km_median_ttfe_weeks"].to_numpy(float) / WEEKS_PER_YEAR,
        "median_ttfe_exporters_years": table["median_ttfe_weeks"].to_numpy(float) / WEEKS_PER_YEAR,
    }
    applications = block.applications.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        extra["weeks_per_application"] = np.where(
            applications > 0, block.wait_days.sum(axis=1) / 7.0 / applications, np.nan
        )
    ttfe_weeks, exported, _ = ttfe_arrays(block, arrays)
    years = ttfe_weeks / WEEKS_PER_YEAR
    n_exporters = exported.sum(axis=1)
    for k in range(1, int(arrays.n_years) + 1):
        with np.errstate(invalid="ignore", divide="ignore"):
            extra[f"exporters_within_{k}y"] = np.where(
                n_exporters > 0, (exported & (years <= k)).sum(axis=1) / n_exporters, np.nan
            )
    patterns = pattern_statistics(block, arrays).set_index("replication")
    matched = patterns.reindex(table["replication"].to_numpy())  # on the replication index
    for name in PATTERN_STATISTICS:
        extra[name] = matched[name].to_numpy()
    return pd.concat([table, pd.DataFrame(extra, index=table.index)], axis=1)
