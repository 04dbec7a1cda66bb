"""Decomposing the digital-agency effect by DIP's pathways, one pathway switched off at a time.

The *digital-agency effect* is the contrast of the calibration variants ``conventional_agencies``
and ``digital_agencies`` (``simsme/data/targets.yaml``: an ``agency_digitalisation`` event at
level 0 or 1 from 1900-01-01, for every agency and every procedure's regulator), read on two
per-replication statistics (:func:`simsme.calibration.check.run_statistics`):

* ``restricted_mean_ttfe_weeks``: the restricted mean time to first export over all SMEs
  (non-exporters count as exporting at the horizon); the effect is conventional minus digital,
  so a positive effect means SMEs export *sooner* with digital agencies;
* ``share_exported``: the effect is digital minus conventional (more SMEs export).

A *pathway* is one way DIP acts in the model (:data:`PATHWAYS`: latency, bureaucracy, physical
documents, procedures, co-creation, dissemination, e-marketplace, remote processing). Switching it
off is a set of changes to the scenario (dotted paths as in ``--set``, and extra events) applied to
**both** arms, so that the effect without the pathway is ``conventional_off - digital_off``. For a
pathway that only exists under DIP agencies the conventional arm does not change (the result
says so, ``conventional_changed``); for one the SMEs have whatever the agencies do (the
e-marketplace) switching it off in the digital arm alone would attribute its whole effect on TTFE
to the agencies.

Every arm runs with the scenario's seed, so replication ``r`` of every arm starts from the same
population and random streams (common random numbers). For each pathway the result gives the
effect with it off and its *share* of the full effect (``full - effect_without``), each with a 95%
Student-t interval over the paired per-replication differences; the share's fraction of the full
effect comes with a percentile bootstrap interval over replications. The *interaction* row is the
full effect minus the sum of the single pathways' shares (what pathways do only together, or
undo together).

A pathway whose paths do not exist in the scenario, or whose events it lacks (remote processing
needs a movement-control order), is reported ``unavailable`` with the reason; one whose changes
leave both arms as they are (every agency already requires physical documents) is ``inactive``:
its share is exactly 0 and nothing is run for it.

:func:`range_check` reruns each pathway's decomposition with the assumption its size rests on at
the low and high ends of its range (:attr:`Pathway.ranges`). docs/decomposition.md describes the
pathways, their sources and a run.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simsme.errors import ScenarioError, SimsmeError, did_you_mean
from simsme.results.summary import mean_ci
from simsme.scenario import paths
from simsme.scenario.loading import scenario_hash, validate_scenario
from simsme.scenario.schema import Scenario

CONVENTIONAL, DIGITAL = "conventional_agencies", "digital_agencies"
"""The variants of ``simsme/data/targets.yaml`` whose contrast is the digital-agency effect."""

STATISTICS: dict[str, int] = {"restricted_mean_ttfe_weeks": -1, "share_exported": 1}
"""Statistics decomposed, with the sign that makes a positive effect favour digital agencies:
the effect is ``sign * (digital - conventional)``."""

OK, INACTIVE, UNAVAILABLE = "ok", "inactive", "unavailable"
RANGES_SUFFIX = ".ranges.csv"
"""The range check's table, next to the decomposition's CSV."""
FULL, INTERACTION = "full", "interaction"
LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 12

COLUMNS = [
    "statistic",
    "pathway",
    "status",
    "effect",
    "effect_low",
    "effect_high",
    "share",
    "share_low",
    "share_high",
    "fraction",
    "fraction_low",
    "fraction_high",
    "replications",
    "conventional_changed",
    "note",
]


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Like:
    """An override value copied from another path of the same scenario (``channels.paper.
    bureaucracy``): the pathway then follows that scenario's conventional value."""

    path: str


@dataclass(frozen=True)
class Times:
    """An override value: the value found at each path, times ``factor`` (a range check's
    "reach x 2")."""

    factor: float


@dataclass(frozen=True)
class Range:
    """One end of the range of the assumption a pathway's size rests on: changes to the
    scenario (as :attr:`Pathway.overrides`) made before the arms, in both."""

    label: str
    overrides: tuple[tuple[str, Any], ...]


PROCEDURES = "<procedures>"
"""In an extra event's ``agencies``: the names of the scenario's procedures."""


