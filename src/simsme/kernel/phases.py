"""The nine phases of one step (MODEL.md section 3) as numba functions over flat arrays.

Each phase function has the name of the Mesa model's method for the same phase
(``simsme.model.model.SimsmeModel``) and calls the same mechanisms (:mod:`simsme.mechanisms`).
Phases 4 to 6 are in :mod:`simsme.kernel.support_phases`.
``p`` is the kernel's view of the lowered scenario (:class:`~simsme.kernel.params.Params`), ``s``
the replication's :class:`~simsme.kernel.state.State`, ``t`` the step, ``rng`` the replication's
generator. Exporters are frozen at their first export (the end of their observation).

News that reaches network neighbours (became aware, adopted a channel, exported) is applied after
the phase that produced it, so within a phase every SME sees the same neighbourhood whatever the
order in which SMEs are visited. SMEs act in the order of their index.

The phases are loops over the SMEs that act, calling the model's mechanisms (which numba
inlines); what makes them fast without
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
    CH_BUREAUCRACY,
    CH_DIGITAL,
    CH_DISSEMINATION_REACH,
    CH_EASE,
    CH_EXPORT_REACH,
    CH_LOG_MEDIAN,
    CH_NEEDS_CONNECTIVITY,
    CH_SIGMA,
    CH_USEFULNESS,
    PC_DESK_CONVENTIONAL,
    PC_DESK_DIGITAL,
    PC_MISSING,
    PC_SITE_VISIT,
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
    F_ADVICE,
    F_APP_SUBMITTED,
    F_AWARE_P,
    F_COINNOVATION,
    F_COST_SHARE,
    F_DOWNTIME,
    F_ENDOWMENT,
    F_EXPORT_PBAR,
    F_EXTERNAL,
    F_FOUNDED_DAY,
    F_MARKETPLACE,
    F_PENALTY,
    F_PROCEDURE_DAYS,
    F_PROFITABILITY,
    F_PROGRAMME_RATE,
    F_PROGRAMME_UNTIL,
    F_PROPENSITY,
    F_READY_DAY,
    F_RESOURCES,
    F_VALUE,
    F_WAIT_DAYS,
    G_DISSEMINATION_HAZARD,
    G_EXCHANGES,
    G_PUBLIC_QA,
    G_PUBLIC_QA_LAST,
    G_SCRATCH,
    G_STEP_APPLICATIONS,
    I_ADOPT_CLASS,
    I_ADOPT_STAMP,
    I_APP_RECORD,
    I_APP_STAGE,
    I_AWARE,
    I_AWARE_NEIGHBOURS,
    I_AWARE_STAMP,
    I_AWARE_STEP,
    I_COMMITTED_STEP,
    I_DIGITAL_PROCEDURES,
    I_EXPERIENCED,
    I_EXPORT_STAMP,
    I_EXPORT_STEP,
    I_EXPORTED,
    I_EXPORTING_NEIGHBOURS,
    I_MARKETS,
    I_MODE,
    I_PROCEDURES,
    I_TIES,
    L_CHANNELS,
    L_CHANNELS_USED,
    L_OUTSTANDING,
    STALE,
    new_record,
    update_active,
)
from simsme.kernel.support_phases import deliver_programmes, process_applications, seek_support
from simsme.mechanisms import (
    adoption,
    awareness,
    capabilities,
    entry,
    events,
    export,
    procedures,
    process,
    records,
)
from simsme.mechanisms.draws import uniform
from simsme.scenario.lowering import (
    DAYS_PER_YEAR,
    P_DISSEMINATION,
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
        u = -1.0
        if kind[i] == ADOPT_SOME:  # the reference draws: compare the draw with the bound first
            u = uniform(rng)
            if u >= bound[i]:
                continue  # above the bound, so above the step's probability: no adoption
        total = adoption.adoption_hazards(
            hazards,
            missing,
            technology[i],
            channel_neighbours[i],
            indptr[i + 1] - indptr[i],
            usefulness,
            ease,
            push,
            w_useful,
            w_ease,
            w_social,
            threshold,
            rate,
        )
        if u < 0.0:  # ADOPT_UNSURE: the reference draws only when the total is positive
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
        managerial, physical, firm = res[0], res[1], res[2]
        technology, financial, market = res[3], res[4], res[5]
        for i in range(n):
            coinnovation[i], value[i], propensity[i] = capabilities.follow_targets(
                coinnovation[i], value[i], propensity[i],
                managerial[i], physical[i], firm[i], technology[i], financial[i], market[i], external[i],
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
                res[0, i], res[1, i], res[2, i], res[3, i], res[4, i], res[5, i], external[i],
                b_int, b_ext, b_val, b_exp, adjust,
            )  # fmt: skip


@njit(**KERNEL)
def keep_procedure_records(s, i, applied):
    """Keep the records of the procedures SME ``i`` applied for (``applied``: a mask) with the
    applications' records, in procedure order (the Mesa model appends them in the same order)."""
    for k in range(s.pc_rec_f.shape[0]):
        if not (applied >> k) & 1:
            continue
        r = new_record(s)
        if r < 0:
            continue
        for j in range(s.rec_f.shape[1]):
            s.rec_f[r, j] = s.pc_rec_f[k, j]
        for j in range(s.rec_i.shape[1]):
            s.rec_i[r, j] = s.pc_rec_i[k, j]
        s.rec_i[r, records.RI_SME] = i


