"""The model's rules, each in one place, shared by both engines.

Every function here is a pure rule of MODEL.md: it takes numbers (and, where the rule is
stochastic, the replication's numpy ``Generator``) and returns numbers. The Mesa agents call them
from Python; the numba kernel calls them from compiled code. Keeping the formulas here means the
two engines differ only in how they hold state and schedule agents, which is what the equivalence
tests check.

Sources are cited by file name in ``shared/seeds``:
000 = 000_8e43523aad10feae.txt (DART, Company B network, e-Trade),
002 = 002_6798e086be6a8ea8.txt (resources, TAM, regulation, MCO),
003 = 003_9e0cb3511f01b6dc.txt (size classes, Table 1, Table 4, Table 5, case timelines),
004 = 004_71dd89347508b38e.txt (Figure 4 paths, 80% indirect exporters).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# ---------------------------------------------------------------------------------------------
# Channels: how long an exchange takes, and which channel carries it (003 Table 4)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def exchange_days(rng, log_median, sigma, channel_bureaucracy, stage_factor, slowdown):
    """Duration in days of one exchange over a channel.

    The channel's latency is log-normal (a right-skewed wait, median ``exp(log_median)``); it is
    multiplied by the channel's bureaucracy (hand-offs and hierarchy: DIP is "less bureaucratic
    and hierarchical", 003 section 4.2), the agency's stage factor (MODEL.md section 3, phase 5)
    and any event slowdown (paper under a movement-control order).
    """
    latency = math.exp(log_median + sigma * rng.standard_normal())
    return latency * channel_bureaucracy * stage_factor * slowdown


@njit(cache=True)
def choose_channel(rng, sme_channels, accepted, blocked, order, needs_connectivity, downtime):
    """The preferred channel both sides support, falling back when it is down.

    Channels are tried in preference order (quickest and cheapest first). A channel that needs
    connectivity is down for this exchange with the SME location's ``downtime`` probability, and
    the SME falls back to the next one (003 section 4.1: Company A's signal problems, several
    platforms in use). Returns the channel index, or -1 when no shared channel works now.
    """
    usable = sme_channels & accepted & ~blocked
    if usable == 0:
        return -1
    for k in range(order.shape[0]):
        c = order[k]
        if (usable >> c) & 1:
            if needs_connectivity[c] and rng.random() < downtime:
                continue
            return c
    return -1


# ---------------------------------------------------------------------------------------------
# Adoption: Technology Acceptance Model (002 section II.C)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def adoption_hazard(
    usefulness, ease, technology, social_norm, push, w_useful, w_ease, w_social, threshold, rate
):
    """Adoption rate per year of one channel by one SME.

    Intention = w_u * perceived usefulness + w_e * perceived ease of use + w_s * social norm, where
    perceived ease of use rises with the SME's technology competence (ease x technology) and the
    social norm is the share of network neighbours already using the channel (002 section II.C;
    002 frames perceived benefit and social norms as the drivers). Events add a ``push`` (the
    movement-control order pushed firms online). Intention below ``threshold`` never adopts.
    """
    intention = w_useful * usefulness + w_ease * ease * technology + w_social * social_norm + push
    if intention <= threshold:
        return 0.0
    return rate * (intention - threshold) / (1.0 - threshold + 1e-12)


# ---------------------------------------------------------------------------------------------
# Agencies: document rounds, approval, committee sittings (003 section 4.1; 000 DART)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def missing_document_probability(base, transparency, access):
    """Chance that a document round finds something missing and another round is needed.

    Transparency (clear requirements) and access (easy contact) shorten document rounds (000,
    DART): each halves the base probability at its maximum.
    """
    return base * (1.0 - 0.5 * transparency) * (1.0 - 0.5 * access)


@njit(cache=True)
def approval_probability(selection_rate, risk_assessment, merit):
    """Probability that the committee approves an application.

    An average applicant (merit 0.5) is approved at the agency's selection rate (e.g. 20 of 100 for
    Gate to Global, 003 section 4.1.1). Risk assessment (000, DART) sharpens selection toward the
    SMEs with more merit: at risk_assessment = 1 the probability ranges from 0 to twice the rate.
    """
    p = selection_rate * (1.0 + risk_assessment * (2.0 * merit - 1.0))
    return min(1.0, max(0.0, p))


@njit(cache=True)
def next_committee_day(day, interval_days):
    """First committee sitting at or after ``day``; committees sit every ``interval_days``."""
    if interval_days <= 0.0:
        return day
    return math.ceil(day / interval_days) * interval_days


@njit(cache=True)
def cocreation_probability(digital, dialogue, access, richness):
    """Chance that a delivered programme is tailored with the SME (co-created).

    Only interactions over DIP co-create (003 sections 4.2 and 5); good dialogue and access (000,
    DART) and a rich follow-up channel make it likely.
    """
    if not digital:
        return 0.0
    return dialogue * access * (0.5 + 0.5 * richness)


@njit(cache=True)
def programme_gain(resource, raise_share, fit, cocreated, bonus):
    """New resource level after a programme: it closes a share of the remaining gap.

    The share comes from the focus area's programme (003 Table 5), scaled by how well the
    agency's offer fits (which rises as agencies learn, 003 section 5) and enlarged by the
    co-creation bonus when the programme was tailored.
    """
    effect = raise_share * fit * (1.0 + bonus * cocreated)
    return resource + min(1.0, effect) * (1.0 - resource)


# ---------------------------------------------------------------------------------------------
# Capabilities: the co-innovation path (004 Figure 4)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def external_sourcing(network_strength, cocreations, gain):
    """External sourcing network in [0, 1]: SME ties plus co-created programmes (004)."""
    return 1.0 - (1.0 - network_strength) * math.exp(-gain * cocreations)


# The published path coefficients of 004 Figure 4. The targets below divide by these constants,
# not by the coefficients in use, so that raising a path coefficient never lowers a target (a
# convex mix would shift weight away from the other inputs and could delay exports, against the
# seed's positive paths); at the published values the targets are the weighted means of 004.
PUBLISHED_INTERNAL = 0.25
PUBLISHED_EXTERNAL = 0.56
PUBLISHED_VALUE = 0.72
PUBLISHED_EXPORT = 0.75


@njit(cache=True)
def internal_innovation(firm_specific, technology, physical):
    """Internal innovation capacity: the mean of firm-specific, technological and physical
    resources (002 Table 4 resource categories; 004 Figure 4 "internal innovation"), so each of
    these resources acts on the co-innovation path."""
    return (firm_specific + technology + physical) / 3.0


@njit(cache=True)
def coinnovation_target(internal, external, beta_internal, beta_external):
    """Co-innovation = 0.25 x internal innovation + 0.56 x external sourcing (004 Figure 4),
    scaled by the published coefficients' sum and capped at 1: non-decreasing in both paths."""
    level = (beta_internal * internal + beta_external * external) / (
        PUBLISHED_INTERNAL + PUBLISHED_EXTERNAL
    )
    return min(1.0, level)


