"""Per-replication statistics for the population targets and the stylised-fact patterns.

They are computed from the per-SME table (:func:`simsme.outputs.sme_table`, one row per SME per
replication) by :func:`sme_pattern_statistics`, so the figures a user reads off ``smes.parquet``
and the ones ``simsme check-model`` (targets and ``--patterns``) checks are the same.
:func:`pattern_statistics` makes that table from a block of kernel replications;
:func:`simsme.calibration.statistics.replication_statistics` adds its columns to the
per-replication statistics, so a ``statistic:`` of a targets or patterns file can name any of:

``share_exported_by_horizon``
    share of all SMEs of the run (incumbents and entrants, all founded before the horizon) that
    exported by the horizon.
``share_exported_micro``, ``share_exported_small``, ``share_exported_medium``
    the same within each size class (NaN when the class is empty).
``export_entry_rate_per_year``
    first exports per SME-year at risk: the yearly hazard at which non-exporters start
    exporting. At-risk time runs from the start of the run (incumbents) or founding (entrants)
    to the first export or the horizon, i.e. the TTFE column (``ttfe_weeks``), exporters and
    censored SMEs alike.
``born_global_share``
    among entrants (founded during the run) followed to their third birthday, the share that
    exported within three years of founding (NaN when there is no such entrant). Incumbents are
    left out: their first years were before the run.
``single_market_share``
    share of first exports that went to one market only (among exporters; NaN without one).
``indirect_share_micro``, ``indirect_share_small``, ``indirect_share_medium``
    share of each class's exporters whose first export was indirect (NaN without exporters).
``indirect_drop_micro_to_medium``
    ``indirect_share_micro - indirect_share_medium``: positive when the indirect share falls
    with size (its confidence interval is clipped at 0 by ``simsme.results.summary.bounds_of``;
    the mean is not).
``median_age_at_first_export_years``
    median over exporters of years from founding to first export (incumbents' ages include the
    years before the run: they were founded up to ``population.age_years_max`` earlier). Biased
    up as a reading of the population: every incumbent starts the run as a non-exporter, so the
    incumbents that would have exported young are not among the exporters.
``km_median_age_at_first_export_years``
    the same median corrected for that left truncation: a Kaplan-Meier estimate of the
    distribution of age at first export in which an incumbent enters the risk set at its age at
    the start of the run (an entrant at 0) and leaves it at its first export or at the horizon;
    the median is the age by which half of those that export by the oldest age observed have
    exported (``F(a) = F(a_max) / 2``, ``F = 1 - S``). NaN without exporters.
``size_gradient_medium_small``, ``size_gradient_small_micro``
    ratios of the size classes' shares exported by the horizon (NaN when the denominator is 0).
``experienced_founder_hazard_ratio``
    export entry rate of SMEs whose founder has prior international experience over that of the
    others (NaN when either group has no time at risk or the others no exporter; NaN when the
    per-SME table has no ``experienced_founder`` column).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simsme.scenario.lowering import DAYS_PER_YEAR

WEEKS_PER_YEAR = DAYS_PER_YEAR / 7.0
BORN_GLOBAL_YEARS = 3.0
SIZES = ("micro", "small", "medium")

PATTERN_STATISTICS: tuple[str, ...] = (
    "share_exported_by_horizon",
    *(f"share_exported_{s}" for s in SIZES),
    "export_entry_rate_per_year",
    "born_global_share",
    "single_market_share",
    *(f"indirect_share_{s}" for s in SIZES),
    "indirect_drop_micro_to_medium",
    "median_age_at_first_export_years",
    "km_median_age_at_first_export_years",
    "size_gradient_medium_small",
    "size_gradient_small_micro",
    "experienced_founder_hazard_ratio",
)
"""Columns :func:`sme_pattern_statistics` adds, in order."""

SME_COLUMNS = (
    "replication",
    "size_class",
    "founded_week",
    "ttfe_weeks",
    "exported",
    "age_at_first_export_years",
    "export_mode",
    "markets",
)
"""Columns of the per-SME table the statistics read (``experienced_founder`` is optional)."""


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def km_conditional_median_age(
    entry_age: np.ndarray, exit_age: np.ndarray, exported: np.ndarray
) -> float:
    """Age by which half of those that export by the oldest observed age have exported.

    Kaplan-Meier with delayed entry: an SME is at risk at age ``t`` when
    ``entry_age < t <= exit_age``; the product-limit survivor ``S`` is taken over the ages of
    first exports, ``F = 1 - S``, and the result is the first such age with
    ``F >= F(last) / 2``. NaN when no SME exported.
    """
    events = np.sort(exit_age[exported])
    if events.size == 0:
        return float("nan")
    ages, deaths = np.unique(events, return_counts=True)
    entries = np.sort(entry_age)
    exits = np.sort(exit_age)
    at_risk = np.searchsorted(entries, ages, side="left") - np.searchsorted(
        exits, ages, side="left"
    )
    survivor = np.cumprod(1.0 - deaths / at_risk)
    failed = 1.0 - survivor
    k = int(np.argmax(failed >= failed[-1] / 2.0 - 1e-12))
    return float(ages[k])


def _one_replication(smes: pd.DataFrame, horizon_weeks: float, slack_weeks: float) -> dict:
    exported = smes["exported"].to_numpy(dtype=bool)
    ttfe = smes["ttfe_weeks"].to_numpy(dtype=float)
    size = smes["size_class"].astype(str).to_numpy()
    mode = smes["export_mode"].astype(str).to_numpy()
    founded = smes["founded_week"].to_numpy(dtype=float)
    age = smes["age_at_first_export_years"].to_numpy(dtype=float)
    markets = smes["markets"].to_numpy()
    row: dict[str, float] = {}
    row["share_exported_by_horizon"] = _ratio(exported.sum(), len(exported))
    for s in SIZES:
        in_class = size == s
        row[f"share_exported_{s}"] = _ratio((exported & in_class).sum(), in_class.sum())
    row["export_entry_rate_per_year"] = _ratio(exported.sum(), ttfe.sum() / WEEKS_PER_YEAR)
    third_birthday = founded + BORN_GLOBAL_YEARS * WEEKS_PER_YEAR
    followed = (founded >= 0) & (third_birthday <= horizon_weeks + slack_weeks)
    with np.errstate(invalid="ignore"):
        early = exported & (age <= BORN_GLOBAL_YEARS)
    row["born_global_share"] = _ratio((early & followed).sum(), followed.sum())
    row["single_market_share"] = _ratio((exported & (markets == 1)).sum(), exported.sum())
    for s in SIZES:
        exporters = exported & (size == s)
        row[f"indirect_share_{s}"] = _ratio(
            (exporters & (mode == "indirect")).sum(), exporters.sum()
        )
    row["indirect_drop_micro_to_medium"] = (
        row["indirect_share_micro"] - row["indirect_share_medium"]
    )
    row["median_age_at_first_export_years"] = (
        float(np.median(age[exported])) if exported.any() else float("nan")
    )
    entry_age = np.maximum(-founded, 0.0) / WEEKS_PER_YEAR
    row["km_median_age_at_first_export_years"] = km_conditional_median_age(
        entry_age, entry_age + ttfe / WEEKS_PER_YEAR, exported
    )
    row["size_gradient_medium_small"] = _ratio(
        row["share_exported_medium"], row["share_exported_small"]
    )
    row["size_gradient_small_micro"] = _ratio(
        row["share_exported_small"], row["share_exported_micro"]
    )
    ratio = float("nan")
    if "experienced_founder" in smes:
        experienced = smes["experienced_founder"].to_numpy(dtype=bool)
        rates = [
            _ratio((exported & group).sum(), ttfe[group].sum() / WEEKS_PER_YEAR)
            for group in (experienced, ~experienced)
        ]
        ratio = _ratio(rates[0], rates[1])
    row["experienced_founder_hazard_ratio"] = ratio
    return row


def sme_pattern_statistics(
    smes: pd.DataFrame, horizon_weeks: float, step_weeks: float = 1.0
) -> pd.DataFrame:
    """One row per replication of the per-SME table ``smes``: ``replication`` and the
    :data:`PATTERN_STATISTICS`.

    ``horizon_weeks``: weeks from the start of the run to the horizon; ``step_weeks``: the step
    length (an entrant counts as followed to its third birthday when that falls within half a
    step of the horizon, since the horizon is rounded to whole steps).
    """
    missing = [c for c in SME_COLUMNS if c not in smes]
    if missing:
        raise ValueError(f"the per-SME table has no column(s) {missing}")
    rows = []
    for replication, group in smes.groupby("replication", sort=True, observed=True):
        row = _one_replication(group, float(horizon_weeks), float(step_weeks) / 2.0)
        rows.append({"replication": replication, **row})
    columns = ["replication", *PATTERN_STATISTICS]
    return pd.DataFrame(rows, columns=columns)


def pattern_statistics(block, arrays) -> pd.DataFrame:
    """:func:`sme_pattern_statistics` of a block of kernel replications
    (:class:`simsme.outputs.RunBlock` of a lowered scenario)."""
    from simsme.outputs import sme_table

    channels = [f"channel_{c}" for c in range(int(arrays.n_channels))]
    n_regions = int(block.region.max()) + 1 if block.region.size else 1
    regions = [f"region_{g}" for g in range(n_regions)]
    smes = sme_table(block, arrays, channels, regions)
    step_weeks = float(arrays.step_days) / 7.0
    return sme_pattern_statistics(smes, arrays.n_steps * step_weeks, step_weeks)
