"""Nothing inert (issue 12 item 4): every numeric scenario parameter moves some per-SME output
under at least one shipped scenario, or its declaration says when it acts (``acts_when``).

Each parameter of the parameter table (``simsme.scenario.table.parameters``) is set to other
values inside its declared range (validation rejects the rest) on a small, short configuration of
a shipped scenario (150 SMEs, 4 years, 2 replications, kernel engine, common seed); the per-SME
and per-replication outputs are compared with the unperturbed run. The baseline is tried first,
the other shipped scenarios only for parameters that do not move it.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Iterator
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


def _scenario_files() -> list[Path]:
    files = sorted(SCENARIOS.glob("*.yaml"))
    return sorted(files, key=lambda f: f.name != "baseline.yaml")  # baseline first


def _numeric(param: Parameter) -> bool:
    annotation = param.info.annotation
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation in (int, float)


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


def _leaves(data: Any, steps: tuple[Step, ...]) -> list[tuple[Any, Any]]:
    """(container, key) of every value the parameter holds in a scenario mapping."""
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
    return [(c, k) for c, k in found if c is not None and isinstance(c[k], (int, float))]


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
    """Whether some perturbation of ``param`` moves an output of the shrunk ``path`` scenario;
    None when the scenario holds no value of it (nothing to perturb)."""
    data, base = _base(path)
    leaves = _leaves(data, param.steps)
    if not leaves:
        return None
    integer = _is_int(param)
    valid: set[str] = set()
    for kind, trial in _trials(data, param, integer):
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


def _is_int(param: Parameter) -> bool:
    annotation = param.info.annotation
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation is int


def _checked() -> list[Parameter]:
    out = []
    for p in parameters(Scenario):
        meta = p.meta
        if meta is None or meta.structural or not _numeric(p):
            continue
        if p.path in {"seed", "replications", "population.n_smes"} or p.path.startswith("time."):
            continue  # the run's size and clock, not mechanisms
        out.append(p)
    return out


def test_every_numeric_parameter_moves_an_output_or_says_when_it_acts() -> None:
    files = _scenario_files()
    assert files[0].name == "baseline.yaml"
    inert: list[str] = []
    noted_but_active: list[str] = []
    for param in _checked():
        moved = any(_moves(f, param) for f in files)
        acts_when = param.meta.acts_when if param.meta else None
        if not moved and not acts_when:
            inert.append(param.path)
        if moved and acts_when:
            noted_but_active.append(param.path)
    assert not inert, (
        "parameters that move no per-SME or replication output under any shipped scenario and "
        f"carry no acts_when note in their param(...) declaration: {inert}"
    )
    assert not noted_but_active, (
        f"parameters with an acts_when note that do move an output (drop the note): "
        f"{noted_but_active}"
    )


def test_perturbation_detects_a_live_parameter() -> None:
    """The check can tell: the readiness threshold moves the baseline's outputs."""
    by_path = {p.path: p for p in _checked()}
    live = next(p for path, p in by_path.items() if path.endswith("readiness_threshold"))
    assert _moves(_scenario_files()[0], live) is True


@pytest.mark.parametrize("key", ["confirmation"])
def test_removed_confirmation_purpose_is_refused(key: str) -> None:
    agency = {"name": "a", "focus": "market_access", "channels": {key: ["email"]}}
    raw = {"name": "t", "agencies": [agency]}
    with pytest.raises(ScenarioError, match="no rule reads it"):
        validate_scenario(raw, "<test>")