@dataclass(frozen=True)
class Pathway:
    """One way DIP acts in the model, and how to switch it off.

    ``overrides``: ``(path, value)`` pairs as in ``--set`` (``*`` = every item or key); a part
    ``[key=value]`` keeps only the items or keys whose mapping has that value
    (``channels.[kind=digital].bureaucracy``, ``events.[type=movement_control]...``); a value
    :class:`Like` is read from the scenario. ``events``: events appended to the scenario's (an
    ``agencies`` of :data:`PROCEDURES` names its procedures).
    """

    name: str
    description: str
    switch: str
    """What switching it off does, in words."""
    source: str
    """Seed file and section the pathway rests on (docs/evidence.md for researched figures)."""
    size: str
    """The parameters that set its size, how sure they are, and the range explored."""
    overrides: tuple[tuple[str, Any], ...] = ()
    events: tuple[dict[str, Any], ...] = ()
    needs: str = ""
    """Why it is unavailable in a scenario that lacks what it switches (in words)."""
    ranges: tuple[Range, ...] = ()
    """The low and high ends of the assumption its size rests on (:func:`range_check`)."""


PATHWAYS: dict[str, Pathway] = {
    p.name: p
    for p in (
        Pathway(
            name="latency",
            description="an exchange over a digital channel takes hours, not the days or weeks of "
            "posted forms and meetings",
            switch="every digital channel's latency (median_days and sigma) set to paper's",
            source="003_9e0cb3511f01b6dc.txt s4.1-4.2 (posted proposals and meetings take weeks, "
            "WhatsApp answers the same day), Table 4; docs/evidence.md s1.4 (transmission steps "
            "5-70 times quicker online)",
            size="channels.*.latency.median_days: assumed orders of magnitude (schema); the Morris "
            "screening (scenarios/sweeps/03-morris-screening.yaml) varies the medians of whatsapp "
            "0.1-3, web_portal 0.25-7, email 0.5-7, paper 3-30 and face_to_face 3-30 days",
            overrides=(
                (
                    "channels.[kind=digital].latency.median_days",
                    Like("channels.paper.latency.median_days"),
                ),
                ("channels.[kind=digital].latency.sigma", Like("channels.paper.latency.sigma")),
            ),
            ranges=(
                Range(
                    "quick digital channels (Morris lower bounds)",
                    (
                        ("channels.whatsapp.latency.median_days", 0.1),
                        ("channels.web_portal.latency.median_days", 0.25),
                        ("channels.email.latency.median_days", 0.5),
                    ),
                ),
                Range(
                    "slow digital channels (Morris upper bounds)",
                    (
                        ("channels.whatsapp.latency.median_days", 3.0),
                        ("channels.web_portal.latency.median_days", 7.0),
                        ("channels.email.latency.median_days", 7.0),
                    ),
                ),
            ),
        ),
        Pathway(
            name="bureaucracy",
            description="hand-offs and hierarchy take less time over DIP",
            switch="every digital channel's bureaucracy multiplier set to paper's",
            source="003_9e0cb3511f01b6dc.txt s4.2 (DIP 'less bureaucratic and hierarchical'); "
            "002_6798e086be6a8ea8.txt (DIP reduced the bureaucratic burden)",
            size="channels.*.bureaucracy: assumed (digital 0.5-0.8, conventional 1.2-1.5); no "
            "shipped sweep varies it",
            overrides=(
                ("channels.[kind=digital].bureaucracy", Like("channels.paper.bureaucracy")),
            ),
            ranges=(
                Range("digital multipliers 0.3", (("channels.[kind=digital].bureaucracy", 0.3),)),
                Range("digital multipliers 1.0", (("channels.[kind=digital].bureaucracy", 1.0),)),
            ),
        ),
        Pathway(
            name="physical_documents",
            description="documents travel over DIP instead of a physical proposal for the "
            "committee",
            switch="every agency requires physical documents "
            "(agencies.*.bureaucracy.requires_physical_documents true), on DIP too",
            source="003_9e0cb3511f01b6dc.txt s4.2 (physical proposals for the committee and data "
            "security); docs/evidence.md s1.2 (origin certificates online only, no hard copy, "
            "from 2013)",
            size="agencies.*.bureaucracy.requires_physical_documents: true by default (003 s4.2), "
            "so the pathway is inactive unless a scenario lets agencies take documents over DIP",
            overrides=(("agencies.*.bureaucracy.requires_physical_documents", True),),
            ranges=(
                Range(
                    "agencies take documents over DIP",
                    (("agencies.*.bureaucracy.requires_physical_documents", False),),
                ),
            ),
        ),
        Pathway(
            name="procedures",
            description="regulators' licences, certificates and permits handled on their "
            "digital platforms",
            switch="the procedures' regulators stay conventional in the digital arm (an "
            "agency_digitalisation event at level 0 naming every procedure, after the arm's own)",
            source="003_9e0cb3511f01b6dc.txt s4.1 (halal certificates before exporting); "
            "docs/evidence.md s1 (client charters: digital and paper durations of licences, "
            "halal, origin certificates)",
            size="procedures.*.desk_days_digital / desk_days_conventional (docs/evidence.md s1, "
            "grades A to X) and outstanding_share (assumed, ranges in evidence.md)",
            events=(
                {
                    "type": "agency_digitalisation",
                    "start": "1900-01-01",
                    "level": 0.0,
                    "agencies": PROCEDURES,
                },
            ),
            needs="it has no procedures (licences, certificates, permits)",
            ranges=(
                Range(
                    "halal on paper 84 days (2 x charter), outstanding 0.3",
                    (
                        ("procedures.halal_certificate.desk_days_conventional", 84.0),
                        ("procedures.halal_certificate.outstanding_share", 0.3),
                    ),
                ),
                Range(
                    "halal on paper 126 days (3 x charter), outstanding 0.7",
                    (
                        ("procedures.halal_certificate.desk_days_conventional", 126.0),
                        ("procedures.halal_certificate.outstanding_share", 0.7),
                    ),
                ),
            ),
        ),
        Pathway(
            name="cocreation",
            description="programmes tailored with the SME over DIP, agencies learning SMEs' "
            "needs, co-created programmes widening the SME's external sourcing",
            switch="cocreation.bonus, cocreation.agency_learning_rate and "
            "behaviour.capability.cocreation_sourcing_gain set to 0 (the no_cocreation variant "
            "of targets.yaml)",
            source="003_9e0cb3511f01b6dc.txt s4.2 and s5 (tailor-made programmes, agencies learn); "
            "000_8e43523aad10feae.txt s V; 004_71dd89347508b38e.txt Figure 4 (external sourcing "
            "-> co-innovation)",
            size="cocreation.bonus (assumed 0.5; the Sobol sweep scenarios/sweeps/"
            "02-sobol-uncertain-parameters.yaml varies it 0-1.5), agency_learning_rate and "
            "cocreation_sourcing_gain (assumed)",
            overrides=(
                ("cocreation.bonus", 0.0),
                ("cocreation.agency_learning_rate", 0.0),
                ("behaviour.capability.cocreation_sourcing_gain", 0.0),
            ),
            ranges=(
                Range("bonus 0 (Sobol lower bound)", (("cocreation.bonus", 0.0),)),
                Range("bonus 1.5 (Sobol upper bound)", (("cocreation.bonus", 1.5),)),
            ),
        ),
        Pathway(
            name="dissemination",
            description="agencies push programme information over social media, WhatsApp, "
            "portals and e-mail (and public Q&A on social media is seen by others)",
            switch="every digital channel's dissemination_reach_per_year and visibility set to 0 "
            "(agencies reach SMEs only over conventional channels)",
            source="003_9e0cb3511f01b6dc.txt s4.2 (WhatsApp, Facebook, Twitter, Instagram popular "
            "to disseminate; public social-media interactions), Table 4",
            size="channels.*.dissemination_reach_per_year (assumed 0.05-0.4 per year); no shipped "
            "sweep varies it",
            overrides=(
                ("channels.[kind=digital].dissemination_reach_per_year", 0.0),
                ("channels.[kind=digital].visibility", 0.0),
            ),
            ranges=(
                Range(
                    "digital reach x 0.5",
                    (("channels.[kind=digital].dissemination_reach_per_year", Times(0.5)),),
                ),
                Range(
                    "digital reach x 2",
                    (("channels.[kind=digital].dissemination_reach_per_year", Times(2.0)),),
                ),
            ),
        ),
        Pathway(
            name="e_marketplace",
            description="listing on e-marketplaces (e-Trade) over portals and social media "
            "brings export opportunities",
            switch="every digital channel's export_reach_per_year set to 0, in both arms (the "
            "listing is the SMEs' own, whatever the agencies do: only its interaction with "
            "digital agencies counts)",
            source="000_8e43523aad10feae.txt (e-Trade e-marketplace); 003_9e0cb3511f01b6dc.txt "
            "s4.3 (eTRADE)",
            size="channels.*.export_reach_per_year (assumed: web_portal 0.15, social_media 0.10 "
            "per year); no shipped sweep varies it",
            overrides=(("channels.[kind=digital].export_reach_per_year", 0.0),),
            ranges=(
                Range(
                    "export reach x 0.5",
                    (("channels.[kind=digital].export_reach_per_year", Times(0.5)),),
                ),
                Range(
                    "export reach x 2",
                    (("channels.[kind=digital].export_reach_per_year", Times(2.0)),),
                ),
            ),
        ),
        Pathway(
            name="remote_processing",
            description="during a movement-control order digitalised agencies keep working: "
            "documents over DIP, site visits by video",
            switch="remote_processing false in every movement_control event",
            source="003_9e0cb3511f01b6dc.txt s4.2 (DIP fully used during the pandemic); "
            "docs/evidence.md s1.2 (origin-certificate endorsement without physical presence "
            "from 13 April 2020), s1.3 (MYeHALAL review continued, audits postponed)",
            size="events[].remote_processing (a switch) and the order's dates; acts only in "
            "scenarios with a movement_control event (scenarios/pandemic-mco.yaml)",
            overrides=(("events.[type=movement_control].remote_processing", False),),
            needs="it has no movement_control event (remote processing acts only during one)",
        ),
    )
}
"""Every pathway of DIP, in the order of docs/decomposition.md."""


