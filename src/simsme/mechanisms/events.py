"""One-off shocks (MODEL.md section 3, phase 1; 002_6798e086be6a8ea8.txt).

A regulation change (002, Food Act sugar rule) demands compliance: affected SMEs lose part of
their export propensity until they comply (a programme that restores compliance, or the
regulation's end). A tax change (002, GST) raises costs: financial accessibility, and the level
it returns to, fall.
"""

from __future__ import annotations

from numba import njit

from simsme.mechanisms.draws import occurs


@njit(inline="always")
def regulation_penalty(rng, penalty, affected_share, readiness_penalty):
    """An SME's penalty after a regulation change (one draw: affected with ``affected_share``)."""
    if occurs(rng, affected_share):
        return max(penalty, readiness_penalty)
    return penalty


@njit(inline="always")
def after_tax(financial, loss):
    """Financial accessibility (or its endowment) after a tax that takes ``loss`` of it."""
    return financial * (1.0 - loss)
