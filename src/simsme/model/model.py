"""The Mesa reference engine: :class:`SimsmeModel` (MODEL.md sections 3 and 5).

One step is the nine phases of MODEL.md section 3, as methods with the names of the numba
kernel's phase functions (:mod:`simsme.kernel.phases`), in the same order:

    apply_events, disseminate, adopt_channels, seek_support, process_applications,
    deliver_programmes, update_capabilities, enter_exports, observe

Both engines read the scenario through the same lowered arrays
(:class:`~simsme.scenario.lowering.ScenarioArrays`), call the same mechanisms
(:mod:`simsme.mechanisms`) and fill the same raw outputs (:class:`~simsme.outputs.RunBlock`); they differ only in how they
hold state (agents here, flat arrays there). SMEs act in the order of their index, as in the
kernel; news that reaches network neighbours (became aware, adopted a channel, exported) is
delivered after the phase that produced it, so within a phase every SME sees the same
neighbourhood whatever the order. Exporters are frozen at their first export (the end of their
observation).

All randomness comes from the model's numpy generator ``model.rng`` (Mesa's stdlib ``random`` is
not used), so a replication is reproducible from (scenario, seed, replication).
"""

from __future__ import annotations

import functools

import mesa
import numpy as np

from simsme.model.agency import ServiceProvider
from simsme.model.application import STAGE_DELIVERY
from simsme.model.mechanisms import awareness, export, population, rules
from simsme.model.sme import N_FOCUS, SME
from simsme.outputs import RunBlock
from simsme.scenario.lowering import P_DISSEMINATION, ScenarioArrays, lower
from simsme.scenario.schema import Scenario
from simsme.streams import replication_rng

PHASES: tuple[str, ...] = (
    "apply_events",
    "disseminate",
    "adopt_channels",
    "seek_support",
    "process_applications",
    "deliver_programmes",
    "update_capabilities",
    "enter_exports",
    "observe",
)
"""The phases of one step, in order (MODEL.md section 3)."""


def draw_network(rng: np.random.Generator, n: int, mean_degree: float) -> list[list[int]]:
    """Random network G(n, m) with m = round(n x mean_degree / 2) ties, as neighbour lists
    (:func:`simsme.mechanisms.population.draw_network`)."""
    indptr, neighbours = population.draw_network(rng, n, mean_degree)
    return [neighbours[indptr[i] : indptr[i + 1]].tolist() for i in range(n)]


