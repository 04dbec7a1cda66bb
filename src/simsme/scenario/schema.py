"""The scenario language: typed, defaulted and documented.

Every field carries its unit and valid range in its description, and its default reproduces the
Malaysian food-and-beverage manufacturing ecosystem of the source papers (see ``docs/model.md`` for
the parameter table with sources). A scenario file only needs to state what differs from these
defaults; ``Scenario()`` with no arguments *is* the baseline.

Sources are cited by file name in ``shared/seeds`` (for example ``003_9e0cb3511f01b6dc.txt,
Table 4``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

FOCUS_AREAS: tuple[str, ...] = (
    "human_capital",
    "financing",
    "market_access",
    "innovation_technology",
    "infrastructure",
)
"""Focus areas of support programmes, 003_9e0cb3511f01b6dc.txt, Table 1."""

RESOURCES: tuple[str, ...] = (
    "managerial",
    "physical",
    "firm_specific",
    "technology",
    "financial",
    "market_knowledge",
)
"""Internal resources of an SME, 002_6798e086be6a8ea8.txt, Table 4 (plus market knowledge)."""

PURPOSES: tuple[str, ...] = (
    "dissemination",
    "application",
    "documents",
    "follow_up",
    "confirmation",
    "notification",
)
"""Purposes of SME-agency exchanges, 003_9e0cb3511f01b6dc.txt, Table 4."""

SIZE_CLASSES: tuple[str, ...] = ("micro", "small", "medium")

FocusArea = Literal[
    "human_capital", "financing", "market_access", "innovation_technology", "infrastructure"
]
ResourceName = Literal[
    "managerial", "physical", "firm_specific", "technology", "financial", "market_knowledge"
]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]


class Strict(BaseModel):
    """Base: unknown keys are errors, NaN and infinity are refused, and values are not coerced
    between types (``n_smes: true`` or ``n_smes: "200"`` is an error, not 1 or 200). Dates alone
    are also read from ISO text (``"2020-03-18"``), as JSON and quoted YAML write them.
    """

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, validate_default=True, strict=True
    )


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------
class TimeSpec(Strict):
    start_date: dt.date = Field(
        dt.date(2010, 1, 1),
        strict=False,
        description="Calendar date of step 0. Events and digitalisation plans are given as dates.",
    )
    horizon_years: float = Field(
        15.0, gt=0.0, le=100.0, description="Simulated span in years (0 < h <= 100)."
    )
    step_days: float = Field(
        7.0,
        ge=1.0,
        le=91.0,
        description="Length of one step in days (default one week, MODEL.md section 2 'Scales').",
    )

    @model_validator(mode="after")
    def _at_least_one_step(self) -> TimeSpec:
        if round(self.horizon_years * 365.25 / self.step_days) < 1:
            raise ValueError(
                f"a horizon of at least one step ({self.step_days:g} days); "
                f"horizon_years {self.horizon_years:g} is {self.horizon_years * 365.25:.2g} days"
            )
        return self


# --------------------------------------------------------------------------------------------
# Channels (003 Table 4)
# --------------------------------------------------------------------------------------------
class Latency(Strict):
    median_days: float = Field(
        ..., gt=0.0, le=365.0, description="Median duration of one exchange, in days."
    )
    sigma: float = Field(
        0.5, ge=0.0, le=3.0, description="Log-normal shape (standard deviation of log-duration)."
    )


class Channel(Strict):
    """A channel type (not an agent): 003_9e0cb3511f01b6dc.txt, Table 4."""

    kind: Literal["digital", "conventional"] = Field(
        ..., description="DIP (digital interactive platform) or conventional channel."
    )
    latency: Latency = Field(..., description="Duration of one exchange over this channel.")
    bureaucracy: PositiveFloat = Field(
        1.0,
        le=10.0,
        description="Multiplier on stage time for hand-offs and hierarchy; DIP is 'less "
        "bureaucratic and hierarchical' (003, section 4.2). 1 = neutral.",
    )
    carries_documents: bool = Field(True, description="Whether documents can be sent over it.")
    richness: Share = Field(0.5, description="Richness for dialogue, in [0, 1].")
    needs_connectivity: bool = Field(
        False,
        description="Whether it fails when the SME's location has no signal (003, Company A's "
        "signal problems and multi-platform fallback).",
    )
    visibility: Share = Field(
        0.0,
        description="Share of exchanges that are public and reach other SMEs (social-media Q&A, "
        "003 section 4.2).",
    )
    cost: Share = Field(0.0, description="Relative cost to the SME of one exchange, in [0, 1].")
    usefulness: Share = Field(
        0.5, description="TAM perceived usefulness of the channel (002, section II.C)."
    )
    ease_of_use: Share = Field(
        0.5,
        description="TAM ease of use for a fully tech-competent SME; perceived ease is this times "
        "the SME's technology competence (002, section II.C).",
    )
    dissemination_reach_per_year: NonNegFloat = Field(
        0.0,
        le=52.0,
        description="Rate per year at which one agency's programme information pushed over this "
        "channel makes a using SME aware (scaled by the agency's DART access).",
    )
    export_reach_per_year: NonNegFloat = Field(
        0.0,
        le=52.0,
        description="Export-opportunity rate per year this channel brings to a ready SME that uses "
        "it (e-marketplace listing such as e-Trade, 000_8e43523aad10feae.txt).",
    )


def _ch(kind: str, median: float, sigma: float, **kw: object) -> Channel:
    return Channel(kind=kind, latency=Latency(median_days=median, sigma=sigma), **kw)


def default_channels() -> dict[str, Channel]:
    """The ten channels of 003_9e0cb3511f01b6dc.txt, Table 4, with default properties.

    Latencies are the time for one exchange (send, get read, get answered). They are orders of
    magnitude chosen from the case narratives of 003 section 4.1 (meetings and posted proposals
    take weeks; WhatsApp answers come the same day); see docs/model.md.
    """
    return {
        "paper": _ch(
            "conventional",
            10.0,
            0.5,
            bureaucracy=1.5,
            carries_documents=True,
            richness=0.2,
            cost=0.3,
            usefulness=0.3,
            ease_of_use=0.6,
            dissemination_reach_per_year=0.05,
        ),
        "face_to_face": _ch(
            "conventional",
            14.0,
            0.6,
            bureaucracy=1.3,
            carries_documents=True,
            richness=1.0,
            cost=0.6,
            usefulness=0.6,
            ease_of_use=0.7,
            dissemination_reach_per_year=0.25,
        ),
        "telephone": _ch(
            "conventional",
            2.0,
            0.6,
            bureaucracy=1.2,
            carries_documents=False,
            richness=0.6,
            cost=0.1,
            usefulness=0.5,
            ease_of_use=0.9,
            dissemination_reach_per_year=0.10,
        ),
        "fax": _ch(
            "conventional",
            3.0,
            0.5,
            bureaucracy=1.4,
            carries_documents=True,
            richness=0.1,
            cost=0.2,
            usefulness=0.2,
            ease_of_use=0.6,
        ),
        "email": _ch(
            "digital",
            2.0,
            0.6,
            bureaucracy=0.8,
            carries_documents=True,
            richness=0.4,
            needs_connectivity=True,
            cost=0.05,
            usefulness=0.6,
            ease_of_use=0.7,
            dissemination_reach_per_year=0.10,
        ),
        "sms": _ch(
            "digital",
            1.0,
            0.5,
            bureaucracy=0.8,
            carries_documents=False,
            richness=0.2,
            needs_connectivity=True,
            cost=0.05,
            usefulness=0.4,
            ease_of_use=0.9,
            dissemination_reach_per_year=0.05,
        ),
        "whatsapp": _ch(
            "digital",
            0.5,
            0.6,
            bureaucracy=0.6,
            carries_documents=True,
            richness=0.8,
            needs_connectivity=True,
            cost=0.0,
            usefulness=0.8,
            ease_of_use=0.9,
            dissemination_reach_per_year=0.20,
        ),
        "web_portal": _ch(
            "digital",
            1.0,
            0.5,
            bureaucracy=0.6,
            carries_documents=True,
            richness=0.3,
            needs_connectivity=True,
            cost=0.0,
            usefulness=0.7,
            ease_of_use=0.6,
            dissemination_reach_per_year=0.20,
            export_reach_per_year=0.15,
        ),
        "social_media": _ch(
            "digital",
            1.0,
            0.6,
            bureaucracy=0.5,
            carries_documents=False,
            richness=0.5,
            needs_connectivity=True,
            visibility=0.5,
            cost=0.0,
            usefulness=0.7,
            ease_of_use=0.8,
            dissemination_reach_per_year=0.40,
            export_reach_per_year=0.10,
        ),
        "open_innovation": _ch(
            "digital",
            3.0,
            0.6,
            bureaucracy=0.7,
            carries_documents=True,
            richness=0.9,
            needs_connectivity=True,
            cost=0.0,
            usefulness=0.5,
            ease_of_use=0.4,
            dissemination_reach_per_year=0.05,
        ),
    }


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------
class SizeMix(Strict):
    """Share of each size class, 003_9e0cb3511f01b6dc.txt, section 2.1 (manufacturing)."""

    micro: Share = 0.25
    small: Share = 0.55
    medium: Share = 0.20

    @model_validator(mode="after")
    def _sums_to_one(self) -> SizeMix:
        total = self.micro + self.small + self.medium
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"size-class shares must sum to 1 (they sum to {total:g})")
        return self


def _list_as_tuple(value: object) -> object:
    """YAML and JSON have lists, not tuples; strict validation would refuse a list."""
    return tuple(value) if isinstance(value, list) else value


class ResourceDistribution(Strict):
    """Beta distribution of one internal resource, with a mean per size class."""

    mean: Annotated[tuple[Share, Share, Share], BeforeValidator(_list_as_tuple)] = Field(
        (0.3, 0.4, 0.5), description="Mean for micro, small, medium SMEs, each in [0, 1]."
    )
    concentration: float = Field(
        8.0, gt=0.0, le=1000.0, description="Beta concentration a+b (higher = less spread)."
    )


def _res(micro: float, small: float, medium: float, c: float = 8.0) -> ResourceDistribution:
    return ResourceDistribution(mean=(micro, small, medium), concentration=c)


class Resources(Strict):
    """Initial internal resources, 002_6798e086be6a8ea8.txt, Table 4."""

    managerial: ResourceDistribution = Field(default_factory=lambda: _res(0.30, 0.40, 0.50))
    physical: ResourceDistribution = Field(default_factory=lambda: _res(0.25, 0.40, 0.55))
    firm_specific: ResourceDistribution = Field(default_factory=lambda: _res(0.30, 0.35, 0.45))
    technology: ResourceDistribution = Field(default_factory=lambda: _res(0.25, 0.35, 0.45))
    financial: ResourceDistribution = Field(default_factory=lambda: _res(0.20, 0.35, 0.50))
    market_knowledge: ResourceDistribution = Field(default_factory=lambda: _res(0.20, 0.30, 0.40))


class Region(Strict):
    name: str = Field(..., min_length=1)
    share: Share = Field(..., description="Share of SMEs located in this region.")
    downtime_prob: Share = Field(
        ...,
        description="Probability that a connectivity-dependent channel is down for one exchange "
        "(003, signal problems at Company A's site).",
    )


class Network(Strict):
    mean_degree: float = Field(
        4.0, ge=0.0, le=50.0, description="Mean number of ties to other SMEs (004)."
    )
    partner_half_saturation: float = Field(
        4.0,
        gt=0.0,
        le=100.0,
        description="Ties at which the external sourcing network is half saturated "
        "(strength = degree / (degree + this)).",
    )


class Population(Strict):
    n_smes: int = Field(
        1000, ge=1, le=1_000_000, description="SMEs present at the start of the run."
    )
    entrants_per_year: float = Field(
        0.0,
        ge=0.0,
        le=0.5,
        description="SMEs founded during the run, per year, as a share of n_smes.",
    )
    size_mix: SizeMix = Field(default_factory=SizeMix)
    age_years_max: float = Field(
        10.0, ge=0.0, le=100.0, description="Incumbents' age at the start ~ uniform(0, this)."
    )
    resources: Resources = Field(default_factory=Resources)
    regions: list[Region] = Field(
        default_factory=lambda: [
            Region(name="urban", share=0.7, downtime_prob=0.02),
            Region(name="rural", share=0.3, downtime_prob=0.15),
        ],
        min_length=1,
    )
    initial_channels: dict[str, Share] = Field(
        default_factory=lambda: {
            "paper": 1.0,
            "face_to_face": 1.0,
            "telephone": 1.0,
            "fax": 0.6,
            "email": 0.35,
            "sms": 0.6,
            "whatsapp": 0.05,
            "web_portal": 0.05,
            "social_media": 0.15,
            "open_innovation": 0.0,
        },
        description="Share of SMEs using each channel at the start (channels not listed: 0).",
    )
    network: Network = Field(default_factory=Network)

    @model_validator(mode="after")
    def _regions_sum_to_one(self) -> Population:
        total = sum(r.share for r in self.regions)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"region shares must sum to 1 (they sum to {total:g})")
        names = [r.name for r in self.regions]
        if len(set(names)) != len(names):
            raise ValueError(f"region names must be unique, got {names}")
        return self


# --------------------------------------------------------------------------------------------
# SME behaviour
# --------------------------------------------------------------------------------------------
class Adoption(Strict):
    """Technology Acceptance Model, 002_6798e086be6a8ea8.txt, section II.C."""

    weight_usefulness: Share = 0.4
    weight_ease_of_use: Share = 0.3
    weight_social_norm: Share = 0.3
    threshold: Share = Field(
        0.3, description="Intention below which an SME never adopts a channel."
    )
    rate_per_year: float = Field(
        0.49,
        ge=0.0,
        le=52.0,
        description="Adoption hazard per year per unit of intention above the threshold "
        "(calibrated: 80% of 2021 applications online, 003 section 4.2; docs/model.md).",
    )


class Awareness(Strict):
    word_of_mouth_per_year: float = Field(
        0.5,
        ge=0.0,
        le=52.0,
        description="Awareness hazard per year when every network neighbour is aware.",
    )
    public_qa_reach: float = Field(
        0.5,
        ge=0.0,
        le=100.0,
        description="Awareness hazard per year, per public Q&A exchange per 100 SMEs, for SMEs "
        "on that channel (003 section 4.2).",
    )


class Support(Strict):
    seek_rate_per_year: float = Field(
        2.0,
        ge=0.0,
        le=52.0,
        description="Rate per year at which an aware, not-yet-ready SME applies for a programme.",
    )
    cooldown_weeks: float = Field(
        8.0, ge=0.0, le=520.0, description="Wait after a decision before applying again."
    )
    focus_weights: dict[FocusArea, NonNegFloat] = Field(
        default_factory=lambda: {
            "human_capital": 1.0,
            "financing": 0.59,
            "market_access": 0.04,
            "innovation_technology": 0.04,
            "infrastructure": 0.06,
        },
        description="Propensity to seek each focus area, multiplied by the SME's gap in the "
        "resources it raises (calibrated: SMEs reached by focus area, 003 Table 1; relative to "
        "human capital).",
    )
    gap_exponent: float = Field(
        2.0, ge=0.0, le=10.0, description="How strongly the choice follows the resource gap."
    )


class Capability(Strict):
    """Co-innovation path, 004_71dd89347508b38e.txt, Figure 4."""

    internal_to_coinnovation: Share = Field(0.25, description="004 Figure 4 path coefficient.")
    external_to_coinnovation: Share = Field(0.56, description="004 Figure 4 path coefficient.")
    coinnovation_to_value: Share = Field(0.72, description="004 Figure 4 path coefficient.")
    value_to_export: Share = Field(0.75, description="004 Figure 4 path coefficient.")
    adjustment_weeks: float = Field(
        26.0, gt=0.0, le=1040.0, description="Time constant of the latent indices' adjustment."
    )
    cocreation_sourcing_gain: float = Field(
        0.5,
        ge=0.0,
        le=10.0,
        description="Each co-created programme adds to the external sourcing network as "
        "1 - exp(-gain x count).",
    )
    organic_growth_per_year: float = Field(
        0.02, ge=0.0, le=1.0, description="Learning by doing: resources grow toward 1 at this rate."
    )
    decay_per_year: float = Field(
        0.1,
        ge=0.0,
        le=5.0,
        description="Programme gains decay toward the initial endowment at this rate.",
    )
    readiness_threshold: Share = Field(
        0.51,
        description="Export propensity at which an aware SME is ready to export (calibrated: "
        "Company B's five years to first export, 003 section 4.1.2; docs/model.md).",
    )


class ExportMarket(Strict):
    base_rate_per_year: float = Field(
        0.3, ge=0.0, le=52.0, description="Opportunity rate per year for a ready SME."
    )
    referral_rate_per_year: float = Field(
        0.3,
        ge=0.0,
        le=52.0,
        description="Extra rate per exporting network neighbour (000, Company B).",
    )
    direct_threshold: Share = Field(
        0.66,
        description="Resource index (managerial, financial, market knowledge) above which an "
        "export is more likely direct than indirect (calibrated: 80% indirect, 004 Table 2).",
    )
    direct_steepness: float = Field(
        0.05, gt=0.0, le=1.0, description="Logistic scale of the direct-mode probability."
    )
    extra_markets_mean: float = Field(
        1.0,
        ge=0.0,
        le=20.0,
        description="Mean extra markets entered at first export, times "
        "the resource index (first export enters 1 + Poisson of this).",
    )


class Behaviour(Strict):
    adoption: Adoption = Field(default_factory=Adoption)
    awareness: Awareness = Field(default_factory=Awareness)
    support: Support = Field(default_factory=Support)
    capability: Capability = Field(default_factory=Capability)


# --------------------------------------------------------------------------------------------
# Programmes (003 Table 5) and co-creation
# --------------------------------------------------------------------------------------------
class Programme(Strict):
    raises: dict[ResourceName, Share] = Field(
        ..., description="Share of the remaining gap (1 - r) closed in each resource."
    )
    duration_weeks: float = Field(12.0, ge=0.0, le=520.0)
    opportunity_rate_per_year: float = Field(
        0.0,
        ge=0.0,
        le=52.0,
        description="Export-opportunity rate added while the programme's effect lasts (trade "
        "fairs, export promotion).",
    )
    opportunity_weeks: float = Field(0.0, ge=0.0, le=520.0)
    clears_compliance: bool = Field(
        False,
        description="Completing it restores compliance after a regulation change "
        "(R&D with an agency, 002).",
    )


def default_programmes() -> dict[str, Programme]:
    """Value created by each focus area's programmes, 003_9e0cb3511f01b6dc.txt, Table 5."""
    return {
        "human_capital": Programme(
            raises={"managerial": 0.25, "market_knowledge": 0.15}, duration_weeks=8
        ),
        "financing": Programme(raises={"financial": 0.35, "physical": 0.15}, duration_weeks=6),
        "market_access": Programme(
            raises={"market_knowledge": 0.35},
            duration_weeks=12,
            opportunity_rate_per_year=2.0,
            opportunity_weeks=52,
        ),
        "innovation_technology": Programme(
            raises={"firm_specific": 0.3, "technology": 0.3},
            duration_weeks=26,
            clears_compliance=True,
        ),
        "infrastructure": Programme(raises={"physical": 0.3, "technology": 0.1}, duration_weeks=26),
    }