class Unavailable(Exception):
    """A pathway cannot be switched off in this scenario; the message says why."""


_FILTER = re.compile(r"^\[([A-Za-z0-9_]+)=([A-Za-z0-9_\-.]+)\]$")


def expand_filtered(data: Any, path: str) -> list[str]:
    """Concrete dotted paths for ``path``, where a part ``[key=value]`` is every item of a list
    or key of a mapping whose own mapping has ``key`` equal to ``value``; a ``*`` after the last
    such part is left for :func:`simsme.scenario.paths.set_values`. Raises :class:`Unavailable`
    when a filter matches nothing or a part before it does not exist."""
    parts = path.split(".")
    found: list[str] = []
    misses: list[str] = []

    def children(node: Any) -> list[tuple[str, Any]]:
        if isinstance(node, dict):
            return [(str(k), v) for k, v in node.items()]
        if isinstance(node, list):
            return [(str(i), v) for i, v in enumerate(node)]
        return []

    def walk(node: Any, depth: int, prefix: list[str]) -> None:
        if not any(_FILTER.match(p) for p in parts[depth:]):
            found.append(".".join([*prefix, *parts[depth:]]))  # the rest: set_values's
            return
        part = parts[depth]
        match = _FILTER.match(part)
        if match is not None:
            key, value = match.groups()
            chosen = [
                (name, child)
                for name, child in children(node)
                if isinstance(child, dict) and str(child.get(key)) == value
            ]
            if not chosen:
                where = ".".join(prefix) or "the scenario"
                misses.append(f"no item of '{where}' has {key} {value}")
            for name, child in chosen:
                walk(child, depth + 1, [*prefix, name])
        elif part == paths.WILDCARD:
            for name, child in children(node):
                walk(child, depth + 1, [*prefix, name])
        else:
            child = paths.get_value(node, part) if isinstance(node, dict | list) else paths.MISSING
            if child is paths.MISSING:
                raise Unavailable(f"the scenario has no '{'.'.join([*prefix, part])}'")
            walk(child, depth + 1, [*prefix, part])

    walk(data, 0, [])
    if not found:
        raise Unavailable(misses[0] if misses else f"'{path}' matches nothing")
    return found


