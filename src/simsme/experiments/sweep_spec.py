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

Everything is checked before any work: the file's fields (unknown keys with a did-you-mean hint),
that each varied path exists in the base scenario, that each value (or both bounds) gives a valid
scenario, and finally that every point does. Problems are raised as one
:class:`~simsme.errors.ScenarioError` naming the file, the field, the value and what was expected.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simsme.errors import ScenarioError, SimsmeError, did_you_mean
from simsme.scenario.loading import (
    apply_override,
    apply_overrides,
    load_scenario,
    read_yaml,
    scenario_hash,
    validate_scenario,
)
from simsme.scenario.schema import Scenario

DESIGN_KINDS = ("grid", "points", "lhs", "sobol", "morris")
SAMPLED_KINDS = ("lhs", "sobol", "morris")
RESERVED_PATHS = ("name", "description", "seed", "replications")
MAX_PROBLEMS_SHOWN = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


MAX_VALUES = 100_000
"""Most values one parameter's range may give."""
MAX_POINTS = 1_000_000
"""Most points one sweep may have (split larger studies into several sweeps)."""


class RangeSpec(_Strict):
    """Evenly spaced values from ``start`` to ``stop`` (inclusive), by ``step`` or ``num``."""

    start: int | float
    stop: int | float
    step: float | None = Field(None, gt=0.0, description="Distance between values.")
    num: int | None = Field(None, ge=1, le=100_000, description="Number of values.")
    log: bool = Field(False, description="Geometric spacing (with num; start, stop > 0).")

    @model_validator(mode="after")
    def _one_spacing(self) -> RangeSpec:
        if (self.step is None) == (self.num is None):
            raise ValueError("exactly one of 'step' or 'num' (range: start, stop and step or num)")
        if self.step is not None and self.stop < self.start:
            raise ValueError(f"stop >= start with a step (start {self.start}, stop {self.stop})")
        if self.log and self.num is None:
            raise ValueError("'num' with log: true (geometric spacing has no fixed step)")
        if self.log and min(self.start, self.stop) <= 0:
            raise ValueError("start and stop > 0 with log: true")
        if self.step is not None and self.count() > MAX_VALUES:
            raise ValueError(
                f"at most {MAX_VALUES:,} values; start {self.start}, stop {self.stop} and "
                f"step {self.step} give {self.count():,}"
            )
        return self

    def count(self) -> int:
        """How many values the range gives (without making them)."""
        if self.num is not None:
            return self.num
        return int(math.floor((self.stop - self.start) / float(self.step) + 1e-9)) + 1  # type: ignore[arg-type]

    def values(self) -> list[int | float]:
        if self.num is not None:
            if self.log:
                raw = np.geomspace(self.start, self.stop, self.num)
            else:
                raw = np.linspace(self.start, self.stop, self.num)
            out = [_tidy(float(v)) for v in raw]
        else:
            step = float(self.step)  # type: ignore[arg-type]
            out = [_tidy(self.start + k * step) for k in range(self.count())]
        if all(isinstance(v, int) for v in (self.start, self.stop)) and all(
            float(v).is_integer() for v in out
        ):
            if self.step is None or float(self.step).is_integer():
                return [int(v) for v in out]
        return out


def _tidy(value: float) -> float:
    """Round away floating-point dust (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.12g}")


class ParameterSpec(_Strict):
    """How one parameter varies: explicit ``values``, a ``range``, or ``bounds`` to sample."""

    values: list[Any] | None = Field(None, min_length=1, description="Explicit values.")
    range: RangeSpec | None = None
    bounds: tuple[float, float] | None = Field(
        None, description="[low, high] for lhs/sobol/morris."
    )
    log: bool = Field(False, description="Sample log-uniformly within bounds (low > 0).")
    integer: bool | None = Field(
        None, description="Round sampled values to integers (default: when the field is one)."
    )

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError("low < high, as in bounds: [0.1, 2.0]")
        return bounds

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        given = [k for k in ("values", "range", "bounds") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "exactly one of 'values', 'range' or 'bounds'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.bounds is not None:
            if self.log and self.bounds[0] <= 0:
                raise ValueError(f"bounds > 0 with log: true (got low {self.bounds[0]})")
        elif self.log:
            raise ValueError("'log' only with 'bounds' (use range: {..., log: true})")
        return self


class GridDesign(_Strict):
    """Full factorial grid of every parameter's values (the first parameter varies slowest)."""

    kind: Literal["grid"]


