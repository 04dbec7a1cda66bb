"""The scenario language: typed, defaulted and documented.

This module is the parameter table: every model parameter is declared here once, with
:func:`simsme.scenario.table.param`, stating its default, valid range, meaning, unit, source and
the engine arrays it reaches (``to`` / ``feeds``) or why it is structural. The lowering, the
kernel's stacked rows, the JSON Schema and the table of ``docs/model.md`` are all read from these
declarations (docs/architecture.md, "Parameters: one table"). Defaults reproduce the Malaysian
food-and-beverage manufacturing ecosystem of the source papers. A scenario file only needs to
state what differs from these defaults; ``Scenario()`` with no arguments *is* the baseline.

Sources are cited by file name in ``shared/seeds`` (for example ``003_9e0cb3511f01b6dc.txt,
Table 4``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from simsme.scenario.table import ASSUMED, DATED, S000, S002, S003, S004, param

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
    "notification",
)
"""Purposes of SME-agency exchanges, 003_9e0cb3511f01b6dc.txt, Table 4. Table 4's confirmation
purpose (the offer-letter confirmation) is not modelled: no rule would read it."""

SIZE_CLASSES: tuple[str, ...] = ("micro", "small", "medium")

# Sources and meanings shared by several parameters (the parameter table: simsme.scenario.table)
SIZE_MIX_SOURCE = (
    f"{S003} s2.1 size classes; {S004} Table 2 (most firms small); {ASSUMED} for the shares"
)
SIZE_MIX_MEANING = "Share of SMEs in the size class (shares sum to 1)."
TAM_WEIGHTS_SOURCE = f"{S002} s II.C (TAM: perceived benefit and social norms); weights {ASSUMED}"
DART_SOURCE = f"{S000} s II (DART); middling 0.5, {ASSUMED}"
DIGITALISATION_SOURCE = (
    f"{S003} s4.1.1 (e-mail, fax, SMS from 2011), s5 (DIP a tool of the 11th Malaysia Plan, 2015), "
    "s4.2 (fully used after 2018)"
)
MCO_SOURCE = (
    f"{S003} s4.1.1-4.2 (MCO halted meetings and production; DIP used fully in the pandemic); "
    f"{S002} (pandemic pushed DIP); sizes {ASSUMED}"
)
ACCEPTED_CHANNELS_MEANING = (
    "Channels the agency accepts for this purpose, in no order (the quickest shared one is used)."
)

FocusArea = Literal[
    "human_capital", "financing", "market_access", "innovation_technology", "infrastructure"
]
ResourceName = Literal[
    "managerial", "physical", "firm_specific", "technology", "financial", "market_knowledge"
]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegFloat = Annotated[float, Field(ge=0.0)]


MAX_TEXT_CHARS = 10_000
"""Longest text field (descriptions); names are shorter still (:data:`MAX_NAME_CHARS`)."""
MAX_NAME_CHARS = 64
"""Longest name (scenario, agency, region): a scenario's name is part of its results folder's."""
MAX_ITEMS = 1_000
"""Most items in a list of the scenario (agencies, events, schedule steps)."""
MAX_REGIONS = 100
"""Most regions (the per-SME table stores a region as an 8-bit code)."""


class Strict(BaseModel):
    """Base: unknown keys are errors, NaN and infinity are refused, and values are not coerced
    between types (``n_smes: true`` or ``n_smes: "200"`` is an error, not 1 or 200). Dates alone
    are also read from ISO text (``"2020-03-18"``), as JSON and quoted YAML write them.
    """

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_default=True,
        strict=True,
        str_max_length=MAX_TEXT_CHARS,
    )


# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------
class TimeSpec(Strict):
    start_date: dt.date = param(
        dt.date(2010, 1, 1),
        strict=False,
        description="Calendar date of step 0. Events and digitalisation plans are given as dates.",
        unit="date",
        source=f"{S003} s4.1-4.2: the case period and the move to DIP (2010-2024)",
        feeds=DATED,
    )
    horizon_years: float = param(
        15.0,
        gt=0.0,
        le=100.0,
        description="Simulated span in years (0 < h <= 100).",
        unit="years",
        source=f"15 years covers 2010-2024, the period of the cases and surveys ({S003} s4)",
        feeds=("n_steps", "n_years", "n_total"),
    )
    step_days: float = param(
        7.0,
        ge=1.0,
        le=91.0,
        description="Length of one step in days (default one week, MODEL.md section 2 'Scales').",
        unit="days",
        source=f"{ASSUMED}: weekly steps (MODEL.md section 2, 'Scales')",
        feeds=("step_days", "dt_years", "n_steps", "adjust"),
    )

    @model_validator(mode="after")
    def _at_least_one_step(self) -> TimeSpec:
        if round(self.horizon_years * 365.25 / self.step_days) < 1:
            raise ValueError(
                f"a horizon of at least one step ({self.step_days:g} days); "
                f"horizon_years {self.horizon_years:g} is {self.horizon_years * 365.25:.2g} days"
            )
        if (dt.date.max - self.start_date).days < self.horizon_years * 365.25 + self.step_days:
            raise ValueError(
                f"a run that ends by {dt.date.max}: start_date {self.start_date} plus "
                f"horizon_years {self.horizon_years:g} ends past year 9999"
            )
        return self


# --------------------------------------------------------------------------------------------
# Channels (003 Table 4)
# --------------------------------------------------------------------------------------------
class Latency(Strict):
    median_days: float = param(
        ...,
        gt=0.0,
        le=365.0,
        description="Median duration of one exchange, in days.",
        unit="days",
        source=f"{S003} s4.1-4.2 (posted proposals and meetings take weeks, WhatsApp answers the "
        f"same day); orders of magnitude, {ASSUMED}",
        to="ch_log_median",
        via="log",
        feeds="ch_order",
    )
    sigma: float = param(
        0.5,
        ge=0.0,
        le=3.0,
        description="Log-normal shape (standard deviation of log-duration).",
        unit="-",
        source=f"{ASSUMED}: right-skewed waits",
        to="ch_sigma",
    )


class Channel(Strict):
    """A channel type (not an agent): 003_9e0cb3511f01b6dc.txt, Table 4."""

    kind: Literal["digital", "conventional"] = param(
        ...,
        description="DIP (digital interactive platform) or conventional channel.",
        unit="-",
        source=f"{S003} s4.1.1 (traditional vs DIP channels), Table 4",
        to="ch_digital",
        via="is_digital",
        feeds=("digital_mask", "conventional_mask"),
    )
    latency: Latency = Field(..., description="Duration of one exchange over this channel.")
    bureaucracy: PositiveFloat = param(
        1.0,
        le=10.0,
        description="Multiplier on stage time for hand-offs and hierarchy; DIP is 'less "
        "bureaucratic and hierarchical' (003, section 4.2). 1 = neutral.",
        unit="multiplier",
        source=f"{S003} s4.2 (DIP 'less bureaucratic and hierarchical'); {S002} (DIP reduced the "
        "bureaucratic burden)",
        to="ch_bureaucracy",
        feeds="ch_order",
    )
    carries_documents: bool = param(
        True,
        description="Whether documents can be sent over it.",
        unit="-",
        source=f"{S003} Table 4 and s4.2 (documents by e-mail, fax, WhatsApp, Google Drive)",
        to="ch_docs",
        feeds="documents_mask",
    )
    richness: Share = param(
        0.5,
        description="Richness for dialogue, in [0, 1].",
        unit="share",
        source=f"{S000} (dialogue); {ASSUMED}",
        to="ch_richness",
    )
    needs_connectivity: bool = param(
        False,
        description="Whether it fails when the SME's location has no signal (003, Company A's "
        "signal problems and multi-platform fallback).",
        unit="-",
        source=f"{S003} s4.2 (signal problems affect online platforms)",
        to="ch_needs_connectivity",
    )
    visibility: Share = param(
        0.0,
        description="Share of exchanges that are public and reach other SMEs (social-media Q&A, "
        "003 section 4.2).",
        unit="share",
        source=f"{S003} s4.2 (social-media interactions are public)",
        to="ch_visibility",
    )
    cost: Share = param(
        0.0,
        description="Relative cost to the SME of one exchange, in [0, 1].",
        unit="share",
        source=ASSUMED,
        feeds="ch_order",
    )
    usefulness: Share = param(
        0.5,
        description="TAM perceived usefulness of the channel (002, section II.C).",
        unit="share",
        source=f"{S002} s II.C (perceived benefit); {ASSUMED}",
        to="ch_usefulness",
    )
    ease_of_use: Share = param(
        0.5,
        description="TAM ease of use for a fully tech-competent SME; perceived ease is this times "
        "the SME's technology competence (002, section II.C).",
        unit="share",
        source=f"{S002} s II.C (technical capabilities); {ASSUMED}",
        to="ch_ease",
    )
    dissemination_reach_per_year: NonNegFloat = param(
        0.0,
        le=52.0,
        description="Rate per year at which one agency's programme information pushed over this "
        "channel makes a using SME aware (scaled by the agency's DART access).",
        unit="1/year",
        source=f"{S003} s4.2 (WhatsApp, Facebook, Twitter, Instagram popular to disseminate; "
        f"brochures, portals); {ASSUMED}",
        to="ch_dissemination_reach",
    )
    export_reach_per_year: NonNegFloat = param(
        0.0,
        le=52.0,
        description="Export-order rate per year this channel brings to an aware SME that uses "
        "it (e-marketplace listing such as e-Trade, 000_8e43523aad10feae.txt).",
        unit="1/year",
        source=f"{S000} (e-Trade e-marketplace); {S003} s4.3 (eTRADE); {ASSUMED}",
        to="ch_export_reach",
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

    micro: Share = param(
        0.25,
        unit="share",
        source=SIZE_MIX_SOURCE,
        to="size_cum",
        via="cumulative",
        description=SIZE_MIX_MEANING,
    )
    small: Share = param(
        0.55,
        unit="share",
        source=SIZE_MIX_SOURCE,
        to="size_cum",
        via="cumulative",
        description=SIZE_MIX_MEANING,
    )
    medium: Share = param(
        0.20,
        unit="share",
        source=SIZE_MIX_SOURCE,
        to="size_cum",
        via="cumulative",
        description=SIZE_MIX_MEANING,
    )

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

    mean: Annotated[tuple[Share, Share, Share], BeforeValidator(_list_as_tuple)] = param(
        (0.3, 0.4, 0.5),
        description="Mean for micro, small, medium SMEs, each in [0, 1].",
        unit="share",
        source=f"{S002} Table 4 resource categories; means rising with size class ({ASSUMED})",
        to="res_mean",
    )
    concentration: float = param(
        8.0,
        ge=0.1,  # a tiny a+b makes the Beta sampler reject for ever (a 20-SME run hung)
        le=1000.0,
        description="Beta concentration a+b (higher = less spread).",
        unit="-",
        source=f"Beta a+b = 8: wide spread within a class ({ASSUMED})",
        to="res_conc",
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
    name: str = param(
        ...,
        min_length=1,
        max_length=MAX_NAME_CHARS,
        unit="-",
        source="-",
        structural="names the region",
        description="Region name.",
    )
    share: Share = param(
        ...,
        description="Share of SMEs located in this region.",
        unit="share",
        source=f"{ASSUMED}: seven in ten F&B SMEs in well-covered areas",
        to="region_cum",
        via="cumulative",
    )
    downtime_prob: Share = param(
        ...,
        description="Probability that a connectivity-dependent channel is down for one exchange "
        "(003, signal problems at Company A's site).",
        unit="share",
        source=f"{S003} s4.2 (Company A's signal problems, multi-platform fallback); rural 15%, "
        f"urban 2% ({ASSUMED})",
        to="region_downtime",
    )


class Network(Strict):
    mean_degree: float = param(
        4.0,
        ge=0.0,
        le=50.0,
        description="Mean number of ties to other SMEs (004).",
        unit="ties",
        source=f"{S004} (collaboration and relationship); {S000} (Company B's network-driven "
        f"export); four ties ({ASSUMED})",
        to="mean_degree",
    )
    partner_half_saturation: float = param(
        4.0,
        gt=0.0,
        le=100.0,
        description="Ties at which the external sourcing network is half saturated "
        "(strength = degree / (degree + this)).",
        unit="ties",
        source=f"{S004} Figure 4 external sourcing network; {ASSUMED}",
        to="half_saturation",
    )


class Population(Strict):
    n_smes: int = param(
        1000,
        ge=1,
        le=1_000_000,
        description="SMEs present at the start of the run.",
        unit="SMEs",
        source="a sample size: enough SMEs for stable shares; agency capacities and learning are "
        "per 1,000 SMEs and scale with it",
        feeds=("n_initial", "n_total", "ag_capacity_per_day", "learning_rate"),
    )
    agency_catchment_smes: int = param(
        0,
        ge=0,
        le=1_000_000,
        description="SMEs the agencies serve, to which their capacities and learning per 1,000 "
        "SMEs are scaled; 0 = "
        "n_smes (the run's SMEs are the whole catchment). Set it only when the run's SMEs are a "
        "probe into a larger population: the case scenarios' 100 replicas of one firm queue at "
        "agencies sized for the baseline's 1,000 SMEs.",
        unit="SMEs",
        source="0: capacities scale with n_smes (a sample size); the case scenarios set 1,000 "
        f"(replicas of one firm of {S003} s4.1 in the baseline's ecosystem; {ASSUMED})",
        feeds=("ag_capacity_per_day", "learning_rate"),
    )
    entrants_per_year: float = param(
        0.0,
        ge=0.0,
        le=0.5,
        description="SMEs founded during the run, per year, as a share of n_smes.",
        unit="1/year",
        source="closed population by default (incumbents only)",
        feeds="n_total",
    )
    size_mix: SizeMix = Field(default_factory=SizeMix)
    age_years_max: float = param(
        10.0,
        ge=0.0,
        le=100.0,
        description="Incumbents' age at the start ~ uniform(0, this).",
        unit="years",
        source=f"{S003} s4.3 (SIP targets firms of 3-5 years); {S002} (cases in business > 5 "
        "years); firms up to 10 years old",
        to="age_max_years",
    )
    resources: Resources = Field(default_factory=Resources)
    regions: list[Region] = Field(
        default_factory=lambda: [
            Region(name="urban", share=0.7, downtime_prob=0.02),
            Region(name="rural", share=0.3, downtime_prob=0.15),
        ],
        min_length=1,
        max_length=MAX_REGIONS,
    )
    initial_channels: dict[str, Share] = param(
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
        unit="share",
        source=f"{S003} s4.1.1 (traditional interaction before 2010, e-mail, fax and SMS from "
        "2011, WhatsApp and social media later)",
        to="initial_channel_share",
        via="by_channel",
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

    weight_usefulness: Share = param(
        0.4,
        unit="weight",
        source=TAM_WEIGHTS_SOURCE,
        to="w_useful",
        description="TAM weight of perceived usefulness in intention.",
    )
    weight_ease_of_use: Share = param(
        0.3,
        unit="weight",
        source=TAM_WEIGHTS_SOURCE,
        to="w_ease",
        description="TAM weight of perceived ease of use.",
    )
    weight_social_norm: Share = param(
        0.3,
        unit="weight",
        source=TAM_WEIGHTS_SOURCE,
        to="w_social",
        description="TAM weight of the social norm (share of network neighbours using the "
        "channel).",
    )
    threshold: Share = param(
        0.3,
        description="Intention below which an SME never adopts a channel.",
        unit="intention",
        source=f"{S002} s II.C; {ASSUMED}",
        to="adopt_threshold",
    )
    rate_per_year: float = param(
        0.31,
        ge=0.0,
        le=52.0,
        description="Adoption hazard per year per unit of intention above the threshold "
        "(calibrated: 80% of 2021 applications online, 003 section 4.2; docs/model.md).",
        unit="1/year",
        source=f"calibrated: 2021 online-application share 80% ({S003} s4.2)",
        calibrated=True,
        to="adopt_rate",
    )


class Awareness(Strict):
    word_of_mouth_per_year: float = param(
        0.48,
        ge=0.0,
        le=52.0,
        description="Awareness hazard per year when every network neighbour is aware.",
        unit="1/year",
        source=f"{S000} (network influence); {ASSUMED}",
        to="wom_rate",
    )
    public_qa_reach: float = param(
        0.5,
        ge=0.0,
        le=100.0,
        description="Awareness hazard per year, per public Q&A exchange per 100 SMEs, for SMEs "
        "on that channel (003 section 4.2). Public exchanges are applications, document rounds "
        "and notifications over a channel with visibility above 0 (shipped: social media, which "
        "carries no documents); video site visits over follow-up channels do not count. It acts "
        "only where an agency takes such a channel for one of these exchanges "
        "(scenarios/digital-agencies.yaml).",
        unit="1/year per exchange per 100 SMEs",
        source=f"{S003} s4.2 (public social-media Q&A helps other SMEs); {ASSUMED}",
        to="qa_reach",
    )


class Support(Strict):
    seek_rate_per_year: float = param(
        2.0,
        ge=0.0,
        le=52.0,
        description="Rate per year at which an aware SME that has not committed to exporting "
        "applies for a programme.",
        unit="1/year",
        source=f"{S003} s4.1 (the cases applied to several programmes a year); {ASSUMED}",
        to="seek_rate",
    )
    cooldown_weeks: float = param(
        8.0,
        ge=0.0,
        le=520.0,
        description="Wait after a decision before applying again.",
        unit="weeks",
        source=ASSUMED,
        to="cooldown_days",
        via="days_from_weeks",
    )
    focus_weights: dict[FocusArea, NonNegFloat] = param(
        default_factory=lambda: {
            "human_capital": 1.0,
            "financing": 0.24,
            "market_access": 0.014,
            "innovation_technology": 0.01,
            "infrastructure": 0.023,
        },
        description="Propensity to seek each focus area, multiplied by the SME's gap in the "
        "resources it raises (calibrated: SMEs reached by focus area, 003 Table 1; relative to "
        "human capital).",
        unit="-",
        source=f"calibrated: SMEs reached by focus area, {S003} Table 1",
        calibrated=True,
        to="focus_weight",
        via="by_focus",
    )
    gap_exponent: float = param(
        2.0,
        ge=0.0,
        le=10.0,
        description="How strongly the choice follows the resource gap.",
        unit="-",
        source=f"{ASSUMED}: SMEs seek what they lack most",
        to="gap_exponent",
    )
    risk_advice_gain: Share = param(
        0.35,
        description="Share of the sunk cost of a first export that a delivered programme "
        "removes per unit of the agency's DART risk assessment: assessing risks with the SME "
        "helps it weigh the risks and benefits of foreign markets (000), so less of the cost "
        "is an uncertainty premium.",
        unit="share per unit of risk assessment",
        source=f"{S000} s II (DART: risk assessment helps SMEs weigh risks and benefits); size "
        f"{ASSUMED}, range 0.1-0.5",
        to="risk_advice_gain",
    )


class Capability(Strict):
    """Co-innovation path, 004_71dd89347508b38e.txt, Figure 4."""

    internal_to_coinnovation: Share = param(
        0.25,
        description="004 Figure 4 path coefficient.",
        unit="path coefficient",
        source=f"{S004} Figure 4 (0.25)",
        to="beta_internal",
    )
    external_to_coinnovation: Share = param(
        0.56,
        description="004 Figure 4 path coefficient.",
        unit="path coefficient",
        source=f"{S004} Figure 4 (0.56)",
        to="beta_external",
    )
    coinnovation_to_value: Share = param(
        0.72,
        description="004 Figure 4 path coefficient.",
        unit="path coefficient",
        source=f"{S004} Figure 4 (0.72)",
        to="beta_value",
    )
    value_to_export: Share = param(
        0.75,
        description="004 Figure 4 path coefficient.",
        unit="path coefficient",
        source=f"{S004} Figure 4 (0.75)",
        to="beta_export",
    )
    adjustment_weeks: float = param(
        34,
        gt=0.0,
        le=1040.0,
        description="Time constant of the latent indices' adjustment.",
        unit="weeks",
        source=f"{ASSUMED}: capabilities follow resources within about half a year",
        to="adjust",
        via="share_per_step",
    )
    cocreation_sourcing_gain: float = param(
        0.5,
        ge=0.0,
        le=10.0,
        description="Each co-created programme adds to the external sourcing network as "
        "1 - exp(-gain x count).",
        unit="1/programme",
        source=f"{S003} s4.2-5 (co-creation builds networks); {ASSUMED}",
        to="cocreation_gain",
    )
    organic_growth_per_year: float = param(
        0.02,
        ge=0.0,
        le=1.0,
        description="Learning by doing: resources grow toward 1 at this rate.",
        unit="1/year",
        source=ASSUMED,
        to="growth_rate",
    )
    decay_per_year: float = param(
        0.1,
        ge=0.0,
        le=5.0,
        description="Programme gains decay toward the initial endowment at this rate.",
        unit="1/year",
        source=f"{ASSUMED}: programme gains fade over about ten years",
        to="decay_rate",
    )

    @model_validator(mode="before")
    @classmethod
    def _readiness_threshold_removed(cls, data: Any) -> Any:
        """The readiness threshold of older scenario files is replaced by export entry under a
        sunk cost (``behaviour.export_entry``); say so instead of a bare unknown key."""
        if isinstance(data, dict) and "readiness_threshold" in data:
            raise ValueError(
                "no 'readiness_threshold' key: the sharp readiness threshold was replaced by "
                "export entry under a sunk cost with uncertain foreign demand (see "
                "behaviour.export_entry: entry_cost, demand_sigma, profitability_sigma); delete "
                "the key"
            )
        return data


ENTRY_SOURCE = (
    "Roberts and Tybout (1997) AER 87(4); Das, Roberts and Tybout (2007) Econometrica 75(3); "
    "Melitz (2003) Econometrica 71(6)"
)


PROFIT_BY_SIZE_SOURCE = (
    "sales rise steeply with size class (SME Corp Malaysia 2013 definitions for manufacturing: "
    "micro < 5 employees, small 5-75, medium 75-200) while sunk costs rise less; "
    f"{ASSUMED}: micro 0.25-0.6, medium 1.5-3 (docs/evidence.md F1)"
)
PROFIT_BY_SIZE_MEANING = (
    "Export profit of an average SME of the class relative to a small one (multiplies its "
    "export profitability): the sunk cost weighs more on a smaller firm."
)


class ProfitBySize(Strict):
    micro: PositiveFloat = param(
        0.48,
        unit="relative profit",
        source=PROFIT_BY_SIZE_SOURCE,
        to="size_profit",
        description=PROFIT_BY_SIZE_MEANING,
        le=100.0,
    )
    small: PositiveFloat = param(
        1.0,
        unit="relative profit",
        source=PROFIT_BY_SIZE_SOURCE,
        to="size_profit",
        description=PROFIT_BY_SIZE_MEANING,
        le=100.0,
    )
    medium: PositiveFloat = param(
        2,
        unit="relative profit",
        source=PROFIT_BY_SIZE_SOURCE,
        to="size_profit",
        description=PROFIT_BY_SIZE_MEANING,
        le=100.0,
    )


class ExportEntry(Strict):
    """Export entry as a decision under a sunk cost with uncertain foreign demand, by firms
    that differ in export profitability and in their founders' history
    (:mod:`simsme.mechanisms.entry`; docs/evidence.md sections 3 and 5)."""

    entry_cost: float = param(
        1.4,
        ge=0.0,
        le=100.0,
        description="Sunk cost of a first export, in years of the export profit of an average "
        "firm (profitability 1) at full export propensity; an order is taken when "
        "profitability x propensity x foreign demand covers it.",
        unit="profit-years",
        source=f"calibrated: share of SMEs that export by the horizon (docs/evidence.md s2; "
        f"structure from {ENTRY_SOURCE})",
        calibrated=True,
        to="entry_cost",
    )
    demand_sigma: float = param(
        1,
        ge=0.0,
        le=5.0,
        description="Log spread of the foreign demand an order brings (log-normal, mean 1): "
        "how uncertain the value of an order is.",
        unit="log points",
        source=f"{ASSUMED}, range 0.5-1.5 (docs/evidence.md s5 item 2; uncertain foreign demand "
        "as in Das, Roberts and Tybout 2007)",
        to="demand_sigma",
    )
    profitability_sigma: float = param(
        0.96,
        ge=0.0,
        le=5.0,
        description="Log spread across firms of export profitability (log-normal, mean 1), "
        "drawn at founding: Melitz heterogeneity.",
        unit="log points",
        source="productivity dispersion within industries: 90:10 TFP ratio about 1.9 (Syverson "
        "2004, REStat 86(2)), sd of log TFP ~0.25, profits ~ TFP^(sigma-1) with sigma ~ 4 "
        "(Bernard, Eaton, Jensen and Kortum 2003, AER 93(4)): ~0.75; range 0.5-1.25",
        to="profitability_sigma",
    )
    profit_by_size: ProfitBySize = Field(default_factory=lambda: ProfitBySize())
    inertia_per_decade: float = param(
        0.44,
        ge=0.0,
        le=10.0,
        description="Growth of the sunk cost per decade of the firm's age: domestic routines "
        "set in and make a first export harder the older the firm (learning advantages of "
        "newness).",
        unit="share per decade",
        source="Autio, Sapienza and Almeida (2000), Academy of Management Journal 43(5) "
        "(direction); export propensity falls after the first post-start-up years (Vaillant, "
        f"Lafuente and Bayon 2018; docs/evidence.md F6); size {ASSUMED}, range 0-1",
        to="inertia_per_decade",
    )
    founder_experience_share: Share = param(
        0.2,
        description="Share of SMEs whose founders have prior international experience "
        "(drawn at founding).",
        unit="share",
        source=f"{ASSUMED}, range 0.1-0.3 (docs/evidence.md s5 item 1; Company B's owner: 17 "
        f"years in shipping, {S003} s4.1.2)",
        to="experience_share",
    )
    experience_cost_cut: Share = param(
        0.37,
        description="Share of the sunk cost an experienced founder avoids (knows buyers and "
        "procedures); such a founder also has half the chance of a missing document per "
        "round of a procedure.",
        unit="share",
        source=f"{ASSUMED}, range 0.2-0.6: founders' international experience speeds first "
        "foreign entry (docs/evidence.md F7; direction only, no magnitude found)",
        to="experience_cut",
    )
    ties_abroad_mean: float = param(
        1.1,
        ge=0.0,
        le=50.0,
        description="Mean number of ties abroad an experienced founder brings (Poisson).",
        unit="ties",
        source=f"{ASSUMED}, range 0-2 (docs/evidence.md s5 item 1; a network-driven export "
        f"decision: {S000}, its Company B, another firm than 003's)",
        to="ties_mean",
    )


class ExportMarket(Strict):
    base_rate_per_year: float = param(
        0.32,
        ge=0.0,
        le=52.0,
        description="Export orders (buyer contacts) per year for an aware SME without listings, "
        "programmes, referrals or ties abroad.",
        unit="1/year",
        source=f"{ASSUMED}, range 0.15-0.6: an SME meets a foreign buyer every three years or so "
        "without help",
        to="base_opportunity",
    )
    tie_rate_per_year: float = param(
        0.26,
        ge=0.0,
        le=52.0,
        description="Extra orders per year per tie abroad of the founder.",
        unit="1/year per tie",
        source=f"{ASSUMED}, range 0.1-0.6, as a referral ({S000} Company B)",
        to="tie_rate",
    )
    referral_rate_per_year: float = param(
        0.3,
        ge=0.0,
        le=52.0,
        description="Extra rate per exporting network neighbour (000, Company B).",
        unit="1/year per exporting neighbour",
        source=f"{S000} Company B (export 'influenced by network'); {ASSUMED}",
        to="referral_rate",
    )
    direct_threshold: Share = param(
        0.71,
        description="Resource index (managerial, financial, market knowledge) above which an "
        "export is more likely direct than indirect (calibrated: 80% indirect, 004 Table 2).",
        unit="resource index",
        source=f"calibrated: 80% of first exports indirect ({S004} Table 2)",
        calibrated=True,
        to="direct_threshold",
    )
    direct_steepness: float = param(
        0.05,
        gt=0.0,
        le=1.0,
        description="Logistic scale of the direct-mode probability.",
        unit="resource index",
        source=f"{S004} ('most' direct exporters medium-sized); {ASSUMED}",
        to="direct_steepness",
    )
    extra_markets_mean: float = param(
        1.0,
        ge=0.0,
        le=20.0,
        description="Mean extra markets entered at first export, times "
        "the resource index (first export enters 1 + Poisson of this).",
        unit="markets",
        source=f"{S002} Table 2 (3-4 markets), {S000} Table II (3 and 10)",
        to="extra_markets",
    )


class Behaviour(Strict):
    adoption: Adoption = Field(default_factory=Adoption)
    awareness: Awareness = Field(default_factory=Awareness)
    support: Support = Field(default_factory=Support)
    capability: Capability = Field(default_factory=Capability)
    export_entry: ExportEntry = Field(default_factory=ExportEntry)


# --------------------------------------------------------------------------------------------
# Programmes (003 Table 5) and co-creation
# --------------------------------------------------------------------------------------------
class Programme(Strict):
    raises: dict[ResourceName, Share] = param(
        ...,
        description="Share of the remaining gap (1 - r) closed in each resource.",
        unit="share",
        source=f"{S003} Table 5 (value created by each focus area); sizes {ASSUMED}",
        to="prog_raise",
        via="by_resource",
    )
    duration_weeks: float = param(
        12.0,
        ge=0.0,
        le=520.0,
        unit="weeks",
        source=f"{S003} s4.1 (training sessions, grants, year-long export programmes); {ASSUMED}",
        to="prog_duration_days",
        via="days_from_weeks",
        description="Weeks from approval to the end of the programme (delivery).",
    )
    opportunity_rate_per_year: float = param(
        0.0,
        ge=0.0,
        le=52.0,
        description="Export-opportunity rate added while the programme's effect lasts (trade "
        "fairs, export promotion).",
        unit="1/year",
        source=f"{S003} Table 5 (export promotion, trade fairs: international business "
        f"networking); {ASSUMED}",
        to="prog_opportunity",
    )
    opportunity_weeks: float = param(
        0.0,
        ge=0.0,
        le=520.0,
        unit="weeks",
        source=f"{S003} s4.1 (Gulfood, Gate to Global: about a year)",
        to="prog_opportunity_days",
        via="days_from_weeks",
        description="Weeks after delivery during which the programme's extra export "
        "opportunities last.",
    )
    clears_compliance: bool = param(
        False,
        description="Completing it restores compliance after a regulation change "
        "(R&D with an agency, 002).",
        unit="-",
        source=f"{S002} s IV (Food Act compliance through R&D with MARDI)",
        to="prog_clears",
    )
    entry_cost_cut: Share = param(
        0.0,
        description="Share of the sunk cost of a first export the programme pays or removes "
        "(a grant for promotion, a trade-fair place).",
        unit="share",
        source="MATRADE Market Development Grant: 50% matching reimbursement of promotion "
        "costs (docs/evidence.md s1.3, A); promotion about half of the sunk cost "
        f"({ASSUMED}): 0.25 for market access, range 0.1-0.4",
        to="prog_entry_cost_cut",
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
            entry_cost_cut=0.24,
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

    bonus: float = param(
        0.83,
        ge=0.0,
        le=10.0,
        description="Extra programme effect when tailored (co-created).",
        unit="-",
        source=f"{S003} s4.2 (tailor-made programmes); {ASSUMED}",
        to="cocreation_bonus",
    )
    agency_learning_rate: Share = param(
        0.02,
        description="Share of the gap to a perfect offer (fit 1) closed per co-created "
        "programme at 1,000 SMEs: agencies learn what SMEs need. With N SMEs in the catchment "
        "each programme closes 1 - (1 - this)^(1,000 / N), so the fit after a given share of "
        "SMEs co-created does not depend on population.n_smes.",
        unit="share per co-created programme per 1,000 SMEs",
        source=f"{S003} s5, {S000} s V (agencies learn SMEs' needs); {ASSUMED}",
        to="learning_rate",
        via="share_per_event_per_1000_smes",
    )


# --------------------------------------------------------------------------------------------
# Agencies
# --------------------------------------------------------------------------------------------
class AgencyChannels(Strict):
    """Channels an agency accepts for each purpose, 003_9e0cb3511f01b6dc.txt, Table 4."""

    dissemination: list[str] = param(
        default_factory=lambda: [
            "social_media",
            "web_portal",
            "face_to_face",
            "telephone",
            "email",
            "whatsapp",
        ],
        unit="channels",
        source=f"{S003} Table 4 (channels per purpose)",
        feeds="ag_accept",
        description=ACCEPTED_CHANNELS_MEANING,
    )
    application: list[str] = param(
        default_factory=lambda: ["web_portal", "email", "paper", "face_to_face"],
        unit="channels",
        source=f"{S003} Table 4 (channels per purpose)",
        feeds="ag_accept",
        description=ACCEPTED_CHANNELS_MEANING,
    )
    documents: list[str] = param(
        default_factory=lambda: ["web_portal", "email", "whatsapp", "paper", "face_to_face"],
        unit="channels",
        source=f"{S003} Table 4 (channels per purpose)",
        feeds="ag_accept",
        description=ACCEPTED_CHANNELS_MEANING,
    )
    follow_up: list[str] = param(
        default_factory=lambda: ["whatsapp", "telephone", "email", "face_to_face"],
        unit="channels",
        source=f"{S003} Table 4 (channels per purpose)",
        feeds="ag_accept",
        description=ACCEPTED_CHANNELS_MEANING,
    )
    notification: list[str] = param(
        default_factory=lambda: ["email", "whatsapp", "sms", "paper"],
        unit="channels",
        source=f"{S003} Table 4 (channels per purpose)",
        feeds="ag_accept",
        description=ACCEPTED_CHANNELS_MEANING,
    )

    @model_validator(mode="before")
    @classmethod
    def _confirmation_removed(cls, data: Any) -> Any:
        """The ``confirmation`` purpose of older scenario files was read by no rule; say so
        instead of a bare unknown key (003_9e0cb3511f01b6dc.txt, Table 4)."""
        if isinstance(data, dict) and "confirmation" in data:
            raise ValueError(
                "no 'confirmation' key: the purpose was removed because no rule reads it (the "
                "offer-letter confirmation of 003 Table 4 is not modelled), so it changed no "
                "output; delete the key (purposes: " + ", ".join(PURPOSES) + ")"
            )
        return data


class Bureaucracy(Strict):
    stage_factor: float = param(
        1.0,
        gt=0.0,
        le=20.0,
        description="Agency-wide multiplier on every stage's time.",
        unit="multiplier",
        source="neutral (1)",
        to="ag_stage_factor",
    )
    desk_review_days: float = param(
        14.0,
        ge=0.0,
        le=365.0,
        description="Internal assessment.",
        unit="days",
        source=f"{ASSUMED}; durations are not in the papers ({S003} s4)",
        to="ag_desk_days",
    )
    site_visit_prob: Share = param(
        0.3,
        description="Share of assessments needing a site visit.",
        unit="share",
        source=f"{S003} Table 4 (site visits evaluate factories and equipment: financing, "
        "technology, infrastructure)",
        to="ag_site_visit",
    )
    committee_interval_weeks: float = param(
        7.4,
        ge=0.0,
        le=104.0,
        description="Committees sit every this many weeks (0 = decisions without committee).",
        unit="weeks",
        source=f"{S003} s3 (committee meetings observed; frequency not given); monthly, {ASSUMED}",
        to="ag_committee_days",
        via="days_from_weeks",
    )
    requires_physical_documents: bool = param(
        True,
        description="Physical proposal needed for the committee and for data security (003).",
        unit="-",
        source=f"{S003} s4.2 (physical proposals for the committee and data security)",
        to="ag_physical",
    )
    missing_document_prob: Share = param(
        0.5,
        description="Probability that a document round finds something missing, before "
        "transparency and access shorten it.",
        unit="share",
        source=ASSUMED,
        to="ag_missing",
    )


class Dart(Strict):
    """Quality of the interaction, 000_8e43523aad10feae.txt (DART)."""

    dialogue: Share = param(
        0.5,
        unit="share",
        source=DART_SOURCE,
        to="ag_dialogue",
        description="DART dialogue: quality of the two-way exchange, in [0, 1].",
    )
    access: Share = param(
        0.5,
        unit="share",
        source=DART_SOURCE,
        to="ag_access",
        description="DART access: how easily SMEs reach the agency and its information, in [0, 1].",
    )
    risk_assessment: Share = param(
        0.5,
        unit="share",
        source=DART_SOURCE,
        to="ag_risk",
        description="DART risk assessment: how well risks are assessed with the SME, in [0, 1].",
    )
    transparency: Share = param(
        0.5,
        unit="share",
        source=DART_SOURCE,
        to="ag_transparency",
        description="DART transparency: how open the agency is about process and decisions, in "
        "[0, 1].",
    )


class DigitalisationStep(Strict):
    date: dt.date = param(
        ...,
        strict=False,
        unit="date",
        source=DIGITALISATION_SOURCE,
        feeds=("tl_agency_level", "tl_procedure_level"),
        description="Date of a change of DIP level.",
    )
    level: Share = param(
        ...,
        unit="share",
        source=DIGITALISATION_SOURCE,
        feeds=("tl_agency_level", "tl_procedure_level"),
        description="DIP level from that date.",
    )


class Digitalisation(Strict):
    level: Share = param(
        0.0,
        description="Share of the agency's exchanges it can handle over DIP at the start.",
        unit="share",
        source=f"{S003} s4.1.1 ('Before 2010, traditional interaction was used')",
        feeds=("tl_agency_level", "tl_procedure_level"),
    )
    schedule: list[DigitalisationStep] = Field(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Changes of level at dates (for example PSDSP 2021-2025).",
    )


class Agency(Strict):
    name: str = param(
        ...,
        min_length=1,
        max_length=MAX_NAME_CHARS,
        pattern=r"^[A-Za-z0-9_\-]+$",
        unit="-",
        source=f"{S003} Table 1 (one agency per focus area)",
        structural="names the agency (events refer to it)",
        description="Agency name (unique).",
    )
    description: str = param(
        "", unit="-", source="-", structural="free text", description="Free text."
    )
    focus: FocusArea = param(
        ...,
        unit="-",
        source=f"{S003} Table 1",
        feeds=("ag_focus", "agencies_by_focus", "n_agencies_by_focus"),
        description="Focus area of its programmes (003 Table 1).",
    )
    capacity_per_week_per_1000_smes: float = param(
        5.0,
        gt=0.0,
        le=100_000.0,
        description="Applications it can assess per week for every 1,000 SMEs of the run "
        "(population.n_smes): 5,000 SMEs give it five times this capacity, 100 SMEs a tenth "
        "(fractions kept: the queue runs in days), so n_smes changes precision, not waits.",
        unit="applications/week per 1,000 SMEs",
        source=f"about twice the baseline's demand (waits of weeks, not years); {ASSUMED}",
        to="ag_capacity_per_day",
        via="per_day_from_per_week_per_1000_smes",
    )
    selection_rate: Share = param(
        0.6,
        description="Approval probability for an average applicant (G2G: 20 of 100, 003 "
        "section 4.1.1).",
        unit="share",
        source=f"{S003} s4.1.1 (Gate to Global: 20 of 100); others {ASSUMED}",
        to="ag_selection",
    )
    initial_fit: Share = param(
        0.7,
        description="How well its standard offer fits SMEs' needs; scales programme effect.",
        unit="share",
        source=ASSUMED,
        to="ag_fit",
    )
    channels: AgencyChannels = Field(default_factory=AgencyChannels)
    bureaucracy: Bureaucracy = Field(default_factory=Bureaucracy)
    dart: Dart = Field(default_factory=Dart)
    digitalisation: Digitalisation = Field(default_factory=Digitalisation)

    @model_validator(mode="before")
    @classmethod
    def _capacity_is_per_1000_smes(cls, data: Any) -> Any:
        """The absolute ``capacity_per_week`` of older scenario files did not scale with
        population.n_smes; say what replaced it instead of a bare unknown key."""
        if isinstance(data, dict) and "capacity_per_week" in data:
            raise ValueError(
                "'capacity_per_week_per_1000_smes' instead of 'capacity_per_week': agency "
                "capacities are per 1,000 SMEs and scale with population.n_smes (a value meant "
                "for 1,000 SMEs stays the same; one meant for N SMEs becomes value x 1000 / N)"
            )
        return data


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
        # name, focus, capacity per week per 1,000 SMEs, selection rate, site-visit share, ...
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
            capacity_per_week_per_1000_smes=cap,
            selection_rate=sel,
            description=desc,
            bureaucracy=Bureaucracy(site_visit_prob=visits),
            digitalisation=Digitalisation(level=0.0, schedule=list(schedule)),
        )
        for name, focus, cap, sel, visits, desc in spec
    ]


# --------------------------------------------------------------------------------------------
# Procedures on the path to a first export (licences, certificates, permits)
# --------------------------------------------------------------------------------------------
PROCEDURE_SOURCE = f"{S003} s4.1 (both case firms held JAKIM halal certificates before exporting)"


class Procedure(Strict):
    """A licence, certificate or permit an SME must obtain from a regulator before its first
    export (:mod:`simsme.mechanisms.procedures`; durations: docs/evidence.md section 1)."""

    name: str = param(
        ...,
        min_length=1,
        max_length=MAX_NAME_CHARS,
        pattern=r"^[A-Za-z0-9_\-]+$",
        unit="-",
        source=PROCEDURE_SOURCE,
        structural="names the procedure (events refer to it)",
        description="Procedure name (unique among procedures and agencies).",
    )
    description: str = param(
        "", unit="-", source="-", structural="free text", description="Free text."
    )
    outstanding_share: Share = param(
        ...,
        description="Share of SMEs (drawn at founding) that must still obtain it before a "
        "first export.",
        unit="share",
        source=ASSUMED,
        to="pc_outstanding",
    )
    channels: list[str] = param(
        default_factory=lambda: ["web_portal", "email", "paper", "face_to_face"],
        max_length=MAX_ITEMS,
        unit="channels",
        source=f"{S003} Table 4 (channels per purpose); docs/evidence.md s1 (online portals)",
        feeds="pc_accept",
        description="Channels the regulator accepts for submission, documents and the issue "
        "(digital ones only when it handles the procedure on its platform; conventional ones "
        "always).",
    )
    missing_document_prob: Share = param(
        0.3,
        lt=1.0,
        description="Chance that a document round finds something missing (halved for an "
        "experienced founder).",
        unit="probability",
        source=f"{ASSUMED}, range 0.1-0.5",
        to="pc_missing",
    )
    desk_days_digital: float = param(
        ...,
        ge=0.0,
        le=3650.0,
        description="The regulator's own assessment time when it works on its digital platform.",
        unit="days",
        source="client charters (docs/evidence.md s1)",
        to="pc_desk_digital",
    )
    desk_days_conventional: float = param(
        ...,
        ge=0.0,
        le=3650.0,
        description="The regulator's own assessment time on paper.",
        unit="days",
        source="client charters before the reforms (docs/evidence.md s1)",
        to="pc_desk_conventional",
    )
    site_audit: bool = param(
        False,
        unit="-",
        source="docs/evidence.md s1.4 (audits stay physical)",
        to="pc_site_visit",
        description="Whether an audit or inspection on site is needed (face to face; by video "
        "only under remote processing on the digital platform).",
    )
    digitalisation: Digitalisation = Field(default_factory=Digitalisation)


def default_procedures() -> list[Procedure]:
    """The procedures of a Malaysian food-and-beverage SME's first export (docs/evidence.md
    section 1, with its grades: A read in the source, X an assumption with a range).

    * business licence (local authority): no duration found (X: 14-60 days on paper, 7-30 on a
      portal; a premises inspection stays); most operating SMEs hold one (X: 10% outstanding).
    * halal certificate (JAKIM): 30 working days after the fee, client charter (A) = 42 days
      on MYeHALAL; paper era 2-3 times (X: 105 days); audit on site; both case firms held one
      before exporting (003 s4.1); outstanding for half of SMEs (X, range 0.3-0.7).
    * food-safety certificate (MeSTI, Ministry of Health): about 6 months under supervision
      (A, Borneo Post 2019), barely shortened by a portal (X: 150 digital, 180 paper); for a
      quarter of SMEs (X, range 0.1-0.4).
    * product certificate (SIRIM): about two months (B/C), assessment 1.4-2 times longer on paper
      (A for desk reviews, MITI charter: 7 vs 5 working days): 60 and 90 days; a fifth of SMEs
      (X, range 0.1-0.4).
    * export documents (certificate of origin with cost analysis, MITI client charter (A):
      manual 2 + 7 working days, online 1 + 5 = 12.6 and 8.4 calendar days; permits over
      ePermit): every first export.

    Digitalisation: the regulators' platforms came earlier than the agencies' DIP (ePermit
    2006-2012, origin certificates online only from 2013, MYeHALAL and FoSIM online; docs/
    evidence.md s1): half from the start for export documents and halal, a quarter for the
    others, all from 2015 (dates X within 2012-2018).
    """

    def plan(start: float) -> Digitalisation:
        return Digitalisation(
            level=start, schedule=[DigitalisationStep(date=dt.date(2015, 1, 1), level=1.0)]
        )

    spec = [
        # name, outstanding, missing, digital days, paper days, audit, level in 2010, text
        ("business_licence", 0.1, 0.29, 15.0, 30.0, True, 0.25, "local authority (PBT)"),
        ("halal_certificate", 0.5, 0.29, 42.0, 105.0, True, 0.5, "JAKIM, MYeHALAL"),
        ("food_safety_certificate", 0.25, 0.29, 150.0, 180.0, True, 0.25, "MeSTI, MOH"),
        ("product_certificate", 0.2, 0.29, 60.0, 90.0, True, 0.25, "SIRIM"),
        ("export_documents", 1.0, 0.29, 8.4, 12.6, False, 0.5, "MITI origin, ePermit"),
    ]
    return [
        Procedure(
            name=name,
            outstanding_share=share,
            missing_document_prob=missing,
            desk_days_digital=digital,
            desk_days_conventional=paper,
            site_audit=audit,
            digitalisation=plan(level),
            description=text,
        )
        for name, share, missing, digital, paper, audit, level, text in spec
    ]


# --------------------------------------------------------------------------------------------
# Events (002, 003)
# --------------------------------------------------------------------------------------------
class EventBase(Strict):
    start: dt.date = param(
        ...,
        strict=False,
        unit="date",
        source="-",
        feeds=DATED,
        description="First day of the event (events before the run apply at its start).",
    )
    end: dt.date | None = param(
        None,
        strict=False,
        description="Inclusive end date; none = to the horizon.",
        unit="date",
        source="-",
        feeds=DATED,
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> EventBase:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class MovementControl(EventBase):
    """Pandemic movement-control order (002, 003: COVID-19 MCO)."""

    type: Literal["movement_control"]
    blocked_channels: list[str] = param(
        default_factory=lambda: ["face_to_face"],
        unit="channels",
        source=MCO_SOURCE,
        to="tl_blocked",
        via="mask_or",
        description="Channels that cannot be used.",
    )
    slowed_channels: dict[str, Annotated[float, Field(ge=1.0, le=100.0)]] = param(
        default_factory=lambda: {"paper": 3.0, "fax": 2.0},
        unit="multiplier",
        source=MCO_SOURCE,
        to="tl_slow",
        via="per_channel_mul",
        description="Latency multiplier per channel.",
    )
    export_demand: Share = param(
        0.6,
        description="Multiplier on export-opportunity rates.",
        unit="multiplier",
        source=MCO_SOURCE,
        to="tl_demand",
        via="mul",
    )
    adoption_push: Share = param(
        0.2,
        description="Added to every SME's intention to adopt DIP.",
        unit="intention",
        source=MCO_SOURCE,
        to="tl_adoption_push",
        via="add",
    )
    remote_processing: bool = param(
        True,
        description="Digitalised agencies keep working remotely during the order: they accept "
        "documents over DIP instead of a physical proposal, and hold site visits by video with "
        "SMEs that use DIP (003 section 4.2: DIP fully used during the pandemic).",
        unit="-",
        source=MCO_SOURCE,
        to="tl_remote",
        via="or",
    )


class RegulationChange(EventBase):
    """A rule that demands compliance, e.g. the Food Act sugar rule (002)."""

    type: Literal["regulation_change"]
    affected_share: Share = param(
        1.0,
        unit="share",
        source=f"{S002} s IV (Food Act sugar rule); sizes {ASSUMED}",
        feeds="reg_share",
        description="Share of SMEs the rule applies to.",
    )
    readiness_penalty: Share = param(
        0.3,
        description="Share of export propensity lost until the SME complies.",
        unit="share",
        source=f"{S002} s IV (Food Act sugar rule); sizes {ASSUMED}",
        feeds="reg_penalty",
    )


class TaxChange(EventBase):
    """A tax that raises costs, e.g. GST (002)."""

    type: Literal["tax_change"]
    financial_loss: Share = param(
        0.1,
        description="Share of financial accessibility lost at start.",
        unit="share",
        source=f"{S002} s IV (GST raised operating costs); size {ASSUMED}",
        feeds="tax_loss",
    )


class FreeTradeAgreement(EventBase):
    """CPTPP, RCEP and the like raise export opportunity."""

    type: Literal["free_trade_agreement"]
    opportunity_multiplier: float = param(
        1.3,
        ge=0.0,
        le=20.0,
        unit="multiplier",
        source=f"{S003} s2.2, s4.3 (CPTPP, RCEP); size {ASSUMED}",
        to="tl_demand",
        via="mul",
        description="Multiplier on export-opportunity rates from the start date.",
    )


class AgencyDigitalisation(EventBase):
    """An agency digitalisation plan (Public Sector Digitalisation Strategic Plan 2021-2025).

    The agencies' DIP level is ``level`` from ``start`` to ``end`` (to the horizon when no end),
    overriding their own digitalisation schedules over those dates; after ``end`` their own
    schedule applies again.
    """

    type: Literal["agency_digitalisation"]
    agencies: list[str] = param(
        default_factory=list,
        max_length=MAX_ITEMS,
        description="Empty = every agency and every procedure's regulator; names may be "
        "agencies' or procedures'.",
        unit="agencies",
        source=f"{S003} s4.2 (Public Sector Digitalisation Strategic Plan 2021-2025)",
        feeds=("tl_agency_level", "tl_procedure_level"),
    )
    level: Share = param(
        1.0,
        unit="share",
        source=f"{S003} s4.2 (Public Sector Digitalisation Strategic Plan 2021-2025)",
        feeds=("tl_agency_level", "tl_procedure_level"),
        description="DIP level of the agencies over the event's dates.",
    )


Event = Annotated[
    MovementControl | RegulationChange | TaxChange | FreeTradeAgreement | AgencyDigitalisation,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------------------------
# Scenario
# --------------------------------------------------------------------------------------------
class Scenario(Strict):
    """A complete simulation scenario. All defaults = the Malaysian F&B baseline."""

    name: str = param(
        "baseline",
        min_length=1,
        max_length=MAX_NAME_CHARS,
        pattern=r"^[A-Za-z0-9_\-\.]+$",
        description="Names the results folder: letters, digits, '_', '-' and '.' only.",
        unit="-",
        source="-",
        structural="names the results folder",
    )
    description: str = param(
        "", unit="-", source="-", structural="free text", description="Free text."
    )
    seed: int = param(
        20221116,
        ge=0,
        le=2**63 - 1,
        unit="-",
        source="-",
        structural="seed of the random streams, passed to the engines as is",
        description="Seed of the random streams; replication r uses child stream r.",
    )
    replications: int = param(
        20,
        ge=1,
        le=1_000_000,
        unit="runs",
        source="20 keep 95% CIs of shares within about +/-0.01 (docs/model.md)",
        structural="number of runs of the scenario, not a model parameter",
        description="Number of stochastic replications.",
    )
    time: TimeSpec = Field(default_factory=TimeSpec)
    population: Population = Field(default_factory=Population)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    export_market: ExportMarket = Field(default_factory=ExportMarket)
    channels: dict[str, Channel] = Field(default_factory=default_channels, min_length=1)
    programmes: dict[FocusArea, Programme] = Field(default_factory=default_programmes)
    cocreation: CoCreation = Field(default_factory=CoCreation)
    agencies: list[Agency] = Field(
        default_factory=default_agencies, min_length=1, max_length=MAX_ITEMS
    )
    procedures: list[Procedure] = Field(
        default_factory=default_procedures,
        max_length=62,
        description="Licences, certificates and permits on the path to a first export, "
        "obtained one after another in this order.",
    )
    events: list[Event] = Field(default_factory=list, max_length=MAX_ITEMS)

    @property
    def n_steps(self) -> int:
        return int(round(self.time.horizon_years * 365.25 / self.time.step_days))