def _resolve_value(data: dict[str, Any], value: Any) -> Any:
    if isinstance(value, Times):
        return value
    if isinstance(value, Like):
        found = paths.get_value(data, value.path)
        if found is paths.MISSING:
            raise Unavailable(f"the scenario has no '{value.path}'")
        return copy.deepcopy(found)
    return value


def _resolve_event(data: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    event = dict(event)
    if event.get("agencies") == PROCEDURES:
        names = [p.get("name") for p in data.get("procedures") or [] if isinstance(p, dict)]
        if not names:
            raise Unavailable("the scenario has no procedures")
        event["agencies"] = names
    return event


def apply_changes(
    scenario: Scenario,
    overrides: Iterable[tuple[str, Any]] = (),
    events: Iterable[dict[str, Any]] = (),
    source: str = "<decompose>",
) -> Scenario:
    """``scenario`` with ``overrides`` (paths with ``*`` and ``[key=value]`` parts; values
    plain, :class:`Like` or :class:`Times`) set and ``events`` appended; raises
    :class:`Unavailable` when the scenario lacks a path or event, or its schema refuses a value."""
    data = scenario.model_dump(mode="json")
    try:
        for path, value in overrides:
            resolved = _resolve_value(data, value)
            for filtered in expand_filtered(data, path):
                for concrete in paths.expand(data, filtered, source):
                    new = resolved
                    if isinstance(value, Times):
                        old = paths.get_value(data, concrete)
                        if not isinstance(old, int | float) or isinstance(old, bool):
                            raise Unavailable(f"'{concrete}' is not a number")
                        new = old * value.factor
                    paths.set_value(data, concrete, copy.deepcopy(new), source)
        data["events"] = [*data.get("events", []), *(_resolve_event(data, e) for e in events)]
        return validate_scenario(data, source)
    except ScenarioError as err:
        raise Unavailable("; ".join(err.problems)) from None


def switch_off(scenario: Scenario, pathway: Pathway | str) -> Scenario:
    """``scenario`` with ``pathway`` switched off; raises :class:`Unavailable` when it cannot be
    (paths or events the scenario lacks, or a value its schema refuses)."""
    pathway = PATHWAYS[pathway] if isinstance(pathway, str) else pathway
    return apply_changes(scenario, pathway.overrides, pathway.events, f"pathway '{pathway.name}'")


def select_pathways(names: Iterable[str] | None, option: str = "--pathway") -> list[Pathway]:
    """The pathways named (all, in registry order, when ``names`` is empty)."""
    names = list(names or [])
    if not names:
        return list(PATHWAYS.values())
    problems = [
        f"'{n}' is not a pathway{did_you_mean(n, PATHWAYS)}" for n in names if n not in PATHWAYS
    ]
    if problems:
        raise SimsmeError(
            f"{option}: {'; '.join(problems)}; expected some of {', '.join(PATHWAYS)}"
        )
    return [PATHWAYS[n] for n in dict.fromkeys(names)]


# --------------------------------------------------------------------------------------------
# Running the arms
# --------------------------------------------------------------------------------------------
@dataclass
class Arm:
    """One scenario to run: the arms of a pathway, or the two arms of the full effect."""

    name: str
    scenario: Scenario
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = scenario_hash(self.scenario)


@dataclass
class Plan:
    """The arms to run, and each pathway's status before running."""

    conventional: Arm
    digital: Arm
    pathways: dict[str, tuple[str, str, Arm | None, Arm | None]]
    """name -> (status, note, conventional arm off, digital arm off)."""

    def arms(self) -> list[Arm]:
        """Distinct arms (by resolved scenario) in order of first use."""
        seen: dict[str, Arm] = {}
        for arm in [self.conventional, self.digital]:
            seen.setdefault(arm.key, arm)
        for status, _, conv, dig in self.pathways.values():
            if status == OK:
                for arm in (conv, dig):
                    assert arm is not None
                    seen.setdefault(arm.key, arm)
        return list(seen.values())


def arms_of(scenario: Scenario) -> tuple[Scenario, Scenario]:
    """The conventional and digital arms of ``scenario`` (targets.yaml variants)."""
    from simsme.calibration.check import variant_scenario
    from simsme.calibration.targets import load_targets

    variants = load_targets().variants
    arms = []
    for name in (CONVENTIONAL, DIGITAL):
        resolved = variant_scenario(scenario, name, variants[name], None)
        assert resolved is not None  # event variants, never files
        arms.append(resolved)
    return arms[0], arms[1]


def plan(scenario: Scenario, pathways: Iterable[Pathway | str] | None = None) -> Plan:
    """The arms of the decomposition of ``scenario``, without running anything."""
    chosen = [
        PATHWAYS[p] if isinstance(p, str) else p
        for p in (PATHWAYS.values() if pathways is None else pathways)
    ]
    conventional, digital = arms_of(scenario)
    conv, dig = Arm(CONVENTIONAL, conventional), Arm(DIGITAL, digital)
    found: dict[str, tuple[str, str, Arm | None, Arm | None]] = {}
    for pathway in chosen:
        try:
            conv_off = Arm(f"{CONVENTIONAL}-no-{pathway.name}", switch_off(conventional, pathway))
            dig_off = Arm(f"{DIGITAL}-no-{pathway.name}", switch_off(digital, pathway))
        except Unavailable as why:
            note = f"not available in this scenario: {pathway.needs or why}"
            found[pathway.name] = (UNAVAILABLE, note, None, None)
            continue
        if dig_off.key == dig.key and conv_off.key == conv.key:
            found[pathway.name] = (
                INACTIVE,
                "inactive: switching it off changes nothing here",
                conv_off,
                dig_off,
            )
            continue
        found[pathway.name] = (OK, "", conv_off, dig_off)
    return Plan(conv, dig, found)


def _run_arms(
    arms: list[Arm],
    replications: int,
    seed: int,
    threads: int | None,
    progress: Callable[[int], None] | None,
) -> dict[str, pd.DataFrame]:
    from simsme.calibration.check import run_statistics

    out = {}
    for arm in arms:
        stats = run_statistics(
            arm.scenario, replications, seed=seed, threads=threads, progress=progress
        )
        out[arm.key] = stats.set_index("replication").sort_index()
    return out


# --------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------
def _t(values: np.ndarray) -> tuple[float, float, float]:
    ci = mean_ci(values, level=LEVEL)
    nan = math.nan
    return (
        nan if ci["mean"] is None else ci["mean"],
        nan if ci["ci_low"] is None else ci["ci_low"],
        nan if ci["ci_high"] is None else ci["ci_high"],
    )


def _fraction(share: np.ndarray, full: np.ndarray) -> tuple[float, float, float]:
    """Ratio of the mean share to the mean full effect, with a percentile bootstrap interval
    over replications (paired: one resample index for both)."""
    ok = np.isfinite(share) & np.isfinite(full)
    share, full = share[ok], full[ok]
    if len(share) == 0 or full.mean() == 0:
        return math.nan, math.nan, math.nan
    point = float(share.mean() / full.mean())
    if len(share) < 2:
        return point, math.nan, math.nan
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, len(share), size=(BOOTSTRAP_RESAMPLES, len(share)))
    denom = full[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = share[idx].mean(axis=1) / denom
    ratios = ratios[np.isfinite(ratios)]
    if len(ratios) < BOOTSTRAP_RESAMPLES // 2:
        return point, math.nan, math.nan
    alpha = (1 - LEVEL) / 2
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return point, float(low), float(high)


def _effect(stats: dict[str, pd.DataFrame], conv: Arm, dig: Arm, name: str) -> np.ndarray:
    sign = STATISTICS[name]
    return sign * (stats[dig.key][name].to_numpy(float) - stats[conv.key][name].to_numpy(float))


# --------------------------------------------------------------------------------------------
# The decomposition
# --------------------------------------------------------------------------------------------
@dataclass
class Decomposition:
    """The table (one row per statistic and pathway, :data:`COLUMNS`) and what produced it."""

    scenario: str
    replications: int
    seed: int
    table: pd.DataFrame
    statistics: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)
    """Per-replication statistics of every arm run, by arm name."""


