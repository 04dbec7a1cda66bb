"""Export entry: opportunities, and the mode and markets of the first export.

Sources: 000_8e43523aad10feae.txt (e-Trade listings, Company B's network-driven decision),
003_9e0cb3511f01b6dc.txt Table 5 (market-access programmes), 004_71dd89347508b38e.txt (80% of
exporters indirect).
"""

from __future__ import annotations

from numba import njit

from simsme import rules
from simsme.mechanisms import entry
from simsme.mechanisms.draws import occurs, poisson


@njit(inline="always")
def listing_rate(channels, export_reach):
    """Export-opportunity rate from the channels an SME is listed on (000 e-Trade): the sum over
    its channels, in channel order, of each channel's export reach."""
    rate = 0.0
    for c in range(len(export_reach)):
        if (channels >> c) & 1:
            rate += export_reach[c]
    return rate


@njit(inline="always")
def opportunity_rate(
    day,
    programme_rate,
    programme_until,
    base,
    marketplace,
    referral,
    exporting_neighbours,
    ties,
    tie_rate,
    demand,
):
    """Export orders per year for an aware SME on ``day`` (:func:`simsme.rules.opportunity_rate`):
    a market-access programme counts while it lasts (003 Table 5); each of the founder's
    ``ties`` abroad brings ``tie_rate`` a year."""
    programme = programme_rate if day < programme_until else 0.0
    return rules.opportunity_rate(
        base, marketplace, programme, referral, exporting_neighbours, ties * tie_rate, demand
    )


@njit(inline="always")
def first_export(
    rng,
    managerial,
    financial,
    market,
    direct_threshold,
    direct_steepness,
    extra,
    profitability,
    propensity,
    penalty,
    cost,
    demand_sigma,
):
    """Mode (1 indirect, 2 direct) and number of markets of a first export.

    Indirect unless well resourced (logistic in the resource index, 004: 80% indirect; one
    uniform). Markets: the first, plus each of a Poisson number of further candidate markets
    (mean rising with the resource index; the seeds' exporters serve 3-10 markets, 002 Table 2,
    000 Table II) whose own order covers its own sunk cost (one normal draw each,
    :func:`simsme.mechanisms.entry.commits_to_export`): entry costs are mostly market-specific
    (McCallum 2015), so new exporters mostly begin in one market (Eaton, Eslava, Kugler and
    Tybout 2007; docs/evidence.md F3, F12).
    """
    index = rules.resource_index(managerial, financial, market)
    direct = occurs(rng, rules.direct_export_probability(index, direct_threshold, direct_steepness))
    candidates = poisson(rng, extra * index)
    markets = 1
    for _ in range(candidates):
        if entry.commits_to_export(rng, profitability, propensity, penalty, cost, demand_sigma):
            markets += 1
    return (2 if direct else 1), markets