class PointsDesign(_Strict):
    """Explicit points, each a mapping of dotted path to value."""

    kind: Literal["points"]
    points: list[dict[str, Any]] = Field(..., min_length=1)


class LhsDesign(_Strict):
    """Latin hypercube sample (SALib ``sample.latin``)."""

    kind: Literal["lhs"]
    samples: int = Field(..., ge=2, le=1_000_000, description="Number of points.")


class SobolDesign(_Strict):
    """Saltelli sampling for Sobol indices (SALib ``sample.sobol``)."""

    kind: Literal["sobol"]
    base_samples: int = Field(
        ...,
        ge=2,
        le=2**20,
        description="N, a power of 2; points = N x (D + 2), or N x (2D + 2) with second_order.",
    )
    second_order: bool = Field(False, description="Also estimate second-order indices.")

    @field_validator("base_samples")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(f"a power of 2 for Saltelli sampling, e.g. {lower} or {lower * 2}")
        return n


class MorrisDesign(_Strict):
    """Morris elementary-effects trajectories (SALib ``sample.morris``)."""

    kind: Literal["morris"]
    trajectories: int = Field(..., ge=2, le=100_000, description="Points = trajectories x (D+1).")
    levels: int = Field(4, ge=2, le=100, description="Grid levels (even).")

    @field_validator("levels")
    @classmethod
    def _even_levels(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError("an even number of levels, e.g. 4 or 6")
        return levels


Design = Annotated[
    Union[GridDesign, PointsDesign, LhsDesign, SobolDesign, MorrisDesign],  # noqa: UP007
    Field(discriminator="kind"),
]
_DESIGN_MODELS: dict[str, type[BaseModel]] = {
    "grid": GridDesign,
    "points": PointsDesign,
    "lhs": LhsDesign,
    "sobol": SobolDesign,
    "morris": MorrisDesign,
}


class SweepFile(_Strict):
    """The fields of a sweep file."""

    name: str | None = Field(
        None, min_length=1, pattern=r"^[A-Za-z0-9_\-\.]+$", description="Default: file stem."
    )
    description: str = ""
    base: str = Field(..., min_length=1, description="Base scenario, relative to the sweep file.")
    set: dict[str, Any] = Field(
        default_factory=dict, description="Fixed changes to the base scenario (dotted paths)."
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Default: the base's seed.")
    replications: int | None = Field(
        None, ge=1, le=1_000_000, description="Per point; default: the base's replications."
    )
    design: Design = Field(default_factory=lambda: GridDesign(kind="grid"))
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Error messages
# --------------------------------------------------------------------------------------------
def _fmt_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    keyed = False
    for part in loc:
        if part in _DESIGN_MODELS and out.endswith("design"):
            continue  # tag of the design union
        if keyed:
            out += f"['{part}']"
            keyed = False
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
            keyed = part in ("parameters", "set") and out == part
    return out or "<top level>"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names valid at ``loc`` inside a sweep file (for did-you-mean hints)."""
    current: Any = SweepFile
    skip_key = False
    for part in loc:
        if skip_key or isinstance(part, int):
            skip_key = False
            continue
        if current == "design":
            current = _DESIGN_MODELS.get(str(part))
            if current is None:
                return []
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        annotation = fields[part].annotation
        if part == "design":
            current = "design"
            continue
        if get_origin(annotation) is dict:
            skip_key = True
            annotation = get_args(annotation)[1]
        current = _model_in(annotation)
    if current == "design":
        return ["kind"]
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _describe(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    where = _fmt_loc(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"field '{where}': unknown key '{key}'{did_you_mean(key, _fields_at(loc[:-1]))}"
    if kind == "missing":
        return f"field '{where}': required but missing"
    if kind == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        return (
            f"field '{where}.kind': value {tag!r}: expected one of {list(DESIGN_KINDS)}"
            f"{did_you_mean(str(tag), DESIGN_KINDS)}"
        )
    if kind == "union_tag_not_found":
        return f"field '{where}.kind': required but missing: expected one of {list(DESIGN_KINDS)}"
    value = err.get("input")
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    return f"field '{where}': value {shown}: expected {msg}"


def parse_sweep(raw: Any, source: str) -> SweepFile:
    """Validate the mapping read from a sweep file (the fields only, not the scenario paths)."""
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"top level: value of type {type(raw).__name__}: expected a mapping with base, "
            "parameters, design, ...",
            source,
        )
    try:
        return SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError([_describe(e) for e in exc.errors()], source) from None


# --------------------------------------------------------------------------------------------
# Paths with wildcards
# --------------------------------------------------------------------------------------------
def expand_path(data: dict[str, Any], path: str) -> list[str]:
    """Concrete dotted paths for ``path``, where ``*`` is every list item or mapping key.

    Paths without ``*`` come back unchanged (whether they exist is checked when applied).
    """
    parts = path.split(".")
    if "*" not in parts:
        return [path]
    found: list[str] = []

    def walk(node: Any, depth: int, prefix: list[str]) -> None:
        if depth == len(parts):
            found.append(".".join(prefix))
            return
        part = parts[depth]
        if part == "*":
            if isinstance(node, list):
                keys: list[str] = [str(i) for i in range(len(node))]
                children = list(node)
            elif isinstance(node, dict):
                keys = [str(k) for k in node]
                children = list(node.values())
            else:
                raise ScenarioError(
                    f"'{'.'.join(parts[:depth])}' is a value, not a list or section", path
                )
            for key, child in zip(keys, children, strict=True):
                walk(child, depth + 1, [*prefix, key])
            return
        child = _child(node, part)
        if child is _MISSING:  # leave the rest to apply_override, which explains the problem
            found.append(".".join([*prefix, *parts[depth:]]))
            return
        walk(child, depth + 1, [*prefix, part])

    walk(data, 0, [])
    return found


_MISSING = object()


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list):
        if part.lstrip("-").isdigit():
            i = int(part)
            return node[i] if -len(node) <= i < len(node) else _MISSING
        for item in node:
            if isinstance(item, dict) and item.get("name") == part:
                return item
    return _MISSING


def _value_at(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        node = _child(node, part)
        if node is _MISSING:
            return _MISSING
    return node


# --------------------------------------------------------------------------------------------
# The resolved sweep
# --------------------------------------------------------------------------------------------
@dataclass
class Parameter:
    """One varied parameter: its dotted path (the column name) and the concrete paths it sets."""

    name: str
    paths: list[str]
    spec: ParameterSpec | None = None
    integer: bool = False

    @property
    def log(self) -> bool:
        return bool(self.spec and self.spec.log)

    def sample_bounds(self) -> list[float]:
        """Bounds in the space SALib samples in (log10 of the value when ``log``)."""
        assert self.spec is not None and self.spec.bounds is not None
        low, high = self.spec.bounds
        return [math.log10(low), math.log10(high)] if self.log else [float(low), float(high)]

    def from_sample(self, x: float) -> int | float:
        """A parameter value from a SALib sample coordinate."""
        value = 10.0**x if self.log else float(x)
        if self.integer:
            return int(round(value))
        return value

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "paths": self.paths, "integer": self.integer}
        if self.spec is not None:
            out.update(self.spec.model_dump(mode="json", exclude_none=True))
        return out


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


def load_sweep(path: str | Path) -> ResolvedSweep:
    """Read, validate and expand a sweep file into its points (nothing is run).

    Raises :class:`ScenarioError` listing every problem found, each naming the file, the
    field, the value and what was expected.
    """
    path = Path(path)
    source = str(path)
    raw = read_yaml(path)
    text = path.read_text(encoding="utf-8")
    spec = parse_sweep(raw, source)

    base_path = Path(spec.base)
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    if not base_path.is_file():
        raise ScenarioError(
            f"field 'base': value '{spec.base}': expected a scenario file, relative to the sweep "
            f"file (no file at {base_path})",
            source,
        )
    base = load_scenario(base_path)
    base_data = base.model_dump(mode="json")

    problems: list[str] = []
    fixed: list[tuple[str, Any]] = []
    for key, value in spec.set.items():
        try:
            fixed.extend((p, value) for p in expand_path(base_data, key))
        except ScenarioError as err:
            problems.append(f"field 'set['{key}']': {'; '.join(err.problems)}")
    if problems:
        raise ScenarioError(problems, source)
    try:
        base = apply_overrides(base, fixed, source=f"{source}: set")
    except ScenarioError as err:
        raise ScenarioError([f"field 'set': {p}" for p in err.problems], source) from None
    base_data = base.model_dump(mode="json")

    parameters, problems = _check_parameters(spec, base_data)
    if problems:
        raise ScenarioError(problems, source)

    seed = spec.seed if spec.seed is not None else base.seed
    replications = spec.replications if spec.replications is not None else base.replications
    size = _design_size(spec, parameters)
    if size > MAX_POINTS:
        raise ScenarioError(
            [f"field 'design': {size:,} points: expected at most {MAX_POINTS:,} per sweep"], source
        )
    points, matrix, problem = _design_points(spec, parameters, seed)
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
        where = f"parameters['{name}']" if kind != "points" else f"design.points[*].{name}"
        if name.split(".")[0] in RESERVED_PATHS:
            problems.append(
                f"field '{where}': path '{name}': expected a scenario parameter; "
                f"{name.split('.')[0]} is set by the sweep itself"
            )
            continue
        if name in fixed:
            problems.append(f"field '{where}': path '{name}' is also fixed in 'set'")
            continue
        try:
            paths = expand_path(base_data, name)
        except ScenarioError as err:
            problems.append(f"field '{where}': {'; '.join(err.problems)}")
            continue
        if not paths:
            problems.append(f"field '{where}': '*' matches nothing in the base scenario")
            continue
        current = _value_at(base_data, paths[0])
        if current is _MISSING:
            try:  # raises with a did-you-mean hint
                apply_override(copy.deepcopy(base_data), paths[0], None, source="")
            except ScenarioError as err:
                problems.append(f"field '{where}': {'; '.join(err.problems)}")
                continue
        pspec = spec.parameters.get(name)
        integer = isinstance(current, int) and not isinstance(current, bool)
        if pspec is not None and pspec.integer is not None:
            integer = pspec.integer
        param = Parameter(name=name, paths=paths, spec=pspec, integer=integer)
        problems.extend(_check_spec_kind(param, kind, where))
        parameters.append(param)
    problems.extend(_overlapping(parameters, base_data, kind))
    if problems or kind == "points":  # points are checked whole, by _check_points
        return parameters, problems
    for param in parameters:
        where = (
            f"parameters['{param.name}']" if kind != "points" else f"design.points[*].{param.name}"
        )
        for label, value in _candidate_values(param, spec):
            data = copy.deepcopy(base_data)
            try:
                for path in param.paths:
                    apply_override(data, path, value, source="")
                validate_scenario(data, "")
            except ScenarioError as err:
                problems.extend(_value_problem(f"{where}.{label}", value, p) for p in err.problems)
                if len(problems) > MAX_PROBLEMS_SHOWN:
                    return parameters, problems
    return parameters, problems


def _canonical(data: Any, path: str) -> str:
    """A dotted path with list items by index (agencies.trade_agency.x -> agencies.2.x)."""
    out, node = [], data
    for part in path.split("."):
        if isinstance(node, list):
            index = next(
                (
                    i
                    for i, item in enumerate(node)
                    if str(i) == part or (isinstance(item, dict) and item.get("name") == part)
                ),
                None,
            )
            if index is None:
                return ".".join([*out, *path.split(".")[len(out) :]])
            out.append(str(index))
            node = node[index]
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out)


def _overlapping(parameters: list[Parameter], base_data: dict[str, Any], kind: str) -> list[str]:
    """Two parameters that set the same field (or one inside the other): the later one would
    silently win, so the first would have no effect."""
    owner: dict[str, str] = {}
    problems = []
    for param in parameters:
        for path in param.paths:
            here = _canonical(base_data, path)
            for seen, name in owner.items():
                if name != param.name and (
                    here == seen or here.startswith(seen + ".") or seen.startswith(here + ".")
                ):
                    where = f"parameters['{param.name}']" if kind != "points" else param.name
                    problems.append(
                        f"field '{where}': sets {here}, which '{name}' also sets: expected each "
                        "field to be varied by one parameter only"
                    )
                    break
            owner.setdefault(here, param.name)
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
        seen: list[tuple[str, Any]] = []
        for i, point in enumerate(design.points):
            value = point.get(param.name)
            if all(value != v for _, v in seen):
                seen.append((f"[{i}]", value))
        return seen
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


def salib_problem(parameters: list[Parameter]) -> dict[str, Any]:
    """The SALib problem dict (bounds in sampling space: log10 for ``log`` parameters)."""
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [p.sample_bounds() for p in parameters],
    }


def _design_size(spec: SweepFile, parameters: list[Parameter]) -> int:
    """Number of points of a grid design, worked out before any point is made (others: 0,
    their sizes are bounded by their own fields)."""
    if spec.design.kind != "grid":
        return 0
    size = 1
    for p in parameters:
        assert p.spec is not None
        if p.spec.values is not None:
            size *= len(p.spec.values)
        else:
            size *= p.spec.range.count()  # type: ignore[union-attr]
    return size


def _design_points(
    spec: SweepFile, parameters: list[Parameter], seed: int
) -> tuple[list[dict[str, Any]], np.ndarray | None, dict[str, Any] | None]:
    design = spec.design
    names = [p.name for p in parameters]
    if design.kind == "points":
        return [{n: point[n] for n in names} for point in design.points], None, None
    if design.kind == "grid":
        lists = []
        for p in parameters:
            assert p.spec is not None
            lists.append(p.spec.values if p.spec.values is not None else p.spec.range.values())  # type: ignore[union-attr]
        combos = itertools.product(*lists)
        return [dict(zip(names, combo, strict=True)) for combo in combos], None, None
    problem = salib_problem(parameters)
    # SALib seeds numpy's legacy global generator in some samplers; keep the caller's state.
    state = np.random.get_state()
    try:
        matrix = _salib_sample(design, problem, seed)
    finally:
        np.random.set_state(state)
    points = [
        {p.name: p.from_sample(float(x)) for p, x in zip(parameters, row, strict=True)}
        for row in matrix
    ]
    return points, matrix, problem


def _salib_sample(design: Any, problem: dict[str, Any], seed: int) -> np.ndarray:
    import warnings

    seed = int(seed) % 2**32  # SALib's samplers take a 32-bit seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design.kind == "lhs":
            from SALib.sample import latin

            return np.asarray(latin.sample(problem, design.samples, seed=seed))
        if design.kind == "sobol":
            from SALib.sample import sobol

            return np.asarray(
                sobol.sample(
                    problem, design.base_samples, calc_second_order=design.second_order, seed=seed
                )
            )
        if design.kind == "morris":
            from SALib.sample import morris

            return np.asarray(
                morris.sample(problem, design.trajectories, num_levels=design.levels, seed=seed)
            )
    raise SimsmeError(f"design kind '{design.kind}': expected one of {list(DESIGN_KINDS)}")


def _check_points(
    points: list[dict[str, Any]], parameters: list[Parameter], base_data: dict[str, Any]
) -> list[str]:
    """Every point (combination of values) gives a valid scenario."""
    problems: list[str] = []
    bad = 0
    for i, values in enumerate(points):
        data = copy.deepcopy(base_data)
        try:
            for p in parameters:
                for path in p.paths:
                    apply_override(data, path, values[p.name], source="")
            validate_scenario(data, "")
        except ScenarioError as err:
            bad += 1
            if len(problems) < MAX_PROBLEMS_SHOWN:
                shown = ", ".join(f"{k}={v!r}" for k, v in values.items())
                problems.extend(f"point {i} ({shown}): {p}" for p in err.problems)
    if bad > MAX_PROBLEMS_SHOWN:
        problems.append(f"... {bad} of {len(points)} points are invalid in all")
    return problems