def total_runs(planned: Plan, replications: int) -> int:
    """Replications run in all (for a progress bar)."""
    return len(planned.arms()) * replications


def decompose(
    scenario: Scenario,
    replications: int | None = None,
    pathways: Iterable[Pathway | str] | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    planned: Plan | None = None,
) -> Decomposition:
    """Decompose the digital-agency effect of ``scenario`` by DIP's pathways.

    Parameters
    ----------
    scenario: the scenario (overrides applied); its seed seeds every arm.
    replications: replications per arm (default: the scenario's).
    pathways: the pathways to switch off (default: all of :data:`PATHWAYS`).
    threads: kernel threads (default: all cores).
    progress: called with the number of replications just finished.
    planned: the arms from :func:`plan` (made here when not given).

    Returns a :class:`Decomposition` whose table has, per statistic, a row ``full`` (the effect
    of digital agencies), one per pathway (effect with it off, its share, and the share's
    fraction of the full effect) and a row ``interaction`` (full effect minus the sum of the
    pathways' shares), each with a 95% interval.
    """
    n = replications or scenario.replications
    if n < 2:
        raise SimsmeError(f"--replications: {n}: expected at least 2 (intervals need two)")
    planned = planned or plan(scenario, pathways)
    stats = _run_arms(planned.arms(), n, scenario.seed, threads, progress)
    every = set(planned.pathways) == set(PATHWAYS)
    conv, dig = planned.conventional, planned.digital
    rows: list[dict[str, Any]] = []
    for name in STATISTICS:
        full = _effect(stats, conv, dig, name)
        f_mean, f_low, f_high = _t(full)
        rows.append(
            {
                "statistic": name,
                "pathway": FULL,
                "status": OK,
                "effect": f_mean,
                "effect_low": f_low,
                "effect_high": f_high,
                "share": f_mean,
                "share_low": f_low,
                "share_high": f_high,
                "fraction": 1.0,
                "fraction_low": 1.0,
                "fraction_high": 1.0,
                "replications": n,
                "conventional_changed": False,
                "note": "conventional minus digital agencies"
                if STATISTICS[name] < 0
                else "digital minus conventional agencies",
            }
        )
        shares = np.zeros_like(full)
        for pathway, (status, note, conv_off, dig_off) in planned.pathways.items():
            row: dict[str, Any] = {
                "statistic": name,
                "pathway": pathway,
                "status": status,
                "replications": n,
                "note": note,
            }
            if status == UNAVAILABLE:
                rows.append(row)
                continue
            assert conv_off is not None and dig_off is not None
            if status == INACTIVE:
                without = full
                changed = False
            else:
                without = _effect(stats, conv_off, dig_off, name)
                changed = conv_off.key != conv.key and not np.array_equal(
                    stats[conv_off.key][name].to_numpy(float),
                    stats[conv.key][name].to_numpy(float),
                    equal_nan=True,
                )
            share = full - without
            shares = shares + share
            e = _t(without)
            s = _t(share)
            fr = _fraction(share, full)
            row.update(
                effect=e[0],
                effect_low=e[1],
                effect_high=e[2],
                share=s[0],
                share_low=s[1],
                share_high=s[2],
                fraction=fr[0],
                fraction_low=fr[1],
                fraction_high=fr[2],
                conventional_changed=changed,
            )
            rows.append(row)
        rest = full - shares
        r = _t(rest)
        fr = _fraction(rest, full)
        rows.append(
            {
                "statistic": name,
                "pathway": INTERACTION,
                "status": OK,
                "share": r[0],
                "share_low": r[1],
                "share_high": r[2],
                "fraction": fr[0],
                "fraction_low": fr[1],
                "fraction_high": fr[2],
                "replications": n,
                "conventional_changed": False,
                "note": "full effect minus the sum of the pathways' shares"
                + ("" if every else " (of the pathways chosen only)"),
            }
        )
    table = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in table:
            table[column] = np.nan
    table = table[COLUMNS]
    table["conventional_changed"] = table["conventional_changed"].astype("boolean")
    names = {arm.key: arm.name for arm in planned.arms()}
    return Decomposition(
        scenario=scenario.name,
        replications=n,
        seed=scenario.seed,
        table=table,
        statistics={names[k]: v for k, v in stats.items()},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Like):
        return {"like": value.path}
    if isinstance(value, Times):
        return {"times": value.factor}
    return value


