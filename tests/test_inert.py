"""Nothing inert (issue 12 item 4): every scenario parameter moves some per-SME output under at
least one shipped scenario, or its declaration says when it acts (``acts_when``).

Each parameter of the parameter table (``simsme.scenario.table.parameters``) is changed on a
small, short configuration of a shipped scenario (150 SMEs, 4 years, 2 replications, kernel
engine, common seed) and the per-SME and per-replication outputs are compared with the unchanged
run. The baseline is tried first, the other shipped scenarios only for parameters that do not
move it. Numbers are set to other values inside their declared range (validation rejects the
rest); the other kinds of parameter are changed as their type allows: a flag flipped, a choice
(channel kind, focus area) set to another allowed value, one channel (or agency) taken out of or
added to a list, one entry of a mapping (initial channel shares, focus weights, programme
raises) changed, taken out or added, the values of a per-size-class tuple changed, a date moved
by a year (an open end closed).
"""

from __future__ import annotations

import copy
import datetime as dt
import typing
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from simsme.errors import ScenarioError
from simsme.experiments.run import block_tables
from simsme.kernel.engine import run_blocks
from simsme.scenario import load_scenario, validate_scenario
from simsme.scenario.lowering import lower
from simsme.scenario.schema import Scenario
from simsme.scenario.table import Parameter, Step, parameters

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SHRINK = [("population.n_smes", 150), ("time.horizon_years", 4.0), ("replications", 2)]
NOT_MECHANISMS = {"seed", "replications", "population.n_smes"}  # the run's size (and time.*)


def _scenario_files() -> list[Path]:
    files = sorted(SCENARIOS.glob("*.yaml"))
    return sorted(files, key=lambda f: f.name != "baseline.yaml")  # baseline first


def _annotation(param: Parameter) -> Any:
    annotation = param.info.annotation
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _numeric(param: Parameter) -> bool:
    return _annotation(param) in (int, float)


def _is_int(param: Parameter) -> bool:
    return _annotation(param) is int


def _candidates(value: float, integer: bool) -> list[float]:
    raw = [value * 0.5, value * 2.0, 1.0 - value, 0.9, 0.1, value + 1.0, value + 5.0, value - 1.0]
    if value == 0.0:
        raw = [0.5, 1.0, 2.0, 0.1]
    out: list[float] = []
    for c in raw:
        c = float(round(c)) if integer else c
        if c != value and c not in out:
            out.append(c)
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _leaves(
    data: Any, steps: tuple[Step, ...], keep: Callable[[Any], bool] = _is_number
) -> list[tuple[Any, Any]]:
    """(container, key) of every value the parameter holds in a scenario mapping (numbers only,
    unless ``keep`` says otherwise)."""
    found: list[tuple[Any, Any]] = [(None, data)]
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        nxt: list[tuple[Any, Any]] = []
        for _, node in found:
            if step.kind == "attr":
                if isinstance(node, dict) and step.name in node:
                    nxt.append((node, step.name) if last else (None, node[step.name]))
            elif step.kind == "items" and isinstance(node, list):
                nxt += [(None, item) for item in node]
            elif step.kind == "entries" and isinstance(node, dict):
                nxt += [(None, item) for item in node.values()]
            elif step.kind == "events" and isinstance(node, list):
                nxt += [
                    (None, e) for e in node if isinstance(e, dict) and e.get("type") == step.name
                ]
        found = nxt
    return [(c, k) for c, k in found if c is not None and keep(c[k])]


def _any_value(value: Any) -> bool:
    return True


