"""Reading scenario files, applying ``--set`` overrides, and turning schema errors into messages.

Every problem is reported as ``FILE: field PATH: value V: expected ...`` and raised as a
:class:`~simsme.errors.ScenarioError` (exit code 2 in the CLI).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import pickle
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from simsme.errors import MAX_PROBLEMS, ScenarioError, did_you_mean, shorten
from simsme.scenario import paths
from simsme.scenario.reading import (  # noqa: F401 - re-exported: the names used before
    MAX_FILE_BYTES,
    MAX_INT_DIGITS,
    MAX_NESTING,
    MAX_NODES,
    MAX_TEXT_CHARS,
    InputLimitError,
    SafeLoader,
    load_yaml_text,
    parse_yaml,
    read_text_file,
    read_yaml,
)
from simsme.scenario.schema import FOCUS_AREAS, Scenario, default_channels


def describe_validation_errors(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per pydantic error: ``field 'PATH': value V: expected ...``.

    The one formatter for every schema of simsme (scenarios, sweep files, calibration targets):
    ``model`` is the schema validated, used to drop the tags of tagged unions from paths and to
    suggest the nearest field name for an unknown key.
    """
    return _capped([err for err in exc.errors()], lambda err: _describe_error(err, model))


def _capped(items: list[Any], describe: Any) -> list[str]:
    """``describe`` each item, up to :data:`~simsme.errors.MAX_PROBLEMS`; the rest counted (a
    hostile file can hold 100,000 problems, and describing each one takes time)."""
    lines = [describe(item) for item in items[: MAX_PROBLEMS - 1]]
    if len(items) > MAX_PROBLEMS - 1:
        lines.append(f"... and {len(items) - MAX_PROBLEMS + 1:,} more problems")
    return lines


_HIDDEN = re.compile(r"^(function-(after|before|wrap|plain)\[.*\]|\[key\])$", re.S)


def _walk(model: Any, loc: Iterable[Any]) -> tuple[str, Any]:
    """The display path of a pydantic error location, and the type found at its end.

    Tags of tagged unions and validator names are not shown (``events[0].start``, not
    ``events[0].movement_control.start``); mapping keys with dots are quoted
    (``parameters['channels.fax.cost']``).
    """
    out = ""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, str) and _HIDDEN.match(part):
            continue
        args = get_args(current)
        if get_origin(current) in (Union, UnionType) and isinstance(part, str):
            member = _union_member(args, part)
            if member is not None:
                current = member
                continue
        if isinstance(part, int) and get_origin(current) is not dict:
            out += f"[{part}]"
            origin = get_origin(current)
            if origin is tuple and args:
                current = args[min(part, len(args) - 1)] if args[-1] is not Ellipsis else args[0]
            else:
                current = args[0] if args else None
            continue
        fields = getattr(current, "model_fields", None) if isinstance(current, type) else None
        if fields is not None and part in fields:
            out += ("." if out else "") + str(part)
            current = fields[part].annotation
            continue
        key = str(part)
        if out and not _PLAIN_KEY.match(key):
            out += f"[{shorten(key, 80, quote=True)}]"
        else:
            out += ("." if out else "") + shorten(key, 80)
        current = args[1] if get_origin(current) is dict and len(args) == 2 else None
    return out or "<top level>", _unwrap(current)


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-]+$")


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``Annotated[X, ...]`` and from ``X | None``."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _union_member(args: tuple[Any, ...], part: str) -> Any:
    """The member of a union that a location part names: a tagged union's tag value (a
    ``Literal`` field of the member model), or a plain union's type name (``int``, ``float``)."""
    for arg in args:
        arg = _unwrap(arg)
        fields = getattr(arg, "model_fields", None) if isinstance(arg, type) else None
        for field in (fields or {}).values():
            if get_origin(field.annotation) is Literal and part in get_args(field.annotation):
                return arg
        name = getattr(arg, "__name__", None) or str(arg)
        bare = part.removeprefix("constrained-")
        if bare == name or bare.startswith(f"{name}["):
            return arg
    return None


