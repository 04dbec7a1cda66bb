"""The nine phases of one step (MODEL.md section 3) as numba functions over flat arrays.

Each phase function has the name of the Mesa model's method for the same phase
(``simsme.model.model.SimsmeModel``) and applies the same rules from :mod:`simsme.rules`.
``p`` is the kernel's view of the lowered scenario (:class:`~simsme.kernel.params.Params`), ``s``
the replication's :class:`~simsme.kernel.state.State`, ``t`` the step, ``rng`` the replication's
generator. Exporters are frozen at their first export (the end of their observation).

News that reaches network neighbours (became aware, adopted a channel, exported) is applied after
the phase that produced it, so within a phase every SME sees the same neighbourhood whatever the
order in which SMEs are visited. SMEs act in the order of their index.

The phases are loops over the SMEs that act, calling the model's mechanisms
(:mod:`simsme.mechanisms`, which the Mesa engine calls too); what makes them fast without
changing a single draw (caches, probability bounds, epochs) is in :mod:`simsme.kernel.fastpath`,
with the argument for why each is exact.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simsme import rules
from simsme.kernel.fastpath import (
    ADOPT_NONE,
    ADOPT_SOME,
    KERNEL,
    classify_adoption,
    probability_bound,
)
from simsme.kernel.params import (
    AG_ACCESS,
    AG_CAPACITY_PER_DAY,
    AG_COMMITTEE_DAYS,
    AG_DESK_DAYS,
    AG_DIALOGUE,
    AG_MISSING,
    AG_PHYSICAL,
    AG_RISK,
    AG_SELECTION,
    AG_SITE_VISIT,
    AG_STAGE_FACTOR,
    AG_TRANSPARENCY,
    CH_BUREAUCRACY,
    CH_DIGITAL,
    CH_DISSEMINATION_REACH,
    CH_EASE,
    CH_EXPORT_REACH,
    CH_LOG_MEDIAN,
    CH_NEEDS_CONNECTIVITY,
    CH_RICHNESS,
    CH_SIGMA,
    CH_USEFULNESS,
    CH_VISIBILITY,
    PR_CLEARS,
    PR_DURATION_DAYS,
    PR_FOCUS_WEIGHT,
    PR_OPPORTUNITY,
    PR_OPPORTUNITY_DAYS,
    PR_RAISE,
    REG_END,
    REG_PENALTY,
    REG_SHARE,
    REG_START,
    TAX_LOSS,
    TAX_START,
    TL_DEMAND,
    TL_PUSH,
    TL_REMOTE,
)
from simsme.kernel.state import (
    C_ADOPT_EPOCH,
    C_AWARE_EPOCH,
    C_EXPORT_EPOCH,
    C_N_ACTIVE,
    C_N_FOUNDED,
    C_NEW_EXPORTERS,
    F_ADOPT_PBAR,
    F_APP_DUE,
    F_APP_SUBMITTED,
    F_AWARE_P,
    F_COINNOVATION,
    F_DOWNTIME,
    F_ENDOWMENT,
    F_EXPORT_PBAR,
    F_EXTERNAL,
    F_MARKETPLACE,
    F_NEXT_APPLY,
    F_PENALTY,
    F_PROGRAMME_RATE,
    F_PROGRAMME_UNTIL,
    F_PROPENSITY,
    F_RESOURCES,
    F_STRENGTH,
    F_VALUE,
    F_WAIT_DAYS,
    G_AGENCY_FIT,
    G_AGENCY_FREE_DAY,
    G_DISSEMINATION_HAZARD,
    G_PUBLIC_QA,
    G_PUBLIC_QA_LAST,
    G_SCRATCH,
    I_ADOPT_CLASS,
    I_ADOPT_STAMP,
    I_APP_AGENCY,
    I_APP_APPROVED,
    I_APP_DIGITAL,
    I_APP_FOCUS,
    I_APP_OFFER_DIGITAL,
    I_APP_SITE_VISIT,
    I_APP_STAGE,
    I_APPLICATIONS,
    I_APPROVALS,
    I_AWARE,
    I_AWARE_NEIGHBOURS,
    I_AWARE_STAMP,
    I_AWARE_STEP,
    I_COCREATED,
    I_DIGITAL_APPLICATIONS,
    I_EXPORT_STAMP,
    I_EXPORT_STEP,
    I_EXPORTED,
    I_EXPORTING_NEIGHBOURS,
    I_MARKETS,
    I_MODE,
    L_CHANNELS,
    L_CHANNELS_USED,
    STALE,
    update_active,
)
from simsme.mechanisms import (
    adoption,
    awareness,
    capabilities,
    delivery,
    draws,
    events,
    exchange,
    export,
    process,
    support,
)
from simsme.mechanisms.draws import uniform
from simsme.mechanisms.exchange import SITE_VISIT
from simsme.mechanisms.process import NO_EXCHANGE
from simsme.scenario.lowering import (
    P_APPLICATION,
    P_DISSEMINATION,
    P_FOLLOW_UP,
    STAGE_DELIVERY,
    STAGE_NONE,
    STAGE_SUBMISSION,
)


# ---------------------------------------------------------------------------------------------
# 1. Events
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def apply_events(p, s, t, rng):
    """One-off shocks that start (or end) this step; timelines are read where they are used.

    Regulation change (002, Food Act sugar rule): affected SMEs lose part of their export
    propensity until they comply. Tax change (002, GST): financial accessibility falls.
    Events dated before the run apply at step 0.
    """
    reg, tax = p.reg, p.tax
    n = p.n_total
    penalty = s.sf[F_PENALTY]
    for k in range(reg.shape[1]):
        if max(reg[REG_START, k], 0.0) == t:
            share, loss = reg[REG_SHARE, k], reg[REG_PENALTY, k]
            for i in range(n):
                penalty[i] = events.regulation_penalty(rng, penalty[i], share, loss)
        if reg[REG_END, k] == t:
            for i in range(n):
                penalty[i] = 0.0
    for k in range(tax.shape[1]):
        if max(tax[TAX_START, k], 0.0) == t:
            financial, endowment = s.sf[F_RESOURCES + 4], s.sf[F_ENDOWMENT + 4]
            for i in range(n):
                financial[i] = events.after_tax(financial[i], tax[TAX_LOSS, k])
                endowment[i] = events.after_tax(endowment[i], tax[TAX_LOSS, k])


# ---------------------------------------------------------------------------------------------
# 2. Dissemination
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def disseminate(p, s, t, rng):
    """Agencies push programme information; SMEs on those channels become aware.

    Hazard per year for an unaware SME = sum over its channels of each agency's push (channel reach
    x agency access, digital channels only as far as the agency is digitalised) + public Q&A seen on
    its channels (003 section 4.2) + word of mouth from aware neighbours.
    """
    blocked = p.tl_blocked[t]
    n_channels = p.n_channels
    reach, digital = p.ch[CH_DISSEMINATION_REACH], p.ch[CH_DIGITAL]
    access, accept, level = p.ag[AG_ACCESS], p.ag_accept, p.tl_level
    hazard, qa_last = s.g[G_DISSEMINATION_HAZARD], s.g[G_PUBLIC_QA_LAST]
    n_founded = s.c[C_N_FOUNDED]
    fresh = s.g[G_SCRATCH, :n_channels]
    awareness.channel_hazards(
        fresh,
        blocked,
        accept[:, P_DISSEMINATION],
        level[t],
        access,
        reach,
        digital,
        p.qa_reach,
        qa_last,
        n_founded,
    )
    renewed = False
    for c in range(n_channels):
        if fresh[c] != hazard[c]:
            renewed = True
        hazard[c] = fresh[c]
    if renewed:
        s.c[C_AWARE_EPOCH] += 1  # every cached awareness probability is stale
    epoch = s.c[C_AWARE_EPOCH]
    aware, stamp, aware_neighbours = s.si[I_AWARE], s.si[I_AWARE_STAMP], s.si[I_AWARE_NEIGHBOURS]
    probability, channels = s.sf[F_AWARE_P], s.sl[L_CHANNELS]
    indptr, neighbours, active, changed = s.indptr, s.neighbours, s.active, s.changed
    wom_rate, dt_years = p.wom_rate, p.dt_years
    n_changed = 0
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        if aware[i]:
            continue
        if stamp[i] != epoch:
            probability[i] = awareness.awareness_probability(
                channels[i],
                hazard,
                aware_neighbours[i],
                indptr[i + 1] - indptr[i],
                wom_rate,
                dt_years,
            )
            stamp[i] = epoch
        if uniform(rng) < probability[i]:
            changed[n_changed] = i
            n_changed += 1
    aware_step = s.si[I_AWARE_STEP]
    for k in range(n_changed):
        i = changed[k]
        aware[i] = True
        aware_step[i] = t
        for e in range(indptr[i], indptr[i + 1]):
            j = neighbours[e]
            aware_neighbours[j] += 1
            stamp[j] = STALE


# ---------------------------------------------------------------------------------------------
# 3. Adoption
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def adopt_channels(p, s, t, rng):
    """SMEs take up digital channels by the Technology Acceptance Model (002 section II.C).

    Each not-yet-used digital channel has an adoption hazard; at most one channel is adopted per
    step, chosen in proportion to its hazard.
    """
    push = p.tl[TL_PUSH, t]
    if t > 0 and push != p.tl[TL_PUSH, t - 1]:
        s.c[C_ADOPT_EPOCH] += 1
    epoch = s.c[C_ADOPT_EPOCH]
    channels, technology = s.sl[L_CHANNELS], s.sf[F_RESOURCES + 3]
    endowment, bound = s.sf[F_ENDOWMENT + 3], s.sf[F_ADOPT_PBAR]
    stamp, kind = s.si[I_ADOPT_STAMP], s.si[I_ADOPT_CLASS]
    indptr, neighbours, channel_neighbours = s.indptr, s.neighbours, s.channel_neighbours
    active, changed = s.active, s.changed
    hazards = s.g[G_SCRATCH, : p.n_channels]
    usefulness, ease = p.ch[CH_USEFULNESS], p.ch[CH_EASE]
    w_useful, w_ease, w_social = p.w_useful, p.w_ease, p.w_social
    threshold, rate, dt_years = p.adopt_threshold, p.adopt_rate, p.dt_years
    growth, decay = p.growth_rate, p.decay_rate
    digital_mask = p.digital_mask
    n_changed = 0
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        missing = digital_mask & ~channels[i]
        if missing == 0:
            continue
        if stamp[i] != epoch:
            degree = indptr[i + 1] - indptr[i]
            kind[i], bound[i] = classify_adoption(
                missing,
                technology[i],
                endowment[i],
                channel_neighbours[i],
                degree,
                usefulness,
                ease,
                push,
                w_useful,
                w_ease,
                w_social,
                threshold,
                rate,
                growth,
                decay,
                dt_years,
            )
            stamp[i] = epoch
        if kind[i] == ADOPT_NONE:
            continue  # no channel reaches the intention threshold: no draw
        if kind[i] == ADOPT_SOME:
            u = uniform(rng)
            if u >= bound[i]:
                continue  # above the bound, so above the step's probability: no adoption
            degree = indptr[i + 1] - indptr[i]
            total = adoption.adoption_hazards(
                hazards,
                missing,
                technology[i],
                channel_neighbours[i],
                degree,
                usefulness,
                ease,
                push,
                w_useful,
                w_ease,
                w_social,
                threshold,
                rate,
            )
        else:
            degree = indptr[i + 1] - indptr[i]
            total = adoption.adoption_hazards(
                hazards,
                missing,
                technology[i],
                channel_neighbours[i],
                degree,
                usefulness,
                ease,
                push,
                w_useful,
                w_ease,
                w_social,
                threshold,
                rate,
            )
            if total <= 0.0:
                continue
            u = uniform(rng)
        chosen = adoption.channel_to_adopt(rng, u, hazards, total, dt_years)
        if chosen >= 0:
            changed[n_changed] = i * 64 + chosen
            n_changed += 1
    marketplace, export_reach = s.sf[F_MARKETPLACE], p.ch[CH_EXPORT_REACH]
    aware_stamp, export_stamp = s.si[I_AWARE_STAMP], s.si[I_EXPORT_STAMP]
    for k in range(n_changed):
        i = changed[k] // 64
        c = changed[k] % 64
        channels[i] |= np.int64(1) << c
        marketplace[i] = export.listing_rate(channels[i], export_reach)
        stamp[i] = STALE
        aware_stamp[i] = STALE
        export_stamp[i] = STALE
        for e in range(indptr[i], indptr[i + 1]):
            j = neighbours[e]
            channel_neighbours[j, c] += 1
            if not channels[j] & (np.int64(1) << c):
                stamp[j] = STALE  # the social norm of a channel j is missing has risen


# ---------------------------------------------------------------------------------------------
# 4. Seeking support
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def seek_support(p, s, t, rng):
    """An aware SME that is not ready applies for a programme over the best shared channel.

    It picks a focus area (:func:`choose_focus`), an agency with that focus, and submits over the
    preferred application channel both support; the agency handles the application digitally as
    far as it is digitalised (003 section 4.2). Without a working channel now, it tries again later.
    The submission is the Mesa model's ``SME.submit_application``.
    """
    day = t * p.step_days
    year = min(int(day / 365.25), p.n_years - 1)
    sf, si, sl = s.sf, s.si, s.sl
    aware, stage = si[I_AWARE], si[I_APP_STAGE]
    next_apply, propensity, penalty = sf[F_NEXT_APPLY], sf[F_PROPENSITY], sf[F_PENALTY]
    resources, downtime, due, submitted = (
        sf[F_RESOURCES : F_RESOURCES + 6],
        sf[F_DOWNTIME],
        sf[F_APP_DUE],
        sf[F_APP_SUBMITTED],
    )
    agency, focus, offer_digital, app_digital, approved, n_digital = (
        si[I_APP_AGENCY],
        si[I_APP_FOCUS],
        si[I_APP_OFFER_DIGITAL],
        si[I_APP_DIGITAL],
        si[I_APP_APPROVED],
        si[I_DIGITAL_APPLICATIONS],
    )
    channels, channels_used = sl[L_CHANNELS], sl[L_CHANNELS_USED]
    public_qa, weights = s.g[G_PUBLIC_QA], s.g[G_SCRATCH]
    applications, year_channel = (
        si[I_APPLICATIONS : I_APPLICATIONS + 5],
        s.year_channel_applications,
    )
    ch, ch_order, prog, focus_agencies = p.ch, p.ch_order, p.prog, p.focus_agencies
    needs_connectivity, visibility, digital = (
        ch[CH_NEEDS_CONNECTIVITY],
        ch[CH_VISIBILITY],
        ch[CH_DIGITAL],
    )
    ag_accept, physical, stage_factor = p.ag_accept, p.ag[AG_PHYSICAL], p.ag[AG_STAGE_FACTOR]
    level, slow = p.tl_level[t], p.tl_slow[t]
    conventional, documents, gap_exponent = p.conventional_mask, p.documents_mask, p.gap_exponent
    threshold = p.readiness_threshold
    chance = rules.step_probability(p.seek_rate, p.dt_years)
    raises, served = prog[PR_RAISE : PR_RAISE + 6], focus_agencies[:, 0]
    active = s.active
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        if not support.wants_support(
            aware[i] != 0,
            stage[i] != STAGE_NONE,
            day,
            next_apply[i],
            propensity[i],
            penalty[i],
            threshold,
        ):
            continue
        if not draws.occurs(rng, chance):
            continue
        # submit_application: a focus area, an agency with that focus, a channel
        f = support.choose_focus(
            rng,
            resources[:, i],
            penalty[i],
            raises,
            prog[PR_CLEARS],
            prog[PR_FOCUS_WEIGHT],
            served,
            gap_exponent,
            weights,
        )
        if f < 0:
            continue
        a = focus_agencies[f, 1 + draws.pick_index(rng, served[f])]
        offer = support.handled_digitally(rng, level[a])
        offer_digital[i] = offer
        c = exchange.exchange_channel(
            rng,
            P_APPLICATION,
            t,
            channels[i],
            ag_accept[a, P_APPLICATION],
            physical[a],
            offer,
            downtime[i],
            p.face_to_face,
            ch_order,
            needs_connectivity,
            p.tl_blocked,
            p.tl[TL_REMOTE],
            conventional,
            documents,
        )
        if c < 0:
            continue
        channels_used[i] |= np.int64(1) << c
        public_qa[c] += visibility[c]
        agency[i] = a
        focus[i] = f
        stage[i] = STAGE_SUBMISSION
        submitted[i] = day
        app_digital[i] = digital[c] != 0.0
        approved[i] = False
        due[i] = day + exchange.exchange_duration(
            rng, c, stage_factor[a], ch[CH_LOG_MEDIAN], ch[CH_SIGMA], ch[CH_BUREAUCRACY], slow[c]
        )
        applications[f, i] += 1
        if digital[c]:
            n_digital[i] += 1
        year_channel[year, c] += 1


# ---------------------------------------------------------------------------------------------
# 5. Processing
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def process_applications(p, s, t, rng):
    """Advance every open application through all stages that end within this step.

    submission -> documents (rounds while something is missing) -> assessment (after waiting for
    the agency's capacity) -> site visit (some) -> committee (next sitting; decision) ->
    notification -> delivery, or back to none when rejected (003 section 4.1). The body of the
    loop is the Mesa model's ``ServiceProvider.advance`` (the stage ends at ``due``).
    """
    end = (t + 1) * p.step_days
    sf, si, sl = s.sf, s.si, s.sl
    stage, due, agency, focus = si[I_APP_STAGE], sf[F_APP_DUE], si[I_APP_AGENCY], si[I_APP_FOCUS]
    offer_digital, site_visit, approved = (
        si[I_APP_OFFER_DIGITAL],
        si[I_APP_SITE_VISIT],
        si[I_APP_APPROVED],
    )
    channels, channels_used, downtime = sl[L_CHANNELS], sl[L_CHANNELS_USED], sf[F_DOWNTIME]
    propensity, wait, submitted, next_apply = (
        sf[F_PROPENSITY],
        sf[F_WAIT_DAYS],
        sf[F_APP_SUBMITTED],
        sf[F_NEXT_APPLY],
    )
    free_day, public_qa = s.g[G_AGENCY_FREE_DAY], s.g[G_PUBLIC_QA]
    ag, ag_accept, ch, ch_order, prog = p.ag, p.ag_accept, p.ch, p.ch_order, p.prog
    tl_blocked, tl_slow, tl_remote, step_days = (
        p.tl_blocked,
        p.tl_slow,
        p.tl[TL_REMOTE],
        p.step_days,
    )
    f2f, conventional, documents = p.face_to_face, p.conventional_mask, p.documents_mask
    digital_mask, cooldown = p.digital_mask, p.cooldown_days
    needs_connectivity = ch[CH_NEEDS_CONNECTIVITY]
    log_median, sigma, bureaucracy = ch[CH_LOG_MEDIAN], ch[CH_SIGMA], ch[CH_BUREAUCRACY]
    active = s.active
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        while stage[i] != STAGE_NONE and stage[i] != STAGE_DELIVERY and due[i] < end:
            a = agency[i]
            day = due[i]
            (
                stage[i],
                due[i],
                site_visit[i],
                approved[i],
                free_day[a],
                purpose,
                waited,
            ) = process.advance(
                rng,
                stage[i],
                day,
                site_visit[i] != 0,
                approved[i] != 0,
                submitted[i],
                propensity[i],
                free_day[a],
                f2f >= 0,
                ag[AG_MISSING, a],
                ag[AG_TRANSPARENCY, a],
                ag[AG_ACCESS, a],
                ag[AG_CAPACITY_PER_DAY, a],
                ag[AG_DESK_DAYS, a],
                ag[AG_STAGE_FACTOR, a],
                ag[AG_SITE_VISIT, a],
                ag[AG_COMMITTEE_DAYS, a],
                ag[AG_SELECTION, a],
                ag[AG_RISK, a],
                prog[PR_DURATION_DAYS, focus[i]],
            )
            wait[i] += waited
            if stage[i] == STAGE_NONE:  # rejected: the SME may apply again after the cooldown
                next_apply[i] = day + cooldown
            if purpose != NO_EXCHANGE:
                accept = ag_accept[a, P_FOLLOW_UP] & digital_mask
                if purpose != SITE_VISIT:
                    accept = ag_accept[a, purpose]
                days, c = exchange.exchange(
                    rng,
                    purpose,
                    day,
                    channels[i],
                    accept,
                    ag[AG_PHYSICAL, a],
                    offer_digital[i],
                    downtime[i],
                    ag[AG_STAGE_FACTOR, a],
                    f2f,
                    ch_order,
                    needs_connectivity,
                    log_median,
                    sigma,
                    bureaucracy,
                    tl_blocked,
                    tl_slow,
                    tl_remote,
                    conventional,
                    documents,
                    step_days,
                )
                if c >= 0:
                    channels_used[i] |= np.int64(1) << c
                    if purpose != SITE_VISIT:
                        public_qa[c] += ch[CH_VISIBILITY, c]
                due[i] = day + days


# ---------------------------------------------------------------------------------------------
# 6. Delivery and co-creation
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def deliver_programmes(p, s, t, rng):
    """Programmes that end this step raise the SME's resources (003 Table 5).

    Over DIP with good dialogue and access the programme is co-created: its effect is larger, it
    adds to the SME's external sourcing network, and the agency learns (its offer fits better)
    (003 sections 4.2 and 5). The body of the loop is the Mesa model's
    ``ServiceProvider.deliver_programme``.
    """
    end = (t + 1) * p.step_days
    sf, si = s.sf, s.si
    stage, due, agency, focus = si[I_APP_STAGE], sf[F_APP_DUE], si[I_APP_AGENCY], si[I_APP_FOCUS]
    app_digital, cocreated_count, approvals = (
        si[I_APP_DIGITAL],
        si[I_COCREATED],
        si[I_APPROVALS : I_APPROVALS + 5],
    )
    resources, programme_rate, programme_until = (
        sf[F_RESOURCES : F_RESOURCES + 6],
        sf[F_PROGRAMME_RATE],
        sf[F_PROGRAMME_UNTIL],
    )
    penalty, external, strength, next_apply = (
        sf[F_PENALTY],
        sf[F_EXTERNAL],
        sf[F_STRENGTH],
        sf[F_NEXT_APPLY],
    )
    adopt_stamp, export_stamp = si[I_ADOPT_STAMP], si[I_EXPORT_STAMP]
    channels, fit = s.sl[L_CHANNELS], s.g[G_AGENCY_FIT]
    ag, ag_accept, prog, richness = p.ag, p.ag_accept, p.prog, p.ch[CH_RICHNESS]
    bonus, gain, learning_rate, cooldown = (
        p.cocreation_bonus,
        p.cocreation_gain,
        p.learning_rate,
        p.cooldown_days,
    )
    active = s.active
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        if stage[i] != STAGE_DELIVERY or due[i] >= end:
            continue
        # deliver_programme: resources rise, co-creation may happen, the agency learns
        a = agency[i]
        f = focus[i]
        cocreated = delivery.is_cocreated(
            rng,
            app_digital[i],
            ag[AG_DIALOGUE, a],
            ag[AG_ACCESS, a],
            channels[i] & ag_accept[a, P_FOLLOW_UP],
            richness,
        )
        delivery.raise_resources(
            resources[:, i], prog[PR_RAISE : PR_RAISE + 6, f], fit[a], cocreated, bonus
        )
        programme_rate[i], programme_until[i] = delivery.opportunity_after(
            prog[PR_OPPORTUNITY, f],
            prog[PR_OPPORTUNITY_DAYS, f],
            due[i],
            programme_rate[i],
            programme_until[i],
        )
        penalty[i] = delivery.penalty_after(prog[PR_CLEARS, f], penalty[i])
        if cocreated:
            cocreated_count[i] += 1
            external[i] = rules.external_sourcing(strength[i], cocreated_count[i], gain)
            fit[a] = delivery.learned_fit(fit[a], learning_rate)
        approvals[f, i] += 1
        stage[i] = STAGE_NONE
        next_apply[i] = due[i] + cooldown
        if prog[PR_RAISE + 3, f] > 0.0:
            adopt_stamp[i] = STALE  # technology has risen
        if prog[PR_OPPORTUNITY, f] > 0.0:
            export_stamp[i] = STALE  # a market-access programme brings opportunities


# ---------------------------------------------------------------------------------------------
# 7. Capability dynamics
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def update_capabilities(p, s, t, rng):
    """Resources drift; co-innovation, value proposition and export propensity follow their
    targets along the paths of 004 Figure 4 (first-order adjustment).

    Every founded SME is updated, exporters included: an exporter's capabilities are never read
    again (it is frozen, and they are not outputs), and contiguous loops over the rows let the
    compiler use vector instructions. SMEs not founded yet keep their initial values.
    """
    sf = s.sf
    res, endowment = sf[F_RESOURCES : F_RESOURCES + 6], sf[F_ENDOWMENT : F_ENDOWMENT + 6]
    external = sf[F_EXTERNAL]  # external_sourcing(strength, co-created programmes), kept current
    coinnovation, value, propensity = sf[F_COINNOVATION], sf[F_VALUE], sf[F_PROPENSITY]
    growth, decay, dt_years, adjust = p.growth_rate, p.decay_rate, p.dt_years, p.adjust
    b_int, b_ext, b_val, b_exp = p.beta_internal, p.beta_external, p.beta_value, p.beta_export
    n = p.n_total
    if s.c[C_N_FOUNDED] == n:
        for r in range(6):
            level, initial = res[r], endowment[r]
            for i in range(n):
                level[i] = rules.resource_drift(level[i], initial[i], growth, decay, dt_years)
        managerial, firm, technology, financial, market = res[0], res[2], res[3], res[4], res[5]
        for i in range(n):
            coinnovation[i], value[i], propensity[i] = capabilities.follow_targets(
                coinnovation[i], value[i], propensity[i],
                managerial[i], firm[i], technology[i], financial[i], market[i], external[i],
                b_int, b_ext, b_val, b_exp, adjust,
            )  # fmt: skip
    else:  # some SMEs are not founded yet: only the founded ones change
        active = s.active
        for k in range(s.c[C_N_ACTIVE]):
            i = active[k]
            for r in range(6):
                res[r, i] = rules.resource_drift(
                    res[r, i], endowment[r, i], growth, decay, dt_years
                )
            coinnovation[i], value[i], propensity[i] = capabilities.follow_targets(
                coinnovation[i], value[i], propensity[i],
                res[0, i], res[2, i], res[3, i], res[4, i], res[5, i], external[i],
                b_int, b_ext, b_val, b_exp, adjust,
            )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# 8. Export entry
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def enter_exports(p, s, t, rng):
    """Ready SMEs meet export opportunities and take the first one (first export).

    The mode is indirect unless the SME is well resourced (004: 80% indirect, 20% direct).
    """
    day = t * p.step_days
    demand = p.tl[TL_DEMAND, t]
    if t > 0 and demand != p.tl[TL_DEMAND, t - 1]:
        s.c[C_EXPORT_EPOCH] += 1
    epoch = s.c[C_EXPORT_EPOCH]
    sf, si = s.sf, s.si
    aware, propensity, penalty = si[I_AWARE], sf[F_PROPENSITY], sf[F_PENALTY]
    programme_rate, programme_until = sf[F_PROGRAMME_RATE], sf[F_PROGRAMME_UNTIL]
    marketplace, exporting_neighbours = sf[F_MARKETPLACE], si[I_EXPORTING_NEIGHBOURS]
    stamp, bound = si[I_EXPORT_STAMP], sf[F_EXPORT_PBAR]
    resources = sf[F_RESOURCES : F_RESOURCES + 6]
    mode, markets, export_step = si[I_MODE], si[I_MARKETS], si[I_EXPORT_STEP]
    direct_threshold, direct_steepness = p.direct_threshold, p.direct_steepness
    extra_markets = p.extra_markets
    active, changed = s.active, s.changed
    threshold, base, referral, dt_years = (
        p.readiness_threshold,
        p.base_opportunity,
        p.referral_rate,
        p.dt_years,
    )
    n_changed = 0
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        if not support.is_ready(aware[i] != 0, propensity[i], penalty[i], threshold):
            continue
        if stamp[i] != epoch:
            rate = export.opportunity_rate(
                day,
                programme_rate[i],
                programme_until[i],
                base,
                marketplace[i],
                referral,
                exporting_neighbours[i],
                demand,
            )
            bound[i] = probability_bound(rate, dt_years)
            stamp[i] = epoch
        u = uniform(rng)
        if u >= bound[i]:
            continue  # above the bound, so above the step's probability: no export
        rate = export.opportunity_rate(
            day,
            programme_rate[i],
            programme_until[i],
            base,
            marketplace[i],
            referral,
            exporting_neighbours[i],
            demand,
        )
        if u < rules.step_probability(rate, dt_years):
            # record_first_export: mode (indirect unless well resourced, 004) and markets
            mode[i], markets[i] = export.first_export(
                rng,
                resources[0, i],
                resources[4, i],
                resources[5, i],
                direct_threshold,
                direct_steepness,
                extra_markets,
            )
            export_step[i] = t
            changed[n_changed] = i
            n_changed += 1
    exported, indptr, neighbours = si[I_EXPORTED], s.indptr, s.neighbours
    s.c[C_NEW_EXPORTERS] = n_changed
    for k in range(n_changed):
        i = changed[k]
        exported[i] = True
        for e in range(indptr[i], indptr[i + 1]):
            j = neighbours[e]
            exporting_neighbours[j] += 1
            stamp[j] = STALE


# ---------------------------------------------------------------------------------------------
# 9. Observation
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def observe(p, s, t, rng):
    """Roll the per-step counters; at the horizon, charge open applications their waiting time.

    Then list the SMEs that act in the next step (founded by then, not exported).
    """
    qa, qa_last = s.g[G_PUBLIC_QA], s.g[G_PUBLIC_QA_LAST]
    for c in range(p.n_channels):
        qa_last[c] = qa[c]
        qa[c] = 0.0
    stage, exported = s.si[I_APP_STAGE], s.si[I_EXPORTED]
    if t == p.n_steps - 1:
        horizon = p.n_steps * p.step_days
        wait, submitted = s.sf[F_WAIT_DAYS], s.sf[F_APP_SUBMITTED]
        for i in range(p.n_total):
            if stage[i] != STAGE_NONE and stage[i] != STAGE_DELIVERY and not exported[i]:
                wait[i] += horizon - submitted[i]
    elif p.n_total > p.n_initial:
        update_active(s, t + 1)  # entrants may be founded
    elif s.c[C_NEW_EXPORTERS] > 0:
        active = s.active
        n_active = 0
        for k in range(s.c[C_N_ACTIVE]):
            i = active[k]
            if not exported[i]:
                active[n_active] = i
                n_active += 1
        s.c[C_N_ACTIVE] = n_active


@njit(**KERNEL)
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
