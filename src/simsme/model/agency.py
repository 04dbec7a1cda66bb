"""Government service providers (agencies) as Mesa agents (MODEL.md section 2).

An agency has a focus area (003_9e0cb3511f01b6dc.txt, Table 1), a capacity to assess
applications, a selection rate (Gate to Global: 20 of 100 applicants, 003 section 4.1.1), the
channels it accepts for each purpose (003 Table 4), a digitalisation level that changes at dates
(003 section 4.2), a bureaucracy (stages, committee cadence, physical documents: 003 section 4.1)
and a DART quality (dialogue, access, risk assessment, transparency: 000_8e43523aad10feae.txt).
Its parameters are read from the lowered scenario (:class:`~simsme.scenario.lowering.ScenarioArrays`)
row ``index``; its behaviour is the mechanisms of :mod:`simsme.mechanisms` (exchange, process,
delivery), which the numba kernel runs too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from simsme.mechanisms.exchange import SITE_VISIT
from simsme.mechanisms.process import NO_EXCHANGE
from simsme.model.application import (
    STAGE_NONE,
    Application,
)
from simsme.model.mechanisms import delivery, exchange, process, records
from simsme.scenario.lowering import P_FOLLOW_UP

if TYPE_CHECKING:  # pragma: no cover
    from simsme.model.model import SimsmeModel


class ServiceProvider(mesa.Agent):
    """An agency offering support programmes of one focus area.

    Attributes
    ----------
    index: the agency's position in the scenario's ``agencies`` list.
    focus: its focus area (index into ``simsme.scenario.FOCUS_AREAS``).
    fit: how well its standard offer fits SMEs' needs; it rises as the agency learns from
        co-created programmes (003 sections 4.2 and 5).
    free_day: the day its assessors are next free (capacity queue).
    """

    model: SimsmeModel

    def __init__(self, model: SimsmeModel, index: int) -> None:
        super().__init__(model)
        p = model.p
        a = index
        self.index = a
        self.focus = int(p.ag_focus[a])
        self.capacity_per_day = float(p.ag_capacity_per_day[a])
        self.selection_rate = float(p.ag_selection[a])
        self.fit = float(p.ag_fit[a])
        self.accepts = [int(mask) for mask in p.ag_accept[a]]  # channel mask per purpose
        # bureaucracy (003 section 4.1)
        self.stage_factor = float(p.ag_stage_factor[a])
        self.desk_review_days = float(p.ag_desk_days[a])
        self.site_visit_prob = float(p.ag_site_visit[a])
        self.committee_interval_days = float(p.ag_committee_days[a])
        self.requires_physical_documents = bool(p.ag_physical[a])
        self.missing_document_prob = float(p.ag_missing[a])
        # DART (000)
        self.dialogue = float(p.ag_dialogue[a])
        self.access = float(p.ag_access[a])
        self.risk_assessment = float(p.ag_risk[a])
        self.transparency = float(p.ag_transparency[a])
        self.free_day = 0.0

    # -----------------------------------------------------------------------------------------
    # Dissemination
    # -----------------------------------------------------------------------------------------
    def digital_level(self, t: int) -> float:
        """Share of its exchanges the agency handles over DIP in step ``t`` (003 section 4.2)."""
        return float(self.model.p.tl_agency_level[t, self.index])

    # -----------------------------------------------------------------------------------------
    # Exchanges over channels (003 Table 4)
    # -----------------------------------------------------------------------------------------
    def channels_for(self, purpose: int) -> int:
        """Channels (bit mask) the agency takes for ``purpose`` at all; for a site visit, its
        digital follow-up channels (a video visit under a movement-control order)."""
        if purpose == SITE_VISIT:
            return self.accepts[P_FOLLOW_UP] & int(self.model.p.digital_mask)
        return self.accepts[purpose]

    def exchange(self, application: Application, purpose: int, day: float) -> float:
        """Days from ``day`` until one exchange for ``purpose`` is complete, waiting included
        (:func:`simsme.mechanisms.exchange.exchange`: the preferred channel both sides support,
        waiting for the next step when none works; a site visit is face to face, or a video
        visit while the agency processes remotely). Public exchanges are seen by others (003
        section 4.2). Returns ``inf`` when no channel works before the horizon."""
        model = self.model
        p = model.p
        sme = application.sme
        days, c = exchange.exchange(
            model.rng,
            purpose,
            day,
            sme.channels,
            self.channels_for(purpose),
            self.requires_physical_documents,
            application.offer_digital,
            sme.downtime,
            self.stage_factor,
            p.face_to_face,
            p.ch_order,
            p.ch_needs_connectivity,
            p.ch_log_median,
            p.ch_sigma,
            p.ch_bureaucracy,
            model.blocked,
            p.tl_slow,
            p.tl_remote,
            model.conventional_mask,
            model.documents_mask,
            p.step_days,
        )
        records.note_channel(application.ri, application.stage, c)
        if c >= 0:
            sme.use_channel(c)
            model.exchanges[c] += 1
            if purpose != SITE_VISIT:
                model.public_qa[c] += model.visibility[c]
        return days

    # -----------------------------------------------------------------------------------------
    # Processing (MODEL.md section 3, phase 5; 003 section 4.1)
    # -----------------------------------------------------------------------------------------
    def advance(self, application: Application) -> None:
        """Move ``application`` out of its current stage, which ends at ``due_day``
        (:func:`simsme.mechanisms.process.advance`).

        submission -> documents (rounds while something is missing) -> assessment (after waiting
        for the agency's capacity) -> site visit (some) -> committee (next sitting; decision) ->
        notification -> delivery, or closed when rejected (003 section 4.1). Transparency and
        access shorten document rounds; risk assessment sharpens who is approved (000, DART).
        """
        model = self.model
        p = model.p
        sme = application.sme
        day = application.due_day
        old_stage = application.stage
        (
            application.stage,
            application.due_day,
            application.site_visit,
            application.approved,
            self.free_day,
            purpose,
            waited,
        ) = process.advance(
            model.rng,
            application.stage,
            day,
            application.site_visit,
            application.approved,
            application.submitted_day,
            sme.propensity,
            self.free_day,
            p.face_to_face >= 0,
            self.missing_document_prob,
            self.transparency,
            self.access,
            self.capacity_per_day,
            self.desk_review_days,
            self.stage_factor,
            self.site_visit_prob,
            self.committee_interval_days,
            self.selection_rate,
            self.risk_assessment,
            p.prog_duration_days[application.focus],
        )
        sme.wait_days += waited
        records.leave_stage(
            application.rf,
            application.ri,
            old_stage,
            application.stage,
            day,
            application.due_day,
            self.desk_review_days * self.stage_factor,
        )
        if application.stage == STAGE_NONE:  # rejected
            sme.close_application(day)
        elif purpose != NO_EXCHANGE:
            application.due_day = day + self.exchange(application, purpose, day)

    # -----------------------------------------------------------------------------------------
    # Delivery and co-creation (MODEL.md section 3, phase 6; 003 Table 5, sections 4.2 and 5)
    # -----------------------------------------------------------------------------------------
    def deliver_programme(self, application: Application) -> None:
        """The programme ends: the SME's resources rise, co-creation may happen, the agency learns.

        Over DIP with good dialogue and access the programme is co-created (003 sections 4.2 and
        5): its effect is larger, it adds to the SME's external sourcing network, and the agency's
        offer fits SMEs better afterwards.
        """
        model = self.model
        sme = application.sme
        cocreated = delivery.is_cocreated(
            model.rng,
            application.digital,
            self.dialogue,
            self.access,
            sme.channels & self.accepts[P_FOLLOW_UP],
            model.richness,
        )
        records.note_cocreated(application.ri, cocreated)
        sme.complete_programme(application, self.fit, cocreated)
        if cocreated:
            self.learn()

    def learn(self) -> None:
        """A co-created programme shows the agency what SMEs need (003 section 5)."""
        self.fit = delivery.learned_fit(self.fit, self.model.p.learning_rate)
