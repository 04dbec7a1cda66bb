"""The nine phases of one step (MODEL.md section 3) as numba functions over flat arrays.

Each function has the name of the Mesa model's method for the same phase
(``simsme.model.model.SimsmeModel``) and applies the same rules from :mod:`simsme.rules`.
``p`` is the lowered scenario (:class:`~simsme.scenario.lowering.ScenarioArrays`), ``s`` the
replication's :class:`~simsme.kernel.state.State`, ``t`` the step, ``rng`` the replication's
generator. Exporters are frozen at their first export (the end of their observation).

News that reaches network neighbours (became aware, adopted a channel, exported) is applied after
the phase that produced it, so within a phase every SME sees the same neighbourhood whatever the
order in which SMEs are visited.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simsme import rules
from simsme.kernel.state import marketplace_rate
from simsme.scenario.lowering import (
    P_APPLICATION,
    P_DISSEMINATION,
    P_DOCUMENTS,
    P_NOTIFICATION,
    STAGE_ASSESSMENT,
    STAGE_COMMITTEE,
    STAGE_DELIVERY,
    STAGE_DOCUMENTS,
    STAGE_NONE,
    STAGE_NOTIFICATION,
    STAGE_SITE_VISIT,
    STAGE_SUBMISSION,
)

INF = np.inf


# Hot loops bind the arrays they use to local names first: numba handles the large ``p`` and
# ``s`` tuples poorly inside a loop (hundreds of nanoseconds per access), locals cost nothing.
# Rare paths (a submission, a stage change, an export) take ``p`` and ``s`` whole.


# ---------------------------------------------------------------------------------------------
# 1. Events
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def apply_events(p, s, t, rng):
    """One-off shocks that start (or end) this step; timelines are read where they are used.

    Regulation change (002, Food Act sugar rule): affected SMEs lose part of their export
    propensity until they comply. Tax change (002, GST): financial accessibility falls.
    Events dated before the run apply at step 0.
    """
    for k in range(p.reg_start.shape[0]):
        if max(p.reg_start[k], 0) == t:
            for i in range(p.n_total):
                if rng.random() < p.reg_share[k]:
                    s.penalty[i] = max(s.penalty[i], p.reg_penalty[k])
        if p.reg_end[k] == t:
            for i in range(p.n_total):
                s.penalty[i] = 0.0
    for k in range(p.tax_start.shape[0]):
        if max(p.tax_start[k], 0) == t:
            for i in range(p.n_total):
                s.resources[i, 4] *= 1.0 - p.tax_loss[k]
                s.endowment[i, 4] *= 1.0 - p.tax_loss[k]


# ---------------------------------------------------------------------------------------------
# 2. Dissemination
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def disseminate(p, s, t, rng):
    """Agencies push programme information; SMEs on those channels become aware.

    Hazard per year for an unaware SME = sum over its channels of each agency's push (channel reach
    x agency access, digital channels only as far as the agency is digitalised) + public Q&A seen on
    its channels (003 section 4.2) + word of mouth from aware neighbours.
    """
    blocked = p.tl_blocked[t]
    today = t * p.step_days
    founded, exported, aware, channels = s.founded_day, s.exported, s.aware, s.channels
    indptr, aware_neighbours, hazard = s.indptr, s.aware_neighbours, s.dissemination_hazard
    n_channels, wom_rate, dt_years = p.n_channels, p.wom_rate, p.dt_years
    n_active = 0
    for i in range(p.n_total):
        if founded[i] <= today:
            n_active += 1
    for c in range(p.n_channels):
        h = 0.0
        if not (blocked >> c) & 1:
            for a in range(p.n_agencies):
                if (p.ag_accept[a, P_DISSEMINATION] >> c) & 1:
                    share = p.tl_agency_level[t, a] if p.ch_digital[c] else 1.0
                    h += p.ch_dissemination_reach[c] * p.ag_access[a] * share
            h += p.qa_reach * s.public_qa_last[c] * 100.0 / max(n_active, 1)
        s.dissemination_hazard[c] = h
    changed = s.changed
    n_changed = 0
    for i in range(p.n_total):
        if aware[i] or exported[i] or founded[i] > today:
            continue
        h = 0.0
        mask = channels[i]
        for c in range(n_channels):
            if (mask >> c) & 1:
                h += hazard[c]
        degree = indptr[i + 1] - indptr[i]
        if degree > 0:
            h += wom_rate * aware_neighbours[i] / degree
        if rng.random() < rules.step_probability(h, dt_years):
            changed[n_changed] = i
            n_changed += 1
    for k in range(n_changed):
        i = changed[k]
        s.aware[i] = True
        s.aware_step[i] = t
        for e in range(s.indptr[i], s.indptr[i + 1]):
            s.aware_neighbours[s.neighbours[e]] += 1


# ---------------------------------------------------------------------------------------------
# 3. Adoption
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def adopt_channels(p, s, t, rng):
    """SMEs take up digital channels by the Technology Acceptance Model (002 section II.C).

    Each not-yet-used digital channel has an adoption hazard; at most one channel is adopted per
    step, chosen in proportion to its hazard.
    """
    push = p.tl_adoption_push[t]
    today = t * p.step_days
    founded, exported, channels, indptr = s.founded_day, s.exported, s.channels, s.indptr
    resources, channel_neighbours, hazards = s.resources, s.channel_neighbours, s.scratch
    usefulness, ease, digital_mask, n_channels = (
        p.ch_usefulness,
        p.ch_ease,
        p.digital_mask,
        p.n_channels,
    )
    w_useful, w_ease, w_social = p.w_useful, p.w_ease, p.w_social
    threshold, rate, dt_years = p.adopt_threshold, p.adopt_rate, p.dt_years
    changed = s.changed
    n_changed = 0
    for i in range(p.n_total):
        if exported[i] or founded[i] > today:
            continue
        missing = digital_mask & ~channels[i]
        if missing == 0:
            continue
        degree = indptr[i + 1] - indptr[i]
        technology = resources[i, 3]
        total = 0.0
        for c in range(n_channels):
            hazards[c] = 0.0
            if (missing >> c) & 1:
                norm = channel_neighbours[i, c] / degree if degree > 0 else 0.0
                hazards[c] = rules.adoption_hazard(
                    usefulness[c],
                    ease[c],
                    technology,
                    norm,
                    push,
                    w_useful,
                    w_ease,
                    w_social,
                    threshold,
                    rate,
                )
                total += hazards[c]
        if total <= 0.0:
            continue
        if rng.random() < rules.step_probability(total, dt_years):
            pick = rng.random() * total
            chosen = -1
            for c in range(n_channels):
                if hazards[c] > 0.0:
                    chosen = c
                    pick -= hazards[c]
                    if pick <= 0.0:
                        break
            changed[n_changed] = i * 64 + chosen
            n_changed += 1
    for k in range(n_changed):
        i = changed[k] // 64
        c = changed[k] % 64
        s.channels[i] |= np.int64(1) << c
        s.marketplace_rate[i] = marketplace_rate(p, s.channels[i])
        for e in range(s.indptr[i], s.indptr[i + 1]):
            s.channel_neighbours[s.neighbours[e], c] += 1


# ---------------------------------------------------------------------------------------------
# 4. Seeking support
# ---------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def is_ready(aware, propensity, penalty, threshold):
    """Aware and export propensity (less any regulation penalty) at the readiness threshold."""
    return aware and propensity * (1.0 - penalty) >= threshold


@njit(cache=True)
def choose_focus(p, s, i, rng):
    """Focus area chosen in proportion to propensity x (gap in the resources it raises) ** k."""
    weights = np.zeros(5)
    total = 0.0
    for f in range(5):
        if p.n_agencies_by_focus[f] == 0:
            continue
        gap = 0.0
        norm = 0.0
        for r in range(6):
            if p.prog_raise[f, r] > 0.0:
                gap += p.prog_raise[f, r] * (1.0 - s.resources[i, r])
                norm += p.prog_raise[f, r]
        if norm > 0.0:
            gap /= norm
        if s.penalty[i] > 0.0 and p.prog_clears[f]:
            gap = 1.0  # non-compliant SMEs need the R&D programme that restores compliance
        weights[f] = rules.focus_choice_weight(p.focus_weight[f], gap, p.gap_exponent)
        total += weights[f]
    if total <= 0.0:
        return -1
    pick = rng.random() * total
    for f in range(5):
        if weights[f] > 0.0:
            pick -= weights[f]
            if pick <= 0.0:
                return f
    return 4


@njit(cache=True)
def accepted_channels(p, s, i, a, purpose):
    """Channels agency ``a`` accepts for ``purpose`` in SME ``i``'s open application."""
    accepted = p.ag_accept[a, purpose]
    if not s.app_offer_digital[i]:
        accepted &= p.conventional_mask
    if purpose == P_DOCUMENTS:
        accepted &= p.documents_mask
        if p.ag_physical[a]:
            accepted &= p.conventional_mask  # physical proposal for the committee (003)
    return accepted