@njit(cache=True)
def value_target(coinnovation, managerial, beta_value):
    """Value proposition follows co-innovation (0.72, 004 Figure 4); the share the path leaves
    unexplained at the published coefficient comes from managerial competence (002 Table 4).
    Capped at 1: non-decreasing in the path coefficient."""
    return min(1.0, beta_value * coinnovation + (1.0 - PUBLISHED_VALUE) * managerial)


@njit(cache=True)
def export_propensity_target(value, market_knowledge, financial, beta_export):
    """Export propensity follows value proposition (0.75, 004 Figure 4); the share the path
    leaves unexplained at the published coefficient comes from market knowledge and financial
    accessibility (002 Table 4). Capped at 1: non-decreasing in the path coefficient."""
    rest = (1.0 - PUBLISHED_EXPORT) * 0.5 * (market_knowledge + financial)
    return min(1.0, beta_export * value + rest)


@njit(cache=True)
def resource_drift(resource, initial, growth_rate, decay_rate, dt_years):
    """Learning by doing lifts resources slowly; programme gains fade toward the endowment."""
    return resource + dt_years * (
        growth_rate * (1.0 - resource) - decay_rate * (resource - initial)
    )


# ---------------------------------------------------------------------------------------------
# Exports (000 Company B and e-Trade; 004 mode split)
# ---------------------------------------------------------------------------------------------


@njit(cache=True)
def opportunity_rate(
    base, marketplace, programme, referral_rate, exporting_neighbours, abroad, demand
):
    """Export orders (buyer contacts) per year for an aware SME.

    A base rate; e-marketplace and social-media listing for SMEs on those channels (000, e-Trade);
    market-access programmes while they last (trade fairs, 003 Table 5); one referral rate per
    exporting network neighbour (000, Company B's decision was network-driven); ``abroad``, the
    orders its founder's ties abroad bring (docs/evidence.md F7); all scaled by export demand:
    free-trade agreements raise it (demand > 1); a movement-control order lowers it (demand < 1)
    for every source except e-marketplaces, because online trade went on while fairs, visits and
    buyers' trips stopped (000, e-Trade; 003 section 4.2 on DIP during the pandemic). Whether an
    order is taken is the entry decision (:mod:`simsme.mechanisms.entry`).
    """
    offline = base + programme + referral_rate * exporting_neighbours + abroad
    return demand * offline + max(demand, 1.0) * marketplace


@njit(cache=True)
def resource_index(managerial, financial, market_knowledge):
    """How well resourced an SME is for exporting on its own."""
    return (managerial + financial + market_knowledge) / 3.0


@njit(cache=True)
def direct_export_probability(index, threshold, steepness):
    """Indirect unless well resourced: logistic in the resource index (004: 80% indirect)."""
    return 1.0 / (1.0 + math.exp(-(index - threshold) / steepness))


@njit(cache=True)
def step_probability(rate_per_year, dt_years):
    """Probability that an event with the given yearly hazard happens within one step."""
    return 1.0 - math.exp(-rate_per_year * dt_years)


@njit(cache=True)
def focus_choice_weight(weight, gap, exponent):
    """Weight of a focus area in an SME's choice: propensity x resource gap ** exponent."""
    return weight * gap**exponent


def _warm() -> None:  # pragma: no cover - compile once so the first Mesa step is not slow
    rng = np.random.default_rng(0)
    exchange_days(rng, 0.0, 0.5, 1.0, 1.0, 1.0)
