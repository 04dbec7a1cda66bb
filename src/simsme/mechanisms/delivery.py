"""A programme's delivery: resources rise, co-creation may happen, the agency learns.

The programme of a focus area raises the resources it targets (003_9e0cb3511f01b6dc.txt,
Table 5). Over DIP with good dialogue and access the programme is co-created (003 sections 4.2
and 5; 000_8e43523aad10feae.txt, DART): its effect is larger, it adds to the SME's external
sourcing network (004_71dd89347508b38e.txt), and the agency's offer fits SMEs better afterwards.
A market-access programme brings export opportunities for a while (trade fairs, 003 Table 5);
the R&D programme restores compliance with a regulation (002_6798e086be6a8ea8.txt, Food Act
sugar rule).
"""

from __future__ import annotations

from numba import njit

from simsme import rules
from simsme.mechanisms.draws import occurs


@njit(inline="always")
def best_richness(shared, richness):
    """Richness of the richest follow-up channel in ``shared`` (the SME's and the agency's)."""
    best = 0.0
    for c in range(len(richness)):
        if (shared >> c) & 1 and richness[c] > best:
            best = richness[c]
    return best


@njit(inline="always")
def is_cocreated(rng, digital, dialogue, access, shared_follow_up, richness):
    """Whether the programme is tailored with the SME (one draw;
    :func:`simsme.rules.cocreation_probability` with the richest follow-up channel both
    share)."""
    return occurs(
        rng,
        rules.cocreation_probability(
            digital, dialogue, access, best_richness(shared_follow_up, richness)
        ),
    )


@njit(inline="always")
def raise_resources(resources, raises, fit, cocreated, bonus):
    """Each resource the programme targets (``raises[r]`` > 0) closes a share of its gap
    (:func:`simsme.rules.programme_gain`); ``resources`` is updated in place."""
    for r in range(len(resources)):
        if raises[r] > 0.0:
            resources[r] = rules.programme_gain(resources[r], raises[r], fit, cocreated, bonus)


@njit(inline="always")
def opportunity_after(opportunity, opportunity_days, end_day, rate, until):
    """A market-access programme (``opportunity`` > 0 per year) brings export opportunities
    for ``opportunity_days`` after it ends; returns the SME's ``(rate, until)``."""
    if opportunity > 0.0:
        return opportunity, end_day + opportunity_days
    return rate, until


@njit(inline="always")
def penalty_after(clears, penalty):
    """The programme that restores compliance clears a regulation's penalty (002)."""
    return 0.0 if clears else penalty


@njit(inline="always")
def learned_fit(fit, learning_rate):
    """A co-created programme shows the agency what SMEs need (003 section 5): its offer's fit
    closes a share of its gap."""
    return fit + learning_rate * (1.0 - fit)


@njit(inline="always")
def cost_share_after(cost_share, grant_cut):
    """Share of the sunk cost of a first export the SME still faces after a programme that pays
    part of it (``grant_cut``: a grant or trade-fair place; MATRADE's Market Development Grant
    reimburses half of promotion costs, docs/evidence.md s1.3)."""
    return cost_share * (1.0 - grant_cut)


@njit(inline="always")
def advice_after(advice, risk_assessment, risk_advice_gain):
    """Share of the sunk cost the SME no longer counts once an agency has assessed risks with it:
    risk assessment (000_8e43523aad10feae.txt, DART) helps it weigh the risks and benefits of
    foreign markets, removing ``risk_assessment`` x ``risk_advice_gain`` of the cost (the
    uncertainty premium). The best advice received counts; advice does not add up. The same
    risk assessment also sharpens the committee's selection
    (:func:`simsme.rules.approval_probability`); the net effect speeds exports
    (tests/test_monotonicity.py)."""
    return max(advice, risk_assessment * risk_advice_gain)
