"""An application's way through an agency: the document / site-visit / committee stages and the
agency's capacity queue (MODEL.md section 3, phase 5).

submission -> documents (rounds while something is missing) -> assessment (after waiting for the
agency's capacity) -> site visit (some) -> committee (next sitting; decision) -> notification ->
delivery, or closed when rejected: the application processes of 003_9e0cb3511f01b6dc.txt,
section 4.1 (Gate to Global selects 20 of 100 applicants, section 4.1.1). Transparency and access
shorten document rounds; risk assessment sharpens who is approved (000_8e43523aad10feae.txt,
DART). The exchanges with the SME that end some stages are :func:`simsme.mechanisms.exchange.
exchange`.
"""

from __future__ import annotations

from numba import njit

from simsme import rules
from simsme.mechanisms.draws import occurs
from simsme.mechanisms.exchange import SITE_VISIT
from simsme.scenario.lowering import (
    P_DOCUMENTS,
    P_NOTIFICATION,
    STAGE_ASSESSMENT,
    STAGE_COMMITTEE,
    STAGE_DELIVERY,
    STAGE_DOCUMENTS,
    STAGE_NONE,
    STAGE_NOTIFICATION,
    STAGE_SITE_VISIT,
    STAGE_SUBMISSION,
)

NO_EXCHANGE = -1
"""No exchange with the SME ends the stage (it ends at a day the agency sets)."""


@njit(inline="always")
def in_process(stage):
    """Submitted and not yet notified: the SME is waiting on the agency."""
    return stage != STAGE_NONE and stage != STAGE_DELIVERY


@njit(inline="always")
def wait_at_end(stage, submitted_day, day):
    """Days the SME has waited on an application when its observation ends on ``day`` (its
    first export, or the horizon): from submission if the application is still with the agency
    (:func:`in_process`), else 0 (a notified application was charged by :func:`advance`). Both
    ends of observation charge it, so no wait on the agencies goes uncounted (MODEL.md section
    6, weeks waiting; 003 section 4.1)."""
    if in_process(stage):
        return day - submitted_day
    return 0.0


@njit(inline="always")
def queue_for_assessment(day, free_day, capacity_per_day):
    """The agency's capacity queue: an application whose documents are complete on ``day`` is
    assessed when the assessors are next free; each takes 1 / capacity days of their time.
    Returns ``(start day, the day they are free again)``."""
    start = max(day, free_day)
    return start, start + 1.0 / capacity_per_day


@njit(inline="always")
def advance(
    rng,
    stage,
    day,
    site_visit,
    approved,
    submitted_day,
    merit,
    free_day,
    has_face_to_face,
    missing_base,
    transparency,
    access,
    capacity_per_day,
    desk_days,
    stage_factor,
    site_visit_share,
    committee_days,
    selection,
    risk_assessment,
    programme_days,
):
    """Move an application out of ``stage``, which ends on ``day``.

    Returns ``(stage, due, site_visit, approved, free_day, purpose, waited)``: the new stage and
    the day it ends, whether the assessment needs a site visit, the committee's decision, the
    agency's next free day, the ``purpose`` of the exchange with the SME that the new stage
    needs (:data:`NO_EXCHANGE` if none; the caller adds its days to ``due``), and the days the
    SME waited on the agency, charged when the notification ends (from submission). A rejected
    application ends in ``STAGE_NONE`` on ``day``.
    """
    due = day
    purpose = NO_EXCHANGE
    waited = 0.0
    if stage == STAGE_SUBMISSION:
        stage = STAGE_DOCUMENTS
        purpose = P_DOCUMENTS
    elif stage == STAGE_DOCUMENTS:
        if occurs(rng, rules.missing_document_probability(missing_base, transparency, access)):
            purpose = P_DOCUMENTS  # another round
        else:
            start, free_day = queue_for_assessment(day, free_day, capacity_per_day)
            stage = STAGE_ASSESSMENT
            site_visit = has_face_to_face and occurs(rng, site_visit_share)
            due = start + desk_days * stage_factor
    elif stage == STAGE_ASSESSMENT and site_visit:
        stage = STAGE_SITE_VISIT
        purpose = SITE_VISIT
    elif stage == STAGE_ASSESSMENT or stage == STAGE_SITE_VISIT:
        stage = STAGE_COMMITTEE
        due = rules.next_committee_day(day, committee_days)
        approved = occurs(rng, rules.approval_probability(selection, risk_assessment, merit))
    elif stage == STAGE_COMMITTEE:
        stage = STAGE_NOTIFICATION
        purpose = P_NOTIFICATION
    elif stage == STAGE_NOTIFICATION:
        waited = day - submitted_day
        if approved:
            stage = STAGE_DELIVERY
            due = day + programme_days
        else:
            stage = STAGE_NONE
    return stage, due, site_visit, approved, free_day, purpose, waited
