"""Small and medium-sized enterprises as Mesa agents (MODEL.md section 2).

Each SME has a size class (003_9e0cb3511f01b6dc.txt, section 2.1), internal resources in [0, 1]
(002_6798e086be6a8ea8.txt, Table 4, plus market knowledge), the channels it uses (a bit mask over
the scenario's channels, 003 Table 4), a location whose connectivity can take digital channels
down (003 section 4.1, Company A), ties to other SMEs (004_71dd89347508b38e.txt), and the latent
capabilities of the co-innovation path (004 Figure 4). Its stage runs domestic -> aware -> ready ->
exporter.

The methods below are the SME's behaviour, in the words of the model; each calls the mechanism
that is that behaviour's one definition (:mod:`simsme.mechanisms`, run here by the interpreter,
compiled by the numba kernel).

News that reaches network neighbours (became aware, adopted a channel, exported) is counted by
the neighbours (``aware_neighbours``, ``channel_neighbours``, ``exporting_neighbours``) and is
delivered by the model after the phase that produced it, so that within a phase every SME sees the
same neighbourhood whatever the order in which SMEs act.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from simsme.model.application import STAGE_SUBMISSION, Application, ProcedureRecord
from simsme.model.mechanisms import (
    adoption,
    awareness,
    capabilities,
    delivery,
    draws,
    entry,
    events,
    exchange,
    export,
    population,
    procedures,
    process,
    records,
    rules,
    support,
)
from simsme.scenario.lowering import (
    DAYS_PER_YEAR,
    P_APPLICATION,
    R_FINANCIAL,
    R_FIRM_SPECIFIC,
    R_MANAGERIAL,
    R_MARKET,
    R_PHYSICAL,
    R_TECHNOLOGY,
)

if TYPE_CHECKING:  # pragma: no cover
    from simsme.model.agency import ServiceProvider
    from simsme.model.model import SimsmeModel

N_RESOURCES = 6
N_FOCUS = 5


class SME(mesa.Agent):
    """One firm.

    Attributes
    ----------
    index: position in the population (the kernel's SME index ``i``).
    size_class: 0 micro, 1 small, 2 medium (003 section 2.1).
    region, downtime: location and the probability that a channel needing connectivity is down
        for one exchange there (003 section 4.1, Company A's signal problems).
    founded_day: founding day relative to the start of the run (negative for incumbents). SMEs
        founded during the run exist from the start (their profile and ties are drawn at
        initialisation, as in the kernel) but act only from their founding step.
    resources, endowment: current and initial levels of the six internal resources (002 Table 4).
    coinnovation, value, propensity: latent indices of 004 Figure 4.
    channels: bit mask of the channels the SME uses (bit ``c`` = scenario channel ``c``).
    aware, exported, penalty: stage flags; ``penalty`` is export propensity lost to a regulation
        change until the SME complies (002, Food Act sugar rule).
    application: the open :class:`~simsme.model.application.Application`, or ``None``.
    """

    model: SimsmeModel

    def __init__(self, model: SimsmeModel, index: int) -> None:
        """Draw the SME's profile (MODEL.md section 5;
        :func:`simsme.mechanisms.population.draw_profile`): size class, region, founding day,
        the six resources, then each channel's initial use."""
        super().__init__(model)
        p = model.p
        rng = model.rng
        self.index = index
        # size class, location, founding, resources and channels (MODEL.md section 5)
        self.resources = [0.0] * N_RESOURCES
        k, g, day, _, mask = population.draw_profile(
            rng,
            index < p.n_initial,
            p.size_cum,
            p.region_cum,
            p.age_max_years,
            p.n_steps,
            p.step_days,
            p.res_mean,
            p.res_conc,
            p.initial_channel_share,
            self.resources,
        )
        self.size_class = int(k)
        self.region = int(g)
        self.downtime = float(p.region_downtime[g])
        self.founded_day = day
        self.endowment = list(self.resources)
        self.channels = mask
        # history and product (mechanisms.entry): export profitability, the founder's
        # international experience and ties abroad, the procedures still to obtain
        self.profitability, self.experienced, self.ties_abroad, self.outstanding = (
            entry.draw_history(
                rng,
                p.size_profit[k],
                p.profitability_sigma,
                p.experience_share,
                p.ties_mean,
                p.pc_outstanding,
            )
        )
        self.marketplace_rate = model.marketplace_rate(mask)
        # network (filled by SimsmeModel._create_population)
        self.neighbours: list[SME] = []
        self.network_strength = 0.0
        self.aware_neighbours = 0
        self.exporting_neighbours = 0
        self.channel_neighbours = [0] * p.n_channels
        # stage
        self.aware = False
        self.aware_step = -1
        self.exported = False
        self.export_step = -1
        self.committed_step = -1
        self.ready_day = 0.0
        self.procedure_days = 0.0
        self.procedures = 0
        self.digital_procedures = 0
        self.penalty = 0.0
        self.cost_share = 1.0  # of the sunk cost, after grants (delivery)
        self.advice = 0.0  # share of the sunk cost removed by risk advice (delivery)
        # latent capabilities (004 Figure 4), settled once the network is known
        self.cocreations = 0
        self.coinnovation = 0.0
        self.value = 0.0
        self.propensity = 0.0
        # support
        self.application: Application | None = None
        self.next_apply_day = 0.0
        self.programme_rate = 0.0
        self.programme_until_day = 0.0
        # records (MODEL.md section 6)
        self.applications = [0] * N_FOCUS
        self.approvals = [0] * N_FOCUS
        self.wait_days = 0.0
        self.digital_applications = 0
        self.channels_used = 0
        self.mode = 0
        self.markets = 0

    # -----------------------------------------------------------------------------------------
    # Initialisation
    # -----------------------------------------------------------------------------------------
    def connect(self, neighbours: list[SME]) -> None:
        """Tie the SME to its network neighbours (a tie drawn twice counts twice).

        The strength of its external sourcing network saturates with its ties (004): degree /
        (degree + half saturation). It counts which channels its neighbours use (the social norm
        of the Technology Acceptance Model, 002 section II.C).
        """
        p = self.model.p
        self.neighbours = neighbours
        degree = len(neighbours)
        self.network_strength = population.network_strength(degree, p.half_saturation)
        for other in neighbours:
            for c in self.model.channel_indices(other.channels):
                self.channel_neighbours[c] += 1

    def settle_capabilities(self) -> None:
        """Start the latent indices at their targets (the population starts in equilibrium)."""
        p = self.model.p
        res = self.resources
        external = rules.external_sourcing(
            self.network_strength, self.cocreations, p.cocreation_gain
        )
        self.coinnovation, self.value, self.propensity = capabilities.settled_capabilities(
            res[R_MANAGERIAL],
            res[R_PHYSICAL],
            res[R_FIRM_SPECIFIC],
            res[R_TECHNOLOGY],
            res[R_FINANCIAL],
            res[R_MARKET],
            external,
            p.beta_internal,
            p.beta_external,
            p.beta_value,
            p.beta_export,
        )

    # -----------------------------------------------------------------------------------------
    # State
    # -----------------------------------------------------------------------------------------
    def founded_by(self, day: float) -> bool:
        """The firm exists on ``day``."""
        return self.founded_day <= day

    def is_ready(self) -> bool:
        """Committed to exporting, obtaining its procedures (MODEL.md section 2: domestic ->
        aware -> ready -> exporter)."""
        return self.committed_step >= 0

    def use_channel(self, c: int) -> None:
        """Record that an exchange went over channel ``c``."""
        self.channels_used |= 1 << c

    # -----------------------------------------------------------------------------------------
    # 1. Events (002: Food Act sugar rule, GST)
    # -----------------------------------------------------------------------------------------
    def face_regulation(self, affected_share: float, readiness_penalty: float) -> None:
        """A regulation change demands compliance: if affected, the SME loses part of its export
        propensity until it complies (002, Food Act sugar rule)."""
        self.penalty = events.regulation_penalty(
            self.model.rng, self.penalty, affected_share, readiness_penalty
        )

    def pay_tax(self, financial_loss: float) -> None:
        """A tax raises costs: financial accessibility, and the level it returns to, fall (002,
        GST)."""
        self.resources[R_FINANCIAL] = events.after_tax(self.resources[R_FINANCIAL], financial_loss)
        self.endowment[R_FINANCIAL] = events.after_tax(self.endowment[R_FINANCIAL], financial_loss)

    # -----------------------------------------------------------------------------------------
    # 2. Dissemination
    # -----------------------------------------------------------------------------------------
    def hears_of_programmes(self, channel_hazard: list[float]) -> bool:
        """Whether the SME becomes aware of support programmes (and foreign markets) this step.

        Hazard per year = the push and public Q&A reaching it on each channel it uses
        (``channel_hazard``, 003 section 4.2) + word of mouth in proportion to the share of its
        ties that are aware.
        """
        p = self.model.p
        probability = awareness.awareness_probability(
            self.channels,
            channel_hazard,
            self.aware_neighbours,
            len(self.neighbours),
            p.wom_rate,
            p.dt_years,
        )
        return draws.occurs(self.model.rng, probability)

    def become_aware(self, t: int) -> None:
        """Become aware in step ``t`` and tell the neighbours (word of mouth)."""
        self.aware = True
        self.aware_step = t
        for other in self.neighbours:
            other.aware_neighbours += 1

    # -----------------------------------------------------------------------------------------
    # 3. Adoption: Technology Acceptance Model (002 section II.C)
    # -----------------------------------------------------------------------------------------
    def consider_adopting(self, push: float) -> int:
        """The digital channel the SME takes up this step, or -1.

        Each digital channel it does not use yet has an adoption hazard from perceived
        usefulness, perceived ease of use (rising with technology competence) and the social norm
        (share of ties using it), plus any event ``push`` (:func:`simsme.rules.adoption_hazard`).
        At most one channel is adopted per step, chosen in proportion to its hazard.
        """
        model = self.model
        p = model.p
        missing = model.digital_mask & ~self.channels
        if missing == 0:
            return -1
        hazards = [0.0] * p.n_channels
        total = adoption.adoption_hazards(
            hazards,
            missing,
            self.resources[R_TECHNOLOGY],
            self.channel_neighbours,
            len(self.neighbours),
            model.usefulness,
            model.ease,
            push,
            p.w_useful,
            p.w_ease,
            p.w_social,
            p.adopt_threshold,
            p.adopt_rate,
        )
        if total <= 0.0:
            return -1  # no channel reaches the intention threshold: no draw
        return adoption.channel_to_adopt(model.rng, model.rng.random(), hazards, total, p.dt_years)

    def adopt(self, c: int) -> None:
        """Start using channel ``c``; listings on it bring export opportunities (000 e-Trade);
        the neighbours see it (social norm)."""
        self.channels |= 1 << c
        self.marketplace_rate = self.model.marketplace_rate(self.channels)
        for other in self.neighbours:
            other.channel_neighbours[c] += 1

    # -----------------------------------------------------------------------------------------
    # 4. Seeking support (003 Table 1, section 4.1)
    # -----------------------------------------------------------------------------------------
    def needs_support(self, day: float) -> bool:
        """Founded, aware, not exporting, not committed to exporting, no open application, not
        cooling down."""
        return (
            not self.exported
            and self.founded_day <= day
            and support.wants_support(
                self.aware,
                self.application is not None,
                day,
                self.next_apply_day,
                self.committed_step >= 0,
            )
        )

    def seek_support(self, t: int, chance: float) -> None:
        """With probability ``chance`` per step, apply for a programme (MODEL.md section 3,
        phase 4)."""
        if draws.occurs(self.model.rng, chance):
            self.submit_application(t)

    def choose_focus(self) -> int:
        """Focus area chosen in proportion to propensity x (gap in the resources it raises) ** k.

        Only areas some agency serves count; a non-compliant SME needs the R&D programme that
        restores compliance (002), so its gap there is full. Returns -1 when no area has weight.
        """
        model = self.model
        p = model.p
        return support.choose_focus(
            model.rng,
            self.resources,
            self.penalty,
            model.raises,
            p.prog_clears,
            p.focus_weight,
            p.n_agencies_by_focus,
            p.gap_exponent,
            [0.0] * N_FOCUS,
        )

    def choose_agency(self, focus: int) -> ServiceProvider:
        """One of the agencies offering programmes of ``focus``, uniformly."""
        agencies = self.model.agencies_by_focus[focus]
        return agencies[draws.pick_index(self.model.rng, len(agencies))]

    def submit_application(self, t: int) -> None:
        """Pick a focus area and an agency, and submit over the preferred application channel
        both support (:func:`simsme.rules.choose_channel`, falling back when a channel is down).

        The agency handles the application digitally as far as it is digitalised (003 section
        4.2). Without a working channel now, the SME tries again in a later step.
        """
        model = self.model
        p = model.p
        rng = model.rng
        day = t * p.step_days
        year = min(int(day / DAYS_PER_YEAR), p.n_years - 1)
        f = self.choose_focus()
        if f < 0:
            return
        agency = self.choose_agency(f)
        application = Application(
            sme=self,
            agency=agency,
            focus=f,
            offer_digital=support.handled_digitally(rng, agency.digital_level(t)),
        )
        c = exchange.exchange_channel(
            rng,
            P_APPLICATION,
            t,
            self.channels,
            agency.channels_for(P_APPLICATION),
            agency.requires_physical_documents,
            application.offer_digital,
            self.downtime,
            p.face_to_face,
            p.ch_order,
            p.ch_needs_connectivity,
            model.blocked,
            p.tl_remote,
            model.conventional_mask,
            model.documents_mask,
        )
        if c < 0:
            return
        self.use_channel(c)
        model.public_qa[c] += model.visibility[c]
        application.stage = STAGE_SUBMISSION
        application.submitted_day = day
        application.digital = model.digital[c]
        application.due_day = day + exchange.exchange_duration(
            rng,
            c,
            agency.stage_factor,
            p.ch_log_median,
            p.ch_sigma,
            p.ch_bureaucracy,
            p.tl_slow[t, c],
        )
        self.application = application
        self.applications[f] += 1
        if application.digital:
            self.digital_applications += 1
        model.year_channel_applications[year, c] += 1
        model.exchanges[c] += 1
        records.open_record(
            application.rf,
            application.ri,
            self.index,
            agency.index,
            f,
            application.offer_digital,
            application.digital,
            c,
            day,
        )
        model.submitted.append(application)

    def close_application(self, day: float) -> None:
        """The application is decided (rejected) or its programme delivered on ``day``; the SME
        may apply again after the cooldown."""
        self.application = None
        self.next_apply_day = day + self.model.p.cooldown_days

    # -----------------------------------------------------------------------------------------
    # 6. Delivery and co-creation (003 Table 5, sections 4.2 and 5)
    # -----------------------------------------------------------------------------------------
    def complete_programme(self, application: Application, fit: float, cocreated: bool) -> None:
        """The programme raises the resources its focus area targets (003 Table 5), by the share
        the agency's ``fit`` allows, more when co-created; market-access programmes bring export
        opportunities for a while; the R&D programme restores compliance (002)."""
        model = self.model
        p = model.p
        f = application.focus
        delivery.raise_resources(
            self.resources, p.prog_raise[f], fit, cocreated, p.cocreation_bonus
        )
        self.programme_rate, self.programme_until_day = delivery.opportunity_after(
            p.prog_opportunity[f],
            p.prog_opportunity_days[f],
            application.due_day,
            self.programme_rate,
            self.programme_until_day,
        )
        self.penalty = delivery.penalty_after(p.prog_clears[f], self.penalty)
        self.cost_share = delivery.cost_share_after(self.cost_share, p.prog_entry_cost_cut[f])
        self.advice = delivery.advice_after(
            self.advice, application.agency.risk_assessment, p.risk_advice_gain
        )
        if cocreated:
            self.cocreations += 1
        self.approvals[f] += 1
        self.close_application(application.due_day)

    # -----------------------------------------------------------------------------------------
    # 7. Capability dynamics (004 Figure 4)
    # -----------------------------------------------------------------------------------------
    def update_capabilities(self) -> None:
        """Resources drift (learning by doing; programme gains fade toward the endowment);
        co-innovation, value proposition and export propensity follow their targets along the
        paths of 004 Figure 4 (first-order adjustment)."""
        p = self.model.p
        res = self.resources
        endowment = self.endowment
        growth, decay, dt_years = p.growth_rate, p.decay_rate, p.dt_years
        for r in range(N_RESOURCES):
            res[r] = rules.resource_drift(res[r], endowment[r], growth, decay, dt_years)
        external = rules.external_sourcing(
            self.network_strength, self.cocreations, p.cocreation_gain
        )
        self.coinnovation, self.value, self.propensity = capabilities.follow_targets(
            self.coinnovation,
            self.value,
            self.propensity,
            res[R_MANAGERIAL],
            res[R_PHYSICAL],
            res[R_FIRM_SPECIFIC],
            res[R_TECHNOLOGY],
            res[R_FINANCIAL],
            res[R_MARKET],
            external,
            p.beta_internal,
            p.beta_external,
            p.beta_value,
            p.beta_export,
            p.adjust,
        )

    # -----------------------------------------------------------------------------------------
    # 8. Export entry (000 Company B and e-Trade; 004 mode split)
    # -----------------------------------------------------------------------------------------
    def meets_export_order(self, day: float, demand: float) -> bool:
        """Whether an aware SME meets an export order (a buyer contact) this step.

        Orders arrive at a base rate, from e-marketplace listings on its channels (000
        e-Trade), from a market-access programme while it lasts (003 Table 5), by referral from
        each exporting neighbour (000 Company B) and through its founder's ties abroad, all
        scaled by export ``demand``.
        """
        p = self.model.p
        rate = export.opportunity_rate(
            day,
            self.programme_rate,
            self.programme_until_day,
            p.base_opportunity,
            self.marketplace_rate,
            p.referral_rate,
            self.exporting_neighbours,
            self.ties_abroad,
            p.tie_rate,
            demand,
        )
        return draws.occurs(self.model.rng, rules.step_probability(rate, p.dt_years))

    def takes_order(self) -> bool:
        """Whether the order is worth the sunk cost of a first export
        (:func:`simsme.mechanisms.entry.commits_to_export`: export profitability x propensity
        x an uncertain foreign demand against the cost, lower for an experienced founder)."""
        p = self.model.p
        return entry.commits_to_export(
            self.model.rng,
            self.profitability,
            self.propensity,
            self.penalty,
            self.entry_cost(),
            p.demand_sigma,
        )

    def entry_cost(self) -> float:
        """The sunk cost of a first export this SME faces today
        (:func:`simsme.mechanisms.entry.entry_cost`: after grants and risk advice, less for an
        experienced founder, more as the firm ages)."""
        p = self.model.p
        age_years = (self.model.today() - self.founded_day) / DAYS_PER_YEAR
        return entry.entry_cost(
            p.entry_cost,
            self.cost_share,
            self.advice,
            self.experienced,
            p.experience_cut,
            age_years,
            p.inertia_per_decade,
        )

    def commit_to_exporting(self, t: int) -> None:
        """Commit in step ``t`` and apply, one after another, for the procedures still lacking
        (licences, certificates, permits: :func:`simsme.mechanisms.procedures.obtain_procedures`);
        the first export follows the last issue."""
        model = self.model
        p = model.p
        day = t * p.step_days
        n_kinds = len(p.pc_outstanding)
        rec_f = np.zeros((n_kinds, records.RF_ROWS))
        rec_i = np.zeros((n_kinds, records.RI_ROWS), np.int32)
        days, n_digital, used, applied = procedures.obtain_procedures(
            model.rng, self.outstanding, day, self.channels, self.downtime, self.experienced,
            self.resources[R_PHYSICAL], p.pc_accept, p.tl_procedure_level, p.pc_missing, p.pc_desk_digital,
            p.pc_desk_conventional, p.pc_site_visit, p.face_to_face, p.ch_order,
            p.ch_needs_connectivity, p.ch_log_median, p.ch_sigma, p.ch_bureaucracy,
            model.blocked, p.tl_slow, p.tl_remote, model.conventional_mask,
            model.documents_mask, model.digital_mask, p.step_days, rec_f, rec_i,
        )  # fmt: skip
        for k in range(n_kinds):  # kept with the applications' records, in procedure order
            if (applied >> k) & 1:
                rec_i[k, records.RI_SME] = self.index
                model.submitted.append(ProcedureRecord(rec_f[k], rec_i[k]))
        self.committed_step = t
        self.ready_day = day + days
        self.procedure_days = days
        self.procedures = procedures.count_procedures(self.outstanding)
        self.digital_procedures = n_digital
        self.channels_used |= used
        self.outstanding = 0

    def record_first_export(self, t: int) -> None:
        """Mode (indirect unless well resourced, 004: 80% indirect) and markets of the first
        export, in step ``t``."""
        model = self.model
        p = model.p
        res = self.resources
        self.mode, self.markets = export.first_export(
            model.rng,
            res[R_MANAGERIAL],
            res[R_FINANCIAL],
            res[R_MARKET],
            p.direct_threshold,
            p.direct_steepness,
            p.extra_markets,
            self.profitability,
            self.propensity,
            self.penalty,
            self.entry_cost(),
            p.demand_sigma,
        )
        self.export_step = t
        application = self.application
        if application is not None:  # still with the agency: the export closes it, charge the wait
            end_day = (t + 1) * p.step_days
            self.wait_days += process.wait_at_end(
                application.stage, application.submitted_day, end_day
            )
            records.close_open(
                application.rf, application.ri, application.stage, end_day, records.OPEN_AT_EXPORT
            )

    def start_exporting(self) -> None:
        """Become an exporter (frozen from now on: the end of its observation); the neighbours
        can now be referred (000 Company B)."""
        self.exported = True
        for other in self.neighbours:
            other.exporting_neighbours += 1
