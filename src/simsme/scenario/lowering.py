"""Lowering a :class:`Scenario` into flat numpy arrays (``ScenarioArrays``).

Both engines read the scenario only through these arrays, so they cannot disagree about what a
parameter means: the Mesa model reads them attribute by attribute, the numba kernel through the
stacked copy of :mod:`simsme.kernel.params`. Rates are converted to per-step probabilities'
building blocks (per-year rates times ``dt_years``); dates become step indices; channel sets
become bit masks.

The lowering is table-driven (:mod:`simsme.scenario.table`): every parameter declared in the
schema with ``to=NAME`` becomes the attribute ``NAME`` of :class:`ScenarioArrays` (a scalar, one
entry per channel / agency / focus area / region, or a per-step timeline for event parameters),
converted as its ``via`` says. This module adds only what mechanisms derive from several
parameters: sizes, channel masks and the channel preference order, the agencies by focus area,
the agencies' digitalisation timeline, and the one-off shocks (regulation and tax changes).

Time-varying inputs (events, agency digitalisation plans) become per-step timelines, so the
``apply_events`` phase of either engine is a lookup.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from simsme.scenario.schema import FOCUS_AREAS, PURPOSES, RESOURCES, Scenario
from simsme.scenario.table import Column, LowerContext, columns, combine

# Application stages (MODEL.md section 3, phase 5), shared by both engines.
STAGE_NONE = 0
STAGE_SUBMISSION = 1
STAGE_DOCUMENTS = 2
STAGE_ASSESSMENT = 3
STAGE_SITE_VISIT = 4
STAGE_COMMITTEE = 5
STAGE_NOTIFICATION = 6
STAGE_DELIVERY = 7
STAGE_NAMES = (
    "none",
    "submission",
    "documents",
    "assessment",
    "site_visit",
    "committee",
    "notification",
    "delivery",
)

PURPOSE_INDEX = {name: i for i, name in enumerate(PURPOSES)}
P_DISSEMINATION, P_APPLICATION, P_DOCUMENTS, P_FOLLOW_UP, P_NOTIFICATION = range(5)
R_MANAGERIAL, R_PHYSICAL, R_FIRM_SPECIFIC, R_TECHNOLOGY, R_FINANCIAL, R_MARKET = range(6)

DAYS_PER_YEAR = 365.25

DERIVED: tuple[tuple[str, Any], ...] = (
    # sizes and time
    ("n_initial", int),
    ("n_total", int),
    ("n_steps", int),
    ("n_years", int),
    ("n_channels", int),
    ("n_agencies", int),
    ("step_days", float),
    ("dt_years", float),
    # channels
    ("ch_order", np.ndarray),  # [C] channels by preference (fastest, cheapest first)
    ("digital_mask", np.int64),
    ("conventional_mask", np.int64),
    ("documents_mask", np.int64),  # channels that can carry documents
    ("face_to_face", int),  # index of the channel used for site visits (-1: none)
    # agencies
    ("ag_focus", np.ndarray),  # [A] focus-area index
    ("ag_accept", np.ndarray),  # [A, P] channel masks per purpose (PURPOSES)
    ("agencies_by_focus", np.ndarray),  # [5, A] agency indices, -1 padded
    ("n_agencies_by_focus", np.ndarray),  # [5]
    ("tl_agency_level", np.ndarray),  # [T, A] digitalisation level
    # procedures (licences, certificates, permits before a first export)
    ("n_procedures", int),
    ("pc_accept", np.ndarray),  # [K] channel masks
    ("tl_procedure_level", np.ndarray),  # [T, K] the regulators' digitalisation level
    # one-off shocks, by step
    ("reg_start", np.ndarray),  # [K]
    ("reg_end", np.ndarray),  # [K] (n_steps when open-ended)
    ("reg_share", np.ndarray),
    ("reg_penalty", np.ndarray),
    ("tax_start", np.ndarray),
    ("tax_loss", np.ndarray),
)
"""Arrays that mechanisms of this module derive; every other attribute comes from the table."""


@cache
def table_columns(model: type[Scenario] = Scenario) -> tuple[Column, ...]:
    """The arrays the parameter table declares (``param(to=...)``) for a scenario class."""
    cols = tuple(columns(model))
    clash = {c.name for c in cols} & {name for name, _ in DERIVED}
    if clash:
        raise TypeError(f"parameters lowered to arrays this module derives: {sorted(clash)}")
    return cols


def _column_type(col: Column) -> Any:
    return float if col.axis is None else np.ndarray


@cache
def arrays_type(model: type[Scenario] = Scenario) -> type[tuple]:
    """The :class:`ScenarioArrays` named tuple for a scenario class: the derived arrays, then one
    attribute per column of the parameter table."""
    fields = [*DERIVED, *((c.name, _column_type(c)) for c in table_columns(model))]
    cls = NamedTuple("ScenarioArrays", fields)  # type: ignore[misc]
    cls.scenario_model = model  # the scenario class whose table made it
    return cls


ScenarioArrays = arrays_type(Scenario)
ScenarioArrays.__doc__ = """Everything the engines need, as numbers and arrays (structure of
arrays): the attributes of :data:`DERIVED`, then one per column of the parameter table
(``param(to=...)`` in :mod:`simsme.scenario.schema`)."""


def date_to_step(date: dt.date, start: dt.date, step_days: float) -> int:
    """Step in which a calendar date falls (may be negative or beyond the horizon)."""
    return math.floor((date - start).days / step_days)


def _clip_step(step: int, n_steps: int) -> int:
    return max(0, min(n_steps, step))


def lower(scenario: Scenario) -> ScenarioArrays:
    """Flatten a validated scenario into :class:`ScenarioArrays`."""
    t = scenario.time
    n_steps = scenario.n_steps
    step_days = float(t.step_days)
    dt_years = step_days / DAYS_PER_YEAR
    n_years = max(1, math.ceil(t.horizon_years - 1e-9))  # year index is clamped to n_years - 1
    pop = scenario.population
    n_initial = pop.n_smes
    n_entrants = int(round(pop.entrants_per_year * n_initial * t.horizon_years))

    names = list(scenario.channels)
    chans = [scenario.channels[n] for n in names]
    n_ch = len(names)
    catchment = pop.agency_catchment_smes or n_initial  # what capacities per 1,000 SMEs scale to
    ctx = LowerContext(step_days, n_steps, tuple(names), FOCUS_AREAS, RESOURCES, catchment)
    cols = table_columns(type(scenario))
    table = {c.name: c.lower(scenario, ctx) for c in cols}

    mask = ctx.channel_mask
    digital = table["ch_digital"]
    # the channels' preference order is a mechanism (simsme.mechanisms.channels)
    from simsme.mechanisms import channels as channel_mechanisms
    from simsme.mechanisms.python import as_python

    order = as_python(channel_mechanisms).preference_order(
        np.array([c.latency.median_days for c in chans], dtype=np.float64),
        np.array([c.bureaucracy for c in chans], dtype=np.float64),
        np.array([c.cost for c in chans], dtype=np.float64),
    )

    ags = scenario.agencies
    n_ag = len(ags)
    ag_accept = np.zeros((n_ag, len(PURPOSES)), dtype=np.int64)
    for a, ag in enumerate(ags):
        for p, purpose in enumerate(PURPOSES):
            ag_accept[a, p] = mask(getattr(ag.channels, purpose))
    ag_focus = np.array([FOCUS_AREAS.index(a.focus) for a in ags], dtype=np.int64)
    by_focus = -np.ones((5, n_ag), dtype=np.int64)
    n_by_focus = np.zeros(5, dtype=np.int64)
    for a, f in enumerate(ag_focus):
        by_focus[f, n_by_focus[f]] = a
        n_by_focus[f] += 1

    procs = scenario.procedures
    pc_accept = np.array([mask(pc.channels) for pc in procs], dtype=np.int64)

    # Timelines ---------------------------------------------------------------------------
    # The agencies' and the regulators' digitalisation levels, one column each (agencies first):
    # an agency_digitalisation event names either, and acts on all when it names none.
    owners = [*ags, *procs]
    level = np.zeros((n_steps, len(owners)))
    agency_index = {a.name: i for i, a in enumerate(owners)}
    changes: list[tuple[int, int, float]] = []  # (step, agency or regulator, level)
    for a, ag in enumerate(owners):
        level[:, a] = ag.digitalisation.level
        for change in ag.digitalisation.schedule:
            changes.append((date_to_step(change.date, t.start_date, step_days), a, change.level))
    event_columns = [c for c in cols if c.axis == "timeline"]
    reg: list[tuple[int, int, float, float]] = []
    plans: list[tuple[int, int, int, float]] = []  # (from step, to step, agency, level)
    tax: list[tuple[int, float]] = []
    for ev in scenario.events:
        s0 = date_to_step(ev.start, t.start_date, step_days)
        s1 = n_steps if ev.end is None else date_to_step(ev.end, t.start_date, step_days) + 1
        lo, hi = _clip_step(s0, n_steps), _clip_step(s1, n_steps)
        for col in event_columns:  # the table's timelines (movement control, trade agreements)
            for p in col.params:
                if p.event_kind == ev.type:
                    combine(table[col.name], lo, hi, getattr(ev, p.name), str(col.via), ctx)
        if ev.type == "regulation_change" and s1 > 0:  # one that ended before the run: none
            reg.append((s0, s1, ev.affected_share, ev.readiness_penalty))
        elif ev.type == "tax_change":
            tax.append((s0, ev.financial_loss))
        elif ev.type == "agency_digitalisation":
            targets = [agency_index[n] for n in ev.agencies] or list(range(len(owners)))
            plans.extend((lo, hi, a, ev.level) for a in targets)
    # An agency's own schedule first; digitalisation events then override it over their dates
    # (to the horizon when they have no end), later events over earlier ones.
    for step, a, value in sorted(changes, key=lambda c: c[0]):
        level[_clip_step(step, n_steps) :, a] = value
    for lo, hi, a, value in sorted(plans, key=lambda c: c[0]):
        level[lo:hi, a] = value

    f2f = names.index("face_to_face") if "face_to_face" in names else -1
    return arrays_type(type(scenario))(
        n_initial=n_initial,
        n_total=n_initial + n_entrants,
        n_steps=n_steps,
        n_years=n_years,
        n_channels=n_ch,
        n_agencies=n_ag,
        step_days=step_days,
        dt_years=dt_years,
        ch_order=order,
        digital_mask=mask([n for n, d in zip(names, digital, strict=True) if d]),
        conventional_mask=mask([n for n, d in zip(names, digital, strict=True) if not d]),
        documents_mask=mask([n for n, d in zip(names, table["ch_docs"], strict=True) if d]),
        face_to_face=f2f,
        ag_focus=ag_focus,
        ag_accept=ag_accept,
        agencies_by_focus=by_focus,
        n_agencies_by_focus=n_by_focus,
        tl_agency_level=np.ascontiguousarray(level[:, :n_ag]),
        n_procedures=len(procs),
        pc_accept=pc_accept,
        tl_procedure_level=np.ascontiguousarray(level[:, n_ag:]),
        reg_start=np.array([r[0] for r in reg], dtype=np.int64),
        reg_end=np.array([r[1] for r in reg], dtype=np.int64),
        reg_share=np.array([r[2] for r in reg], dtype=np.float64),
        reg_penalty=np.array([r[3] for r in reg], dtype=np.float64),
        tax_start=np.array([x[0] for x in tax], dtype=np.int64),
        tax_loss=np.array([x[1] for x in tax], dtype=np.float64),
        **table,
    )