class SimsmeModel(mesa.Model):
    """SMEs, agencies and the channels between them, one step per week by default.

    Parameters
    ----------
    scenario: a validated :class:`~simsme.scenario.schema.Scenario`, or its lowered arrays.
    rng: the replication's numpy generator (:func:`simsme.kernel.engine.replication_rng`), or an
        integer seed, which means ``replication_rng(seed, 0)``.

    Attributes
    ----------
    p: the lowered scenario (parameters, timelines, agency arrays).
    smes, agencies: the agents, in index order (index = position in these lists).
    t: the current step (0-based; ``self.steps - 1`` while a step runs).
    """

    def __init__(
        self, scenario: Scenario | ScenarioArrays, rng: np.random.Generator | int = 0
    ) -> None:
        if isinstance(rng, int | np.integer):
            rng = replication_rng(int(rng), 0)
        # Mesa draws a seed for its stdlib ``random`` from ``rng``; rewind so that the
        # replication's stream starts where the kernel's does (stdlib random is never used).
        state = rng.bit_generator.state
        super().__init__(rng=rng)
        rng.bit_generator.state = state
        self.rng = rng
        p = lower(scenario) if isinstance(scenario, Scenario) else scenario
        self.p = p
        self.t = 0
        self._prepare_parameters()
        self.agencies = [ServiceProvider(self, a) for a in range(p.n_agencies)]
        self.agencies_by_focus: list[list[ServiceProvider]] = [
            [self.agencies[a] for a in p.agencies_by_focus[f, : p.n_agencies_by_focus[f]]]
            for f in range(N_FOCUS)
        ]
        self.smes: list[SME] = []
        self._create_population()
        # per-step public Q&A on each channel (003 section 4.2), this step and the previous one
        self.public_qa = [0.0] * p.n_channels
        self.public_qa_last = [0.0] * p.n_channels
        self.year_channel_applications = np.zeros((p.n_years, p.n_channels), np.int32)

    # -----------------------------------------------------------------------------------------
    # Initialisation (MODEL.md section 5)
    # -----------------------------------------------------------------------------------------
    def _prepare_parameters(self) -> None:
        """Per-channel and per-programme parameters as Python values (quick to read per SME)."""
        p = self.p
        n_channels = p.n_channels
        self.blocked = [int(m) for m in p.tl_blocked]  # channels blocked in each step
        self.digital = [bool(x) for x in p.ch_digital]
        self.visibility = [float(x) for x in p.ch_visibility]
        self.richness = [float(x) for x in p.ch_richness]
        self.usefulness = [float(x) for x in p.ch_usefulness]
        self.ease = [float(x) for x in p.ch_ease]
        self.export_reach = [float(x) for x in p.ch_export_reach]
        self.digital_mask = int(p.digital_mask)
        self.conventional_mask = int(p.conventional_mask)
        self.documents_mask = int(p.documents_mask)
        # resources each focus area's programme raises, with the share of the gap it closes
        # (003 Table 5)
        self.raises = p.prog_raise.T  # [resource, focus area]
        self.programme_raises = [
            [(r, float(p.prog_raise[f, r])) for r in range(6) if p.prog_raise[f, r] > 0.0]
            for f in range(N_FOCUS)
        ]

        @functools.cache
        def channel_indices(mask: int) -> tuple[int, ...]:
            return tuple(c for c in range(n_channels) if (mask >> c) & 1)

        self.channel_indices = channel_indices

    def marketplace_rate(self, channels: int) -> float:
        """Export-opportunity rate from the channels an SME is listed on (000 e-Trade)."""
        return export.listing_rate(channels, self.export_reach)

    def _create_population(self) -> None:
        """Draw the network, then each SME's profile, then settle the latent capabilities
        (the draws of :func:`simsme.kernel.state.init_state`, in the same order)."""
        p = self.p
        ties = draw_network(self.rng, p.n_total, p.mean_degree)
        self.smes = [SME(self, i) for i in range(p.n_total)]
        for sme, neighbours in zip(self.smes, ties, strict=True):
            sme.connect([self.smes[j] for j in neighbours])
            sme.settle_capabilities()

    # -----------------------------------------------------------------------------------------
    # One step (MODEL.md section 3)
    # -----------------------------------------------------------------------------------------
    def step(self) -> None:
        """One step: the nine phases in the order of MODEL.md section 3."""
        self.t = self.steps - 1  # Mesa counts the step before calling this method
        self.apply_events()
        self.disseminate()
        self.adopt_channels()
        self.seek_support()
        self.process_applications()
        self.deliver_programmes()
        self.update_capabilities()
        self.enter_exports()
        self.observe()

    def run(self) -> SimsmeModel:
        """Run to the horizon (``n_steps`` steps from the current one); returns the model."""
        while self.steps < self.p.n_steps:
            self.step()
        return self

    def today(self) -> float:
        """Day (from the start of the run) on which the current step starts."""
        return self.t * self.p.step_days

    # 1. Events --------------------------------------------------------------------------------
    def apply_events(self) -> None:
        """One-off shocks that start (or end) this step; timelines are read where they are used.

        Regulation change (002, Food Act sugar rule): affected SMEs lose part of their export
        propensity until they comply. Tax change (002, GST): financial accessibility falls.
        Events dated before the run apply at step 0. Every SME of the population is concerned,
        founded yet or not.
        """
        p, t = self.p, self.t
        for k in range(p.reg_start.shape[0]):
            if max(int(p.reg_start[k]), 0) == t:
                for sme in self.smes:
                    sme.face_regulation(p.reg_share[k], p.reg_penalty[k])
            if p.reg_end[k] == t:
                for sme in self.smes:
                    sme.penalty = 0.0
        for k in range(p.tax_start.shape[0]):
            if max(int(p.tax_start[k]), 0) == t:
                for sme in self.smes:
                    sme.pay_tax(p.tax_loss[k])

    # 2. Dissemination -------------------------------------------------------------------------
    def channel_awareness_hazard(self) -> list[float]:
        """Awareness hazard per year for an SME on each channel this step: the agencies' push
        and public Q&A seen on the channel in the previous step
        (:func:`simsme.mechanisms.awareness.channel_hazards`)."""
        p, t = self.p, self.t
        today = self.today()
        n_founded = sum(1 for sme in self.smes if sme.founded_day <= today)
        hazard = [0.0] * p.n_channels
        awareness.channel_hazards(
            hazard,
            self.blocked[t],
            p.ag_accept[:, P_DISSEMINATION],
            p.tl_agency_level[t],
            p.ag_access,
            p.ch_dissemination_reach,
            p.ch_digital,
            p.qa_reach,
            self.public_qa_last,
            n_founded,
        )
        return hazard

    def disseminate(self) -> None:
        """Agencies push programme information; SMEs on those channels become aware; word of
        mouth spreads over the network (MODEL.md section 3, phase 2)."""
        today = self.today()
        hazard = self.channel_awareness_hazard()
        news = [
            sme
            for sme in self.smes
            if not (sme.aware or sme.exported or sme.founded_day > today)
            and sme.hears_of_programmes(hazard)
        ]
        for sme in news:
            sme.become_aware(self.t)

    # 3. Adoption ------------------------------------------------------------------------------
    def adopt_channels(self) -> None:
        """SMEs take up digital channels by the Technology Acceptance Model (002 section II.C)."""
        today = self.today()
        push = float(self.p.tl_adoption_push[self.t])
        news = []
        for sme in self.smes:
            if sme.exported or sme.founded_day > today:
                continue
            c = sme.consider_adopting(push)
            if c >= 0:
                news.append((sme, c))
        for sme, c in news:
            sme.adopt(c)

    # 4. Seeking support -----------------------------------------------------------------------
    def seek_support(self) -> None:
        """An aware SME that is not ready applies for a programme over the best shared channel
        (MODEL.md section 3, phase 4; 003 section 4.1)."""
        p = self.p
        day = self.today()
        chance = rules.step_probability(p.seek_rate, p.dt_years)
        for sme in self.smes:
            if sme.needs_support(day):
                sme.seek_support(self.t, chance)

    # 5. Processing ----------------------------------------------------------------------------
    def process_applications(self) -> None:
        """Advance every open application through all stages that end within this step."""
        end = (self.t + 1) * self.p.step_days
        for sme in self.smes:
            if sme.exported:
                continue
            application = sme.application
            while (
                application is not None
                and application.stage != STAGE_DELIVERY
                and application.due_day < end
            ):
                application.agency.advance(application)
                application = sme.application

    # 6. Delivery and co-creation --------------------------------------------------------------
    def deliver_programmes(self) -> None:
        """Programmes that end this step raise the SME's resources (003 Table 5), co-created
        over DIP with good dialogue and access (003 sections 4.2 and 5)."""
        end = (self.t + 1) * self.p.step_days
        for sme in self.smes:
            application = sme.application
            if (
                application is not None
                and application.stage == STAGE_DELIVERY
                and application.due_day < end
                and not sme.exported
            ):
                application.agency.deliver_programme(application)

    # 7. Capability dynamics -------------------------------------------------------------------
    def update_capabilities(self) -> None:
        """Resources drift; co-innovation, value proposition and export propensity follow their
        targets along the paths of 004 Figure 4."""
        today = self.today()
        for sme in self.smes:
            if not (sme.exported or sme.founded_day > today):
                sme.update_capabilities()

    # 8. Export entry --------------------------------------------------------------------------
    def enter_exports(self) -> None:
        """Ready SMEs meet export opportunities and take the first one (first export); the mode
        is indirect unless the SME is well resourced (004: 80% indirect, 20% direct)."""
        day = self.today()
        demand = float(self.p.tl_demand[self.t])
        news = []
        for sme in self.smes:
            if sme.exported or sme.founded_day > day or not sme.is_ready():
                continue
            if sme.meets_export_opportunity(day, demand):
                sme.record_first_export(self.t)
                news.append(sme)
        for sme in news:
            sme.start_exporting()

    # 9. Observation ---------------------------------------------------------------------------
    def observe(self) -> None:
        """Roll the per-step counters; at the horizon, charge open applications their waiting
        time (MODEL.md section 6: weeks spent waiting on agencies)."""
        p = self.p
        self.public_qa_last = self.public_qa
        self.public_qa = [0.0] * p.n_channels
        if self.t == p.n_steps - 1:
            horizon = p.n_steps * p.step_days
            for sme in self.smes:
                application = sme.application
                if application is not None and application.in_process and not sme.exported:
                    sme.wait_days += horizon - application.submitted_day
            self.running = False

    # -----------------------------------------------------------------------------------------
    # Outputs (MODEL.md section 6)
    # -----------------------------------------------------------------------------------------
    def write_outputs(self, block: RunBlock, row: int) -> None:
        """Write the raw per-SME outputs into row ``row`` of ``block`` (the fields
        :func:`simsme.kernel.engine.run_replication` writes)."""
        smes = self.smes
        block.export_step[row, :] = [s.export_step for s in smes]
        block.founded_day[row, :] = [s.founded_day for s in smes]
        block.size_class[row, :] = [s.size_class for s in smes]
        block.region[row, :] = [s.region for s in smes]
        block.mode[row, :] = [s.mode for s in smes]
        block.markets[row, :] = [s.markets for s in smes]
        block.applications[row, :, :] = [s.applications for s in smes]
        block.approvals[row, :, :] = [s.approvals for s in smes]
        block.wait_days[row, :] = [s.wait_days for s in smes]
        block.digital_applications[row, :] = [s.digital_applications for s in smes]
        block.channels_used[row, :] = [s.channels_used for s in smes]
        block.channels_adopted[row, :] = [s.channels for s in smes]
        block.cocreated[row, :] = [s.cocreations for s in smes]
        block.aware_step[row, :] = [s.aware_step for s in smes]
        block.year_channel_applications[row, :, :] = self.year_channel_applications