# ---------------------------------------------------------------------------------------------
# 8. Export entry
# ---------------------------------------------------------------------------------------------
@njit(**KERNEL)
def enter_exports(p, s, t, rng):
    """Aware SMEs meet export orders and decide, under a sunk cost, whether to take one; an SME
    that commits obtains the procedures it lacks, and exports when the last is issued.

    Entry: :func:`simsme.mechanisms.entry.commits_to_export` (Roberts and Tybout 1997; Melitz
    2003); procedures: :func:`simsme.mechanisms.procedures.obtain_procedures` (003 s4.1). The
    mode is indirect unless the SME is well resourced (004: 80% indirect, 20% direct).
    """
    day = t * p.step_days
    demand = p.tl[TL_DEMAND, t]
    if t > 0 and demand != p.tl[TL_DEMAND, t - 1]:
        s.c[C_EXPORT_EPOCH] += 1
    epoch = s.c[C_EXPORT_EPOCH]
    sf, si, sl = s.sf, s.si, s.sl
    aware, propensity, penalty = si[I_AWARE], sf[F_PROPENSITY], sf[F_PENALTY]
    programme_rate, programme_until = sf[F_PROGRAMME_RATE], sf[F_PROGRAMME_UNTIL]
    marketplace, exporting_neighbours = sf[F_MARKETPLACE], si[I_EXPORTING_NEIGHBOURS]
    stamp, bound = si[I_EXPORT_STAMP], sf[F_EXPORT_PBAR]
    resources = sf[F_RESOURCES : F_RESOURCES + 6]
    mode, markets, export_step = si[I_MODE], si[I_MARKETS], si[I_EXPORT_STEP]
    app_stage, wait, submitted = si[I_APP_STAGE], sf[F_WAIT_DAYS], sf[F_APP_SUBMITTED]
    profitability, experienced, ties = sf[F_PROFITABILITY], si[I_EXPERIENCED], si[I_TIES]
    committed, ready_day, procedure_days = (
        si[I_COMMITTED_STEP],
        sf[F_READY_DAY],
        sf[F_PROCEDURE_DAYS],
    )
    n_procedures, n_digital = si[I_PROCEDURES], si[I_DIGITAL_PROCEDURES]
    outstanding, channels, channels_used = sl[L_OUTSTANDING], sl[L_CHANNELS], sl[L_CHANNELS_USED]
    downtime, cost_share, advice = sf[F_DOWNTIME], sf[F_COST_SHARE], sf[F_ADVICE]
    ch, pc = p.ch, p.pc
    record_of = si[I_APP_RECORD]
    end_day = (t + 1) * p.step_days  # the first export ends the SME's observation (outputs.py)
    direct_threshold, direct_steepness = p.direct_threshold, p.direct_steepness
    extra_markets = p.extra_markets
    cost, cut, demand_sigma = p.entry_cost, p.experience_cut, p.demand_sigma
    inertia, founded_day = p.inertia_per_decade, sf[F_FOUNDED_DAY]
    active, changed = s.active, s.changed
    base, referral, tie_rate, dt_years = p.base_opportunity, p.referral_rate, p.tie_rate, p.dt_years
    n_changed = 0
    for k in range(s.c[C_N_ACTIVE]):
        i = active[k]
        if committed[i] < 0:
            if not aware[i]:
                continue
            if stamp[i] != epoch:
                rate = export.opportunity_rate(
                    day, programme_rate[i], programme_until[i], base, marketplace[i], referral,
                    exporting_neighbours[i], ties[i], tie_rate, demand,
                )  # fmt: skip
                bound[i] = probability_bound(rate, dt_years)
                stamp[i] = epoch
            u = uniform(rng)
            if u >= bound[i]:
                continue  # above the bound, so above the step's probability: no order
            rate = export.opportunity_rate(
                day, programme_rate[i], programme_until[i], base, marketplace[i], referral,
                exporting_neighbours[i], ties[i], tie_rate, demand,
            )  # fmt: skip
            if u >= rules.step_probability(rate, dt_years):
                continue
            # an order: take it if it covers the sunk cost (takes_order)
            own_cost = entry.entry_cost(
                cost, cost_share[i], advice[i], experienced[i] != 0, cut,
                (day - founded_day[i]) / DAYS_PER_YEAR, inertia,
            )  # fmt: skip
            if not entry.commits_to_export(
                rng, profitability[i], propensity[i], penalty[i], own_cost, demand_sigma
            ):
                continue
            committed[i] = t
            days, digital_count, used, applied = procedures.obtain_procedures(
                rng, outstanding[i], day, channels[i], downtime[i], experienced[i] != 0,
                resources[1, i], p.pc_accept, p.tl_pc_level, pc[PC_MISSING], pc[PC_DESK_DIGITAL],
                pc[PC_DESK_CONVENTIONAL], pc[PC_SITE_VISIT], p.face_to_face, p.ch_order,
                ch[CH_NEEDS_CONNECTIVITY], ch[CH_LOG_MEDIAN], ch[CH_SIGMA], ch[CH_BUREAUCRACY],
                p.tl_blocked, p.tl_slow, p.tl[TL_REMOTE], p.conventional_mask, p.documents_mask,
                p.digital_mask, p.step_days, s.pc_rec_f, s.pc_rec_i,
            )  # fmt: skip
            keep_procedure_records(s, i, applied)
            ready_day[i] = day + days
            procedure_days[i] = days
            n_procedures[i] = procedures.count_procedures(outstanding[i])
            n_digital[i] = digital_count
            channels_used[i] |= used
            outstanding[i] = 0
        if ready_day[i] >= end_day:
            continue  # its procedures are not all issued yet
        # record_first_export: mode (indirect unless well resourced, 004) and markets
        own_cost = entry.entry_cost(
            cost, cost_share[i], advice[i], experienced[i] != 0, cut,
            (day - founded_day[i]) / DAYS_PER_YEAR, inertia,
        )  # fmt: skip
        mode[i], markets[i] = export.first_export(
            rng, resources[0, i], resources[4, i], resources[5, i], direct_threshold,
            direct_steepness, extra_markets, profitability[i], propensity[i], penalty[i],
            own_cost, demand_sigma,
        )  # fmt: skip
        export_step[i] = t
        # an application still with the agency closes with the observation: charge its wait
        wait[i] += process.wait_at_end(app_stage[i], submitted[i], end_day)
        r = record_of[i]
        if r >= 0:
            records.close_open(
                s.rec_f[r], s.rec_i[r], app_stage[i], end_day, records.OPEN_AT_EXPORT
            )
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
        record_of = s.si[I_APP_RECORD]
        for i in range(p.n_total):
            if not exported[i]:
                wait[i] += process.wait_at_end(stage[i], submitted[i], horizon)
                r = record_of[i]
                if r >= 0:
                    records.close_open(
                        s.rec_f[r], s.rec_i[r], stage[i], horizon, records.OPEN_AT_HORIZON
                    )
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
    exchanges, step_applications = s.g[G_EXCHANGES], s.g[G_STEP_APPLICATIONS]
    for c in range(p.n_channels):  # per-step counters of the series (kernel/census.py)
        exchanges[c] = 0.0
        step_applications[c] = 0.0
    apply_events(p, s, t, rng)
    disseminate(p, s, t, rng)
    adopt_channels(p, s, t, rng)
    seek_support(p, s, t, rng)
    process_applications(p, s, t, rng)
    deliver_programmes(p, s, t, rng)
    update_capabilities(p, s, t, rng)
    enter_exports(p, s, t, rng)
    observe(p, s, t, rng)
