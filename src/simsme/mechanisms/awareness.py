"""Programme information reaching SMEs (MODEL.md section 3, phase 2).

Agencies push programme information over the channels they use for dissemination; public
exchanges on social media are seen by others (public Q&A, 003_9e0cb3511f01b6dc.txt section 4.2);
aware network neighbours pass it on by word of mouth (004_71dd89347508b38e.txt, collaboration
and relationship; 000_8e43523aad10feae.txt, Company B's network-driven decision).
"""

from __future__ import annotations

from numba import njit

from simsme import rules


@njit(inline="always")
def channel_hazards(
    hazards,
    blocked,
    accept_dissemination,
    level,
    access,
    reach,
    digital,
    qa_reach,
    qa_last,
    n_founded,
):
    """Awareness hazard per year for an SME on each channel this step, into ``hazards``.

    Sum over agencies that disseminate on the channel of (channel reach x agency access (000,
    DART) x the agency's DIP level for digital channels, 003 section 4.2) + public Q&A reach x
    public exchanges on the channel in the previous step per 100 founded SMEs; nothing on a
    channel blocked by an event.
    """
    for c in range(len(hazards)):
        h = 0.0
        if not (blocked >> c) & 1:
            for a in range(len(access)):
                if (accept_dissemination[a] >> c) & 1:
                    share = level[a] if digital[c] else 1.0
                    h += reach[c] * access[a] * share
            h += qa_reach * qa_last[c] * 100.0 / max(n_founded, 1)
        hazards[c] = h


@njit(inline="always")
def awareness_probability(channels, hazards, aware_neighbours, degree, wom_rate, dt_years):
    """Probability that an unaware SME becomes aware this step: hazard = the hazards of the
    channels it uses (:func:`channel_hazards`) + word of mouth in proportion to the share of its
    ties that are aware."""
    h = 0.0
    for c in range(len(hazards)):
        if (channels >> c) & 1:
            h += hazards[c]
    if degree > 0:
        h += wom_rate * aware_neighbours / degree
    return rules.step_probability(h, dt_years)