class CoCreation(Strict):
    """Co-creation over DIP, 003_9e0cb3511f01b6dc.txt, sections 4.2 and 5."""

    bonus: float = Field(
        0.5, ge=0.0, le=10.0, description="Extra programme effect when tailored (co-created)."
    )
    agency_learning_rate: Share = Field(
        0.02,
        description="Share of the gap to a perfect offer (fit 1) closed per co-created "
        "programme: agencies learn what SMEs need.",
    )


# --------------------------------------------------------------------------------------------
# Agencies
# --------------------------------------------------------------------------------------------
class AgencyChannels(Strict):
    """Channels an agency accepts for each purpose, 003_9e0cb3511f01b6dc.txt, Table 4."""

    dissemination: list[str] = Field(
        default_factory=lambda: [
            "social_media",
            "web_portal",
            "face_to_face",
            "telephone",
            "email",
            "whatsapp",
        ]
    )
    application: list[str] = Field(
        default_factory=lambda: ["web_portal", "email", "paper", "face_to_face"]
    )
    documents: list[str] = Field(
        default_factory=lambda: ["web_portal", "email", "whatsapp", "paper", "face_to_face"]
    )
    follow_up: list[str] = Field(
        default_factory=lambda: ["whatsapp", "telephone", "email", "face_to_face"]
    )
    confirmation: list[str] = Field(
        default_factory=lambda: ["whatsapp", "email", "telephone", "paper"]
    )
    notification: list[str] = Field(default_factory=lambda: ["email", "whatsapp", "sms", "paper"])


