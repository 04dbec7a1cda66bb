"""The levers a policy analyst moves, as keyword arguments of :class:`~simsme.model.SimsmeModel`.

Each lever is a plain value (what a slider or a checkbox gives) that rewrites one part of a
:class:`~simsme.scenario.schema.Scenario`; the result is validated again, so a value out of range
is refused with the field named. A lever left at ``None`` keeps the scenario as it is.

- ``n_smes``, ``horizon_years``: population size and run length (``population.n_smes``,
  ``time.horizon_years``).
- ``digitalisation_level``, ``digitalisation_start``: every agency handles this share of its
  exchanges over DIP from this date on: an ``agency_digitalisation`` event for all agencies, the
  scenario language's own form of a digitalisation plan (003_9e0cb3511f01b6dc.txt, sections 4.2
  and 5; the Public Sector Digitalisation Strategic Plan). It replaces the scenario's own
  agency-wide plan, if any; before the start date the agencies follow their own schedules.
- ``committee_interval_weeks``: committees of every agency sit every this many weeks (003
  section 4.1: approval waits for the committee).
- ``physical_documents``: every agency needs a physical proposal for the committee (003 section
  4.2, data security), or none does.
- ``movement_control``: a movement-control order (002, 003: the COVID-19 MCO) on or off. On keeps
  the scenario's own orders, or adds the 2020-03-18 to 2021-12-31 order of
  ``scenarios/pandemic-mco.yaml``; off removes every order.

:func:`lever_values` reads the current value of each lever off a scenario, so that a view can
start its sliders where the scenario is: applying those values gives the same model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from simsme.errors import ScenarioError
from simsme.scenario.loading import validate_scenario
from simsme.scenario.schema import Scenario

LEVERS: tuple[str, ...] = (
    "n_smes",
    "horizon_years",
    "digitalisation_level",
    "digitalisation_start",
    "committee_interval_weeks",
    "physical_documents",
    "movement_control",
)
"""Keyword arguments of :class:`~simsme.model.SimsmeModel` that rewrite the scenario."""

MCO_START = dt.date(2020, 3, 18)
MCO_END = dt.date(2021, 12, 31)
"""Dates of the order added by ``movement_control=True`` (Malaysia's MCO, as in
``scenarios/pandemic-mco.yaml``)."""


def _as_date(value: int | str | dt.date, source: str) -> dt.date:
    """A year (``2018``), an ISO date (``"2018-01-01"``) or a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return dt.date(value, 1, 1)
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ScenarioError(
            f"digitalisation_start: {value!r}: expected a year (2018) or a date (2018-01-01)",
            source,
        ) from None


def _agency_wide_plan(scenario: Scenario) -> Any | None:
    """The scenario's last digitalisation plan for every agency, open to the horizon."""
    plans = [
        e
        for e in scenario.events
        if e.type == "agency_digitalisation" and not e.agencies and e.end is None
    ]
    return plans[-1] if plans else None


def lever_values(scenario: Scenario) -> dict[str, Any]:
    """The value of every lever in ``scenario`` (the first agency stands for all; the
    digitalisation start is a date)."""
    agency = scenario.agencies[0]
    plan = _agency_wide_plan(scenario)
    if plan is not None:
        level, start = plan.level, plan.start
    elif agency.digitalisation.schedule:
        last = agency.digitalisation.schedule[-1]
        level, start = last.level, last.date
    else:
        level, start = agency.digitalisation.level, scenario.time.start_date
    return {
        "n_smes": scenario.population.n_smes,
        "horizon_years": scenario.time.horizon_years,
        "digitalisation_level": float(level),
        "digitalisation_start": start,
        "committee_interval_weeks": agency.bureaucracy.committee_interval_weeks,
        "physical_documents": agency.bureaucracy.requires_physical_documents,
        "movement_control": any(e.type == "movement_control" for e in scenario.events),
    }


def apply_levers(scenario: Scenario, source: str = "<levers>", **levers: Any) -> Scenario:
    """Return ``scenario`` with the given levers applied (``None`` = unchanged), re-validated."""
    unknown = sorted(set(levers) - set(LEVERS))
    if unknown:
        raise ScenarioError(f"unknown lever(s) {unknown}: expected one of {list(LEVERS)}", source)
    chosen = {k: v for k, v in levers.items() if v is not None}
    if not chosen:
        return scenario
    data = scenario.model_dump(mode="json")
    if "n_smes" in chosen:
        data["population"]["n_smes"] = chosen["n_smes"]
    if "horizon_years" in chosen:
        data["time"]["horizon_years"] = chosen["horizon_years"]
    if "digitalisation_level" in chosen or "digitalisation_start" in chosen:
        current = lever_values(scenario)
        level = chosen.get("digitalisation_level", current["digitalisation_level"])
        start = _as_date(
            chosen.get("digitalisation_start", current["digitalisation_start"]), source
        )
        plan = _agency_wide_plan(scenario)
        if plan is not None:
            data["events"].pop(scenario.events.index(plan))
        data["events"].append(
            {"type": "agency_digitalisation", "start": start.isoformat(), "level": level}
        )
    for agency in data["agencies"]:
        if "committee_interval_weeks" in chosen:
            agency["bureaucracy"]["committee_interval_weeks"] = chosen["committee_interval_weeks"]
        if "physical_documents" in chosen:
            agency["bureaucracy"]["requires_physical_documents"] = chosen["physical_documents"]
    if "movement_control" in chosen:
        has_order = any(e["type"] == "movement_control" for e in data["events"])
        if not chosen["movement_control"]:
            data["events"] = [e for e in data["events"] if e["type"] != "movement_control"]
        elif not has_order:
            data["events"].append(
                {
                    "type": "movement_control",
                    "start": MCO_START.isoformat(),
                    "end": MCO_END.isoformat(),
                }
            )
    return validate_scenario(data, source)
