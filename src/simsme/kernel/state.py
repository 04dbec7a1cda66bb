"""Kernel state: per-SME attributes stacked into a few arrays, and the initial population draw.

The population is drawn by the mechanisms of :mod:`simsme.mechanisms.population` (network, then
each SME's profile in index order), the calls the Mesa model's ``SimsmeModel._create_population``
makes, from the replication's own generator.

Layout. Numba passes a tuple argument member by member, at a few nanoseconds per array, and the
phases are called every step with the whole state; so the per-SME attributes are rows of three
stacked arrays (``sf`` float64, ``si`` int32, ``sl`` int64 bit masks), named by the row constants
below, instead of fifty separate arrays. Rows are contiguous, so a phase binds the rows it uses
to local names (``propensity = s.sf[F_PROPENSITY]``) and indexes them by SME as before.

Besides the model's state, three per-SME caches let the phases skip work whose result is known
(see :mod:`simsme.kernel.fastpath`): the awareness probability (``F_AWARE_P``), a bound on the
adoption probability (``F_ADOPT_PBAR``, ``I_ADOPT_CLASS``) and a bound on the export probability
(``F_EXPORT_PBAR``). Each is valid while its stamp (``I_*_STAMP``) equals the phase's epoch
counter in ``s.c``; a stamp of -1 marks it stale.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simsme import rules
from simsme.mechanisms import capabilities, entry, export, population, records

# rows of State.sf: float64 [F_ROWS, N]
F_DOWNTIME = 0
F_FOUNDED_DAY = 1
F_COINNOVATION = 2
F_VALUE = 3
F_PROPENSITY = 4
F_PENALTY = 5  # export propensity lost to a regulation until compliant
F_STRENGTH = 6  # network strength
F_EXTERNAL = 7  # external sourcing (a function of strength and co-created programmes)
F_MARKETPLACE = 8  # export-opportunity rate from listed channels
F_PROGRAMME_RATE = 9
F_PROGRAMME_UNTIL = 10
F_NEXT_APPLY = 11
F_APP_DUE = 12
F_APP_SUBMITTED = 13
F_WAIT_DAYS = 14
F_AWARE_P = 15  # cache: awareness probability this step
F_ADOPT_PBAR = 16  # cache: upper bound on the adoption probability
F_EXPORT_PBAR = 17  # cache: upper bound on the export probability
F_RESOURCES = 18  # six rows, resources (RESOURCES order)
F_ENDOWMENT = 24  # six rows, initial resources (gains decay toward them)
F_PROFITABILITY = 30  # export profitability, drawn at founding (mechanisms.entry)
F_READY_DAY = 31  # day its procedures are all issued, once committed to exporting
F_PROCEDURE_DAYS = 32  # days from the commitment to the last procedure's issue
F_COST_SHARE = 33  # share of the sunk cost still faced after grants
F_ADVICE = 34  # share of the sunk cost removed by agencies' risk advice
F_ROWS = 35

# rows of State.si: int32 [I_ROWS, N]
I_SIZE_CLASS = 0
I_REGION = 1
I_AWARE = 2
I_EXPORTED = 3
I_EXPORT_STEP = 4
I_AWARE_STEP = 5
I_COCREATED = 6  # co-created programmes
I_AWARE_NEIGHBOURS = 7
I_EXPORTING_NEIGHBOURS = 8
I_APP_AGENCY = 9
I_APP_FOCUS = 10
I_APP_STAGE = 11
I_APP_OFFER_DIGITAL = 12
I_APP_DIGITAL = 13
I_APP_SITE_VISIT = 14
I_APP_APPROVED = 15
I_DIGITAL_APPLICATIONS = 16
I_MODE = 17
I_MARKETS = 18
I_FOUND_STEP = 19  # first step at which the SME exists
I_AWARE_STAMP = 20
I_ADOPT_STAMP = 21
I_ADOPT_CLASS = 22
I_EXPORT_STAMP = 23
I_APPLICATIONS = 24  # five rows, by focus area
I_APPROVALS = 29  # five rows, by focus area
I_APP_RECORD = 34  # row of the open application's record in State.rec_f / rec_i (-1: none)
I_EXPERIENCED = 35  # founder with prior international experience
I_TIES = 36  # the founder's ties abroad
I_COMMITTED_STEP = 37  # step in which it committed to exporting (-1: not yet)
I_PROCEDURES = 38  # procedures it had to obtain after committing
I_DIGITAL_PROCEDURES = 39  # ... of which handled over the regulator's digital platform
I_ROWS = 40

# rows of State.sl: int64 [L_ROWS, N]
L_CHANNELS = 0  # bit mask of channels the SME uses
L_CHANNELS_USED = 1  # bit mask of channels used in exchanges with agencies
L_OUTSTANDING = 2  # bit mask of procedures still to obtain before a first export
L_ROWS = 3

# rows of State.g: float64 [G_ROWS, max(C, A, 5)]
G_AGENCY_FREE_DAY = 0
G_AGENCY_FIT = 1
G_DISSEMINATION_HAZARD = 2
G_PUBLIC_QA = 3  # public exchanges this step
G_PUBLIC_QA_LAST = 4  # ... and in the previous step
G_SCRATCH = 5
G_EXCHANGES = 6  # exchanges with agencies per channel this step (submissions included)
G_STEP_APPLICATIONS = 7  # applications submitted per channel this step
G_ROWS = 8

# entries of State.c: int64 counters
C_N_ACTIVE = 0  # SMEs in State.active (founded, not exported)
C_N_FOUNDED = 1  # SMEs founded so far, exporters included
C_AWARE_EPOCH = 2
C_ADOPT_EPOCH = 3
C_EXPORT_EPOCH = 4
C_NEW_EXPORTERS = 5  # SMEs that exported this step
C_N_RECORDS = 6  # application records written (simsme.mechanisms.records)
C_RECORDS_LOST = 7  # applications without a record: State.rec_f was full
C_ROWS = 8

STALE = -1


class State(NamedTuple):
    """Mutable state of one replication (stacked structure of arrays)."""

    sf: np.ndarray  # [F_ROWS, N] float64
    si: np.ndarray  # [I_ROWS, N] int32
    sl: np.ndarray  # [L_ROWS, N] int64
    indptr: np.ndarray  # [N + 1] int64, network in CSR form
    neighbours: np.ndarray  # [2m] int32
    channel_neighbours: np.ndarray  # [N, C] int32, neighbours using each channel
    g: np.ndarray  # [G_ROWS, W] float64, agencies and per-channel values
    c: np.ndarray  # [C_ROWS] int64 counters
    active: np.ndarray  # [N] int64, founded non-exporters in index order (first c[C_N_ACTIVE])
    changed: np.ndarray  # [N] int64, news to pass on to neighbours after a phase
    year_channel_applications: np.ndarray  # [Y, C] int64
    rec_f: np.ndarray  # [capacity, RF_ROWS] float64, application records (mechanisms.records)
    rec_i: np.ndarray  # [capacity, RI_ROWS] int32
    pc_rec_f: np.ndarray  # [K, RF_ROWS] float64, the procedures' records of one commitment
    pc_rec_i: np.ndarray  # [K, RI_ROWS] int32


def state_bytes_per_sme(n_channels: int, mean_degree: float) -> int:
    """Bytes of :class:`State` per SME, with the network's temporaries while it is drawn."""
    per_sme = 8 * F_ROWS + 4 * I_ROWS + 8 * L_ROWS + 8 + 4 * n_channels + 8 + 8
    # neighbours (int32, 2m = N x mean degree) plus draw_network's ends (int64 pairs), degree
    # and fill (int64) while the network is drawn
    per_sme += int(np.ceil(mean_degree)) * (4 + 8) + 16
    return per_sme


