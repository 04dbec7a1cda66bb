"""Export entry as a decision under a sunk cost by heterogeneous firms with a history.

A firm exports when a foreign order is worth more than what it must sink to serve it (Roberts
and Tybout 1997, "The decision to export in Colombia", AER 87(4); Das, Roberts and Tybout 2007,
Econometrica 75(3)); firms differ in a persistent export profitability (Melitz 2003,
Econometrica 71(6): only the more productive firms cover the entry cost), and each order's
foreign demand is uncertain. So exporting is a minority outcome whose timing depends on
capabilities (004_71dd89347508b38e.txt Figure 4: export propensity), on how often orders arrive
(networks, marketplaces, programmes: :func:`simsme.rules.opportunity_rate`) and on the
procedures that follow the decision (:mod:`simsme.mechanisms.procedures`), with no sharp
threshold on a latent score.

Founders' history is drawn at founding: prior international experience (Company B's owner had
17 years in shipping, 003_9e0cb3511f01b6dc.txt section 4.1.2) lowers the sunk cost (the founder
knows buyers and procedures) and brings ties abroad that bring orders (as another firm's network
drove its export decision, 000_8e43523aad10feae.txt, its Company B). The evidence and the ranges of every unsourced number are
in docs/evidence.md (sections 3 and 5).
"""

from __future__ import annotations

import math

from numba import njit

from simsme.mechanisms.draws import occurs, poisson, uniform


@njit(inline="always")
def draw_history(
    rng, size_profit, profitability_sigma, experience_share, ties_mean, outstanding_share
):
    """A firm's history and product, drawn once at founding: ``(profitability, experienced,
    ties abroad, outstanding procedures)``.

    Export profitability is its size class's ``size_profit`` times a log-normal factor with mean
    1 and log spread ``profitability_sigma`` (Melitz 2003 heterogeneity; one normal draw). The founder has prior international experience with
    probability ``experience_share`` (one uniform); an experienced founder brings a Poisson
    number of ties abroad with mean ``ties_mean`` (one Poisson draw, only then). Each procedure
    ``k`` is still to be obtained before a first export with probability
    ``outstanding_share[k]`` (one uniform each; bit ``k`` of the returned mask).
    """
    z = rng.standard_normal()
    profitability = size_profit * math.exp(profitability_sigma * z - 0.5 * profitability_sigma**2)
    experienced = occurs(rng, experience_share)
    ties = poisson(rng, ties_mean) if experienced else 0
    outstanding = 0
    for k in range(len(outstanding_share)):
        if uniform(rng) < outstanding_share[k]:
            outstanding |= 1 << k
    return profitability, experienced, ties, outstanding


@njit(inline="always")
def entry_cost(cost, cost_share, advice, experienced, experience_cut, age_years, inertia):
    """Sunk cost of a first export, in years of the export profit of an average small firm at
    full export propensity: the share ``cost_share`` the SME still faces after grants
    (:func:`simsme.mechanisms.delivery.cost_share_after`), less the share ``advice`` that risk
    advice removed (:func:`simsme.mechanisms.delivery.advice_after`) and the share
    ``experience_cut`` an experienced founder avoids; it grows by ``inertia`` per decade of the
    firm's age, as domestic routines set in (the learning advantages of newness: Autio, Sapienza
    and Almeida 2000, Academy of Management Journal 43(5); export propensity falls after the
    first post-start-up years, docs/evidence.md F6)."""
    cost = cost * cost_share * (1.0 - advice) * (1.0 + inertia * max(age_years, 0.0) / 10.0)
    return cost * (1.0 - experience_cut) if experienced else cost


@njit(inline="always")
def commits_to_export(rng, profitability, propensity, penalty, cost, demand_sigma):
    """Whether an order is worth the sunk cost: the firm commits when its export profit,
    profitability x export propensity (less any regulation penalty, 002_6798e086be6a8ea8.txt)
    x an uncertain foreign demand (log-normal with mean 1 and log spread ``demand_sigma``, one
    normal draw), covers ``cost`` (Roberts and Tybout 1997; Das, Roberts and Tybout 2007)."""
    demand = math.exp(demand_sigma * rng.standard_normal() - 0.5 * demand_sigma**2)
    value = profitability * propensity * (1.0 - penalty)
    return value > 0.0 and value * demand >= cost  # nothing to gain: no entry, even at no cost
