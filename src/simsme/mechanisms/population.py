"""The population and its network (MODEL.md section 5).

Each SME has a size class (003_9e0cb3511f01b6dc.txt, section 2.1), a region whose connectivity
can take digital channels down (003 section 4.1, Company A), a founding day, six internal
resources (002_6798e086be6a8ea8.txt, Table 4, plus market knowledge) and the channels it uses at
the start (003 Table 4). SMEs are tied by a random network (004_71dd89347508b38e.txt,
collaboration and relationship). Draws are made network first, then SME by SME in index order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simsme.mechanisms.draws import uniform
from simsme.scenario.lowering import DAYS_PER_YEAR


@njit
def draw_network(rng, n, mean_degree):
    """Random network G(n, m) with m = round(n x mean_degree / 2) ties, as CSR arrays
    ``(indptr, neighbours)``: SME ``i``'s neighbours are ``neighbours[indptr[i]:indptr[i + 1]]``,
    in the order their ties were drawn.

    Each tie joins two distinct SMEs drawn uniformly (a tie drawn twice counts twice: a stronger
    relationship; 004 collaboration and relationship).
    """
    m = int(round(n * mean_degree / 2.0)) if n > 1 else 0
    ends = np.empty((m, 2), dtype=np.int64)
    degree = np.zeros(n, dtype=np.int64)
    for e in range(m):
        a = int(uniform(rng) * n)
        b = int(uniform(rng) * (n - 1))
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


@njit
def draw_resource(rng, mean, concentration):
    """One resource level ~ Beta(mean x concentration, (1 - mean) x concentration), the mean kept
    inside (0, 1) (002 Table 4: resource levels differ by size class)."""
    m = min(max(mean, 1e-3), 1.0 - 1e-3)
    return rng.beta(m * concentration, (1.0 - m) * concentration)


@njit(inline="always")
def draw_profile(
    rng,
    incumbent,
    size_cum,
    region_cum,
    age_max_years,
    n_steps,
    step_days,
    res_mean,
    res_conc,
    initial_share,
    resources,
):
    """Draw one SME's profile; returns ``(size class, region, founding day, founding step,
    channels)`` and writes its six resource levels into ``resources``.

    Size class from the size mix (003 section 2.1), region from the regions' shares; an
    incumbent was founded up to ``age_max_years`` before the run, an entrant at a step of the
    run; resources ~ Beta with the size class's mean (002 Table 4,
    :func:`draw_resource`); each channel is in use at the start with its initial share (003
    Table 4). The founding step of an incumbent is 0.
    """
    u = uniform(rng)
    k = 0
    while k < 2 and u >= size_cum[k]:
        k += 1
    u = uniform(rng)
    g = 0
    while g < len(region_cum) - 1 and u >= region_cum[g]:
        g += 1
    step = 0
    if incumbent:
        founded_day = -uniform(rng) * age_max_years * DAYS_PER_YEAR
    else:
        step = int(uniform(rng) * n_steps)
        founded_day = step * step_days
    for r in range(6):
        resources[r] = draw_resource(rng, res_mean[r, k], res_conc[r])
    mask = 0
    for c in range(len(initial_share)):
        if uniform(rng) < initial_share[c]:
            mask |= 1 << c
    return k, g, founded_day, step, mask


@njit(inline="always")
def network_strength(degree, half_saturation):
    """Strength of an SME's external sourcing network from its ties: it saturates with the
    number of ties, degree / (degree + half saturation) (004)."""
    return degree / (degree + half_saturation)
