"""The parameter table drives the lowering: each parameter is declared once, in the schema.

Every parameter has its unit, range, meaning and source; every one reaches the arrays it says it
reaches (perturbing it moves them) or says why it is structural; a parameter added to the schema
appears in the lowered scenario and in the kernel's stacked rows without an edit elsewhere.
"""

from __future__ import annotations

import copy
import datetime as dt
import typing
from typing import Any

import numpy as np
import pytest
from pydantic import Field, ValidationError

from simsme.calibration.paramtable import parameter_rows
from simsme.kernel.params import STACKS, kernel_params, layout
from simsme.scenario.lowering import DERIVED, ScenarioArrays, lower, table_columns
from simsme.scenario.schema import Agency, Scenario, default_agencies
from simsme.scenario.table import ASSUMED, VIA, Parameter, Step, param, parameters, values

PARAMS = list(parameters(Scenario))
EVENTS = [
    {"type": "movement_control", "start": "2016-03-01", "end": "2017-06-30"},
    {"type": "regulation_change", "start": "2015-01-01"},
    {"type": "tax_change", "start": "2015-04-01"},
    {"type": "free_trade_agreement", "start": "2016-01-01"},
    {"type": "agency_digitalisation", "start": "2012-01-01", "end": "2013-12-31"},
]


def _scenario() -> Scenario:
    """The baseline with one event of each type, so that every parameter is in use."""
    return Scenario(name="table", events=EVENTS)


def test_every_parameter_has_unit_range_meaning_and_source():
    assert len(PARAMS) > 100
    missing = [p.path for p in PARAMS if p.meta is None]
    assert missing == [], "declare these with simsme.scenario.table.param(...)"
    for p in PARAMS:
        assert p.meta is not None
        assert p.meta.unit and p.meta.source, p.path
        assert (p.info.description or "").strip(), p.path
    rows = {r["path"]: r for r in parameter_rows()}
    for p in PARAMS:
        if p.info.annotation in (int, float) or typing.get_origin(p.info.annotation) is dict:
            if p.meta is not None and p.meta.structural is None:
                assert rows[p.path]["range"] not in ("", "-"), p.path
    assert rows["time.horizon_years"]["range"] == "(0, 100]"
    assert rows["population.resources.financial.mean"]["range"] == "[0, 1]"
    assert rows["agencies[].bureaucracy.desk_review_days"]["unit"] == "days"
    assert rows["agencies[].bureaucracy.desk_review_days"]["arrays"] == "ag_desk_days"
    assert "Table 1" in rows["behaviour.support.focus_weights"]["source"]
    assert rows["seed"]["arrays"].startswith("structural: ")


def test_the_json_schema_carries_units_and_sources():
    schema = Scenario.model_json_schema()
    desk = schema["$defs"]["Bureaucracy"]["properties"]["desk_review_days"]
    assert desk["unit"] == "days" and ASSUMED in desk["source"]


def test_every_parameter_is_lowered_or_structural():
    fields = set(ScenarioArrays._fields)
    for p in PARAMS:
        assert p.meta is not None
        assert p.meta.arrays or p.meta.structural, p.path
        assert set(p.meta.arrays) <= fields, (p.path, set(p.meta.arrays) - fields)
        if p.meta.via is not None and p.event_kind is None:
            assert p.meta.via in VIA, p.path
    # every array the engines read comes from the table or from a named mechanism
    table = {c.name for c in table_columns()}
    assert fields == table | {name for name, _ in DERIVED}


def test_calibrated_parameters_are_in_the_joint_calibration():
    """Every parameter flagged calibrated is one the priors of `simsme calibrate` cover, and
    every prior names exactly one parameter of the table (which then says it is calibrated)."""
    from simsme.calibration.paramtable import calibrated_by
    from simsme.calibration.posterior import load_priors

    priors = load_priors()
    flagged = {p.path for p in PARAMS if p.meta is not None and p.meta.calibrated}
    for path in flagged:
        assert calibrated_by(path, priors), path
    rows = {r["path"]: r for r in parameter_rows()}
    for prior in priors:
        named = [path for path in rows if prior in calibrated_by(path, priors)]
        assert len(named) == 1, (prior, named)
        assert "calibrated jointly" in rows[named[0]]["source"]


