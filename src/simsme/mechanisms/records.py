"""The record of one application, kept for ``applications.parquet`` (MODEL.md section 6).

Not a model mechanism: bookkeeping of what the mechanisms of :mod:`simsme.mechanisms.process`
and :mod:`simsme.mechanisms.exchange` did to an application, written once here so that both
engines record the same rows (the kernel keeps the records as rows of two arrays, the Mesa model
one pair of rows per :class:`~simsme.model.application.Application`). A record is a float row
(``RF_*``: days) and an int row (``RI_*``: who, channels, decision). Stages are those of
003_9e0cb3511f01b6dc.txt section 4.1 (submission, documents, assessment with the agency's
capacity queue, site visit, committee, notification).
"""

from __future__ import annotations

import math

from numba import njit

from simsme.scenario.lowering import (
    STAGE_ASSESSMENT,
    STAGE_DELIVERY,
    STAGE_DOCUMENTS,
    STAGE_NONE,
    STAGE_NOTIFICATION,
    STAGE_SITE_VISIT,
    STAGE_SUBMISSION,
)

# float row: days from the start of the run, and days spent in each stage
RF_SUBMITTED = 0
RF_ENTERED = 1  # day the current stage began (after the queue, for the assessment)
RF_DAYS = 2  # six entries, stages submission ... notification (RF_DAYS + stage - 1)
RF_QUEUE = 8  # days waiting for the agency's capacity before the assessment
RF_CLOSED = 9  # day the SME was notified, or its observation ended (export, horizon)
RF_ROWS = 10

# int row
RI_SME = 0
RI_AGENCY = 1
RI_FOCUS = 2
RI_DIP = 3  # handled over the agency's digital platform (003 section 4.2)
RI_DIGITAL = 4  # submitted over a digital channel
RI_CHANNEL = 5  # six entries, channel of the stage's last exchange (-1: none), by stage
RI_DOCUMENT_ROUNDS = 11
RI_DECISION = 12
RI_COCREATED = 13
RI_PROCEDURE = 14  # the procedure (licence, certificate, permit) the record is of; -1: a programme
RI_ROWS = 15

OPEN_AT_HORIZON = 0
OPEN_AT_EXPORT = 1
REJECTED = 2
APPROVED = 3
DECISIONS = ("open at horizon", "open at export", "rejected", "approved")
"""Labels of ``RI_DECISION``."""

RECORDED_STAGES = (
    STAGE_SUBMISSION,
    STAGE_DOCUMENTS,
    STAGE_ASSESSMENT,
    STAGE_SITE_VISIT,
    STAGE_NOTIFICATION,
)
"""Stages whose days and exchange channel the table reports (the committee sits without an
exchange with the SME; its days are reported too)."""


@njit(inline="always")
def open_record(rf, ri, sme, agency, focus, dip, digital, channel, day):
    """A submission on ``day`` over ``channel``."""
    for k in range(len(rf)):
        rf[k] = 0.0
    for k in range(len(ri)):
        ri[k] = 0
    rf[RF_SUBMITTED] = day
    rf[RF_ENTERED] = day
    rf[RF_CLOSED] = math.nan
    ri[RI_SME] = sme
    ri[RI_AGENCY] = agency
    ri[RI_FOCUS] = focus
    ri[RI_DIP] = dip
    ri[RI_DIGITAL] = digital
    for k in range(6):
        ri[RI_CHANNEL + k] = -1
    ri[RI_CHANNEL + STAGE_SUBMISSION - 1] = channel
    ri[RI_DECISION] = OPEN_AT_HORIZON
    ri[RI_PROCEDURE] = -1


@njit(inline="always")
def open_procedure_record(rf, ri, procedure, dip, day):
    """The record of procedure ``procedure`` (``dip``: over the regulator's digital platform),
    applied for on ``day``; :func:`procedure_stage` fills its stages."""
    open_record(rf, ri, -1, -1, -1, dip, False, -1, day)
    ri[RI_PROCEDURE] = procedure


@njit(inline="always")
def procedure_stage(rf, ri, stage, days, channel):
    """A procedure's stage took ``days`` more, its last exchange over ``channel`` (-1: none)."""
    rf[RF_DAYS + stage - 1] += days
    if channel >= 0 or ri[RI_CHANNEL + stage - 1] < 0:
        ri[RI_CHANNEL + stage - 1] = channel
    if stage == STAGE_DOCUMENTS:
        ri[RI_DOCUMENT_ROUNDS] += 1


@njit(inline="always")
def note_submitted_digitally(ri, digital):
    """The submission went over a digital channel."""
    ri[RI_DIGITAL] = digital


@njit(inline="always")
def close_procedure(rf, ri, day, issued):
    """The procedure was issued on ``day``, or (not ``issued``) was still open at the horizon."""
    rf[RF_CLOSED] = day if issued else math.nan
    ri[RI_DECISION] = APPROVED if issued else OPEN_AT_HORIZON


@njit(inline="always")
def leave_stage(rf, ri, stage, new_stage, day, due, work_days):
    """``stage`` ended on ``day`` and the application went to ``new_stage`` (due on ``due``;
    ``work_days``: the assessment's own days, so that the rest of it is the capacity queue)."""
    rf[RF_DAYS + stage - 1] += day - rf[RF_ENTERED]
    rf[RF_ENTERED] = day
    if new_stage == STAGE_DOCUMENTS:
        ri[RI_DOCUMENT_ROUNDS] += 1
    elif new_stage == STAGE_ASSESSMENT and stage == STAGE_DOCUMENTS:
        queue = max(due - work_days - day, 0.0)
        rf[RF_QUEUE] = queue
        rf[RF_ENTERED] = day + queue
    elif new_stage == STAGE_NONE or new_stage == STAGE_DELIVERY:
        rf[RF_CLOSED] = day
        ri[RI_DECISION] = APPROVED if new_stage == STAGE_DELIVERY else REJECTED


@njit(inline="always")
def note_channel(ri, stage, channel):
    """The exchange that ends ``stage`` went over ``channel`` (-1: none before the horizon)."""
    ri[RI_CHANNEL + stage - 1] = channel


@njit(inline="always")
def close_open(rf, ri, stage, day, decision):
    """The SME's observation ends on ``day`` (its first export, or the horizon) with the
    application still with the agency in ``stage``: charge the stage its days so far."""
    if stage == STAGE_NONE or stage == STAGE_DELIVERY:
        return
    entered = rf[RF_ENTERED]
    if entered > day:  # still in the capacity queue
        rf[RF_QUEUE] -= entered - day
        entered = day
    rf[RF_DAYS + stage - 1] += day - entered
    rf[RF_ENTERED] = day
    rf[RF_CLOSED] = day
    ri[RI_DECISION] = decision


@njit(inline="always")
def note_cocreated(ri, cocreated):
    """The programme was delivered, co-created or not (003 sections 4.2 and 5)."""
    ri[RI_COCREATED] = cocreated
