"""Lowering a :class:`Scenario` into flat numpy arrays (``ScenarioArrays``).

Both engines read the scenario only through these arrays, so they cannot disagree about what a
parameter means: the Mesa model reads them attribute by attribute, the numba kernel passes the
whole tuple into compiled code. Rates are converted to per-step probabilities' building blocks
(per-year rates times ``dt_years``); dates become step indices; channel sets become bit masks.

Time-varying inputs (events, agency digitalisation plans) become per-step timelines, so the
``apply_events`` phase of either engine is a lookup.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import NamedTuple

import numpy as np

from simsme.scenario.schema import FOCUS_AREAS, PURPOSES, RESOURCES, Scenario

# Application stages (MODEL.md section 3, phase 5), shared by both engines.
STAGE_NONE = 0
STAGE_SUBMISSION = 1
STAGE_DOCUMENTS = 2
STAGE_ASSESSMENT = 3
STAGE_SITE_VISIT = 4
STAGE_COMMITTEE = 5
STAGE_NOTIFICATION = 6
STAGE_DELIVERY = 7
STAGE_NAMES = (
    "none",
    "submission",
    "documents",
    "assessment",
    "site_visit",
    "committee",
    "notification",
    "delivery",
)

PURPOSE_INDEX = {name: i for i, name in enumerate(PURPOSES)}
P_DISSEMINATION, P_APPLICATION, P_DOCUMENTS, P_FOLLOW_UP, P_CONFIRMATION, P_NOTIFICATION = range(6)
R_MANAGERIAL, R_PHYSICAL, R_FIRM_SPECIFIC, R_TECHNOLOGY, R_FINANCIAL, R_MARKET = range(6)

DAYS_PER_YEAR = 365.25


class ScenarioArrays(NamedTuple):
    """Everything the engines need, as numbers and arrays (structure of arrays)."""

    # sizes and time
    n_initial: int
    n_total: int
    n_steps: int
    n_years: int
    n_channels: int
    n_agencies: int
    step_days: float
    dt_years: float
    # channels [C]
    ch_log_median: np.ndarray
    ch_sigma: np.ndarray
    ch_bureaucracy: np.ndarray
    ch_docs: np.ndarray
    ch_richness: np.ndarray
    ch_needs_connectivity: np.ndarray
    ch_visibility: np.ndarray
    ch_usefulness: np.ndarray
    ch_ease: np.ndarray
    ch_dissemination_reach: np.ndarray
    ch_export_reach: np.ndarray
    ch_digital: np.ndarray
    ch_order: np.ndarray  # channels by preference (fastest, cheapest first)
    digital_mask: np.int64
    conventional_mask: np.int64
    documents_mask: np.int64  # channels that can carry documents
    face_to_face: int  # index of the channel used for site visits (-1: none)
    # population
    size_cum: np.ndarray  # [3]
    res_mean: np.ndarray  # [6, 3]
    res_conc: np.ndarray  # [6]
    region_cum: np.ndarray  # [R]
    region_downtime: np.ndarray  # [R]
    initial_channel_share: np.ndarray  # [C]
    age_max_years: float
    mean_degree: float
    half_saturation: float
    # behaviour
    w_useful: float
    w_ease: float
    w_social: float
    adopt_threshold: float
    adopt_rate: float
    wom_rate: float
    qa_reach: float
    seek_rate: float
    cooldown_days: float
    focus_weight: np.ndarray  # [5]
    gap_exponent: float
    beta_internal: float
    beta_external: float
    beta_value: float
    beta_export: float
    adjust: float  # share of the gap to target closed per step
    cocreation_gain: float
    growth_rate: float
    decay_rate: float
    readiness_threshold: float
    # export market
    base_opportunity: float
    referral_rate: float
    direct_threshold: float
    direct_steepness: float
    extra_markets: float
    # programmes [5, ...]
    prog_raise: np.ndarray  # [5, 6]
    prog_duration_days: np.ndarray
    prog_opportunity: np.ndarray
    prog_opportunity_days: np.ndarray
    prog_clears: np.ndarray
    cocreation_bonus: float
    learning_rate: float
    # agencies [A]
    ag_focus: np.ndarray
    ag_capacity_per_day: np.ndarray
    ag_selection: np.ndarray
    ag_fit: np.ndarray
    ag_accept: np.ndarray  # [A, 6] channel masks per purpose
    ag_stage_factor: np.ndarray
    ag_desk_days: np.ndarray
    ag_site_visit: np.ndarray
    ag_committee_days: np.ndarray
    ag_physical: np.ndarray
    ag_missing: np.ndarray
    ag_dialogue: np.ndarray
    ag_access: np.ndarray
    ag_risk: np.ndarray
    ag_transparency: np.ndarray
    agencies_by_focus: np.ndarray  # [5, A] agency indices, -1 padded
    n_agencies_by_focus: np.ndarray  # [5]
    # timelines [T, ...]
    tl_agency_level: np.ndarray  # [T, A]
    tl_blocked: np.ndarray  # [T] channel mask
    tl_slow: np.ndarray  # [T, C]
    tl_demand: np.ndarray  # [T]
    tl_adoption_push: np.ndarray  # [T]
    tl_remote: np.ndarray  # [T] bool: agencies process remotely (movement-control order)
    # one-off shocks, by step
    reg_start: np.ndarray  # [K]
    reg_end: np.ndarray  # [K] (n_steps when open-ended)
    reg_share: np.ndarray
    reg_penalty: np.ndarray
    tax_start: np.ndarray
    tax_loss: np.ndarray


def date_to_step(date: dt.date, start: dt.date, step_days: float) -> int:
    """Step in which a calendar date falls (may be negative or beyond the horizon)."""
    return math.floor((date - start).days / step_days)


def _clip_step(step: int, n_steps: int) -> int:
    return max(0, min(n_steps, step))


def lower(scenario: Scenario) -> ScenarioArrays:
    """Flatten a validated scenario into :class:`ScenarioArrays`."""
    t = scenario.time
    n_steps = scenario.n_steps
    step_days = float(t.step_days)
    dt_years = step_days / DAYS_PER_YEAR
    n_years = max(1, math.ceil(t.horizon_years - 1e-9))  # year index is clamped to n_years - 1
    pop = scenario.population
    n_initial = pop.n_smes
    n_entrants = int(round(pop.entrants_per_year * n_initial * t.horizon_years))

    names = list(scenario.channels)
    index = {name: i for i, name in enumerate(names)}
    chans = [scenario.channels[n] for n in names]
    n_ch = len(names)

    def mask(channel_names: list[str] | dict) -> np.int64:
        m = 0
        for name in channel_names:
            m |= 1 << index[name]
        return np.int64(m)

    digital = np.array([c.kind == "digital" for c in chans])
    # the channels' preference order is a mechanism (simsme.mechanisms.channels)
    from simsme.mechanisms import channels as channel_mechanisms
    from simsme.mechanisms.python import as_python

    order = as_python(channel_mechanisms).preference_order(
        np.array([c.latency.median_days for c in chans], dtype=np.float64),
        np.array([c.bureaucracy for c in chans], dtype=np.float64),
        np.array([c.cost for c in chans], dtype=np.float64),
    )

    res = pop.resources
    res_mean = np.array([getattr(res, r).mean for r in RESOURCES], dtype=np.float64)
    res_conc = np.array([getattr(res, r).concentration for r in RESOURCES], dtype=np.float64)
    mix = pop.size_mix
    size_cum = np.cumsum([mix.micro, mix.small, mix.medium])
    size_cum[-1] = 1.0
    region_cum = np.cumsum([r.share for r in pop.regions])
    region_cum[-1] = 1.0
    init_share = np.zeros(n_ch)
    for name, share in pop.initial_channels.items():
        init_share[index[name]] = share

    b = scenario.behaviour
    cap = b.capability
    em = scenario.export_market
    focus_weight = np.array([b.support.focus_weights.get(f, 0.0) for f in FOCUS_AREAS])

    progs = [scenario.programmes[f] for f in FOCUS_AREAS]
    prog_raise = np.zeros((5, 6))
    for i, p in enumerate(progs):
        for r, v in p.raises.items():
            prog_raise[i, RESOURCES.index(r)] = v

    ags = scenario.agencies
    n_ag = len(ags)
    ag_accept = np.zeros((n_ag, 6), dtype=np.int64)
    for a, ag in enumerate(ags):
        for p, purpose in enumerate(PURPOSES):
            ag_accept[a, p] = mask(getattr(ag.channels, purpose))
    ag_focus = np.array([FOCUS_AREAS.index(a.focus) for a in ags], dtype=np.int64)
    by_focus = -np.ones((5, n_ag), dtype=np.int64)
    n_by_focus = np.zeros(5, dtype=np.int64)
    for a, f in enumerate(ag_focus):
        by_focus[f, n_by_focus[f]] = a
        n_by_focus[f] += 1

    # Timelines ---------------------------------------------------------------------------
    level = np.zeros((n_steps, n_ag))
    agency_index = {a.name: i for i, a in enumerate(ags)}
    changes: list[tuple[int, int, float]] = []  # (step, agency, level)
    for a, ag in enumerate(ags):
        level[:, a] = ag.digitalisation.level
        for change in ag.digitalisation.schedule:
            changes.append((date_to_step(change.date, t.start_date, step_days), a, change.level))
    blocked = np.zeros(n_steps, dtype=np.int64)
    slow = np.ones((n_steps, n_ch))
    demand = np.ones(n_steps)
    push = np.zeros(n_steps)
    remote = np.zeros(n_steps, dtype=np.bool_)
    reg: list[tuple[int, int, float, float]] = []
    plans: list[tuple[int, int, int, float]] = []  # (from step, to step, agency, level)
    tax: list[tuple[int, float]] = []
    for ev in scenario.events:
        s0 = date_to_step(ev.start, t.start_date, step_days)
        s1 = n_steps if ev.end is None else date_to_step(ev.end, t.start_date, step_days) + 1
        lo, hi = _clip_step(s0, n_steps), _clip_step(s1, n_steps)
        if ev.type == "movement_control":
            blocked[lo:hi] |= mask(ev.blocked_channels)
            for name, factor in ev.slowed_channels.items():
                slow[lo:hi, index[name]] *= factor
            demand[lo:hi] *= ev.export_demand
            push[lo:hi] += ev.adoption_push
            remote[lo:hi] |= ev.remote_processing
        elif ev.type == "free_trade_agreement":
            demand[lo:hi] *= ev.opportunity_multiplier
        elif ev.type == "regulation_change" and s1 > 0:  # one that ended before the run: none
            reg.append((s0, s1, ev.affected_share, ev.readiness_penalty))
        elif ev.type == "tax_change":
            tax.append((s0, ev.financial_loss))
        elif ev.type == "agency_digitalisation":
            targets = [agency_index[n] for n in ev.agencies] or list(range(n_ag))
            plans.extend((lo, hi, a, ev.level) for a in targets)
    # An agency's own schedule first; digitalisation events then override it over their dates
    # (to the horizon when they have no end), later events over earlier ones.
    for step, a, value in sorted(changes, key=lambda c: c[0]):
        level[_clip_step(step, n_steps) :, a] = value
    for lo, hi, a, value in sorted(plans, key=lambda c: c[0]):
        level[lo:hi, a] = value

    f2f = index.get("face_to_face", -1)
    return ScenarioArrays(
        n_initial=n_initial,
        n_total=n_initial + n_entrants,
        n_steps=n_steps,
        n_years=n_years,
        n_channels=n_ch,
        n_agencies=n_ag,
        step_days=step_days,
        dt_years=dt_years,
        ch_log_median=np.log([c.latency.median_days for c in chans]),
        ch_sigma=np.array([c.latency.sigma for c in chans]),
        ch_bureaucracy=np.array([c.bureaucracy for c in chans]),
        ch_docs=np.array([c.carries_documents for c in chans]),
        ch_richness=np.array([c.richness for c in chans]),
        ch_needs_connectivity=np.array([c.needs_connectivity for c in chans]),
        ch_visibility=np.array([c.visibility for c in chans]),
        ch_usefulness=np.array([c.usefulness for c in chans]),
        ch_ease=np.array([c.ease_of_use for c in chans]),
        ch_dissemination_reach=np.array([c.dissemination_reach_per_year for c in chans]),
        ch_export_reach=np.array([c.export_reach_per_year for c in chans]),
        ch_digital=digital,
        ch_order=order,
        digital_mask=mask([n for n, d in zip(names, digital, strict=True) if d]),
        conventional_mask=mask([n for n, d in zip(names, digital, strict=True) if not d]),
        documents_mask=mask([n for n, c in zip(names, chans, strict=True) if c.carries_documents]),
        face_to_face=f2f,
        size_cum=np.asarray(size_cum, dtype=np.float64),
        res_mean=res_mean,
        res_conc=res_conc,
        region_cum=np.asarray(region_cum, dtype=np.float64),
        region_downtime=np.array([r.downtime_prob for r in pop.regions]),
        initial_channel_share=init_share,
        age_max_years=float(pop.age_years_max),
        mean_degree=float(pop.network.mean_degree),
        half_saturation=float(pop.network.partner_half_saturation),
        w_useful=b.adoption.weight_usefulness,
        w_ease=b.adoption.weight_ease_of_use,
        w_social=b.adoption.weight_social_norm,
        adopt_threshold=b.adoption.threshold,
        adopt_rate=b.adoption.rate_per_year,
        wom_rate=b.awareness.word_of_mouth_per_year,
        qa_reach=b.awareness.public_qa_reach,
        seek_rate=b.support.seek_rate_per_year,
        cooldown_days=b.support.cooldown_weeks * 7.0,
        focus_weight=focus_weight,
        gap_exponent=b.support.gap_exponent,
        beta_internal=cap.internal_to_coinnovation,
        beta_external=cap.external_to_coinnovation,
        beta_value=cap.coinnovation_to_value,
        beta_export=cap.value_to_export,
        adjust=1.0 - math.exp(-step_days / (7.0 * cap.adjustment_weeks)),
        cocreation_gain=cap.cocreation_sourcing_gain,
        growth_rate=cap.organic_growth_per_year,
        decay_rate=cap.decay_per_year,
        readiness_threshold=cap.readiness_threshold,
        base_opportunity=em.base_rate_per_year,
        referral_rate=em.referral_rate_per_year,
        direct_threshold=em.direct_threshold,
        direct_steepness=em.direct_steepness,
        extra_markets=em.extra_markets_mean,
        prog_raise=prog_raise,
        prog_duration_days=np.array([p.duration_weeks * 7.0 for p in progs]),
        prog_opportunity=np.array([p.opportunity_rate_per_year for p in progs]),
        prog_opportunity_days=np.array([p.opportunity_weeks * 7.0 for p in progs]),
        prog_clears=np.array([p.clears_compliance for p in progs]),
        cocreation_bonus=scenario.cocreation.bonus,
        learning_rate=scenario.cocreation.agency_learning_rate,
        ag_focus=ag_focus,
        ag_capacity_per_day=np.array([a.capacity_per_week / 7.0 for a in ags]),
        ag_selection=np.array([a.selection_rate for a in ags]),
        ag_fit=np.array([a.initial_fit for a in ags]),
        ag_accept=ag_accept,
        ag_stage_factor=np.array([a.bureaucracy.stage_factor for a in ags]),
        ag_desk_days=np.array([a.bureaucracy.desk_review_days for a in ags]),
        ag_site_visit=np.array([a.bureaucracy.site_visit_prob for a in ags]),
        ag_committee_days=np.array([a.bureaucracy.committee_interval_weeks * 7.0 for a in ags]),
        ag_physical=np.array([a.bureaucracy.requires_physical_documents for a in ags]),
        ag_missing=np.array([a.bureaucracy.missing_document_prob for a in ags]),
        ag_dialogue=np.array([a.dart.dialogue for a in ags]),
        ag_access=np.array([a.dart.access for a in ags]),
        ag_risk=np.array([a.dart.risk_assessment for a in ags]),
        ag_transparency=np.array([a.dart.transparency for a in ags]),
        agencies_by_focus=by_focus,
        n_agencies_by_focus=n_by_focus,
        tl_agency_level=level,
        tl_blocked=blocked,
        tl_slow=slow,
        tl_demand=demand,
        tl_adoption_push=push,
        tl_remote=remote,
        reg_start=np.array([r[0] for r in reg], dtype=np.int64),
        reg_end=np.array([r[1] for r in reg], dtype=np.int64),
        reg_share=np.array([r[2] for r in reg], dtype=np.float64),
        reg_penalty=np.array([r[3] for r in reg], dtype=np.float64),
        tax_start=np.array([x[0] for x in tax], dtype=np.int64),
        tax_loss=np.array([x[1] for x in tax], dtype=np.float64),
    )