@njit(cache=True)
def exchange(p, s, i, a, purpose, day, rng):
    """Days from ``day`` until one exchange for ``purpose`` is complete (waiting included).

    The channel is chosen by :func:`simsme.rules.choose_channel`; when no shared channel works in
    a step (blocked by an event, or down), the exchange waits for the next step. Returns ``inf``
    when no channel becomes available before the horizon.
    """
    accepted = accepted_channels(p, s, i, a, purpose)
    step = int(day // p.step_days)
    while step < p.n_steps:
        c = rules.choose_channel(
            rng,
            s.channels[i],
            accepted,
            p.tl_blocked[step],
            p.ch_order,
            p.ch_needs_connectivity,
            s.downtime[i],
        )
        if c >= 0:
            start = max(day, step * p.step_days)
            s.channels_used[i] |= np.int64(1) << c
            s.public_qa[c] += p.ch_visibility[c]
            return (
                start
                - day
                + rules.exchange_days(
                    rng,
                    p.ch_log_median[c],
                    p.ch_sigma[c],
                    p.ch_bureaucracy[c],
                    p.ag_stage_factor[a],
                    p.tl_slow[step, c],
                )
            )
        step += 1
    return INF


@njit(cache=True)
def seek_support(p, s, t, rng):
    """An aware SME that is not ready applies for a programme over the best shared channel.

    It picks a focus area (:func:`choose_focus`), an agency with that focus, and submits over the
    preferred application channel both support; the agency handles the application digitally as
    far as it is digitalised (003 section 4.2). Without a working channel now, it tries again later.
    """
    day = t * p.step_days
    founded, exported, aware, stage = s.founded_day, s.exported, s.aware, s.app_stage
    next_apply, propensity, penalty = s.next_apply_day, s.propensity, s.penalty
    threshold = p.readiness_threshold
    chance = rules.step_probability(p.seek_rate, p.dt_years)
    for i in range(p.n_total):
        if (
            exported[i]
            or founded[i] > day
            or not aware[i]
            or stage[i] != STAGE_NONE
            or day < next_apply[i]
            or is_ready(aware[i], propensity[i], penalty[i], threshold)
        ):
            continue
        if rng.random() < chance:
            submit_application(p, s, i, t, rng)


@njit(cache=True)
def submit_application(p, s, i, t, rng):
    """SME ``i`` picks a focus area and an agency and submits (or finds no working channel)."""
    day = t * p.step_days
    year = min(int(day / 365.25), p.n_years - 1)
    f = choose_focus(p, s, i, rng)
    if f < 0:
        return
    a = p.agencies_by_focus[f, int(rng.random() * p.n_agencies_by_focus[f])]
    s.app_offer_digital[i] = rng.random() < p.tl_agency_level[t, a]
    accepted = accepted_channels(p, s, i, a, P_APPLICATION)
    c = rules.choose_channel(
        rng,
        s.channels[i],
        accepted,
        p.tl_blocked[t],
        p.ch_order,
        p.ch_needs_connectivity,
        s.downtime[i],
    )
    if c < 0:
        return
    s.channels_used[i] |= np.int64(1) << c
    s.public_qa[c] += p.ch_visibility[c]
    s.app_agency[i] = a
    s.app_focus[i] = f
    s.app_stage[i] = STAGE_SUBMISSION
    s.app_submitted[i] = day
    s.app_digital[i] = p.ch_digital[c]
    s.app_approved[i] = False
    s.app_due[i] = day + rules.exchange_days(
        rng,
        p.ch_log_median[c],
        p.ch_sigma[c],
        p.ch_bureaucracy[c],
        p.ag_stage_factor[a],
        p.tl_slow[t, c],
    )
    s.applications[i, f] += 1
    if p.ch_digital[c]:
        s.digital_applications[i] += 1
    s.year_channel_applications[year, c] += 1


# ---------------------------------------------------------------------------------------------
# 5. Processing
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def advance_application(p, s, i, rng):
    """Move SME ``i``'s application out of its current stage, which ends at ``app_due``.

    submission -> documents (rounds while something is missing) -> assessment (after waiting for
    the agency's capacity) -> site visit (some) -> committee (next sitting; decision) ->
    notification -> delivery, or back to none when rejected (003 section 4.1).
    """
    a = s.app_agency[i]
    stage = s.app_stage[i]
    due = s.app_due[i]
    if stage == STAGE_SUBMISSION:
        s.app_stage[i] = STAGE_DOCUMENTS
        s.app_due[i] = due + exchange(p, s, i, a, P_DOCUMENTS, due, rng)
    elif stage == STAGE_DOCUMENTS:
        missing = rules.missing_document_probability(
            p.ag_missing[a], p.ag_transparency[a], p.ag_access[a]
        )
        if rng.random() < missing:
            s.app_due[i] = due + exchange(p, s, i, a, P_DOCUMENTS, due, rng)
        else:
            start = max(due, s.agency_free_day[a])
            s.agency_free_day[a] = start + 1.0 / p.ag_capacity_per_day[a]
            s.app_stage[i] = STAGE_ASSESSMENT
            s.app_site_visit[i] = p.face_to_face >= 0 and rng.random() < p.ag_site_visit[a]
            s.app_due[i] = start + p.ag_desk_days[a] * p.ag_stage_factor[a]
    elif stage == STAGE_ASSESSMENT and s.app_site_visit[i]:
        s.app_stage[i] = STAGE_SITE_VISIT
        s.app_due[i] = due + site_visit_days(p, s, i, a, due, rng)
    elif stage == STAGE_ASSESSMENT or stage == STAGE_SITE_VISIT:
        s.app_stage[i] = STAGE_COMMITTEE
        s.app_due[i] = rules.next_committee_day(due, p.ag_committee_days[a])
        merit = s.propensity[i]
        s.app_approved[i] = rng.random() < rules.approval_probability(
            p.ag_selection[a], p.ag_risk[a], merit
        )
    elif stage == STAGE_COMMITTEE:
        s.app_stage[i] = STAGE_NOTIFICATION
        s.app_due[i] = due + exchange(p, s, i, a, P_NOTIFICATION, due, rng)
    elif stage == STAGE_NOTIFICATION:
        s.wait_days[i] += due - s.app_submitted[i]
        if s.app_approved[i]:
            s.app_stage[i] = STAGE_DELIVERY
            s.app_due[i] = due + p.prog_duration_days[s.app_focus[i]]
        else:
            s.app_stage[i] = STAGE_NONE
            s.next_apply_day[i] = due + p.cooldown_days


@njit(cache=True)
def site_visit_days(p, s, i, a, day, rng):
    """A site visit is face to face; under a movement-control order it waits until allowed."""
    f2f = p.face_to_face
    step = int(day // p.step_days)
    while step < p.n_steps:
        if not (p.tl_blocked[step] >> f2f) & 1:
            start = max(day, step * p.step_days)
            s.channels_used[i] |= np.int64(1) << f2f
            return (
                start
                - day
                + rules.exchange_days(
                    rng,
                    p.ch_log_median[f2f],
                    p.ch_sigma[f2f],
                    p.ch_bureaucracy[f2f],
                    p.ag_stage_factor[a],
                    p.tl_slow[step, f2f],
                )
            )
        step += 1
    return INF


@njit(cache=True)
def process_applications(p, s, t, rng):
    """Advance every open application through all stages that end within this step."""
    end = (t + 1) * p.step_days
    stage, due, exported = s.app_stage, s.app_due, s.exported
    for i in range(p.n_total):
        if exported[i]:
            continue
        while stage[i] != STAGE_NONE and stage[i] != STAGE_DELIVERY and due[i] < end:
            advance_application(p, s, i, rng)


# ---------------------------------------------------------------------------------------------
# 6. Delivery and co-creation
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def deliver_programmes(p, s, t, rng):
    """Programmes that end this step raise the SME's resources (003 Table 5).

    Over DIP with good dialogue and access the programme is co-created: its effect is larger, it
    adds to the SME's external sourcing network, and the agency learns (its offer fits better)
    (003 sections 4.2 and 5).
    """
    end = (t + 1) * p.step_days
    stage, due, exported = s.app_stage, s.app_due, s.exported
    for i in range(p.n_total):
        if stage[i] == STAGE_DELIVERY and due[i] < end and not exported[i]:
            deliver_programme(p, s, i, rng)


@njit(cache=True)
def deliver_programme(p, s, i, rng):
    """SME ``i``'s programme ends: resources rise, co-creation may happen, the agency learns."""
    a = s.app_agency[i]
    f = s.app_focus[i]
    follow_up = rules.cocreation_probability(
        s.app_digital[i], p.ag_dialogue[a], p.ag_access[a], best_richness(p, s, i, a)
    )
    cocreated = rng.random() < follow_up
    for r in range(6):
        if p.prog_raise[f, r] > 0.0:
            s.resources[i, r] = rules.programme_gain(
                s.resources[i, r],
                p.prog_raise[f, r],
                s.agency_fit[a],
                cocreated,
                p.cocreation_bonus,
            )
    if p.prog_opportunity[f] > 0.0:
        s.programme_rate[i] = p.prog_opportunity[f]
        s.programme_until_day[i] = s.app_due[i] + p.prog_opportunity_days[f]
    if p.prog_clears[f]:
        s.penalty[i] = 0.0
    if cocreated:
        s.cocreations[i] += 1
        s.cocreated[i] += 1
        s.agency_fit[a] += p.learning_rate * (1.0 - s.agency_fit[a])
    s.approvals[i, f] += 1
    s.app_stage[i] = STAGE_NONE
    s.next_apply_day[i] = s.app_due[i] + p.cooldown_days


@njit(cache=True)
def best_richness(p, s, i, a):
    """Richness of the richest follow-up channel the SME and the agency share."""
    shared = s.channels[i] & p.ag_accept[a, 3]
    best = 0.0
    for c in range(p.n_channels):
        if (shared >> c) & 1 and p.ch_richness[c] > best:
            best = p.ch_richness[c]
    return best


# ---------------------------------------------------------------------------------------------
# 7. Capability dynamics
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def update_capabilities(p, s, t, rng):
    """Resources drift; co-innovation, value proposition and export propensity follow their
    targets along the paths of 004 Figure 4 (first-order adjustment)."""
    today = t * p.step_days
    founded, exported, res, endowment = s.founded_day, s.exported, s.resources, s.endowment
    strength, cocreations = s.network_strength, s.cocreations
    coinnovation, value, propensity = s.coinnovation, s.value, s.propensity
    growth, decay, dt_years, adjust = p.growth_rate, p.decay_rate, p.dt_years, p.adjust
    gain, b_int, b_ext, b_val, b_exp = (
        p.cocreation_gain,
        p.beta_internal,
        p.beta_external,
        p.beta_value,
        p.beta_export,
    )
    for i in range(p.n_total):
        if exported[i] or founded[i] > today:
            continue
        for r in range(6):
            res[i, r] = rules.resource_drift(res[i, r], endowment[i, r], growth, decay, dt_years)
        external = rules.external_sourcing(strength[i], cocreations[i], gain)
        target = rules.coinnovation_target(res[i, 2], res[i, 3], external, b_int, b_ext)
        coinnovation[i] += adjust * (target - coinnovation[i])
        target = rules.value_target(coinnovation[i], res[i, 0], b_val)
        value[i] += adjust * (target - value[i])
        target = rules.export_propensity_target(value[i], res[i, 5], res[i, 4], b_exp)
        propensity[i] += adjust * (target - propensity[i])


# ---------------------------------------------------------------------------------------------
# 8. Export entry
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def enter_exports(p, s, t, rng):
    """Ready SMEs meet export opportunities and take the first one (first export).

    The mode is indirect unless the SME is well resourced (004: 80% indirect, 20% direct).
    """
    day = t * p.step_days
    demand = p.tl_demand[t]
    founded, exported, aware, propensity, penalty = (
        s.founded_day,
        s.exported,
        s.aware,
        s.propensity,
        s.penalty,
    )
    programme_rate, programme_until, marketplace = (
        s.programme_rate,
        s.programme_until_day,
        s.marketplace_rate,
    )
    exporting_neighbours, changed = s.exporting_neighbours, s.changed
    threshold, base, referral, dt_years = (
        p.readiness_threshold,
        p.base_opportunity,
        p.referral_rate,
        p.dt_years,
    )
    n_changed = 0
    for i in range(p.n_total):
        if (
            exported[i]
            or founded[i] > day
            or not is_ready(aware[i], propensity[i], penalty[i], threshold)
        ):
            continue
        programme = programme_rate[i] if day < programme_until[i] else 0.0
        rate = rules.opportunity_rate(
            base, marketplace[i], programme, referral, exporting_neighbours[i], demand
        )
        if rng.random() < rules.step_probability(rate, dt_years):
            record_first_export(p, s, i, t, rng)
            changed[n_changed] = i
            n_changed += 1
    for k in range(n_changed):
        i = changed[k]
        s.exported[i] = True
        for e in range(s.indptr[i], s.indptr[i + 1]):
            s.exporting_neighbours[s.neighbours[e]] += 1


@njit(cache=True)
def record_first_export(p, s, i, t, rng):
    """Mode (indirect unless well resourced, 004) and markets of SME ``i``'s first export."""
    res = s.resources
    index = rules.resource_index(res[i, 0], res[i, 4], res[i, 5])
    direct = rng.random() < rules.direct_export_probability(
        index, p.direct_threshold, p.direct_steepness
    )
    s.mode[i] = 2 if direct else 1
    s.markets[i] = 1 + rng.poisson(p.extra_markets * index)
    s.export_step[i] = t


# ---------------------------------------------------------------------------------------------
# 9. Observation
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def observe(p, s, t, rng):
    """Roll the per-step counters; at the horizon, charge open applications their waiting time."""
    for c in range(p.n_channels):
        s.public_qa_last[c] = s.public_qa[c]
        s.public_qa[c] = 0.0
    if t == p.n_steps - 1:
        horizon = p.n_steps * p.step_days
        for i in range(p.n_total):
            stage = s.app_stage[i]
            if stage != STAGE_NONE and stage != STAGE_DELIVERY and not s.exported[i]:
                s.wait_days[i] += horizon - s.app_submitted[i]


@njit(cache=True)
def step(p, s, t, rng):
    """One step: the nine phases in the order of MODEL.md section 3."""
    apply_events(p, s, t, rng)
    disseminate(p, s, t, rng)
    adopt_channels(p, s, t, rng)
    seek_support(p, s, t, rng)
    process_applications(p, s, t, rng)
    deliver_programmes(p, s, t, rng)
    update_capabilities(p, s, t, rng)
    enter_exports(p, s, t, rng)
    observe(p, s, t, rng)