def write_decomposition(
    result: Decomposition, path: Any, scenario: Scenario, ranges: pd.DataFrame | None = None
) -> Any:
    """Write the table as CSV (atomically), its context as JSON next to it and, when given, the
    range check as ``<name>.ranges.csv``."""
    import datetime as dt
    import sys
    from pathlib import Path

    from simsme.results.fingerprint import code_fingerprint, git_commit
    from simsme.results.folder import write_csv_atomic, write_json_atomic

    path = Path(path)
    write_csv_atomic(result.table, path)
    if ranges is not None:
        write_csv_atomic(ranges, path.with_suffix(RANGES_SUFFIX))
    write_json_atomic(
        {
            "scenario": result.scenario,
            "scenario_hash": scenario_hash(scenario),
            "seed": result.seed,
            "replications": result.replications,
            "arms": sorted(result.statistics),
            "code": code_fingerprint(),
            "git": git_commit(),
            "command": " ".join(sys.argv) if sys.argv else None,
            "written": dt.datetime.now(dt.UTC).isoformat(),
            "pathways": {
                p.name: {
                    "description": p.description,
                    "switch": p.switch,
                    "source": p.source,
                    "size": p.size,
                    "overrides": [[k, _jsonable(v)] for k, v in p.overrides],
                    "events": list(p.events),
                    "ranges": {
                        r.label: [[k, _jsonable(v)] for k, v in r.overrides] for r in p.ranges
                    },
                }
                for p in PATHWAYS.values()
            },
        },
        path.with_suffix(".json"),
    )
    return path


