"""The kernel's compact view of the lowered scenario (:class:`Params`).

Numba passes a tuple argument as all of its members, and each array member costs several
nanoseconds per call (reference counting and argument packing). The phases are called every
step with the whole parameter set, so the kernel reads the scenario through this compact copy of
:class:`~simsme.scenario.lowering.ScenarioArrays`: the same numbers, with the per-channel,
per-agency, per-programme and per-step arrays stacked into a few 2-D arrays whose rows are named
by the constants below. Nothing is recomputed or rounded: each row is the lowered array as is
(booleans become 0.0 / 1.0).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simsme.scenario.lowering import ScenarioArrays

# rows of Params.ch [CH_ROWS, C]
CH_LOG_MEDIAN = 0
CH_SIGMA = 1
CH_BUREAUCRACY = 2
CH_RICHNESS = 3
CH_NEEDS_CONNECTIVITY = 4
CH_VISIBILITY = 5
CH_USEFULNESS = 6
CH_EASE = 7
CH_DISSEMINATION_REACH = 8
CH_EXPORT_REACH = 9
CH_DIGITAL = 10
CH_ROWS = 11

# rows of Params.ag [AG_ROWS, A]
AG_CAPACITY_PER_DAY = 0
AG_SELECTION = 1
AG_FIT = 2
AG_STAGE_FACTOR = 3
AG_DESK_DAYS = 4
AG_SITE_VISIT = 5
AG_COMMITTEE_DAYS = 6
AG_PHYSICAL = 7
AG_MISSING = 8
AG_DIALOGUE = 9
AG_ACCESS = 10
AG_RISK = 11
AG_TRANSPARENCY = 12
AG_ROWS = 13

# rows of Params.prog [PR_ROWS, 5]; rows PR_RAISE .. PR_RAISE + 5 are prog_raise[:, r]
PR_RAISE = 0
PR_DURATION_DAYS = 6
PR_OPPORTUNITY = 7
PR_OPPORTUNITY_DAYS = 8
PR_CLEARS = 9
PR_FOCUS_WEIGHT = 10
PR_ROWS = 11

# rows of Params.tl [TL_ROWS, T]
TL_DEMAND = 0
TL_PUSH = 1
TL_REMOTE = 2  # 1.0 while agencies process remotely (movement-control order)
TL_ROWS = 3

# rows of Params.reg [REG_ROWS, K] (steps stored as floats; exact for any step count)
REG_START = 0
REG_END = 1
REG_SHARE = 2
REG_PENALTY = 3
REG_ROWS = 4

# rows of Params.tax [TAX_ROWS, K]
TAX_START = 0
TAX_LOSS = 1
TAX_ROWS = 2


class Params(NamedTuple):
    """Everything the phases read, as scalars and a dozen stacked arrays."""

    n_initial: int
    n_total: int
    n_steps: int
    n_years: int
    n_channels: int
    n_agencies: int
    step_days: float
    dt_years: float
    digital_mask: int
    conventional_mask: int
    documents_mask: int
    face_to_face: int
    w_useful: float
    w_ease: float
    w_social: float
    adopt_threshold: float
    adopt_rate: float
    wom_rate: float
    qa_reach: float
    seek_rate: float
    cooldown_days: float
    gap_exponent: float
    beta_internal: float
    beta_external: float
    beta_value: float
    beta_export: float
    adjust: float
    cocreation_gain: float
    growth_rate: float
    decay_rate: float
    readiness_threshold: float
    base_opportunity: float
    referral_rate: float
    direct_threshold: float
    direct_steepness: float
    extra_markets: float
    cocreation_bonus: float
    learning_rate: float
    ch: np.ndarray  # [CH_ROWS, C] float64
    ch_order: np.ndarray  # [C] int64, channels by preference
    ag: np.ndarray  # [AG_ROWS, A] float64
    ag_accept: np.ndarray  # [A, 6] int64 channel masks per purpose
    focus_agencies: np.ndarray  # [5, 1 + A] int64: count, then agency indices
    prog: np.ndarray  # [PR_ROWS, 5] float64
    tl: np.ndarray  # [TL_ROWS, T] float64
    tl_level: np.ndarray  # [T, A] agency digitalisation level
    tl_slow: np.ndarray  # [T, C] channel slowdown
    tl_blocked: np.ndarray  # [T] int64 blocked-channel mask
    reg: np.ndarray  # [REG_ROWS, K] float64
    tax: np.ndarray  # [TAX_ROWS, K] float64


def _f64(x: object) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64))


def kernel_params(p: ScenarioArrays) -> Params:
    """Stack the lowered scenario into the kernel's :class:`Params` (no value changes)."""
    n_ag = int(p.n_agencies)
    ch = np.empty((CH_ROWS, p.n_channels))
    ch[CH_LOG_MEDIAN] = p.ch_log_median
    ch[CH_SIGMA] = p.ch_sigma
    ch[CH_BUREAUCRACY] = p.ch_bureaucracy
    ch[CH_RICHNESS] = p.ch_richness
    ch[CH_NEEDS_CONNECTIVITY] = p.ch_needs_connectivity
    ch[CH_VISIBILITY] = p.ch_visibility
    ch[CH_USEFULNESS] = p.ch_usefulness
    ch[CH_EASE] = p.ch_ease
    ch[CH_DISSEMINATION_REACH] = p.ch_dissemination_reach
    ch[CH_EXPORT_REACH] = p.ch_export_reach
    ch[CH_DIGITAL] = p.ch_digital
    ag = np.empty((AG_ROWS, n_ag))
    ag[AG_CAPACITY_PER_DAY] = p.ag_capacity_per_day
    ag[AG_SELECTION] = p.ag_selection
    ag[AG_FIT] = p.ag_fit
    ag[AG_STAGE_FACTOR] = p.ag_stage_factor
    ag[AG_DESK_DAYS] = p.ag_desk_days
    ag[AG_SITE_VISIT] = p.ag_site_visit
    ag[AG_COMMITTEE_DAYS] = p.ag_committee_days
    ag[AG_PHYSICAL] = p.ag_physical
    ag[AG_MISSING] = p.ag_missing
    ag[AG_DIALOGUE] = p.ag_dialogue
    ag[AG_ACCESS] = p.ag_access
    ag[AG_RISK] = p.ag_risk
    ag[AG_TRANSPARENCY] = p.ag_transparency
    focus_agencies = np.zeros((5, 1 + n_ag), dtype=np.int64)
    focus_agencies[:, 0] = p.n_agencies_by_focus
    focus_agencies[:, 1:] = p.agencies_by_focus
    prog = np.empty((PR_ROWS, 5))
    prog[PR_RAISE : PR_RAISE + 6] = np.asarray(p.prog_raise).T
    prog[PR_DURATION_DAYS] = p.prog_duration_days
    prog[PR_OPPORTUNITY] = p.prog_opportunity
    prog[PR_OPPORTUNITY_DAYS] = p.prog_opportunity_days
    prog[PR_CLEARS] = p.prog_clears
    prog[PR_FOCUS_WEIGHT] = p.focus_weight
    tl = np.empty((TL_ROWS, p.n_steps))
    tl[TL_DEMAND] = p.tl_demand
    tl[TL_PUSH] = p.tl_adoption_push
    tl[TL_REMOTE] = p.tl_remote
    reg = np.empty((REG_ROWS, len(p.reg_start)))
    reg[REG_START] = p.reg_start
    reg[REG_END] = p.reg_end
    reg[REG_SHARE] = p.reg_share
    reg[REG_PENALTY] = p.reg_penalty
    tax = np.empty((TAX_ROWS, len(p.tax_start)))
    tax[TAX_START] = p.tax_start
    tax[TAX_LOSS] = p.tax_loss
    return Params(
        n_initial=int(p.n_initial),
        n_total=int(p.n_total),
        n_steps=int(p.n_steps),
        n_years=int(p.n_years),
        n_channels=int(p.n_channels),
        n_agencies=n_ag,
        step_days=float(p.step_days),
        dt_years=float(p.dt_years),
        digital_mask=int(p.digital_mask),
        conventional_mask=int(p.conventional_mask),
        documents_mask=int(p.documents_mask),
        face_to_face=int(p.face_to_face),
        w_useful=float(p.w_useful),
        w_ease=float(p.w_ease),
        w_social=float(p.w_social),
        adopt_threshold=float(p.adopt_threshold),
        adopt_rate=float(p.adopt_rate),
        wom_rate=float(p.wom_rate),
        qa_reach=float(p.qa_reach),
        seek_rate=float(p.seek_rate),
        cooldown_days=float(p.cooldown_days),
        gap_exponent=float(p.gap_exponent),
        beta_internal=float(p.beta_internal),
        beta_external=float(p.beta_external),
        beta_value=float(p.beta_value),
        beta_export=float(p.beta_export),
        adjust=float(p.adjust),
        cocreation_gain=float(p.cocreation_gain),
        growth_rate=float(p.growth_rate),
        decay_rate=float(p.decay_rate),
        readiness_threshold=float(p.readiness_threshold),
        base_opportunity=float(p.base_opportunity),
        referral_rate=float(p.referral_rate),
        direct_threshold=float(p.direct_threshold),
        direct_steepness=float(p.direct_steepness),
        extra_markets=float(p.extra_markets),
        cocreation_bonus=float(p.cocreation_bonus),
        learning_rate=float(p.learning_rate),
        ch=ch,
        ch_order=np.ascontiguousarray(np.asarray(p.ch_order, dtype=np.int64)),
        ag=ag,
        ag_accept=np.ascontiguousarray(np.asarray(p.ag_accept, dtype=np.int64)),
        focus_agencies=focus_agencies,
        prog=prog,
        tl=tl,
        tl_level=_f64(p.tl_agency_level).reshape(p.n_steps, n_ag),
        tl_slow=_f64(p.tl_slow).reshape(p.n_steps, p.n_channels),
        tl_blocked=np.ascontiguousarray(np.asarray(p.tl_blocked, dtype=np.int64)),
        reg=reg,
        tax=tax,
    )
