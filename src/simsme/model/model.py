"""The Mesa reference engine: :class:`SimsmeModel` (MODEL.md sections 3 and 5).

One step is the nine phases of MODEL.md section 3, as methods with the names of the numba
kernel's phase functions (:mod:`simsme.kernel.phases`), in the same order:

    apply_events, disseminate, adopt_channels, seek_support, process_applications,
    deliver_programmes, update_capabilities, enter_exports, observe

Both engines read the scenario through the same lowered arrays
(:class:`~simsme.scenario.lowering.ScenarioArrays`), call the same mechanisms
(:mod:`simsme.mechanisms`) and fill the same raw outputs (:class:`~simsme.outputs.RunBlock`);
they differ only in how they hold state (agents here, flat arrays there). SMEs act in the order of their index, as in the
kernel; news that reaches network neighbours (became aware, adopted a channel, exported) is
delivered after the phase that produced it, so within a phase every SME sees the same
neighbourhood whatever the order. Exporters are frozen at their first export (the end of their
observation).

All randomness comes from the model's numpy generator ``model.rng`` (Mesa's stdlib ``random`` is
not used), so a replication is reproducible from (scenario, seed, replication).

As a Mesa model it is built from keyword arguments (a scenario or scenario file, Mesa's ``seed``
or ``rng``, dotted overrides and the policy levers of :mod:`simsme.model.levers`), keeps its
agents in Mesa agent sets (``smes``, ``agencies``), runs with ``step()`` / ``run_model()`` until
``running`` turns False at the horizon, records per-step series in a ``mesa.DataCollector``
(:mod:`simsme.model.census`) and exposes the SME network as a Mesa ``Network`` space (``grid``),
which is what ``simsme view`` (:mod:`simsme.viz`) draws.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
from mesa.agent import AgentSet
from mesa.discrete_space import Network

from simsme.model.agency import ServiceProvider
from simsme.model.application import STAGE_DELIVERY, Application, ProcedureRecord
from simsme.model.census import make_datacollector, take_census, ttfe_so_far
from simsme.model.levers import apply_levers
from simsme.model.mechanisms import awareness, export, population, process, records, rules
from simsme.model.sme import N_FOCUS, SME
from simsme.outputs import RunBlock
from simsme.replications import replication_seed_sequence
from simsme.scenario.loading import apply_overrides, load_scenario, validate_scenario
from simsme.scenario.lowering import P_DISSEMINATION, ScenarioArrays, lower
from simsme.scenario.schema import Scenario

ScenarioLike = Scenario | ScenarioArrays | str | Path | Mapping[str, Any] | None
"""What :class:`SimsmeModel` is built from: a scenario, its lowered arrays, a scenario file, a
raw mapping of fields, or ``None`` for the built-in defaults (the baseline)."""

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


def resolve_scenario(
    scenario: ScenarioLike,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    **levers: Any,
) -> Scenario | ScenarioArrays:
    """The scenario a model is built from: loaded, overridden (dotted paths, as ``--set``) and
    with the levers of :mod:`simsme.model.levers` applied; lowered arrays pass through as they
    are (they cannot be overridden)."""
    if isinstance(scenario, ScenarioArrays):
        if overrides or any(v is not None for v in levers.values()):
            raise ValueError(
                "overrides and levers need a Scenario (or a scenario file), not lowered arrays"
            )
        return scenario
    if scenario is None:
        scenario = Scenario()
    elif isinstance(scenario, str | Path):
        scenario = load_scenario(scenario)
    elif isinstance(scenario, Mapping):
        scenario = validate_scenario(dict(scenario))
    elif not isinstance(scenario, Scenario):
        raise TypeError(
            f"scenario: {type(scenario).__name__}: expected a Scenario, ScenarioArrays, a file "
            "path or a mapping of fields"
        )
    if overrides:
        items = overrides.items() if isinstance(overrides, Mapping) else overrides
        scenario = apply_overrides(scenario, list(items), "overrides")
    return apply_levers(scenario, **levers)


class SimsmeModel(mesa.Model):
    """SMEs, agencies and the channels between them, one step per week by default.

    Build it as any Mesa model, from a scenario and keyword arguments::

        model = SimsmeModel("scenarios/baseline.yaml", n_smes=200, digitalisation_start=2012)
        model.run_model()  # to the horizon: ``model.running`` turns False there
        model.datacollector.get_model_vars_dataframe()  # one row per step (row 0: initial)

    Parameters
    ----------
    scenario: a :class:`~simsme.scenario.schema.Scenario`, its lowered arrays, a scenario file,
        a mapping of scenario fields, or ``None`` for the built-in defaults (the baseline).
    seed: Mesa's ``seed``: the scenario seed (default: the scenario's own ``seed``; 0 for lowered
        arrays). The model draws from replication ``replication`` of it, exactly the stream the
        numba kernel uses for that replication, so both engines give the same outputs.
    rng: Mesa's ``rng``: a numpy ``Generator`` used as it is (for instance
        :func:`simsme.replications.replication_rng`), or anything ``numpy.random.default_rng``
        takes. Give ``seed`` or ``rng``, not both.
    replication: which replication of ``seed`` to draw from.
    overrides: dotted-path overrides, as ``simsme run --set``: a mapping
        (``{"population.n_smes": 200}``) or ``"path=value"`` strings.
    n_smes, horizon_years, digitalisation_level, digitalisation_start, committee_interval_weeks,
    physical_documents, movement_control: the levers of :mod:`simsme.model.levers` (``None``
        keeps the scenario's value); they are what a SolaraViz page's sliders set.
    collect: record the per-step series in ``datacollector`` (:mod:`simsme.model.census`).

    Attributes
    ----------
    scenario: the scenario after overrides and levers (``None`` when built from arrays).
    p: the lowered scenario (parameters, timelines, agency arrays).
    smes, agencies: Mesa ``AgentSet`` objects of the agents, in index order (index = position).
    grid: the SME network as a Mesa ``discrete_space.Network`` (built on first use; each SME
        sits in the cell of its index). ``network`` is the same ties as a networkx graph.
    datacollector: the ``mesa.DataCollector`` of the per-step series (``None`` if not collected).
    t: the current step (0-based; ``self.steps - 1`` while a step runs).
    """

    def __init__(
        self,
        scenario: ScenarioLike = None,
        seed: int | str | np.random.SeedSequence | None = None,
        *,
        rng: np.random.Generator | np.random.BitGenerator | int | None = None,
        replication: int = 0,
        overrides: Mapping[str, Any] | Iterable[str] | None = None,
        n_smes: int | None = None,
        horizon_years: float | None = None,
        digitalisation_level: float | None = None,
        digitalisation_start: int | str | dt.date | None = None,
        committee_interval_weeks: float | None = None,
        physical_documents: bool | None = None,
        movement_control: bool | None = None,
        collect: bool = True,
    ) -> None:
        resolved = resolve_scenario(
            scenario,
            overrides,
            n_smes=n_smes,
            horizon_years=horizon_years,
            digitalisation_level=digitalisation_level,
            digitalisation_start=digitalisation_start,
            committee_interval_weeks=committee_interval_weeks,
            physical_documents=physical_documents,
            movement_control=movement_control,
        )
        self.scenario: Scenario | None = resolved if isinstance(resolved, Scenario) else None
        if seed is not None and rng is not None:
            raise ValueError("you have to pass either rng or seed, not both")  # as mesa.Model
        if isinstance(seed, str):  # from a text input (SolaraViz)
            try:
                seed = int(seed.strip())
            except ValueError:
                raise ValueError(f"seed: {seed!r}: expected a whole number >= 0") from None
        self.seed: int | np.random.SeedSequence | None = None  # unknown when given ``rng``
        self.replication: int | None = None
        if rng is None:
            if seed is None:
                seed = self.scenario.seed if self.scenario is not None else 0
            self.seed, self.replication = seed, replication
            rng = replication_seed_sequence(seed, replication)
        # Mesa turns ``rng`` into a Generator (a SeedSequence ss into Generator(PCG64(ss)), the
        # kernel's replication stream), keeps its state in ``_rng`` "to reproduce the rng", then
        # seeds its stdlib ``random`` with one draw from it. Restore that state, so that the
        # model's first draw is the stream's first draw, as in the kernel (stdlib ``random`` is
        # never used by the model).
        super().__init__(rng=rng)
        self.rng.bit_generator.state = self._rng
        p = lower(resolved) if self.scenario is not None else resolved
        self.p = p
        self.t = 0
        self._prepare_parameters()
        agencies = [ServiceProvider(self, a) for a in range(p.n_agencies)]
        self.agencies = AgentSet(agencies, random=self.random)
        self.agencies_by_focus: list[list[ServiceProvider]] = [
            [agencies[a] for a in p.agencies_by_focus[f, : p.n_agencies_by_focus[f]]]
            for f in range(N_FOCUS)
        ]
        self.smes = AgentSet([], random=self.random)
        self._create_population()
        # per-step public Q&A on each channel (003 section 4.2), this step and the previous one
        self.public_qa = [0.0] * p.n_channels
        self.public_qa_last = [0.0] * p.n_channels
        self.year_channel_applications = np.zeros((p.n_years, p.n_channels), np.int32)
        self.applications_before_step = np.zeros(p.n_channels, np.int64)
        # exchanges with agencies per channel in the current step (submissions included)
        self.exchanges = [0] * p.n_channels
        # every application submitted, in order, with its record (simsme.mechanisms.records)
        self.submitted: list[Application | ProcedureRecord] = []  # records, in order
        self._census: tuple[int, dict[str, float]] | None = None
        self.datacollector: mesa.DataCollector | None = None
        if collect:
            self.datacollector = make_datacollector(self)
            self.datacollector.collect(self)

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
        self.ties = ties
        smes = [SME(self, i) for i in range(p.n_total)]
        for sme, neighbours in zip(smes, ties, strict=True):
            sme.connect([smes[j] for j in neighbours])
            sme.settle_capabilities()
        self.smes = AgentSet(smes, random=self.random)

    # -----------------------------------------------------------------------------------------
    # One step (MODEL.md section 3)
    # -----------------------------------------------------------------------------------------
    def step(self) -> None:
        """One step: the nine phases in the order of MODEL.md section 3, then the data
        collector records the state (past the horizon a step does nothing)."""
        if self.steps > self.p.n_steps:
            self.running = False
            return
        self.t = self.steps - 1  # Mesa counts the step before calling this method
        self.applications_before_step = self.year_channel_applications.sum(axis=0)
        self.exchanges = [0] * self.p.n_channels
        self.apply_events()
        self.disseminate()
        self.adopt_channels()
        self.seek_support()
        self.process_applications()
        self.deliver_programmes()
        self.update_capabilities()
        self.enter_exports()
        self.observe()
        if self.datacollector is not None:
            self.datacollector.collect(self)

    def run(self) -> SimsmeModel:
        """Run to the horizon (as ``run_model``); returns the model."""
        while self.steps < self.p.n_steps:
            self.step()
        return self

    # -----------------------------------------------------------------------------------------
    # Observing the model (Mesa's DataCollector and space; simsme.model.census)
    # -----------------------------------------------------------------------------------------
    @property
    def agency_names(self) -> list[str]:
        """Agency names (from the scenario; ``agency 0`` ... when built from arrays)."""
        if self.scenario is not None:
            return [a.name for a in self.scenario.agencies]
        return [f"agency {a}" for a in range(self.p.n_agencies)]

    @property
    def channel_names(self) -> list[str]:
        """Channel names (from the scenario; ``channel 0`` ... when built from arrays)."""
        if self.scenario is not None:
            return list(self.scenario.channels)
        return [f"channel {c}" for c in range(self.p.n_channels)]

    def census(self) -> dict[str, float]:
        """Every series of the data collector for the current state (computed once a step)."""
        if self._census is None or self._census[0] != self.steps:
            self._census = (self.steps, take_census(self))
        return self._census[1]

    def ttfe_weeks(self) -> tuple[np.ndarray, np.ndarray]:
        """TTFE so far (weeks) of the SMEs founded so far, and whether each has exported
        (censored otherwise): the input of :func:`simsme.analysis.survival.kaplan_meier`."""
        return ttfe_so_far(self)

    @functools.cached_property
    def network(self) -> nx.Graph:
        """The SME network as a networkx graph: node = SME index, edge attribute ``ties`` =
        how many times the tie was drawn (004: repeated ties, stronger relationships)."""
        graph = nx.Graph()
        graph.add_nodes_from(range(self.p.n_total))
        for a, neighbours in enumerate(self.ties):
            for b in neighbours:
                if a < b:
                    ties = graph.get_edge_data(a, b, {"ties": 0})["ties"]
                    graph.add_edge(a, b, ties=ties + 1)
        return graph

    @functools.cached_property
    def grid(self) -> Network:
        """The SME network as a Mesa ``Network`` space, each SME in the cell of its index (the
        space SolaraViz's ``SpaceRenderer`` draws)."""
        space = Network(self.network, capacity=1, random=self.random)
        for sme in self.smes:
            cell = space[sme.index]
            cell.add_agent(sme)
            sme.cell = cell
        return space

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
        """Aware SMEs meet export orders and decide, under a sunk cost, whether to take one; an
        SME that commits obtains the procedures it lacks and exports when the last is issued;
        the mode is indirect unless the SME is well resourced (004: 80% indirect, 20% direct)."""
        day = self.today()
        end = day + self.p.step_days
        demand = float(self.p.tl_demand[self.t])
        news = []
        for sme in self.smes:
            if sme.exported or sme.founded_day > day:
                continue
            if sme.committed_step < 0:
                if not sme.aware or not sme.meets_export_order(day, demand):
                    continue
                if not sme.takes_order():
                    continue
                sme.commit_to_exporting(self.t)
            if sme.ready_day < end:
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
                if application is not None and not sme.exported:
                    sme.wait_days += process.wait_at_end(
                        application.stage, application.submitted_day, horizon
                    )
                    records.close_open(
                        application.rf,
                        application.ri,
                        application.stage,
                        horizon,
                        records.OPEN_AT_HORIZON,
                    )
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
        block.committed_step[row, :] = [s.committed_step for s in smes]
        block.procedure_days[row, :] = [s.procedure_days for s in smes]
        block.procedures[row, :] = [s.procedures for s in smes]
        block.digital_procedures[row, :] = [s.digital_procedures for s in smes]
        block.experienced[row, :] = [int(s.experienced) for s in smes]
        block.year_channel_applications[row, :, :] = self.year_channel_applications
        if block.app_float[row] is not None:
            block.app_float[row] = np.array(
                [a.rf for a in self.submitted], dtype=np.float64
            ).reshape(-1, records.RF_ROWS)
            block.app_int[row] = np.array([a.ri for a in self.submitted], dtype=np.int32).reshape(
                -1, records.RI_ROWS
            )