@njit(cache=True)
def init_state(rng, p, record_capacity=0):
    """Draw the initial population of one replication (MODEL.md section 5).

    ``p`` is the lowered scenario (:class:`~simsme.scenario.lowering.ScenarioArrays`);
    ``record_capacity``: how many application records to keep (applications past it are
    counted in ``c[C_RECORDS_LOST]``, never silently dropped).
    """
    n = p.n_total
    C = p.n_channels
    indptr, neighbours = population.draw_network(rng, n, p.mean_degree)
    width = max(C, p.n_agencies, 5)
    s = State(
        np.zeros((F_ROWS, n)),
        np.zeros((I_ROWS, n), np.int32),
        np.zeros((L_ROWS, n), np.int64),
        indptr,
        neighbours,
        np.zeros((n, C), np.int32),
        np.zeros((G_ROWS, width)),
        np.zeros(C_ROWS, np.int64),
        np.zeros(n, np.int64),
        np.zeros(n, np.int64),
        np.zeros((p.n_years, C), np.int64),
        np.zeros((record_capacity, records.RF_ROWS)),
        np.zeros((record_capacity, records.RI_ROWS), np.int32),
        np.zeros((len(p.pc_outstanding), records.RF_ROWS)),
        np.zeros((len(p.pc_outstanding), records.RI_ROWS), np.int32),
    )
    sf, si, sl = s.sf, s.si, s.sl
    size_class, region, found_step = si[I_SIZE_CLASS], si[I_REGION], si[I_FOUND_STEP]
    downtime, founded_day, channels = sf[F_DOWNTIME], sf[F_FOUNDED_DAY], sl[L_CHANNELS]
    res, endowment = sf[F_RESOURCES : F_RESOURCES + 6], sf[F_ENDOWMENT : F_ENDOWMENT + 6]
    size_cum, region_cum, region_downtime = p.size_cum, p.region_cum, p.region_downtime
    res_mean, res_conc, share = p.res_mean, p.res_conc, p.initial_channel_share
    n_initial, n_steps, step_days = p.n_initial, p.n_steps, p.step_days
    age_max_years = p.age_max_years
    resources = np.empty(6)
    profitability, experienced, ties = sf[F_PROFITABILITY], si[I_EXPERIENCED], si[I_TIES]
    outstanding = sl[L_OUTSTANDING]
    profitability_sigma, experience_share = p.profitability_sigma, p.experience_share
    ties_mean, outstanding_share, size_profit = p.ties_mean, p.pc_outstanding, p.size_profit
    for i in range(n):
        k, g, day, step, mask = population.draw_profile(
            rng,
            i < n_initial,
            size_cum,
            region_cum,
            age_max_years,
            n_steps,
            step_days,
            res_mean,
            res_conc,
            share,
            resources,
        )
        size_class[i] = k
        region[i] = g
        downtime[i] = region_downtime[g]
        founded_day[i] = day
        found_step[i] = step
        for r in range(6):
            res[r, i] = resources[r]
            endowment[r, i] = resources[r]
        channels[i] = mask
        profitability[i], experienced[i], ties[i], outstanding[i] = entry.draw_history(
            rng,
            size_profit[k],
            profitability_sigma,
            experience_share,
            ties_mean,
            outstanding_share,
        )
    strength, external, marketplace = sf[F_STRENGTH], sf[F_EXTERNAL], sf[F_MARKETPLACE]
    coinnovation, value, propensity = sf[F_COINNOVATION], sf[F_VALUE], sf[F_PROPENSITY]
    channel_neighbours, export_reach = s.channel_neighbours, p.ch_export_reach
    half, gain = p.half_saturation, p.cocreation_gain
    b_int, b_ext, b_val, b_exp = p.beta_internal, p.beta_external, p.beta_value, p.beta_export
    for i in range(n):
        degree = indptr[i + 1] - indptr[i]
        strength[i] = population.network_strength(degree, half)
        for e in range(indptr[i], indptr[i + 1]):
            j = neighbours[e]
            for c in range(C):
                if (channels[j] >> c) & 1:
                    channel_neighbours[i, c] += 1
        marketplace[i] = export.listing_rate(channels[i], export_reach)
        # the latent indices start at their targets (the population starts in equilibrium)
        external[i] = rules.external_sourcing(strength[i], 0, gain)
        coinnovation[i], value[i], propensity[i] = capabilities.settled_capabilities(
            res[0, i], res[1, i], res[2, i], res[3, i], res[4, i], res[5, i], external[i],
            b_int, b_ext, b_val, b_exp,
        )  # fmt: skip
    for i in range(n):
        si[I_EXPORT_STEP, i] = -1
        si[I_COMMITTED_STEP, i] = -1
        sf[F_COST_SHARE, i] = 1.0
        si[I_AWARE_STEP, i] = -1
        si[I_APP_AGENCY, i] = -1
        si[I_APP_RECORD, i] = -1
        si[I_AWARE_STAMP, i] = STALE
        si[I_ADOPT_STAMP, i] = STALE
        si[I_EXPORT_STAMP, i] = STALE
    for a in range(p.n_agencies):  # element by element: no shape checks to compile
        s.g[G_AGENCY_FIT, a] = p.ag_fit[a]
    update_active(s, 0)
    return s