# --------------------------------------------------------------------------------------------
# perturbing each parameter moves the arrays it declares
# --------------------------------------------------------------------------------------------
def _locate(data: dict[str, Any], steps: tuple[Step, ...]) -> tuple[Any, Any]:
    """The container and key of the parameter's first value in a dumped scenario."""
    node: Any = data
    parent: Any = None
    key: Any = None
    for step in steps:
        if parent is not None:
            node = parent[key]
        if step.kind == "attr":
            parent, key = node, step.name
        elif step.kind == "items":
            parent, key = node, 0
        elif step.kind == "events":
            parent, key = node, next(i for i, ev in enumerate(node) if ev["type"] == step.name)
        else:
            parent, key = node, next(iter(node))
    return parent, key


def _candidates(p: Parameter, value: Any, channels: list[str]) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):  # 0 is a value too (agency_catchment_smes: 0 = n_smes)
        return [c for c in (value * 2, value // 2, value + 1) if c != value]
    if isinstance(value, float):
        return [value * 1.5 + 0.1, value * 0.5, value * 0.9, value + 0.01, value - 0.01, 1.0, 0.0]
    if isinstance(value, dt.date):
        return [value + dt.timedelta(days=400), value - dt.timedelta(days=400)]
    if value is None:  # an open end
        return [dt.date(2016, 12, 31)]
    if isinstance(value, str):
        choices = typing.get_args(p.info.annotation)
        return [c for c in choices if c != value]
    if isinstance(value, tuple):
        return [(value[0] * 0.5, *value[1:])]
    if isinstance(value, list):
        if p.name == "agencies":
            return [["trade_agency"]]
        extra = [c for c in channels if c not in value]
        return [value + extra[:1], value[1:]]
    if isinstance(value, dict):
        first = next(iter(value))
        return [{**value, first: value[first] * 0.5 + 0.25}, {**value, first: value[first] * 1.5}]
    raise AssertionError(f"no perturbation for {p.path}: {value!r}")


def _perturbations(base: Scenario, p: Parameter) -> list[Scenario]:
    """Valid scenarios that differ from ``base`` in the parameter's first value."""
    data = base.model_dump()
    parent, key = _locate(data, p.steps)
    out = []
    for candidate in _candidates(p, parent[key], list(base.channels)):
        trial = copy.deepcopy(data)
        tparent, tkey = _locate(trial, p.steps)
        tparent[tkey] = candidate
        try:
            out.append(Scenario.model_validate(trial))
        except ValidationError:
            continue
    if not out and isinstance(parent, dict):  # shares that must sum to one: swap two
        other = next(k for k in parent if k != key)
        parent[key], parent[other] = parent[other], parent[key]
        out.append(Scenario.model_validate(data))
    assert out, f"could not perturb {p.path}"
    return out


def _regions_swapped(base: Scenario) -> Scenario:
    data = base.model_dump()
    regions = data["population"]["regions"]
    regions[0]["share"], regions[1]["share"] = regions[1]["share"], regions[0]["share"]
    return Scenario.model_validate(data)


def _changed(a: Any, b: Any) -> set[str]:
    out = set()
    for name in a._fields:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        if x.shape != y.shape or not np.array_equal(x, y):
            out.add(name)
    return out


LOWERED = [p for p in PARAMS if p.meta is not None and p.meta.structural is None]


@pytest.mark.parametrize("p", LOWERED, ids=[p.path for p in LOWERED])
def test_perturbing_a_parameter_moves_the_arrays_it_declares(p: Parameter):
    base = _scenario()
    if p.path == "population.regions[].share":
        others = [_regions_swapped(base)]
    else:
        others = _perturbations(base, p)
    declared = set(p.meta.arrays)
    changed: set[str] = set()
    for other in others:  # the first perturbation that moves a declared array
        before, after = values(base, p.steps)[0][1], values(other, p.steps)[0][1]
        assert before != after, f"the perturbation did not change {p.path}"
        changed = _changed(lower(base), lower(other))
        if changed & declared:
            break
    assert changed & declared, f"{p.path}: none of {sorted(declared)} changed"
    if p.meta.to:
        assert p.meta.to in changed, p.path
    sizes = {"n_steps", "step_days"}
    if not declared & sizes:  # a new step count or length changes every timeline
        assert changed <= declared, f"{p.path} also moves {sorted(changed - declared)}"


# --------------------------------------------------------------------------------------------
# the kernel's rows are the lowered columns, by name
# --------------------------------------------------------------------------------------------
def test_kernel_rows_are_the_lowered_columns():
    arrays = lower(_scenario())
    params = kernel_params(arrays)
    lay = layout()
    for stack in STACKS:
        for name, row, n in lay.stacks[stack]:
            column = np.asarray(getattr(arrays, name), dtype=np.float64)
            stacked = getattr(params, stack)[row : row + n]
            assert np.array_equal(stacked, column.T if n > 1 else column[None, :]), name
    for name in lay.scalars:
        assert getattr(params, name) == getattr(arrays, name)
    assert lay.constants["TL_PUSH"] == lay.constants["TL_ADOPTION_PUSH"]


# --------------------------------------------------------------------------------------------
# a parameter added to the schema reaches the engines without touching the lowering
# --------------------------------------------------------------------------------------------
class PatientAgency(Agency):
    patience_days: float = param(
        3.0,
        ge=0.0,
        le=30.0,
        unit="days",
        source=ASSUMED,
        to="ag_patience_days",
        description="A test parameter: days an agency waits for a missing document.",
    )
    reminder_weeks: float = param(
        2.0,
        ge=0.0,
        le=52.0,
        unit="weeks",
        source=ASSUMED,
        to="ag_reminder_days",
        via="days_from_weeks",
        description="A test parameter with a conversion.",
    )


class ExtendedScenario(Scenario):
    agencies: list[PatientAgency] = Field(  # type: ignore[assignment]
        default_factory=lambda: [PatientAgency(**a.model_dump()) for a in default_agencies()]
    )
    surge_rate_per_year: float = param(
        0.7,
        ge=0.0,
        le=52.0,
        unit="1/year",
        source=ASSUMED,
        to="surge_rate",
        description="A test scalar parameter.",
    )


def test_a_parameter_added_to_the_schema_reaches_both_engine_views():
    base, extended = Scenario(), ExtendedScenario()
    arrays = lower(extended)
    assert np.array_equal(arrays.ag_patience_days, [3.0] * 5)
    assert np.array_equal(arrays.ag_reminder_days, [14.0] * 5)
    assert arrays.surge_rate == 0.7
    old = lower(base)
    for name in old._fields:  # nothing else moves
        assert np.array_equal(np.asarray(getattr(old, name)), np.asarray(getattr(arrays, name)))
    # the kernel's view gets the new rows and scalar, named as the constants are
    lay = layout(ExtendedScenario)
    params = kernel_params(arrays)
    assert np.array_equal(params.ag[lay.constants["AG_PATIENCE_DAYS"]], [3.0] * 5)
    assert np.array_equal(params.ag[lay.constants["AG_REMINDER_DAYS"]], [14.0] * 5)
    assert lay.rows["ag"] == layout().rows["ag"] + 2
    assert params.surge_rate == 0.7
    for const, row in layout().constants.items():  # existing rows keep their values
        if const.startswith("AG_") and not const.endswith("_ROWS"):
            assert np.array_equal(params.ag[lay.constants[const]], kernel_params(old).ag[row])


def test_a_parameter_must_say_how_the_engines_see_it():
    with pytest.raises(TypeError, match="`to`, `feeds` or `structural`"):
        param(1.0, unit="-", source=ASSUMED)
    with pytest.raises(TypeError, match="unknown conversion"):
        param(1.0, unit="-", source=ASSUMED, to="x", via="cube")