class Bureaucracy(Strict):
    stage_factor: float = Field(
        1.0, gt=0.0, le=20.0, description="Agency-wide multiplier on every stage's time."
    )
    desk_review_days: float = Field(14.0, ge=0.0, le=365.0, description="Internal assessment.")
    site_visit_prob: Share = Field(0.3, description="Share of assessments needing a site visit.")
    committee_interval_weeks: float = Field(
        4.0,
        ge=0.0,
        le=104.0,
        description="Committees sit every this many weeks (0 = decisions without committee).",
    )
    requires_physical_documents: bool = Field(
        True,
        description="Physical proposal needed for the committee and for data security (003).",
    )
    missing_document_prob: Share = Field(
        0.5,
        description="Probability that a document round finds something missing, before "
        "transparency and access shorten it.",
    )


class Dart(Strict):
    """Quality of the interaction, 000_8e43523aad10feae.txt (DART)."""

    dialogue: Share = 0.5
    access: Share = 0.5
    risk_assessment: Share = 0.5
    transparency: Share = 0.5


class DigitalisationStep(Strict):
    date: dt.date = Field(..., strict=False)
    level: Share


class Digitalisation(Strict):
    level: Share = Field(
        0.0, description="Share of the agency's exchanges it can handle over DIP at the start."
    )
    schedule: list[DigitalisationStep] = Field(
        default_factory=list, description="Changes of level at dates (for example PSDSP 2021-2025)."
    )


