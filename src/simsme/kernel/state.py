"""Kernel state: one flat array per SME attribute, and the initial population draw.

The population is drawn exactly as the Mesa model's ``SimsmeModel._create_population`` draws it
(same distributions; see ``simsme/model/model.py``), from the replication's own generator.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simsme import rules


class State(NamedTuple):
    """Mutable state of one replication (structure of arrays)."""

    # SME attributes [N]
    size_class: np.ndarray
    region: np.ndarray
    downtime: np.ndarray
    founded_day: np.ndarray
    resources: np.ndarray  # [N, 6]
    endowment: np.ndarray  # [N, 6] initial resources (gains decay toward them)
    coinnovation: np.ndarray
    value: np.ndarray
    propensity: np.ndarray
    channels: np.ndarray  # int64 bit mask of channels the SME uses
    aware: np.ndarray
    exported: np.ndarray
    export_step: np.ndarray
    penalty: np.ndarray  # readiness lost to a regulation until compliant
    cocreations: np.ndarray
    network_strength: np.ndarray
    marketplace_rate: np.ndarray
    programme_rate: np.ndarray
    programme_until_day: np.ndarray
    next_apply_day: np.ndarray
    # network (CSR) and neighbour counts
    indptr: np.ndarray
    neighbours: np.ndarray
    aware_neighbours: np.ndarray
    exporting_neighbours: np.ndarray
    channel_neighbours: np.ndarray  # [N, C] neighbours using each channel
    # the SME's open application
    app_agency: np.ndarray
    app_focus: np.ndarray
    app_stage: np.ndarray
    app_due: np.ndarray
    app_submitted: np.ndarray
    app_offer_digital: np.ndarray
    app_digital: np.ndarray
    app_site_visit: np.ndarray
    app_approved: np.ndarray
    # per-SME records
    applications: np.ndarray  # [N, 5]
    approvals: np.ndarray  # [N, 5]
    wait_days: np.ndarray
    digital_applications: np.ndarray
    channels_used: np.ndarray
    cocreated: np.ndarray
    mode: np.ndarray
    markets: np.ndarray
    aware_step: np.ndarray
    # agencies [A]
    agency_free_day: np.ndarray
    agency_fit: np.ndarray
    # per-step scratch
    dissemination_hazard: np.ndarray  # [C]
    public_qa: np.ndarray  # [C] public exchanges this step
    public_qa_last: np.ndarray  # [C] ... and in the previous step
    changed: np.ndarray  # [N] SMEs whose news must reach their neighbours after a phase
    scratch: np.ndarray  # [C] per-channel scratch space
    year_channel_applications: np.ndarray  # [Y, C]


@njit(cache=True)
def draw_network(rng, n, mean_degree):
    """Random network G(n, m) with m = round(n * mean_degree / 2) ties, as CSR arrays.

    Each tie joins two distinct SMEs drawn uniformly (a tie drawn twice counts twice: a stronger
    relationship). Mirrors ``simsme.model.model.draw_network``.
    """
    m = int(round(n * mean_degree / 2.0)) if n > 1 else 0
    ends = np.empty((m, 2), dtype=np.int64)
    degree = np.zeros(n, dtype=np.int64)
    for e in range(m):
        a = int(rng.random() * n)
        b = int(rng.random() * (n - 1))
        if b >= a:
            b += 1
        ends[e, 0] = a
        ends[e, 1] = b
        degree[a] += 1
        degree[b] += 1
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        indptr[i + 1] = indptr[i] + degree[i]
    fill = indptr[:-1].copy()
    neighbours = np.empty(2 * m, dtype=np.int32)
    for e in range(m):
        a, b = ends[e, 0], ends[e, 1]
        neighbours[fill[a]] = b
        fill[a] += 1
        neighbours[fill[b]] = a
        fill[b] += 1
    return indptr, neighbours


@njit(cache=True)
def draw_resource(rng, mean, concentration):
    """One resource level ~ Beta(mean x concentration, (1 - mean) x concentration)."""
    m = min(max(mean, 1e-3), 1.0 - 1e-3)
    return rng.beta(m * concentration, (1.0 - m) * concentration)


@njit(cache=True)
def init_state(rng, p):
    """Draw the initial population of one replication (MODEL.md section 5)."""
    n = p.n_total
    C = p.n_channels
    indptr, neighbours = draw_network(rng, n, p.mean_degree)
    s = State(
        np.zeros(n, np.int8),
        np.zeros(n, np.int8),
        np.zeros(n),
        np.zeros(n),
        np.zeros((n, 6)),
        np.zeros((n, 6)),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n, np.int64),
        np.zeros(n, np.bool_),
        np.zeros(n, np.bool_),
        -np.ones(n, np.int32),
        np.zeros(n),
        np.zeros(n, np.int32),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n),
        indptr,
        neighbours,
        np.zeros(n, np.int32),
        np.zeros(n, np.int32),
        np.zeros((n, C), np.int32),
        -np.ones(n, np.int32),
        np.zeros(n, np.int32),
        np.zeros(n, np.int8),
        np.zeros(n),
        np.zeros(n),
        np.zeros(n, np.bool_),
        np.zeros(n, np.bool_),
        np.zeros(n, np.bool_),
        np.zeros(n, np.bool_),
        np.zeros((n, 5), np.int32),
        np.zeros((n, 5), np.int32),
        np.zeros(n),
        np.zeros(n, np.int32),
        np.zeros(n, np.int64),
        np.zeros(n, np.int32),
        np.zeros(n, np.int8),
        np.zeros(n, np.int32),
        -np.ones(n, np.int32),
        np.zeros(p.n_agencies),
        p.ag_fit.copy(),
        np.zeros(C),
        np.zeros(C),
        np.zeros(C),
        np.zeros(n, np.int64),
        np.zeros(C),
        np.zeros((p.n_years, C), np.int32),
    )
    for i in range(n):
        u = rng.random()
        k = 0
        while k < 2 and u >= p.size_cum[k]:
            k += 1
        s.size_class[i] = k
        u = rng.random()
        g = 0
        while g < p.region_cum.shape[0] - 1 and u >= p.region_cum[g]:
            g += 1
        s.region[i] = g
        s.downtime[i] = p.region_downtime[g]
        if i < p.n_initial:
            s.founded_day[i] = -rng.random() * p.age_max_years * 365.25
        else:
            s.founded_day[i] = int(rng.random() * p.n_steps) * p.step_days
        for r in range(6):
            level = draw_resource(rng, p.res_mean[r, k], p.res_conc[r])
            s.resources[i, r] = level
            s.endowment[i, r] = level
        mask = np.int64(0)
        for c in range(C):
            if rng.random() < p.initial_channel_share[c]:
                mask |= np.int64(1) << c
        s.channels[i] = mask
    for i in range(n):
        degree = s.indptr[i + 1] - s.indptr[i]
        s.network_strength[i] = degree / (degree + p.half_saturation)
        for k in range(s.indptr[i], s.indptr[i + 1]):
            j = s.neighbours[k]
            for c in range(C):
                if (s.channels[j] >> c) & 1:
                    s.channel_neighbours[i, c] += 1
        s.marketplace_rate[i] = marketplace_rate(p, s.channels[i])
        settle_capabilities(p, s, i)
    return s


@njit(cache=True)
def marketplace_rate(p, channels):
    """Export-opportunity rate from the channels an SME is listed on (000 e-Trade)."""
    rate = 0.0
    for c in range(p.n_channels):
        if (channels >> c) & 1:
            rate += p.ch_export_reach[c]
    return rate


@njit(cache=True)
def settle_capabilities(p, s, i):
    """Start the latent indices at their targets (the population starts in equilibrium)."""
    res = s.resources
    external = rules.external_sourcing(s.network_strength[i], s.cocreations[i], p.cocreation_gain)
    s.coinnovation[i] = rules.coinnovation_target(
        res[i, 2], res[i, 3], external, p.beta_internal, p.beta_external
    )
    s.value[i] = rules.value_target(s.coinnovation[i], res[i, 0], p.beta_value)
    s.propensity[i] = rules.export_propensity_target(
        s.value[i], res[i, 5], res[i, 4], p.beta_export
    )
