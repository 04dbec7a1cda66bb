"""Capability dynamics: resources drift, and the co-innovation path of 004_71dd89347508b38e.txt,
Figure 4 (internal innovation, from firm-specific, technological and physical resources of
002_6798e086be6a8ea8.txt Table 4, and external sourcing -> co-innovation -> value proposition ->
export propensity).

The resource drift itself is :func:`simsme.rules.resource_drift` (learning by doing; programme
gains fade toward the endowment, 002_6798e086be6a8ea8.txt Table 4 resources).
"""

from __future__ import annotations

from numba import njit

from simsme import rules


@njit(inline="always")
def settled_capabilities(
    managerial,
    physical,
    firm_specific,
    technology,
    financial,
    market,
    external,
    b_int,
    b_ext,
    b_val,
    b_exp,
):
    """Co-innovation, value proposition and export propensity at their targets (004 Figure 4):
    the population starts in equilibrium."""
    internal = rules.internal_innovation(firm_specific, technology, physical)
    coinnovation = rules.coinnovation_target(internal, external, b_int, b_ext)
    value = rules.value_target(coinnovation, managerial, b_val)
    propensity = rules.export_propensity_target(value, market, financial, b_exp)
    return coinnovation, value, propensity


@njit(inline="always")
def follow_targets(
    coinnovation,
    value,
    propensity,
    managerial,
    physical,
    firm_specific,
    technology,
    financial,
    market,
    external,
    b_int,
    b_ext,
    b_val,
    b_exp,
    adjust,
):
    """One step of first-order adjustment of co-innovation, value proposition and export
    propensity toward their targets along the paths of 004 Figure 4 (each target read after the
    index before it has moved)."""
    internal = rules.internal_innovation(firm_specific, technology, physical)
    target = rules.coinnovation_target(internal, external, b_int, b_ext)
    coinnovation += adjust * (target - coinnovation)
    target = rules.value_target(coinnovation, managerial, b_val)
    value += adjust * (target - value)
    target = rules.export_propensity_target(value, market, financial, b_exp)
    propensity += adjust * (target - propensity)
    return coinnovation, value, propensity