def _describe_error(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    loc = tuple(err["loc"])
    path, _ = _walk(model, loc)
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        _, parent = _walk(model, loc[:-1])
        fields = getattr(parent, "model_fields", None) if isinstance(parent, type) else None
        hint = did_you_mean(str(key), list(fields or ()))
        return f"field '{path}': unknown key {shorten(key, 80, quote=True)}{hint}"
    if kind == "missing":
        return f"field '{path}': required but missing"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag_field = str(ctx.get("discriminator", "'type'")).strip("'")
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        where = f"{path}.{tag_field}" if path != "<top level>" else tag_field
        if kind == "union_tag_not_found":
            return f"field '{where}': required but missing: expected one of {tags}"
        tag = ctx.get("tag")
        return (
            f"field '{where}': value {shorten(tag, 80, quote=True)}: expected one of {tags}"
            f"{did_you_mean(str(tag), tags)}"
        )
    shown = (
        shorten(value, 80, quote=True)
        if not isinstance(value, dict | list)
        else type(value).__name__
    )
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    if kind == "string_pattern_mismatch":
        msg = f"a name of letters, digits and the signs in {ctx.get('pattern')}, no spaces"
    elif kind == "too_short":
        msg = f"at least {ctx.get('min_length')} item(s)"
    elif kind == "too_long":
        msg = f"at most {ctx.get('max_length')} item(s)"
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        msg = "a mapping (key: value lines)"
    elif kind == "string_too_long":
        shown = f"of {len(value):,} characters" if isinstance(value, str) else shown
        msg = f"at most {ctx.get('max_length'):,} characters"
    if isinstance(value, dict) and kind == "value_error":  # a check across a section's fields
        return f"field '{path}': expected {msg}"
    return f"field '{path}': value {shown}: expected {msg}"


def _check_references(scenario: Scenario) -> list[str]:
    """Names used in one place must exist in another (channels, agencies, focus areas)."""
    problems: list[str] = []
    channels = scenario.channels

    def bad_channel(path: str, name: str) -> str:
        names = list(channels)
        if len(problems) >= MAX_PROBLEMS - 1:  # counted, not described
            return f"field '{path}': value {shorten(name, 80, quote=True)}: not a channel"
        return (
            f"field '{path}': value {shorten(name, 80, quote=True)}: expected a channel name, "
            f"one of {shorten(names, 600)}{did_you_mean(name, names)}"
        )

    for name in scenario.population.initial_channels:
        if name not in channels:
            problems.append(bad_channel(f"population.initial_channels.{shorten(name)}", name))
    agency_names = [a.name for a in scenario.agencies]
    seen: set[str] = set()
    for i, agency in enumerate(scenario.agencies):
        if agency.name in seen:
            problems.append(
                f"field 'agencies[{i}].name': value '{agency.name}': expected a unique agency name"
            )
        seen.add(agency.name)
        for purpose in type(agency.channels).model_fields:
            names = getattr(agency.channels, purpose)
            for j, name in enumerate(names):
                if name not in channels:
                    problems.append(bad_channel(f"agencies[{i}].channels.{purpose}[{j}]", name))
            if purpose == "application" and not names:
                problems.append(
                    f"field 'agencies[{i}].channels.application': value []: "
                    "expected at least one channel"
                )
    procedure_names = [pc.name for pc in scenario.procedures]
    for i, procedure in enumerate(scenario.procedures):
        if procedure.name in seen:
            problems.append(
                f"field 'procedures[{i}].name': value '{procedure.name}': expected a name unique "
                "among agencies and procedures"
            )
        seen.add(procedure.name)
        for j, name in enumerate(procedure.channels):
            if name not in channels:
                problems.append(bad_channel(f"procedures[{i}].channels[{j}]", name))
        if not procedure.channels:
            problems.append(
                f"field 'procedures[{i}].channels': value []: expected at least one channel"
            )
    known_agencies = set(agency_names) | set(procedure_names)
    agency_names = agency_names + procedure_names
    for i, event in enumerate(scenario.events):
        for j, name in enumerate(getattr(event, "blocked_channels", [])):
            if name not in channels:
                problems.append(bad_channel(f"events[{i}].blocked_channels[{j}]", name))
        for name in getattr(event, "slowed_channels", {}):
            if name not in channels:
                problems.append(bad_channel(f"events[{i}].slowed_channels.{shorten(name)}", name))
        for j, name in enumerate(getattr(event, "agencies", [])):
            if name not in known_agencies:
                problems.append(
                    f"field 'events[{i}].agencies[{j}]': value {shorten(name, 80, quote=True)}: "
                    f"expected an agency or procedure name, one of {shorten(agency_names, 600)}"
                    f"{did_you_mean(name, agency_names)}"
                )
    if len(scenario.channels) > 62:
        problems.append(f"field 'channels': {len(scenario.channels)} channels: expected at most 62")
    if len(problems) > MAX_PROBLEMS - 1:
        more = len(problems) - MAX_PROBLEMS + 1
        problems[MAX_PROBLEMS - 1 :] = [f"... and {more:,} more problems"]
    missing = [f for f in FOCUS_AREAS if f not in scenario.programmes]
    if missing:
        problems.append(
            f"field 'programmes': missing focus areas {missing}: expected all of "
            f"{list(FOCUS_AREAS)}"
        )
    return problems


@functools.lru_cache(maxsize=1)
def _default_channel_data() -> bytes:
    """The default channel table as plain data, pickled (a cheap deep copy per validation)."""
    return pickle.dumps({k: v.model_dump(mode="json") for k, v in default_channels().items()})


def _merge_channels(raw: dict[str, Any]) -> dict[str, Any]:
    """Channels given in a file override the default table field by field; new ones are added."""
    given = raw.get("channels")
    if not isinstance(given, dict):
        return raw
    merged = pickle.loads(_default_channel_data())
    for name, spec in given.items():
        if isinstance(spec, dict) and name in merged:
            _merge_into(merged[name], spec)
        else:
            merged[name] = spec
    return {**raw, "channels": merged}


def _merge_into(base: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Merge ``update`` into ``base`` (a fresh copy owned by the caller), section by section."""
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge_into(base[key], value)
        else:
            base[key] = value


def validate_scenario(raw: Any, source: str = "<scenario>") -> Scenario:
    """Validate a mapping as a :class:`Scenario`; raise :class:`ScenarioError` on any problem.

    ``None`` (an empty document) is the baseline; :func:`load_scenario` refuses empty files.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"top level: value of type {type(raw).__name__}: expected a mapping of fields "
            "(name, population, agencies, ...)",
            source,
        )
    try:
        scenario = Scenario.model_validate(_merge_channels(raw))
    except ValidationError as exc:
        raise ScenarioError(describe_validation_errors(exc, Scenario), source) from None
    except (OverflowError, ValueError, RecursionError) as exc:  # a last guard: never a traceback
        raise ScenarioError(f"top level: cannot be read as a scenario ({exc})", source) from None
    problems = _check_references(scenario)
    if problems:
        raise ScenarioError(problems, source)
    return scenario


# --------------------------------------------------------------------------------------------
# --set overrides
# --------------------------------------------------------------------------------------------
MAX_OVERRIDE_CHARS = 100_000
"""Longest ``--set PATH=VALUE`` accepted."""


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``path.to.field=value``; the value is read as a YAML scalar or flow collection."""
    if len(text) > MAX_OVERRIDE_CHARS:
        raise ScenarioError(
            f"'{shorten(text)}': expected at most {MAX_OVERRIDE_CHARS:,} characters",
            "--set",
        )
    if "=" not in text:
        raise ScenarioError(
            f"'{shorten(text)}': expected PATH=VALUE, e.g. population.n_smes=200", "--set"
        )
    path, _, value_text = text.partition("=")
    path = path.strip()
    if not path:
        raise ScenarioError(f"'{shorten(text)}': the field path before '=' is empty", "--set")
    paths.split_path(path, "--set")
    try:
        value = load_yaml_text(value_text) if value_text.strip() else ""
    except InputLimitError as exc:
        raise ScenarioError(f"'{shorten(path)}': the value is {exc.problem}", "--set") from None
    except yaml.YAMLError:  # e.g. 2010-02-30: kept as text, and the field's check says why
        value = value_text
    return path, value


def apply_override(data: dict[str, Any], path: str, value: Any, source: str = "--set") -> None:
    """Set ``value`` at dotted ``path`` (no ``*``) inside a fully resolved scenario mapping:
    :func:`simsme.scenario.paths.set_value`."""
    paths.set_value(data, path, value, source)


def apply_overrides(
    scenario: Scenario, overrides: Iterable[str | tuple[str, Any]], source: str = "--set"
) -> Scenario:
    """Return a new scenario with ``PATH=VALUE`` overrides applied and re-validated.

    A ``*`` in a path sets every list item or mapping key (``agencies.*.dart.dialogue=0.9``).
    """
    overrides = list(overrides)
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json")
    for item in overrides:
        path, value = parse_override(item) if isinstance(item, str) else item
        paths.set_values(data, path, value, source)
    return validate_scenario(data, source)


def load_scenario(path: str | Path, overrides: Iterable[str | tuple[str, Any]] = ()) -> Scenario:
    """Load, validate and override a scenario file.

    >>> s = load_scenario("scenarios/baseline.yaml", ["population.n_smes=200"])  # doctest: +SKIP
    """
    raw = read_yaml(path, "scenario file")
    if raw is None:
        raise ScenarioError(
            "the file is empty (or only comments): expected scenario fields. To run the "
            "defaults, write 'name: baseline' in it, or use scenarios/baseline.yaml",
            str(path),
        )
    scenario = validate_scenario(raw, str(path))
    return apply_overrides(scenario, overrides)


def scenario_warnings(scenario: Scenario, source: str = "<scenario>") -> list[str]:
    """Things that are valid but probably not meant: events outside the run (one that starts
    after the horizon or ends before the start never happens). Digitalisation schedules are not
    flagged: the default agencies' plans run to 2018 and are meant to be cut by short runs."""
    start = scenario.time.start_date
    end = start + dt.timedelta(days=scenario.n_steps * scenario.time.step_days)
    found = []
    for i, event in enumerate(scenario.events):
        if event.start >= end:
            found.append(
                f"{source}: field 'events[{i}].start': {event.start} is after the horizon "
                f"({end}): this {event.type} event never happens"
            )
        elif event.end is not None and event.end < start:
            found.append(
                f"{source}: field 'events[{i}].end': {event.end} is before the start "
                f"({start}): this {event.type} event never happens"
            )
    pop = scenario.population
    if pop.agency_catchment_smes and pop.agency_catchment_smes != pop.n_smes:
        found.append(
            f"{source}: field 'population.agency_catchment_smes': agency capacities are scaled "
            f"to {pop.agency_catchment_smes:,} SMEs, not to the run's {pop.n_smes:,} "
            "(population.n_smes): this count does not scale, so changing n_smes changes waits"
        )
    return found


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (canonical JSON), identifying a run's inputs."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
