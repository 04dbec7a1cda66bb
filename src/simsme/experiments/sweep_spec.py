"""Sweep files: what to vary, how, and the design (list of points) they make.

A sweep file (YAML) names a base scenario, fixed changes to it, the parameters to vary by the
dotted paths of ``simsme run --set`` and a design::

    name: ttfe-whatsapp-committee
    base: ../baseline.yaml            # relative to this file
    set:                              # fixed for every point, like --set
      population.n_smes: 500
    seed: 7
    replications: 20                  # per point
    design: {kind: grid}              # grid | points | lhs | sobol | morris
    parameters:
      channels.whatsapp.latency.median_days: {values: [0.25, 1, 4]}
      agencies.*.bureaucracy.committee_interval_weeks: {range: {start: 0, stop: 12, step: 4}}

A ``*`` in a path stands for every item of a list or every key of a mapping (all agencies above).
Sampled designs (``lhs``, ``sobol``, ``morris``) take ``bounds: [low, high]`` per parameter
(``log: true`` samples log-uniformly) and are drawn with SALib, so the Saltelli and Morris
structures that :mod:`simsme.experiments.sensitivity` analyses are SALib's own.

The fields are read by :mod:`simsme.experiments.sweep_file`, the points made by
:mod:`simsme.experiments.sweep_design`, and paths resolved by :mod:`simsme.scenario.paths` (the
same as ``--set``). Everything is checked before any work: the file's fields (unknown keys with
a did-you-mean hint), the design's size (refused above ``MAX_POINTS`` before any point is made),
that each varied path exists in the base scenario, that each value (or both bounds) gives a
valid scenario, and finally that every point does (of a design larger than :data:`MAX_CHECKED`,
that many values and points spread over it). Problems are raised as one
:class:`~simsme.errors.ScenarioError` naming the file, the field, the value and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simsme.errors import ScenarioError, shorten
from simsme.experiments.sweep_design import Parameter, design_points, design_size, salib_problem
from simsme.experiments.sweep_file import (
    DESIGN_KINDS,
    MAX_POINTS,
    MAX_VALUES,
    SAMPLED_KINDS,
    ParameterSpec,
    PointsDesign,
    RangeSpec,
    SweepFile,
    parse_sweep,
)
from simsme.scenario import paths
from simsme.scenario.loading import (
    apply_overrides,
    load_scenario,
    parse_yaml,
    read_text_file,
    scenario_hash,
    validate_scenario,
)
from simsme.scenario.paths import MISSING
from simsme.scenario.schema import Scenario

RESERVED_PATHS = ("name", "description", "seed", "replications")
MAX_PROBLEMS_SHOWN = 12
MAX_CHECKED = 2_000
"""Most parameter values checked alone, and most points checked whole, before any work: larger
designs are checked on that many values and points spread evenly over them (first and last
included), which keeps a dry run to seconds; a point that still fails is reported when run."""

__all__ = [
    "DESIGN_KINDS",
    "MAX_POINTS",
    "MAX_VALUES",
    "SAMPLED_KINDS",
    "Parameter",
    "ParameterSpec",
    "RangeSpec",
    "ResolvedSweep",
    "SweepFile",
    "expand_path",
    "read_sweep_file",
    "parse_sweep",
    "salib_problem",
    "sweep_hash",
]


def expand_path(data: dict[str, Any], path: str) -> list[str]:
    """Concrete dotted paths for ``path`` (``*``: every list item or mapping key); see
    :func:`simsme.scenario.paths.expand`."""
    return paths.expand(data, path, source=path)


# --------------------------------------------------------------------------------------------
# The resolved sweep
# --------------------------------------------------------------------------------------------
@dataclass
class ResolvedSweep:
    """A validated sweep: base scenario, parameters and every point of the design."""

    source: Path
    text: str
    spec: SweepFile
    name: str
    base: Scenario
    base_data: dict[str, Any]
    base_path: Path
    seed: int
    replications: int
    parameters: list[Parameter]
    points: list[dict[str, Any]]
    design_matrix: np.ndarray | None = None
    problem: dict[str, Any] | None = None
    hash: str = ""
    base_hash: str = ""

    @property
    def kind(self) -> str:
        return self.spec.design.kind

    @property
    def n_points(self) -> int:
        return len(self.points)

    def overrides(self, point: int) -> list[tuple[str, Any]]:
        """The (concrete path, value) changes that make point ``point`` from the base."""
        values = self.points[point]
        return [(path, values[p.name]) for p in self.parameters for path in p.paths]

    def design_info(self) -> dict[str, Any]:
        info = self.spec.design.model_dump(mode="json", exclude={"points"})
        info["n_points"] = self.n_points
        return info


def sweep_hash(spec: SweepFile, base: Scenario) -> str:
    """Identity of a sweep's inputs: its fields and the resolved base scenario."""
    text = json.dumps(
        {"sweep": spec.model_dump(mode="json"), "base": scenario_hash(base)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def read_sweep_file(path: str | Path) -> ResolvedSweep:
    """Read, validate and expand a sweep file into its points (nothing is run).

    Raises :class:`ScenarioError` listing every problem found, each naming the file, the
    field, the value and what was expected. A design of more than
    :data:`~simsme.experiments.sweep_file.MAX_POINTS` points is refused with its size before
    any point is made.
    """
    path = Path(path)
    source = str(path)
    text = read_text_file(path, "sweep file")
    raw = parse_yaml(text, source)
    spec = parse_sweep(raw, source)

    base_path = Path(spec.base)
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    try:
        is_file = base_path.is_file()
    except (OSError, ValueError):
        is_file = False
    if not is_file:
        raise ScenarioError(
            f"field 'base': value '{shorten(spec.base)}': expected a scenario file, relative "
            f"to the sweep file (no file at {shorten(base_path, 300)})",
            source,
        )
    base = load_scenario(base_path)
    base_data = base.model_dump(mode="json")

    problems: list[str] = []
    fixed: list[tuple[str, Any]] = []
    for key, value in spec.set.items():
        where = f"set[{shorten(key, 80, quote=True)}]"
        if key in ("seed", "replications") and getattr(spec, key) is not None:
            problems.append(
                f"field '{where}': {key} is also the sweep's own field '{key}' "
                f"({getattr(spec, key)}): expected it in one place only (the sweep's '{key}')"
            )
            continue
        try:
            fixed.extend((p, value) for p in paths.expand(base_data, key, source))
        except ScenarioError as err:
            problems.append(f"field '{where}': {'; '.join(err.problems)}")
    if problems:
        raise ScenarioError(problems, source)
    try:
        base = apply_overrides(base, fixed, source=f"{source}: set")
    except ScenarioError as err:
        raise ScenarioError([f"field 'set': {p}" for p in err.problems], source) from None
    base_data = base.model_dump(mode="json")

    kind = spec.design.kind
    n_parameters = len(spec.design.points[0]) if kind == "points" else len(spec.parameters)
    size = design_size(spec, n_parameters)
    if size > MAX_POINTS:
        raise ScenarioError(
            [
                f"field 'design': {size:,} points ({_size_formula(spec, n_parameters)}): expected "
                f"at most {MAX_POINTS:,} per sweep (split the study into several sweeps)"
            ],
            source,
        )
    parameters, problems = _check_parameters(spec, base_data)
    if problems:
        raise ScenarioError(problems, source)

    seed = spec.seed if spec.seed is not None else base.seed
    replications = spec.replications if spec.replications is not None else base.replications
    try:
        points, matrix, problem = design_points(spec, parameters, seed)
    except (OverflowError, ValueError) as exc:  # e.g. bounds so wide the samples overflow
        raise ScenarioError(f"field 'design': cannot make the points ({exc})", source) from None
    problems = _check_points(points, parameters, base_data)
    if problems:
        raise ScenarioError(problems, source)
    name = spec.name or path.stem
    return ResolvedSweep(
        source=path,
        text=text,
        spec=spec,
        name=name,
        base=base,
        base_data=base_data,
        base_path=base_path,
        seed=seed,
        replications=replications,
        parameters=parameters,
        points=points,
        design_matrix=matrix,
        problem=problem,
        hash=sweep_hash(spec, base),
        base_hash=scenario_hash(base),
    )


def _size_formula(spec: SweepFile, d: int) -> str:
    design = spec.design
    if design.kind == "sobol":
        factor = f"2 x {d} + 2" if design.second_order else f"{d} + 2"
        return f"base_samples {design.base_samples:,} x ({factor})"
    if design.kind == "morris":
        return f"trajectories {design.trajectories:,} x ({d} + 1 parameters)"
    if design.kind == "lhs":
        return "samples"
    if design.kind == "points":
        return "design.points"
    return "the product of the parameters' numbers of values"


def _check_parameters(
    spec: SweepFile, base_data: dict[str, Any]
) -> tuple[list[Parameter], list[str]]:
    """Each varied path exists and each of its values (or both bounds) validates alone."""
    problems: list[str] = []
    kind = spec.design.kind
    names: list[str]
    if kind == "points":
        design: PointsDesign = spec.design  # type: ignore[assignment]
        if spec.parameters:
            problems.append(
                "field 'parameters': expected no parameters with design kind 'points' (the "
                "points name their own paths)"
            )
        names = list(design.points[0])
        for i, point in enumerate(design.points):
            if list(point) != names and set(point) != set(names):
                problems.append(
                    f"field 'design.points[{i}]': keys {sorted(point)}: expected the same paths "
                    f"as design.points[0] {sorted(names)}"
                )
        if not names:
            problems.append("field 'design.points[0]': empty: expected at least one path")
    else:
        names = list(spec.parameters)
        if not names:
            problems.append(
                "field 'parameters': required: expected at least one parameter to vary, e.g. "
                "parameters: {channels.whatsapp.latency.median_days: {values: [0.5, 2]}}"
            )
    fixed = set(spec.set)
    parameters: list[Parameter] = []
    for name in names:
        shown = shorten(name, 200)
        where = f"parameters['{shown}']" if kind != "points" else f"design.points[*].{shown}"
        if name.split(".")[0] in RESERVED_PATHS:
            problems.append(
                f"field '{where}': path '{shown}': expected a scenario parameter; "
                f"{name.split('.')[0]} is set by the sweep itself"
            )
            continue
        if name in fixed:
            problems.append(f"field '{where}': path '{shown}' is also fixed in 'set'")
            continue
        try:
            concrete = paths.expand(base_data, name, name)
            current = paths.get_value(base_data, concrete[0])
            if current is MISSING:  # raises with a did-you-mean hint
                paths.set_value(pickle.loads(pickle.dumps(base_data)), concrete[0], None, "")
        except ScenarioError as err:
            problems.append(f"field '{where}': {'; '.join(err.problems)}")
            continue
        pspec = spec.parameters.get(name)
        integer = isinstance(current, int) and not isinstance(current, bool)
        if pspec is not None and pspec.integer is not None:
            integer = pspec.integer
        param = Parameter(name=name, paths=concrete, spec=pspec, integer=integer)
        problems.extend(_check_spec_kind(param, kind, where))
        parameters.append(param)
    problems.extend(_overlapping(parameters, base_data, kind))
    if problems or kind == "points":  # points are checked whole, by _check_points
        return parameters, problems
    frozen = pickle.dumps(base_data)
    candidates = [(param, c) for param in parameters for c in _candidate_values(param, spec)]
    for param, (label, value) in _spread(candidates, MAX_CHECKED):
        where = f"parameters['{shorten(param.name, 200)}']"
        data = pickle.loads(frozen)
        try:
            for path in param.paths:
                paths.set_value(data, path, value, source="")
            validate_scenario(data, "")
        except ScenarioError as err:
            problems.extend(_value_problem(f"{where}.{label}", value, p) for p in err.problems)
            if len(problems) > MAX_PROBLEMS_SHOWN:
                return parameters, problems
    return parameters, problems


def _overlapping(parameters: list[Parameter], base_data: dict[str, Any], kind: str) -> list[str]:
    """Two parameters that set the same field (or one inside the other): the later one would
    silently win, so the first would have no effect. Linear in the number of paths."""
    owner: dict[str, str] = {}  # path -> parameter
    inside: dict[str, str] = {}  # every proper prefix of an owned path -> parameter
    problems = []
    for param in parameters:
        for path in param.paths:
            here = paths.canonical(base_data, path)
            parts = here.split(".")
            prefixes = [".".join(parts[:k]) for k in range(1, len(parts))]
            clash = [owner.get(here), inside.get(here), *(owner.get(q) for q in prefixes)]
            other = next((n for n in clash if n is not None and n != param.name), None)
            if other is not None:
                where = f"parameters['{param.name}']" if kind != "points" else param.name
                problems.append(
                    f"field '{shorten(where, 200)}': sets {shorten(here, 200)}, which "
                    f"'{shorten(other, 200)}' also sets: expected each field to be varied by one "
                    "parameter only"
                )
                break
            owner.setdefault(here, param.name)
            for q in prefixes:
                inside.setdefault(q, param.name)
    return problems


_SCENARIO_PROBLEM = re.compile(r"^field '([^']*)': value (.*?): expected (.*)$", re.S)


def _value_problem(where: str, value: Any, problem: str) -> str:
    """``field 'parameters['x'].values[2]': value -1: expected greater than 0`` from the
    scenario's own message, keeping the scenario field when it is not the varied one."""
    match = _SCENARIO_PROBLEM.match(problem)
    if match:
        return f"field '{where}': value {value!r}: expected {match.group(3)} (at {match.group(1)})"
    return f"field '{where}': value {value!r} makes the scenario invalid: {problem}"


def _check_spec_kind(param: Parameter, kind: str, where: str) -> list[str]:
    spec = param.spec
    if spec is None:
        return []
    if kind in SAMPLED_KINDS and spec.bounds is None:
        return [
            f"field '{where}': expected 'bounds' (low and high) for design kind '{kind}' "
            "(values and ranges are for kind 'grid')"
        ]
    if kind == "grid" and spec.bounds is not None:
        return [
            f"field '{where}.bounds': expected 'values' or 'range' for design kind 'grid' "
            "(bounds are sampled by kinds lhs, sobol and morris)"
        ]
    return []


def _candidate_values(param: Parameter, spec: SweepFile) -> list[tuple[str, Any]]:
    """Values to check alone against the base, with the field they come from."""
    if spec.design.kind == "points":
        design: PointsDesign = spec.design  # type: ignore[assignment]
        seen: dict[str, tuple[str, Any]] = {}
        for i, point in enumerate(design.points):
            value = point.get(param.name)
            seen.setdefault(json.dumps(value, sort_keys=True, default=str), (f"[{i}]", value))
        return list(seen.values())
    ps = param.spec
    assert ps is not None
    if ps.values is not None:
        return [(f"values[{i}]", v) for i, v in enumerate(ps.values)]
    if ps.range is not None:
        return [("range", v) for v in ps.range.values()]
    assert ps.bounds is not None
    low, high = ps.bounds
    if param.integer:
        return [("bounds[0]", int(round(low))), ("bounds[1]", int(round(high)))]
    return [("bounds[0]", float(low)), ("bounds[1]", float(high))]


def _spread(items: list[Any], most: int) -> list[Any]:
    """All of ``items``, or ``most`` of them evenly spread, the first and last included."""
    if len(items) <= most:
        return items
    picks = np.unique(np.linspace(0, len(items) - 1, most).round().astype(np.int64))
    return [items[i] for i in picks]


def _check_points(
    points: list[dict[str, Any]], parameters: list[Parameter], base_data: dict[str, Any]
) -> list[str]:
    """Every point (combination of values) gives a valid scenario; of more than
    :data:`MAX_CHECKED` points, that many spread evenly over the design (first and last
    included)."""
    problems: list[str] = []
    bad = 0
    frozen = pickle.dumps(base_data)
    for i, values in _spread(list(enumerate(points)), MAX_CHECKED):
        data = pickle.loads(frozen)
        try:
            for p in parameters:
                for path in p.paths:
                    paths.set_value(data, path, values[p.name], source="")
            validate_scenario(data, "")
        except ScenarioError as err:
            bad += 1
            if len(problems) < MAX_PROBLEMS_SHOWN:
                shown = shorten(", ".join(f"{k}={v!r}" for k, v in values.items()), 300)
                problems.extend(f"point {i} ({shown}): {p}" for p in err.problems)
    if bad > MAX_PROBLEMS_SHOWN:
        problems.append(f"... {bad} of {len(points)} points are invalid in all")
    return problems
