"""An SME's application for a support programme, as it moves through an agency's stages.

The stages are those of MODEL.md section 3, phase 5, drawn from the application processes of
003_9e0cb3511f01b6dc.txt, section 4.1 (submission, document checks with rounds for missing
documents, assessment with site visits, committee decision, notification, delivery). The stage
codes are the ones the kernel uses (:mod:`simsme.scenario.lowering`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from simsme.model.mechanisms import process, records
from simsme.scenario.lowering import (
    STAGE_ASSESSMENT,
    STAGE_COMMITTEE,
    STAGE_DELIVERY,
    STAGE_DOCUMENTS,
    STAGE_NAMES,
    STAGE_NONE,
    STAGE_NOTIFICATION,
    STAGE_SITE_VISIT,
    STAGE_SUBMISSION,
)

if TYPE_CHECKING:  # pragma: no cover
    from simsme.model.agency import ServiceProvider
    from simsme.model.sme import SME

__all__ = [
    "STAGE_ASSESSMENT",
    "STAGE_COMMITTEE",
    "STAGE_DELIVERY",
    "STAGE_DOCUMENTS",
    "STAGE_NONE",
    "STAGE_NOTIFICATION",
    "STAGE_SITE_VISIT",
    "STAGE_SUBMISSION",
    "Application",
]


@dataclass(slots=True, eq=False)
class Application:
    """One open application of ``sme`` to ``agency`` for a programme of ``focus``.

    Days are counted from the start of the run. ``due_day`` is when the current stage ends; the
    application leaves that stage in the step in which ``due_day`` falls
    (:meth:`ServiceProvider.advance`).
    """

    sme: SME
    agency: ServiceProvider
    focus: int  # index into simsme.scenario.FOCUS_AREAS
    offer_digital: bool  # the agency handles this application over DIP (003 section 4.2)
    stage: int = STAGE_SUBMISSION
    submitted_day: float = 0.0
    due_day: float = 0.0
    digital: bool = False  # submitted over a digital channel (co-creation needs DIP)
    site_visit: bool = False  # the assessment needs a site visit
    approved: bool = False  # the committee's decision
    # its record for applications.parquet (simsme.mechanisms.records)
    rf: np.ndarray = field(default_factory=lambda: np.zeros(records.RF_ROWS))
    ri: np.ndarray = field(default_factory=lambda: np.zeros(records.RI_ROWS, np.int32))

    @property
    def stage_name(self) -> str:
        """Name of the current stage ('submission', 'documents', ...)."""
        return STAGE_NAMES[self.stage]

    @property
    def in_process(self) -> bool:
        """Still with the agency (submitted, not yet notified): the SME is waiting on it."""
        return bool(process.in_process(self.stage))


@dataclass(slots=True, eq=False)
class ProcedureRecord:
    """The record of one procedure (licence, certificate, permit) an SME applied for after
    committing to export (:func:`simsme.mechanisms.procedures.procedure_days` fills it); kept
    with the applications' records for ``applications.parquet``."""

    rf: np.ndarray
    ri: np.ndarray
