"""Engine outputs (MODEL.md section 6): raw per-SME arrays and the tables made from them.

Both engines fill the same :class:`RunBlock` for a block of replications; everything after that
(per-SME table, per-replication statistics, channel mix) is computed here once, so the two engines
cannot differ in how outputs are defined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsme.mechanisms import records as rec
from simsme.scenario.lowering import DAYS_PER_YEAR, STAGE_NAMES, STAGE_NONE, ScenarioArrays
from simsme.scenario.schema import FOCUS_AREAS, SIZE_CLASSES

OUTPUT_VERSION = 3
"""Version of the output tables' columns and definitions. It is part of every results folder's
key, so results written under other definitions are never resumed or reused as if current.
Raise it whenever a column is added, removed or redefined."""

MODES = ("none", "indirect", "direct")
STAGES: tuple[str, ...] = ("Unaware", "Aware", "Ready", "Exporting")
"""SME stages, in order (MODEL.md section 2)."""
OPEN_STAGES: tuple[str, ...] = tuple(STAGE_NAMES[STAGE_NONE + 1 :])
"""Stages of an open application (submission ... delivery)."""


def series_names(agency_names: list[str], channel_names: list[str]) -> list[str]:
    """Columns of the per-step series (the Mesa model's DataCollector,
    :mod:`simsme.model.census`; the kernel's :func:`simsme.kernel.census.census_row`)."""
    return [
        "Not founded",
        *STAGES,
        "New exporters",
        *[f"Open: {s}" for s in OPEN_STAGES],
        *[f"{kind} at {name}" for name in agency_names for kind in ("Open", "Queue")],
        *[f"Applications via {name}" for name in channel_names],
        "Exchanges",
        "Digital share",
    ]


def series_width(n_agencies: int, n_channels: int) -> int:
    """Number of columns of the per-step series."""
    return 6 + len(OPEN_STAGES) + 2 * n_agencies + n_channels + 2


BORN_GLOBAL_YEARS = 3.0  # exporting within 3 years of founding (003; MODEL.md section 6)


@dataclass
class RunBlock:
    """Raw outputs of a block of replications: arrays shaped [replications, SMEs, ...]."""

    replication: np.ndarray  # [B] replication indices
    export_step: np.ndarray  # [B, N] step of first export, -1 if none
    founded_day: np.ndarray
    size_class: np.ndarray
    region: np.ndarray
    mode: np.ndarray
    markets: np.ndarray
    applications: np.ndarray  # [B, N, 5]
    approvals: np.ndarray  # [B, N, 5]
    wait_days: np.ndarray
    digital_applications: np.ndarray
    channels_used: np.ndarray
    channels_adopted: np.ndarray
    cocreated: np.ndarray
    aware_step: np.ndarray
    committed_step: np.ndarray  # [B, N] step it committed to exporting, -1 if none
    procedure_days: np.ndarray  # [B, N] days from commitment to its last procedure's issue
    procedures: np.ndarray  # [B, N] procedures it had to obtain
    digital_procedures: np.ndarray  # [B, N] ... of which over a regulator's digital platform
    experienced: np.ndarray  # [B, N] founder with prior international experience
    year_channel_applications: np.ndarray  # [B, Y, C]
    # per replication, its application records (simsme.mechanisms.records): float rows
    # [applications, RF_ROWS] and int rows [applications, RI_ROWS]; None when not kept
    app_float: list
    app_int: list
    series: np.ndarray  # [B, steps + 1, series columns] (steps + 1 = 0 when not kept)

    @classmethod
    def empty(
        cls,
        arrays: ScenarioArrays,
        replications: np.ndarray,
        applications: bool = False,
        series: bool = False,
    ) -> RunBlock:
        """Zeroed outputs; ``applications`` / ``series``: keep application records / the
        per-step series too."""
        b, n = len(replications), arrays.n_total
        kept = [np.zeros((0, rec.RF_ROWS)) if applications else None for _ in range(b)]
        kept_int = [
            np.zeros((0, rec.RI_ROWS), np.int32) if applications else None for _ in range(b)
        ]
        steps = arrays.n_steps + 1 if series else 0
        width = series_width(int(getattr(arrays, "n_agencies", 0)), int(arrays.n_channels))
        return cls(
            app_float=kept,
            app_int=kept_int,
            series=np.zeros((b, steps, width)),
            replication=np.asarray(replications, dtype=np.int64),
            export_step=np.full((b, n), -1, np.int32),
            founded_day=np.zeros((b, n)),
            size_class=np.zeros((b, n), np.int8),
            region=np.zeros((b, n), np.int8),
            mode=np.zeros((b, n), np.int8),
            markets=np.zeros((b, n), np.int32),
            applications=np.zeros((b, n, 5), np.int32),
            approvals=np.zeros((b, n, 5), np.int32),
            wait_days=np.zeros((b, n)),
            digital_applications=np.zeros((b, n), np.int32),
            channels_used=np.zeros((b, n), np.int64),
            channels_adopted=np.zeros((b, n), np.int64),
            cocreated=np.zeros((b, n), np.int32),
            aware_step=np.full((b, n), -1, np.int32),
            committed_step=np.full((b, n), -1, np.int32),
            procedure_days=np.zeros((b, n)),
            procedures=np.zeros((b, n), np.int8),
            digital_procedures=np.zeros((b, n), np.int8),
            experienced=np.zeros((b, n), np.int8),
            year_channel_applications=np.zeros((b, arrays.n_years, arrays.n_channels), np.int32),
        )


def ttfe_arrays(
    block: RunBlock, arrays: ScenarioArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TTFE in weeks from the start of the run (or founding), the exported flag, age at export."""
    step_days = arrays.step_days
    start_day = np.maximum(block.founded_day, 0.0)
    exported = block.export_step >= 0
    end_day = np.where(exported, (block.export_step + 1) * step_days, arrays.n_steps * step_days)
    ttfe_weeks = (end_day - start_day) / 7.0
    age_years = np.where(exported, (end_day - block.founded_day) / DAYS_PER_YEAR, np.nan)
    return ttfe_weeks, exported, age_years


def sme_table(
    block: RunBlock, arrays: ScenarioArrays, channel_names: list[str], region_names: list[str]
) -> pd.DataFrame:
    """One row per SME per replication (MODEL.md section 6, per SME)."""
    b, n = block.export_step.shape
    ttfe, exported, age = ttfe_arrays(block, arrays)
    cols: dict[str, np.ndarray] = {
        "replication": np.repeat(block.replication, n),
        "sme": np.tile(np.arange(n, dtype=np.int32), b),
        "size_class": pd.Categorical.from_codes(block.size_class.ravel(), SIZE_CLASSES),
        "region": pd.Categorical.from_codes(block.region.ravel(), region_names),
        "founded_week": (block.founded_day / 7.0).ravel(),
        "ttfe_weeks": ttfe.ravel(),
        "exported": exported.ravel(),
        "censored": ~exported.ravel(),
        "age_at_first_export_years": age.ravel(),
        "export_mode": pd.Categorical.from_codes(block.mode.ravel(), MODES),
        "markets": block.markets.ravel(),
    }
    for k, focus in enumerate(FOCUS_AREAS):
        cols[f"applications_{focus}"] = block.applications[:, :, k].ravel()
    for k, focus in enumerate(FOCUS_AREAS):
        cols[f"approvals_{focus}"] = block.approvals[:, :, k].ravel()
    cols["applications"] = block.applications.sum(axis=2).ravel()
    cols["approvals"] = block.approvals.sum(axis=2).ravel()
    cols["digital_applications"] = block.digital_applications.ravel()
    cols["cocreated_programmes"] = block.cocreated.ravel()
    cols["weeks_waiting"] = (block.wait_days / 7.0).ravel()
    cols["aware_week"] = np.where(
        block.aware_step >= 0, (block.aware_step + 1) * arrays.step_days / 7.0, np.nan
    ).ravel()
    committed = block.committed_step >= 0
    cols["committed_week"] = np.where(
        committed, block.committed_step * arrays.step_days / 7.0, np.nan
    ).ravel()
    cols["procedures"] = block.procedures.ravel()
    cols["digital_procedures"] = block.digital_procedures.ravel()
    # issued by the horizon (an exchange begun before it can end after it, or never: inf)
    horizon = arrays.n_steps * arrays.step_days
    finished = committed & (
        block.committed_step * arrays.step_days + block.procedure_days <= horizon
    )
    cols["weeks_on_procedures"] = np.where(finished, block.procedure_days / 7.0, np.nan).ravel()
    cols["experienced_founder"] = block.experienced.ravel().astype(bool)
    cols["channels_used"] = _mask_names(block.channels_used.ravel(), channel_names)
    cols["channels_adopted"] = _mask_names(block.channels_adopted.ravel(), channel_names)
    cols["digital_channels_adopted"] = _popcount(
        block.channels_adopted.ravel() & int(arrays.digital_mask)
    )
    return pd.DataFrame(cols)


def _popcount(masks: np.ndarray) -> np.ndarray:
    out = np.zeros(masks.shape, np.int32)
    m = masks.astype(np.int64).copy()
    while np.any(m):
        out += (m & 1).astype(np.int32)
        m >>= 1
    return out


def _mask_names(masks: np.ndarray, names: list[str]) -> np.ndarray:
    """Bit masks as '|'-joined channel names (cached per distinct mask)."""
    uniq, inverse = np.unique(masks, return_inverse=True)
    labels = np.array(
        ["|".join(nm for c, nm in enumerate(names) if (int(m) >> c) & 1) for m in uniq],
        dtype=object,
    )
    return labels[inverse]


def _share(event: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Per replication, the share of ``eligible`` SMEs with ``event`` (NaN if none eligible)."""
    n_eligible = eligible.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_eligible > 0, (event & eligible).sum(axis=1) / n_eligible, np.nan)


def replication_table(block: RunBlock, arrays: ScenarioArrays, start_year: int) -> pd.DataFrame:
    """One row per replication (MODEL.md section 6, per replication)."""
    from simsme.analysis.survival import km_median_and_restricted_mean  # (imports this module)

    ttfe, exported, age = ttfe_arrays(block, arrays)
    n = exported.shape[1]
    rows: dict[str, np.ndarray] = {"replication": block.replication}
    rows["n_smes"] = np.full(len(block.replication), n)
    rows["share_exported"] = exported.mean(axis=1)
    with np.errstate(invalid="ignore"):
        masked = np.where(exported, ttfe, np.nan)
        rows["median_ttfe_weeks"] = _nan_stat(np.nanmedian, masked)
        rows["mean_ttfe_weeks"] = _nan_stat(np.nanmean, masked)
    end_day = arrays.n_steps * arrays.step_days
    km = np.array(
        [
            km_median_and_restricted_mean(ttfe[r], exported[r], end_day / 7.0)
            for r in range(len(ttfe))
        ]
    ).reshape(-1, 2)
    rows["km_median_ttfe_weeks"] = km[:, 0]
    rows["restricted_mean_ttfe_weeks"] = km[:, 1]
    # The horizon is rounded to whole steps, so "followed for y years" allows half a step.
    slack = arrays.step_days / 2
    # Born-global share (003 s2.3): among SMEs founded during the run and followed to their
    # third birthday, the share that exported by then. Incumbents are left out: the run starts
    # them as non-exporters at whatever age they have, so their first years were never at risk.
    third_birthday = block.founded_day + BORN_GLOBAL_YEARS * DAYS_PER_YEAR
    followed_to_3 = (block.founded_day >= 0) & (third_birthday <= end_day + slack)
    rows["share_exported_within_3y"] = _share(exported & (age <= BORN_GLOBAL_YEARS), followed_to_3)
    # Share exported within y years of entering the run, among SMEs followed for y years.
    followed_days = end_day - np.maximum(block.founded_day, 0.0)
    weeks_per_year = DAYS_PER_YEAR / 7.0
    for y in range(1, arrays.n_years + 1):
        followed = followed_days >= y * DAYS_PER_YEAR - slack
        rows[f"share_exported_year_{y}"] = _share(exported & (ttfe <= y * weeks_per_year), followed)
    n_exp = exported.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows["indirect_share"] = np.where(
            n_exp > 0, ((block.mode == 1).sum(axis=1)) / n_exp, np.nan
        )
    approvals = block.approvals.sum(axis=1)  # [B, 5]
    total_approvals = approvals.sum(axis=1)
    applications = block.applications.sum(axis=(1, 2))
    rows["applications"] = applications
    rows["approvals"] = total_approvals
    reached = block.approvals > 0  # [B, N, 5] SME reached by a programme of each focus area
    reached_total = reached.sum(axis=(1, 2))
    for k, focus in enumerate(FOCUS_AREAS):
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[f"uptake_{focus}"] = np.where(
                reached_total > 0, reached[:, :, k].sum(axis=1) / reached_total, np.nan
            )
    with np.errstate(invalid="ignore", divide="ignore"):
        digital = block.digital_applications.sum(axis=1)
        rows["digital_share_of_applications"] = np.where(
            applications > 0, digital / applications, np.nan
        )
        rows["cocreated_share"] = np.where(
            total_approvals > 0, block.cocreated.sum(axis=1) / total_approvals, np.nan
        )
    rows["mean_weeks_waiting"] = (block.wait_days / 7.0).mean(axis=1)
    # Calendar-year digital share, e.g. the 2021 survey of 003 section 4.2.
    yc = block.year_channel_applications  # [B, Y, C]
    dig = yc[:, :, np.asarray(arrays.ch_digital)].sum(axis=2)
    tot = yc.sum(axis=2)
    for y in range(arrays.n_years):
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[f"digital_share_{start_year + y}"] = np.where(
                tot[:, y] > 0, dig[:, y] / tot[:, y], np.nan
            )
    return pd.DataFrame(rows)


def _nan_stat(fn, masked: np.ndarray) -> np.ndarray:
    out = np.full(masked.shape[0], np.nan)
    has = ~np.all(np.isnan(masked), axis=1)
    if has.any():
        out[has] = fn(masked[has], axis=1)
    return out


def channel_mix_table(
    block: RunBlock, start_year: int, channel_names: list[str], digital: np.ndarray
) -> pd.DataFrame:
    """Applications by calendar year and submission channel, per replication (long form)."""
    b, y, c = block.year_channel_applications.shape
    return pd.DataFrame(
        {
            "replication": np.repeat(block.replication, y * c),
            "year": np.tile(np.repeat(np.arange(start_year, start_year + y), c), b),
            "channel": pd.Categorical(
                np.tile(np.array(channel_names, dtype=object), b * y), categories=channel_names
            ),
            "digital": np.tile(np.asarray(digital, dtype=bool), b * y),
            "applications": block.year_channel_applications.ravel(),
        }
    )


_STAGE_COLUMNS = {
    "submission": 1,
    "documents": 2,
    "assessment": 3,
    "site_visit": 4,
    "committee": 5,
    "notification": 6,
}


def applications_table(
    block: RunBlock,
    channel_names: list[str],
    agency_names: list[str],
    procedure_names: list[str] | tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per application or procedure per replication (``applications.parquet``).

    A row is either an application for a support programme (``agency`` and ``focus`` set,
    ``procedure`` empty) or a procedure an SME applied for after committing to export
    (``procedure`` set: a licence, certificate or permit, :mod:`simsme.mechanisms.procedures`;
    ``agency`` and ``focus`` empty; decision ``approved`` = issued, its assessment is the
    regulator's desk time, its site visit the audits, its document rounds include the answers to
    the audits' non-conformities).
    Who applied where and for what (SME, agency, focus area), whether the agency handled it over
    its digital platform (DIP, 003 section 4.2) and whether it was submitted digitally, the
    channel of the last exchange of each stage that has one (``none`` when no channel worked
    before the horizon; the committee sits without one), the days spent in each stage (the
    assessment's days start when the agency's capacity frees up: the wait before is
    ``days_queue``; 003 section 4.1), the document rounds, the decision (``approved`` /
    ``rejected`` when notified; ``open at export`` / ``open at horizon`` when the SME's
    observation ended first) and whether the delivered programme was co-created.
    """
    if not block.app_float or block.app_float[0] is None:
        raise ValueError("this block kept no application records")
    counts = [len(f) for f in block.app_float]
    rf = np.concatenate(block.app_float) if counts else np.zeros((0, rec.RF_ROWS))
    ri = np.concatenate(block.app_int) if counts else np.zeros((0, rec.RI_ROWS), np.int32)
    channel_labels = ["none", *channel_names]
    cols: dict[str, object] = {
        "replication": np.repeat(block.replication, counts),
        "sme": ri[:, rec.RI_SME],
        "agency": pd.Categorical.from_codes(ri[:, rec.RI_AGENCY], agency_names),
        "focus": pd.Categorical.from_codes(ri[:, rec.RI_FOCUS], FOCUS_AREAS),
        "procedure": pd.Categorical.from_codes(ri[:, rec.RI_PROCEDURE], list(procedure_names)),
        "over_dip": ri[:, rec.RI_DIP].astype(bool),
        "submitted_digitally": ri[:, rec.RI_DIGITAL].astype(bool),
        "submitted_week": rf[:, rec.RF_SUBMITTED] / 7.0,
    }
    for name, stage in _STAGE_COLUMNS.items():
        if name in ("assessment", "committee"):
            continue
        cols[f"channel_{name}"] = pd.Categorical.from_codes(
            ri[:, rec.RI_CHANNEL + stage - 1] + 1, channel_labels
        )
    cols["document_rounds"] = ri[:, rec.RI_DOCUMENT_ROUNDS]
    for name, stage in _STAGE_COLUMNS.items():
        cols[f"days_{name}"] = rf[:, rec.RF_DAYS + stage - 1]
        if name == "documents":
            cols["days_queue"] = rf[:, rec.RF_QUEUE]
    cols["days_to_decision"] = rf[:, rec.RF_CLOSED] - rf[:, rec.RF_SUBMITTED]
    cols["decision"] = pd.Categorical.from_codes(ri[:, rec.RI_DECISION], rec.DECISIONS)
    cols["cocreated"] = ri[:, rec.RI_COCREATED].astype(bool)
    return pd.DataFrame(cols)


def series_table(
    block: RunBlock, agency_names: list[str], channel_names: list[str], step_days: float
) -> pd.DataFrame:
    """The per-step series (``series.parquet``): one row per replication and step (step 0 is
    the initial state, step t the state after the t-th step), the columns of
    :func:`series_names`."""
    b, steps, _ = block.series.shape
    names = series_names(agency_names, channel_names)
    frame = pd.DataFrame(block.series.reshape(b * steps, -1), columns=names)
    int_columns = [n for n in names if n != "Digital share"]
    frame[int_columns] = frame[int_columns].astype(np.int64)
    frame.insert(0, "replication", np.repeat(block.replication, steps))
    frame.insert(1, "step", np.tile(np.arange(steps, dtype=np.int32), b))
    frame.insert(2, "week", frame["step"] * step_days / 7.0)
    return frame