class Agency(Strict):
    name: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    description: str = ""
    focus: FocusArea
    capacity_per_week: float = Field(
        5.0, gt=0.0, le=100_000.0, description="Applications it can assess per week."
    )
    selection_rate: Share = Field(
        0.6,
        description="Approval probability for an average applicant (G2G: 20 of 100, 003 "
        "section 4.1.1).",
    )
    initial_fit: Share = Field(
        0.7, description="How well its standard offer fits SMEs' needs; scales programme effect."
    )
    channels: AgencyChannels = Field(default_factory=AgencyChannels)
    bureaucracy: Bureaucracy = Field(default_factory=Bureaucracy)
    dart: Dart = Field(default_factory=Dart)
    digitalisation: Digitalisation = Field(default_factory=Digitalisation)


def default_agencies() -> list[Agency]:
    """One agency per focus area (003 Table 1), moving to DIP in steps (003 sections 4.1.1, 4.2, 5).

    Digitalisation: none in 2010 ("Before 2010, traditional interaction was used"), a quarter of
    exchanges from 2011 (e-mail, fax and SMS from 2011, 003 s4.1.1), half from 2015 (DIP named a
    tool of the 11th Malaysia Plan, 003 s5), all from 2018 ("fully utilized after 2018", 003 s4.2).
    Site visits ("factory and equipment evaluation", 003 Table 4) are made for programmes that
    finance or install equipment, not for training or export promotion. Capacities keep every
    agency below about half its capacity with the baseline's 1,000 SMEs (docs/model.md).
    """
    schedule = [
        DigitalisationStep(date=dt.date(2011, 1, 1), level=0.25),
        DigitalisationStep(date=dt.date(2015, 1, 1), level=0.5),
        DigitalisationStep(date=dt.date(2018, 1, 1), level=1.0),
    ]
    spec = [
        # name, focus, capacity per week, selection rate, site-visit share, description
        ("training_agency", "human_capital", 10.0, 0.8, 0.0, "human capital (e.g. SME Corp)"),
        ("financing_agency", "financing", 8.0, 0.6, 0.3, "access to financing (e.g. SME Bank)"),
        ("trade_agency", "market_access", 1.0, 0.2, 0.0, "market access, Gate-to-Global style"),
        ("technology_agency", "innovation_technology", 1.0, 0.4, 0.3, "innovation, technology"),
        ("infrastructure_agency", "infrastructure", 1.0, 0.5, 0.5, "premises and equipment"),
    ]
    return [
        Agency(
            name=name,
            focus=focus,
            capacity_per_week=cap,
            selection_rate=sel,
            description=desc,
            bureaucracy=Bureaucracy(site_visit_prob=visits),
            digitalisation=Digitalisation(level=0.0, schedule=list(schedule)),
        )
        for name, focus, cap, sel, visits, desc in spec
    ]