@njit(cache=True, _nrt=False)
def update_active(s, t):
    """List the SMEs that act at step ``t`` (founded by then, not exported), in index order."""
    found_step, exported, active = s.si[I_FOUND_STEP], s.si[I_EXPORTED], s.active
    n_active = 0
    n_founded = 0
    for i in range(found_step.shape[0]):
        if found_step[i] <= t:
            n_founded += 1
            if not exported[i]:
                active[n_active] = i
                n_active += 1
    s.c[C_N_ACTIVE] = n_active
    s.c[C_N_FOUNDED] = n_founded


@njit(inline="always")
def new_record(s):
    """Row of ``s.rec_f`` / ``s.rec_i`` for a new application's record, or -1 when they are
    full (the application is then counted in ``c[C_RECORDS_LOST]``)."""
    r = s.c[C_N_RECORDS]
    if r < s.rec_f.shape[0]:
        s.c[C_N_RECORDS] = r + 1
        return r
    s.c[C_RECORDS_LOST] += 1
    return -1


def record_capacity(n_total: int, n_steps: int, step_days: float) -> int:
    """Application records to keep per replication at first: one per SME and year of the run
    plus one per SME (the baseline makes about seven per SME in fifteen years). A replication
    that makes more is run again with room for all of them (:mod:`simsme.kernel.engine`)."""
    years = n_steps * step_days / 365.25
    return int(n_total) * (int(np.ceil(years)) + 1)
