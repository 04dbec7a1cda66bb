"""Phases 4 to 6 of a step (MODEL.md section 3): SMEs seek support, agencies process their
applications and deliver programmes.

Part of the kernel's phases (:mod:`simsme.kernel.phases`, where the step calls them; the same
conventions): loops over the SMEs that act, calling the mechanisms of
:mod:`simsme.mechanisms.support`, :mod:`~simsme.mechanisms.exchange`,
:mod:`~simsme.mechanisms.process` and :mod:`~simsme.mechanisms.delivery`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simsme import rules
from simsme.kernel.fastpath import (
    KERNEL,
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
    CH_LOG_MEDIAN,
    CH_NEEDS_CONNECTIVITY,
    CH_RICHNESS,
    CH_SIGMA,
    CH_VISIBILITY,
    PR_CLEARS,
    PR_DURATION_DAYS,
    PR_ENTRY_COST_CUT,
    PR_FOCUS_WEIGHT,
    PR_OPPORTUNITY,
    PR_OPPORTUNITY_DAYS,
    PR_RAISE,
    TL_REMOTE,
)
from simsme.kernel.state import (
    C_N_ACTIVE,
    F_ADVICE,
    F_APP_DUE,
    F_APP_SUBMITTED,
    F_COST_SHARE,
    F_DOWNTIME,
    F_EXTERNAL,
    F_NEXT_APPLY,
    F_PENALTY,
    F_PROGRAMME_RATE,
    F_PROGRAMME_UNTIL,
    F_PROPENSITY,
    F_RESOURCES,
    F_STRENGTH,
    F_WAIT_DAYS,
    G_AGENCY_FIT,
    G_AGENCY_FREE_DAY,
    G_EXCHANGES,
    G_PUBLIC_QA,
    G_SCRATCH,
    G_STEP_APPLICATIONS,
    I_ADOPT_STAMP,
    I_APP_AGENCY,
    I_APP_APPROVED,
    I_APP_DIGITAL,
    I_APP_FOCUS,
    I_APP_OFFER_DIGITAL,
    I_APP_RECORD,
    I_APP_SITE_VISIT,
    I_APP_STAGE,
    I_APPLICATIONS,
    I_APPROVALS,
    I_AWARE,
    I_COCREATED,
    I_COMMITTED_STEP,
    I_DIGITAL_APPLICATIONS,
    I_EXPORT_STAMP,
    L_CHANNELS,
    L_CHANNELS_USED,
    STALE,
    new_record,
)
from simsme.mechanisms import (
    delivery,
    draws,
    exchange,
    process,
    records,
    support,
)
from simsme.mechanisms.exchange import SITE_VISIT
from simsme.mechanisms.process import NO_EXCHANGE
from simsme.scenario.lowering import (
    P_APPLICATION,
    P_FOLLOW_UP,
    STAGE_DELIVERY,
    STAGE_NONE,
    STAGE_SUBMISSION,
)


# ---------------------------------------------------------------------------------------------
# 4. Seeking support
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def seek_support(p, s, t, rng):
    """An aware SME that is not ready applies for a programme over the best shared channel.

    It picks a focus area (:func:`simsme.mechanisms.support.choose_focus`), an agency with that focus, and submits over the
    preferred application channel both support; the agency handles the application digitally as
    far as it is digitalised (003 section 4.2). Without a working channel now, it tries again later.
    The submission is the Mesa model's ``SME.submit_application``.
    """
    day = t * p.step_days
    year = min(int(day / 365.25), p.n_years - 1)
    sf, si, sl = s.sf, s.si, s.sl
    aware, stage = si[I_AWARE], si[I_APP_STAGE]
    next_apply, penalty = sf[F_NEXT_APPLY], sf[F_PENALTY]
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
    exchanges, step_applications = s.g[G_EXCHANGES], s.g[G_STEP_APPLICATIONS]
    record_of, rec_f, rec_i = si[I_APP_RECORD], s.rec_f, s.rec_i
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
    committed = si[I_COMMITTED_STEP]
    chance = rules.step_probability(p.seek_rate, p.dt_years)
    raises, served = prog[PR_RAISE : PR_RAISE + 6], focus_agencies[:, 0]
    active = s.active
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        if not aware[i] or stage[i] != STAGE_NONE:
            continue  # fast path: wants_support needs both (kernel/fastpath.py)
        if not support.wants_support(
            aware[i] != 0,
            stage[i] != STAGE_NONE,
            day,
            next_apply[i],
            committed[i] >= 0,
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
        exchanges[c] += 1.0
        step_applications[c] += 1.0
        r = new_record(s)
        record_of[i] = r
        if r >= 0:
            records.open_record(rec_f[r], rec_i[r], i, a, f, offer, app_digital[i], c, day)


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
    free_day, public_qa, exchanges = s.g[G_AGENCY_FREE_DAY], s.g[G_PUBLIC_QA], s.g[G_EXCHANGES]
    record_of, rec_f, rec_i = si[I_APP_RECORD], s.rec_f, s.rec_i
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
            old_stage = stage[i]
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
            r = record_of[i]
            if r >= 0:
                records.leave_stage(
                    rec_f[r],
                    rec_i[r],
                    old_stage,
                    stage[i],
                    day,
                    due[i],
                    ag[AG_DESK_DAYS, a] * ag[AG_STAGE_FACTOR, a],
                )
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
                    exchanges[c] += 1.0
                    if purpose != SITE_VISIT:
                        public_qa[c] += ch[CH_VISIBILITY, c]
                if r >= 0:
                    records.note_channel(rec_i[r], stage[i], c)
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
    record_of, rec_i = si[I_APP_RECORD], s.rec_i
    channels, fit = s.sl[L_CHANNELS], s.g[G_AGENCY_FIT]
    ag, ag_accept, prog, richness = p.ag, p.ag_accept, p.prog, p.ch[CH_RICHNESS]
    risk_advice, cost_share, advice = p.risk_advice_gain, sf[F_COST_SHARE], sf[F_ADVICE]
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
        cost_share[i] = delivery.cost_share_after(cost_share[i], prog[PR_ENTRY_COST_CUT, f])
        advice[i] = delivery.advice_after(advice[i], ag[AG_RISK, a], risk_advice)
        if record_of[i] >= 0:
            records.note_cocreated(rec_i[record_of[i]], cocreated)
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
