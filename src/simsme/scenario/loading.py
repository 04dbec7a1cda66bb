"""Reading scenario files, applying ``--set`` overrides, and turning schema errors into messages.

Every problem is reported as ``FILE: field PATH: value V: expected ...`` and raised as a
:class:`~simsme.errors.ScenarioError` (exit code 2 in the CLI).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from simsme.errors import ScenarioError, did_you_mean
from simsme.scenario.schema import FOCUS_AREAS, Scenario, default_channels


def _fmt_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def _field_names_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names that would be valid at ``loc`` (for did-you-mean on unknown keys)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return []
        current = _inner_model(fields[part].annotation)
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _inner_model(annotation: Any) -> Any:
    """The BaseModel inside list[...] / dict[..., ...] / Optional[...] annotations, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _describe_error(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    # Tagged unions add the tag to the location (events[0].movement_control.x): drop it.
    loc = tuple(
        p
        for p in loc
        if p
        not in {
            "movement_control",
            "regulation_change",
            "tax_change",
            "free_trade_agreement",
            "agency_digitalisation",
            "function-after[_sums_to_one(), SizeMix]",
        }
    )
    path = _fmt_path(loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        hint = did_you_mean(str(key), _field_names_at(Scenario, loc[:-1]))
        return f"field '{path}': unknown key '{key}'{hint}"
    if kind == "missing":
        return f"field '{path}': required but missing"
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    ctx = err.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        msg = f"a name of letters, digits and the signs in {ctx.get('pattern')}, no spaces"
    elif kind == "too_short":
        msg = f"at least {ctx.get('min_length')} item(s)"
    elif kind == "union_tag_invalid":
        msg = f"a 'type' among {ctx.get('expected_tags')}, not '{ctx.get('tag')}'"
        path = f"{path}.type"
    return f"field '{path}': value {shown}: expected {msg}"


def _check_references(scenario: Scenario) -> list[str]:
    """Names used in one place must exist in another (channels, agencies, focus areas)."""
    problems: list[str] = []
    channel_names = list(scenario.channels)

    def check_channel(path: str, name: str) -> None:
        if name not in scenario.channels:
            problems.append(
                f"field '{path}': value '{name}': expected a channel name, one of "
                f"{channel_names}{did_you_mean(name, channel_names)}"
            )

    for name in scenario.population.initial_channels:
        check_channel(f"population.initial_channels.{name}", name)
    agency_names = [a.name for a in scenario.agencies]
    seen: set[str] = set()
    for i, agency in enumerate(scenario.agencies):
        if agency.name in seen:
            problems.append(
                f"field 'agencies[{i}].name': value '{agency.name}': expected a unique agency name"
            )
        seen.add(agency.name)
        for purpose, names in agency.channels.model_dump().items():
            for j, name in enumerate(names):
                check_channel(f"agencies[{i}].channels.{purpose}[{j}]", name)
            if purpose == "application" and not names:
                problems.append(
                    f"field 'agencies[{i}].channels.application': value []: "
                    "expected at least one channel"
                )
    for i, event in enumerate(scenario.events):
        for j, name in enumerate(getattr(event, "blocked_channels", [])):
            check_channel(f"events[{i}].blocked_channels[{j}]", name)
        for name in getattr(event, "slowed_channels", {}):
            check_channel(f"events[{i}].slowed_channels.{name}", name)
        for j, name in enumerate(getattr(event, "agencies", [])):
            if name not in agency_names:
                problems.append(
                    f"field 'events[{i}].agencies[{j}]': value '{name}': expected an agency "
                    f"name, one of {agency_names}{did_you_mean(name, agency_names)}"
                )
    if len(scenario.channels) > 62:
        problems.append(f"field 'channels': {len(scenario.channels)} channels: expected at most 62")
    missing = [f for f in FOCUS_AREAS if f not in scenario.programmes]
    if missing:
        problems.append(
            f"field 'programmes': missing focus areas {missing}: expected all of "
            f"{list(FOCUS_AREAS)}"
        )
    return problems


def _merge_channels(raw: dict[str, Any]) -> dict[str, Any]:
    """Channels given in a file override the default table field by field; new ones are added."""
    given = raw.get("channels")
    if not isinstance(given, dict):
        return raw
    merged = {k: v.model_dump(mode="json") for k, v in default_channels().items()}
    for name, spec in given.items():
        if isinstance(spec, dict) and name in merged:
            merged[name] = _deep_merge(merged[name], spec)
        else:
            merged[name] = spec
    return {**raw, "channels": merged}


def _deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def validate_scenario(raw: Any, source: str = "<scenario>") -> Scenario:
    """Validate a mapping as a :class:`Scenario`; raise :class:`ScenarioError` on any problem."""
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
        raise ScenarioError([_describe_error(e) for e in exc.errors()], source) from None
    problems = _check_references(scenario)
    if problems:
        raise ScenarioError(problems, source)
    return scenario


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, except that a key given twice in one mapping is an error: PyYAML keeps
    the last silently, so a scenario that sets ``n_smes`` twice would run with one of them."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # '<<': merged keys may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: let the base loader report it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"duplicate key '{key}' (first given on line {first.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """Dates such as 2010-02-30 match YAML's date pattern but are not dates: say so."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{node.value}' is not a valid date ({exc})", node.start_mark
            ) from None


_UniqueKeyLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _UniqueKeyLoader.construct_yaml_timestamp
)


def load_yaml_text(text: str) -> Any:
    """Parse YAML text with the safe loader, refusing duplicate keys."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file with the safe loader, turning I/O and syntax errors into ScenarioError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read file: {exc}", str(path)) from None
    try:
        return load_yaml_text(text)
    except RecursionError:
        raise ScenarioError("malformed YAML: nested too deeply", str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(f"{where}malformed YAML: {problem}", str(path)) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``path.to.field=value``; the value is read as a YAML scalar or flow collection."""
    if "=" not in text:
        raise ScenarioError(f"'{text}': expected PATH=VALUE, e.g. population.n_smes=200", "--set")
    path, _, value_text = text.partition("=")
    path = path.strip()
    if not path:
        raise ScenarioError(f"'{text}': the field path before '=' is empty", "--set")
    try:
        value = load_yaml_text(value_text) if value_text.strip() else ""
    except yaml.YAMLError:  # e.g. 2010-02-30: kept as text, and the field's check says why
        value = value_text
    return path, value


def apply_override(data: dict[str, Any], path: str, value: Any, source: str = "--set") -> None:
    """Set ``value`` at dotted ``path`` inside a fully resolved scenario mapping.

    List items are addressed by index (``agencies.0.capacity_per_week``) or, for named items, by
    name (``agencies.trade_agency.capacity_per_week``). An unknown path is an error with a
    did-you-mean hint. Dictionaries with free keys (channels, focus weights) accept new keys.
    """
    parts = path.split(".")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                names = [str(i) for i in range(len(node))] + [
                    str(x.get("name")) for x in node if isinstance(x, dict) and "name" in x
                ]
                expected = (
                    f"expected an index 0..{len(node) - 1} or a name{did_you_mean(part, names)}"
                    if node
                    else "the list is empty (add the item in the scenario file first)"
                )
                raise ScenarioError(f"field '{where}': no item '{part}': {expected}", source)
            if last:
                node[index] = value
                return
            node = node[index]
        elif isinstance(node, dict):
            if part not in node and not (last and _free_keys(parts[:depth])):
                raise ScenarioError(
                    f"field '{where}': unknown key '{part}'{did_you_mean(part, node)}", source
                )
            if last:
                node[part] = value
                return
            node = node[part]
        else:
            raise ScenarioError(
                f"field '{where}': '{'.'.join(parts[:depth])}' is a value, not a section", source
            )


def _free_keys(parent: list[str]) -> bool:
    return bool(parent) and parent[-1] in {
        "channels",
        "focus_weights",
        "initial_channels",
        "slowed_channels",
        "raises",
    }


def _list_index(items: list[Any], part: str) -> int | None:
    if part.isdigit():
        i = int(part)
        return i if i < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    return None


def apply_overrides(
    scenario: Scenario, overrides: Iterable[str | tuple[str, Any]], source: str = "--set"
) -> Scenario:
    """Return a new scenario with ``PATH=VALUE`` overrides applied and re-validated."""
    overrides = list(overrides)
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json")
    for item in overrides:
        path, value = parse_override(item) if isinstance(item, str) else item
        apply_override(data, path, value, source)
    return validate_scenario(data, source)


def load_scenario(path: str | Path, overrides: Iterable[str | tuple[str, Any]] = ()) -> Scenario:
    """Load, validate and override a scenario file.

    >>> s = load_scenario("scenarios/baseline.yaml", ["population.n_smes=200"])  # doctest: +SKIP
    """
    scenario = validate_scenario(read_yaml(path), str(path))
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
    return found


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (canonical JSON), identifying a run's inputs."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
