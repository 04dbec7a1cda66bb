"""Channels between SMEs and agencies (003_9e0cb3511f01b6dc.txt, Table 4): which channels an
agency accepts for an exchange, and the order in which SMEs and agencies prefer them.

Which channel carries an exchange is :func:`simsme.rules.choose_channel` (the preferred shared
channel, falling back when one is down).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from simsme.scenario.lowering import P_DOCUMENTS


@njit(inline="always")
def accepted_channels(
    accept, purpose, physical, offer_digital, remote, conventional_mask, documents_mask
):
    """Channels an agency takes for ``purpose`` in an open application (``accept``: the channels
    it takes for that purpose at all).

    Conventional channels only when it handles the application conventionally; documents only
    over channels that carry them, and only on paper or in person when the committee needs a
    physical proposal (003 section 4.1), except while it processes remotely (``remote``: under a
    movement-control order) and handles the application over DIP (003 section 4.2).
    """
    accepted = accept
    if not offer_digital:
        accepted &= conventional_mask
    if purpose == P_DOCUMENTS:
        accepted &= documents_mask
        if physical and not (offer_digital and remote):
            accepted &= conventional_mask  # physical proposal for the committee (003)
    return accepted


@njit
def preference_order(median_days, bureaucracy, cost):
    """Channels by preference, most preferred first.

    SMEs and agencies both prefer the quicker, cheaper channel they share (MODEL.md section 3,
    phase 4; 003 Table 4 and section 4.2 on DIP being quicker): channels are ranked by the
    expected time of one exchange, median latency x bureaucracy, penalised by cost (x (1 +
    cost)); ties keep the scenario's channel order.
    """
    expected_days = median_days * bureaucracy * (1.0 + cost)
    return np.argsort(expected_days, kind="mergesort").astype(np.int64)
