"""One exchange between an SME and an agency over a channel, waiting for a working channel.

Every exchange of an application (documents, notification, a site visit) and its submission go
through :func:`exchange_channel` (which channel carries it in a step) and
:func:`exchange_duration` (how long it takes); :func:`exchange` waits step by step until a
channel works. Sources: 003_9e0cb3511f01b6dc.txt Table 4 (channels), section 4.1 (face-to-face
site visits, physical proposals, Company A's signal problems) and section 4.2 (DIP, remote
processing and video visits under the movement-control order).
"""

from __future__ import annotations

import math

from numba import njit

from simsme import rules
from simsme.mechanisms import channels

SITE_VISIT = -2
"""The ``purpose`` of a site visit (not one of the scenario's channel purposes)."""

INF = math.inf


@njit(inline="always")
def exchange_channel(
    rng,
    purpose,
    step,
    sme_channels,
    accept,
    physical,
    offer_digital,
    downtime,
    face_to_face,
    order,
    needs_connectivity,
    tl_blocked,
    tl_remote,
    conventional_mask,
    documents_mask,
):
    """The channel that carries an exchange for ``purpose`` in ``step``, or -1 if none works.

    An exchange goes over the preferred channel both sides support
    (:func:`simsme.rules.choose_channel`) among those the agency accepts
    (:func:`simsme.mechanisms.channels.accepted_channels`; ``accept``: the agency's channels for
    the purpose). A site visit (``purpose`` = :data:`SITE_VISIT`) is face to face; under a
    movement-control order it waits, unless the agency processes remotely and handles the
    application over DIP: then it is a video visit over the preferred digital follow-up channel
    both share (``accept``: the agency's digital follow-up channels; 003 section 4.2).
    """
    blocked = tl_blocked[step]
    if purpose == SITE_VISIT:
        if not (blocked >> face_to_face) & 1:
            return face_to_face
        if tl_remote[step] and offer_digital:
            return rules.choose_channel(
                rng, sme_channels, accept, blocked, order, needs_connectivity, downtime
            )
        return -1
    accepted = channels.accepted_channels(
        accept, purpose, physical, offer_digital, tl_remote[step], conventional_mask, documents_mask
    )
    return rules.choose_channel(
        rng, sme_channels, accepted, blocked, order, needs_connectivity, downtime
    )


@njit(inline="always")
def exchange_duration(rng, c, stage_factor, log_median, sigma, bureaucracy, slowdown):
    """Days one exchange over channel ``c`` takes (:func:`simsme.rules.exchange_days`: the
    channel's log-normal latency x its bureaucracy x the agency's stage factor x any event
    ``slowdown``)."""
    return rules.exchange_days(rng, log_median[c], sigma[c], bureaucracy[c], stage_factor, slowdown)


@njit(inline="always")
def exchange(
    rng,
    purpose,
    day,
    sme_channels,
    accept,
    physical,
    offer_digital,
    downtime,
    stage_factor,
    face_to_face,
    order,
    needs_connectivity,
    log_median,
    sigma,
    bureaucracy,
    tl_blocked,
    tl_slow,
    tl_remote,
    conventional_mask,
    documents_mask,
    step_days,
):
    """Days from ``day`` until one exchange for ``purpose`` is complete (waiting included), and
    its channel.

    When no channel works in a step (:func:`exchange_channel`: blocked by an event, down, or a
    site visit not allowed), the exchange waits for the next step; it starts at the start of the
    step in which a channel works. Returns ``(inf, -1)`` when none works before the horizon.
    """
    step = int(day // step_days)
    while step < len(tl_blocked):
        c = exchange_channel(
            rng,
            purpose,
            step,
            sme_channels,
            accept,
            physical,
            offer_digital,
            downtime,
            face_to_face,
            order,
            needs_connectivity,
            tl_blocked,
            tl_remote,
            conventional_mask,
            documents_mask,
        )
        if c >= 0:
            start = max(day, step * step_days)
            days = exchange_duration(
                rng, c, stage_factor, log_median, sigma, bureaucracy, tl_slow[step, c]
            )
            return start - day + days, c
        step += 1
    return INF, -1
