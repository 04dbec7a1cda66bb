"""Analysis of results folders: TTFE survival curves, medians, comparisons, sweep tables.

TTFE is right-censored (many SMEs never export within the horizon), so the statistics are built
on Kaplan-Meier estimates (:mod:`simsme.analysis.survival`), not on averages over exporters.

Typical use::

    from simsme.analysis import load_run, km_by_group, median_table, compare_runs

    run = load_run("results/baseline-1a2b3c4d")
    curves = km_by_group(run.smes(), by="size_class", results=run)
    median_table(curves)
    compare_runs(load_run("results/conventional"), load_run("results/digital")).to_frame()
"""

from simsme.analysis.compare import (
    Comparison,
    Estimate,
    compare_runs,
    cox_hazard_ratio,
    median_difference,
)
from simsme.analysis.results import (
    WEEKS_PER_YEAR,
    RunResults,
    SweepResults,
    folder_kind,
    load_results,
    load_run,
    load_sweep,
)
from simsme.analysis.survival import (
    GROUPINGS,
    KaplanMeier,
    Median,
    combine_runs,
    group_labels,
    kaplan_meier,
    km_by_group,
    km_from_smes,
    km_median_weighted,
    km_medians,
    median_table,
    run_smes,
    share_exported_by_year,
    survival_table,
)
from simsme.analysis.sweep import (
    default_output,
    marginal_table,
    pair_table,
    point_table,
    sensitivity_table,
)

__all__ = [
    "GROUPINGS",
    "WEEKS_PER_YEAR",
    "Comparison",
    "Estimate",
    "KaplanMeier",
    "Median",
    "RunResults",
    "SweepResults",
    "combine_runs",
    "compare_runs",
    "cox_hazard_ratio",
    "default_output",
    "folder_kind",
    "group_labels",
    "kaplan_meier",
    "km_by_group",
    "km_from_smes",
    "km_median_weighted",
    "km_medians",
    "load_results",
    "load_run",
    "load_sweep",
    "marginal_table",
    "median_difference",
    "median_table",
    "pair_table",
    "point_table",
    "run_smes",
    "sensitivity_table",
    "share_exported_by_year",
    "survival_table",
]