# --------------------------------------------------------------------------------------------
# Range check: each pathway's share at the ends of its assumption
# --------------------------------------------------------------------------------------------
RANGE_COLUMNS = [
    "pathway",
    "setting",
    "statistic",
    "status",
    "full",
    "full_low",
    "full_high",
    "share",
    "share_low",
    "share_high",
    "fraction",
    "fraction_low",
    "fraction_high",
    "replications",
    "note",
]


@dataclass
class RangeCase:
    """One end of one pathway's range: the changed scenario and its arms (``None`` when the
    changes do not apply to the scenario, ``note`` says why)."""

    pathway: Pathway
    range: Range
    scenario: Scenario | None
    planned: Plan | None
    note: str = ""


def range_cases(
    scenario: Scenario, pathways: Iterable[Pathway | str] | None = None
) -> list[RangeCase]:
    """The range check's cases for ``pathways`` (default all), without running anything."""
    chosen = [
        PATHWAYS[p] if isinstance(p, str) else p
        for p in (PATHWAYS.values() if pathways is None else pathways)
    ]
    cases = []
    for pathway in chosen:
        for end in pathway.ranges:
            try:
                changed = apply_changes(scenario, end.overrides, source=f"range '{end.label}'")
            except Unavailable as why:
                cases.append(
                    RangeCase(pathway, end, None, None, f"not available in this scenario: {why}")
                )
                continue
            cases.append(RangeCase(pathway, end, changed, plan(changed, [pathway])))
    return cases


