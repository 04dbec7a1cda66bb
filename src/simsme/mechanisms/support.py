"""SMEs seeking support: who seeks it, the focus area and the agency they apply to (MODEL.md
section 3, phase 4).

Agencies offer programmes in five focus areas (003_9e0cb3511f01b6dc.txt, Table 1); an SME asks
for the one that closes its largest resource gap (003 Table 5: what each programme raises), and
a non-compliant SME needs the R&D programme that restores compliance (002_6798e086be6a8ea8.txt,
Food Act sugar rule). The agency handles the application over DIP as far as it is digitalised
(003 section 4.2).
"""

from __future__ import annotations

from numba import njit

from simsme import rules
from simsme.mechanisms.draws import occurs, pick_in_proportion

N_FOCUS = 5
N_RESOURCES = 6


@njit(inline="always")
def wants_support(aware, open_application, day, next_apply_day, committed):
    """Seeks support: aware, not yet committed to exporting (an SME obtaining its export
    procedures is busy with them), no open application, not cooling down after the last."""
    return aware and not committed and not open_application and day >= next_apply_day


@njit(inline="always")
def choose_focus(
    rng, resources, penalty, raises, clears, focus_weight, served, gap_exponent, weights
):
    """Focus area chosen in proportion to propensity x (gap in the resources it raises) ** k
    (:func:`simsme.rules.focus_choice_weight`), or -1 when no area has weight (one draw if one
    has).

    ``raises[r, f]``: share of resource ``r``'s gap the programme of area ``f`` closes (003
    Table 5); the gap is the raise-weighted mean of (1 - level). Only areas some agency serves
    (``served[f]`` > 0) count; a non-compliant SME's gap for the area that clears the penalty
    (``clears[f]``) is full. ``weights``: scratch of five.
    """
    total = 0.0
    for f in range(N_FOCUS):
        weights[f] = 0.0
        if served[f] == 0:
            continue
        gap = 0.0
        norm = 0.0
        for r in range(N_RESOURCES):
            if raises[r, f] > 0.0:
                gap += raises[r, f] * (1.0 - resources[r])
                norm += raises[r, f]
        if norm > 0.0:
            gap /= norm
        if penalty > 0.0 and clears[f]:
            gap = 1.0  # non-compliant SMEs need the R&D programme that restores compliance
        weights[f] = rules.focus_choice_weight(focus_weight[f], gap, gap_exponent)
        total += weights[f]
    if total <= 0.0:
        return -1
    return pick_in_proportion(rng, weights, total)


@njit(inline="always")
def handled_digitally(rng, level):
    """Whether the agency handles the application over DIP: with probability its DIP level
    (003 section 4.2; one draw)."""
    return occurs(rng, level)