@cache
def _base(path: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    # only the baseline is shortened: the others' events fall late in their horizons
    shrink = SHRINK if path.name == "baseline.yaml" else SHRINK[::2]
    scenario = load_scenario(path, [f"{p}={v}" for p, v in shrink])
    return scenario.model_dump(mode="json"), _outputs(scenario)


def _outputs(scenario: Scenario) -> dict[str, pd.DataFrame]:
    arrays = lower(scenario)
    tables: dict[str, list[pd.DataFrame]] = {"smes": [], "replications": []}
    for block in run_blocks(arrays, scenario.replications, scenario.seed, threads=1):
        got = block_tables(block, scenario, arrays)
        for name in tables:
            tables[name].append(got[name])
    return {name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()}


def _moves(path: Path, param: Parameter) -> bool | None:
    """Whether some change of ``param`` moves an output of the shrunk ``path`` scenario; None
    when the scenario holds no value of it (nothing to change)."""
    data, base = _base(path)
    numeric = _numeric(param)
    if not _leaves(data, param.steps, _is_number if numeric else _any_value):
        return None
    trials = _trials(data, param, _is_int(param)) if numeric else _other_trials(data, param)
    valid: set[str] = set()
    for kind, trial in trials:
        if kind == "share" and valid:
            continue  # the value can change alone: no sibling need make room
        try:
            scenario = validate_scenario(trial, "<inert>")
        except ScenarioError:
            continue
        valid.add(kind)
        got = _outputs(scenario)
        if any(not got[name].equals(base[name]) for name in base):
            return True
    return False


def _trials(
    data: dict[str, Any], param: Parameter, integer: bool
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Perturbed copies of ``data``: every value of the parameter set to a candidate, then only
    the first one, then (only where no such value was valid) the first one with a sibling of a
    group of shares summing to 1 taking up the difference, then the first two swapped."""
    leaves = _leaves(data, param.steps)
    first = float(leaves[0][0][leaves[0][1]])
    for only_first in (False, True):
        if only_first and len(leaves) < 2:
            break
        for candidate in _candidates(first, integer):
            trial = copy.deepcopy(data)
            for c, k in _leaves(trial, param.steps)[: 1 if only_first else None]:
                c[k] = int(candidate) if integer else candidate
            yield "set", trial
    for candidate in _candidates(first, integer):  # one of shares that sum to 1: a sibling
        trial = copy.deepcopy(data)  # takes up the difference
        c, k = _leaves(trial, param.steps)[0]
        shares = [v for v in c.values() if isinstance(v, float)]
        siblings = [j for j, v in c.items() if j != k and isinstance(v, float)]
        if siblings and abs(sum(shares) - 1.0) < 1e-9:  # only a group of shares summing to 1
            c[siblings[0]] += c[k] - candidate
            c[k] = candidate
            yield "share", trial
    if len(leaves) >= 2:
        trial = copy.deepcopy(data)
        (c0, k0), (c1, k1) = _leaves(trial, param.steps)[:2]
        if c0[k0] != c1[k1]:
            c0[k0], c1[k1] = c1[k1], c0[k0]
            yield "swap", trial


# --------------------------------------------------------------------------------------------
# Parameters that are not a single number
# --------------------------------------------------------------------------------------------
Change = Callable[[Any, dict[str, Any]], Any]
"""A change of one value: (old value, the container holding it) -> new value (the container
gives an event's start to an open end)."""


def _names(data: dict[str, Any], param: Parameter) -> list[str]:
    """What a list or mapping of names may hold: the agencies and procedures an event names, or
    the scenario's channels."""
    if param.meta is not None and param.meta.unit == "agencies":
        return [a["name"] for a in data["agencies"]] + [
            p["name"] for p in data.get("procedures", [])
        ]
    return list(data["channels"])


def _keys(data: dict[str, Any], param: Parameter) -> list[str]:
    """The keys a mapping may hold: its Literal keys (focus areas, resources) or channels."""
    key = typing.get_args(_annotation(param))[0]
    if typing.get_origin(key) is typing.Literal:
        return list(typing.get_args(key))
    return list(data["channels"])


def _shift(value: str, days: int) -> str:
    return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()


def _changes(data: dict[str, Any], param: Parameter, first: Any) -> Iterator[Change]:
    """The changes to try, as the parameter's type allows (``first``: its first value)."""
    annotation = _annotation(param)
    origin = typing.get_origin(annotation)
    if annotation is bool:
        yield lambda v, c: not v
    elif origin is typing.Literal:
        for choice in typing.get_args(annotation):
            yield lambda v, c, choice=choice: choice if v != choice else None
    elif origin is list:
        names = _names(data, param)
        for name in first:  # one taken out of every list that holds it
            yield lambda v, c, name=name: [x for x in v if x != name] if name in v else None
        for name in names:  # one added to every list that lacks it
            yield lambda v, c, name=name: [*v, name] if name not in v else None
    elif origin is dict:
        for key, old in first.items():  # one entry changed, then taken out
            for new in _candidates(float(old), False):
                yield lambda v, c, key=key, new=new: {**v, key: new} if key in v else None
            yield (
                lambda v, c, key=key: {j: x for j, x in v.items() if j != key} if key in v else None
            )
        for key in _keys(data, param):  # one entry added (with a share or a multiplier)
            for new in (0.5, 2.0):
                if key not in first:
                    yield lambda v, c, key=key, new=new: {**v, key: new} if key not in v else None
    elif origin is tuple:
        for k in range(len(first)):  # one value changed, then all
            for new in _candidates(float(first[k]), False):
                yield lambda v, c, k=k, new=new: [*v[:k], new, *v[k + 1 :]]
        for factor in (0.5, 2.0):
            yield lambda v, c, factor=factor: [min(1.0, x * factor) for x in v]
    elif dt.date in (annotation, *typing.get_args(annotation)):  # a date, or an open end
        for days in (365, -365, 91, -91):
            yield (
                lambda v, c, days=days: (
                    _shift(v, days) if v is not None else _shift(c["start"], abs(days))
                )
            )
    else:
        raise TypeError(f"no changes defined for {param.path} ({annotation})")


def _other_trials(data: dict[str, Any], param: Parameter) -> Iterator[tuple[str, dict[str, Any]]]:
    """Changed copies of ``data``: each change applied to every value of the parameter, then to
    the first one only (a change that leaves a value as it is skips it)."""
    leaves = _leaves(data, param.steps, _any_value)
    first = leaves[0][0][leaves[0][1]]  # None only for an open end (its changes need none)
    for only_first in (False, True):
        if only_first and len(leaves) < 2:
            break
        for change in _changes(data, param, first):
            trial = copy.deepcopy(data)
            changed = False
            for c, k in _leaves(trial, param.steps, _any_value)[: 1 if only_first else None]:
                new = change(c[k], c)
                if new is not None and new != c[k]:
                    c[k] = new
                    changed = True
            if changed:
                yield "set", trial


def _checked(numeric: bool = True) -> list[Parameter]:
    out = []
    for p in parameters(Scenario):
        meta = p.meta
        if meta is None or meta.structural or _numeric(p) != numeric:
            continue
        if p.path in NOT_MECHANISMS or p.path.startswith("time."):
            continue  # the run's size and clock, not mechanisms
        out.append(p)
    return out


def _inert_and_noted(numeric: bool) -> tuple[list[str], list[str]]:
    files = _scenario_files()
    assert files[0].name == "baseline.yaml"
    inert: list[str] = []
    noted_but_active: list[str] = []
    for param in _checked(numeric):
        moved = any(_moves(f, param) for f in files)
        acts_when = param.meta.acts_when if param.meta else None
        if not moved and not acts_when:
            inert.append(param.path)
        if moved and acts_when:
            noted_but_active.append(param.path)
    return inert, noted_but_active


@pytest.mark.parametrize("numeric", [True, False], ids=["numeric", "other"])
def test_every_parameter_moves_an_output_or_says_when_it_acts(numeric: bool) -> None:
    inert, noted_but_active = _inert_and_noted(numeric)
    assert not inert, (
        "parameters that move no per-SME or replication output under any shipped scenario and "
        f"carry no acts_when note in their param(...) declaration: {inert}"
    )
    assert not noted_but_active, (
        f"parameters with an acts_when note that do move an output (drop the note): "
        f"{noted_but_active}"
    )


def test_every_parameter_is_checked() -> None:
    """Numbers and the other kinds together are every parameter of the table but the run's
    size and clock and the structural fields; every kind has its changes."""
    checked = {p.path for p in _checked(True)} | {p.path for p in _checked(False)}
    rest = {
        p.path
        for p in parameters(Scenario)
        if p.meta is not None and not p.meta.structural
        if p.path not in NOT_MECHANISMS and not p.path.startswith("time.")
    }
    assert checked == rest
    for param in _checked(False):
        for path in _scenario_files():
            data, _ = _base(path)
            if _leaves(data, param.steps, _any_value):
                assert next(_other_trials(data, param), None) is not None, param.path
                break


def test_perturbation_detects_a_live_parameter() -> None:
    """The check can tell: word of mouth moves the baseline's outputs."""
    by_path = {p.path: p for p in _checked()}
    assert _moves(_scenario_files()[0], by_path["behaviour.awareness.word_of_mouth_per_year"])


def test_changes_detect_a_live_flag_and_pass_over_a_no_op() -> None:
    """The changes of non-numeric parameters can tell: flipping whether channels need
    connectivity moves the baseline; reordering a list of accepted channels (which is read in no
    order) changes no output."""
    baseline = _scenario_files()[0]
    by_path = {p.path: p for p in _checked(False)}
    assert _moves(baseline, by_path["channels.*.needs_connectivity"]) is True
    data, base = _base(baseline)
    trial = copy.deepcopy(data)
    for agency in trial["agencies"]:
        agency["channels"]["dissemination"].reverse()
    got = _outputs(validate_scenario(trial, "<reordered>"))
    assert all(got[name].equals(base[name]) for name in base)


@pytest.mark.parametrize("key", ["confirmation"])
def test_removed_confirmation_purpose_is_refused(key: str) -> None:
    agency = {"name": "a", "focus": "market_access", "channels": {key: ["email"]}}
    raw = {"name": "t", "agencies": [agency]}
    with pytest.raises(ScenarioError, match="no rule reads it"):
        validate_scenario(raw, "<test>")