def range_runs(cases: list[RangeCase], replications: int) -> int:
    """Replications run by the range check in all (for a progress bar)."""
    return sum(len(c.planned.arms()) for c in cases if c.planned is not None) * replications


def range_check(
    scenario: Scenario,
    replications: int | None = None,
    pathways: Iterable[Pathway | str] | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    cases: list[RangeCase] | None = None,
) -> pd.DataFrame:
    """Each pathway's share of the digital-agency effect with the assumption its size rests on
    at the low and high ends of its range (:attr:`Pathway.ranges`): one decomposition of that
    pathway alone per end, the changes applied to both arms. One row per pathway, end and
    statistic (:data:`RANGE_COLUMNS`), with the full effect there and the pathway's share."""
    n = replications or scenario.replications
    cases = range_cases(scenario, pathways) if cases is None else cases
    rows: list[dict[str, Any]] = []
    for case in cases:
        base = {"pathway": case.pathway.name, "setting": case.range.label, "replications": n}
        if case.scenario is None:
            rows.extend(
                {**base, "statistic": name, "status": UNAVAILABLE, "note": case.note}
                for name in STATISTICS
            )
            continue
        result = decompose(
            case.scenario,
            n,
            [case.pathway],
            threads=threads,
            progress=progress,
            planned=case.planned,
        )
        table = result.table
        for name in STATISTICS:
            full = table[(table["statistic"] == name) & (table["pathway"] == FULL)].iloc[0]
            one = table[
                (table["statistic"] == name) & (table["pathway"] == case.pathway.name)
            ].iloc[0]
            rows.append(
                {
                    **base,
                    "statistic": name,
                    "status": one["status"],
                    "full": full["effect"],
                    "full_low": full["effect_low"],
                    "full_high": full["effect_high"],
                    **{k: one[k] for k in ("share", "share_low", "share_high")},
                    **{k: one[k] for k in ("fraction", "fraction_low", "fraction_high")},
                    "note": one["note"] if isinstance(one["note"], str) else "",
                }
            )
    out = pd.DataFrame(rows)
    for column in RANGE_COLUMNS:
        if column not in out:
            out[column] = np.nan
    return out[RANGE_COLUMNS]
