"""Digital channels taken up by SMEs: the Technology Acceptance Model (002_6798e086be6a8ea8.txt,
section II.C; MODEL.md section 3, phase 3).

Each digital channel an SME does not use yet has an adoption hazard
(:func:`simsme.rules.adoption_hazard`: perceived usefulness, ease of use rising with technology
competence, the social norm of its ties, any event push); at most one channel is adopted per
step, chosen in proportion to its hazard.
"""

from __future__ import annotations

from numba import njit

from simsme import rules
from simsme.mechanisms.draws import pick_in_proportion


@njit(inline="always")
def adoption_hazards(
    hazards,
    missing,
    technology,
    neighbour_counts,
    degree,
    usefulness,
    ease,
    push,
    w_useful,
    w_ease,
    w_social,
    threshold,
    rate,
):
    """Adoption hazard per year of each channel the SME is missing (bit mask ``missing``), into
    ``hazards`` (0 for the others), and their total. The social norm of a channel is the share
    of the SME's ties using it (``neighbour_counts[c] / degree``)."""
    total = 0.0
    for c in range(len(hazards)):
        hazards[c] = 0.0
        if (missing >> c) & 1:
            norm = neighbour_counts[c] / degree if degree > 0 else 0.0
            hazards[c] = rules.adoption_hazard(
                usefulness[c],
                ease[c],
                technology,
                norm,
                push,
                w_useful,
                w_ease,
                w_social,
                threshold,
                rate,
            )
            total += hazards[c]
    return total


@njit(inline="always")
def channel_to_adopt(rng, u, hazards, total, dt_years):
    """The channel adopted this step, or -1: with the step's probability of the total hazard
    (``u``: the uniform drawn for it, drawn only when ``total`` > 0), one channel chosen in
    proportion to its hazard (a second draw)."""
    if u < rules.step_probability(total, dt_years):
        return pick_in_proportion(rng, hazards, total)
    return -1