# --------------------------------------------------------------------------------------------
# Events (002, 003)
# --------------------------------------------------------------------------------------------
class EventBase(Strict):
    start: dt.date = Field(..., strict=False)
    end: dt.date | None = Field(
        None, strict=False, description="Inclusive end date; none = to the horizon."
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> EventBase:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class MovementControl(EventBase):
    """Pandemic movement-control order (002, 003: COVID-19 MCO)."""

    type: Literal["movement_control"]
    blocked_channels: list[str] = Field(default_factory=lambda: ["face_to_face"])
    slowed_channels: dict[str, Annotated[float, Field(ge=1.0, le=100.0)]] = Field(
        default_factory=lambda: {"paper": 3.0, "fax": 2.0}
    )
    export_demand: Share = Field(0.6, description="Multiplier on export-opportunity rates.")
    adoption_push: Share = Field(0.2, description="Added to every SME's intention to adopt DIP.")
    remote_processing: bool = Field(
        True,
        description="Digitalised agencies keep working remotely during the order: they accept "
        "documents over DIP instead of a physical proposal, and hold site visits by video with "
        "SMEs that use DIP (003 section 4.2: DIP fully used during the pandemic).",
    )


class RegulationChange(EventBase):
    """A rule that demands compliance, e.g. the Food Act sugar rule (002)."""

    type: Literal["regulation_change"]
    affected_share: Share = 1.0
    readiness_penalty: Share = Field(
        0.3, description="Share of export propensity lost until the SME complies."
    )


class TaxChange(EventBase):
    """A tax that raises costs, e.g. GST (002)."""

    type: Literal["tax_change"]
    financial_loss: Share = Field(
        0.1, description="Share of financial accessibility lost at start."
    )


class FreeTradeAgreement(EventBase):
    """CPTPP, RCEP and the like raise export opportunity."""

    type: Literal["free_trade_agreement"]
    opportunity_multiplier: float = Field(1.3, ge=0.0, le=20.0)


class AgencyDigitalisation(EventBase):
    """An agency digitalisation plan (Public Sector Digitalisation Strategic Plan 2021-2025).

    The agencies' DIP level is ``level`` from ``start`` to ``end`` (to the horizon when no end),
    overriding their own digitalisation schedules over those dates; after ``end`` their own
    schedule applies again.
    """

    type: Literal["agency_digitalisation"]
    agencies: list[str] = Field(default_factory=list, description="Empty = every agency.")
    level: Share = 1.0


Event = Annotated[
    MovementControl | RegulationChange | TaxChange | FreeTradeAgreement | AgencyDigitalisation,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------
class Scenario(Strict):
    """A complete simulation scenario. All defaults = the Malaysian F&B baseline."""

    name: str = Field(
        "baseline",
        min_length=1,
        pattern=r"^[A-Za-z0-9_\-\.]+$",
        description="Names the results folder: letters, digits, '_', '-' and '.' only.",
    )
    description: str = ""
    seed: int = Field(20221116, ge=0, le=2**63 - 1)
    replications: int = Field(20, ge=1, le=1_000_000)
    time: TimeSpec = Field(default_factory=TimeSpec)
    population: Population = Field(default_factory=Population)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    export_market: ExportMarket = Field(default_factory=ExportMarket)
    channels: dict[str, Channel] = Field(default_factory=default_channels, min_length=1)
    programmes: dict[FocusArea, Programme] = Field(default_factory=default_programmes)
    cocreation: CoCreation = Field(default_factory=CoCreation)
    agencies: list[Agency] = Field(default_factory=default_agencies, min_length=1)
    events: list[Event] = Field(default_factory=list)

    @property
    def n_steps(self) -> int:
        return int(round(self.time.horizon_years * 365.25 / self.time.step_days))
