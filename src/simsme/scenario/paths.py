"""Dotted paths into a scenario mapping: read, write and expand them.

One module serves ``simsme run --set``, the ``set:`` and ``parameters:`` of sweep files and the
calibration's parameter paths, so a path means the same thing everywhere::

    population.n_smes                          a field
    agencies.0.capacity_per_week_per_1000_smes               a list item by index ...
    agencies.trade_agency.capacity_per_week_per_1000_smes    ... or, for named items, by name
    agencies.*.dart.dialogue                   '*': every item of a list or key of a mapping

Paths work on the plain mapping of a scenario (``Scenario.model_dump(mode="json")``); whether a
value is valid is for the schema to say afterwards. Every problem is a
:class:`~simsme.errors.ScenarioError` naming the path, with a did-you-mean hint for a misspelt key.
"""

from __future__ import annotations

import re
from typing import Any

from simsme.errors import ScenarioError, did_you_mean, shorten

WILDCARD = "*"
MAX_PATH_CHARS = 1_000
"""Longest dotted path accepted (real ones are under 100 characters)."""
MAX_PATH_PARTS = 32
"""Most parts in one dotted path (the scenario nests about 6 deep)."""
MAX_INDEX_DIGITS = 9
"""A list index has at most this many ASCII digits (no list is that long)."""

FREE_KEY_SECTIONS = frozenset(
    {"channels", "focus_weights", "initial_channels", "slowed_channels", "raises"}
)
"""Mappings whose keys the user chooses: a new key may be added by a path's last part."""

_INDEX = re.compile(rf"[0-9]{{1,{MAX_INDEX_DIGITS}}}")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What :func:`get_value` returns for a path that leads nowhere."""


def split_path(path: str, source: str = "--set") -> list[str]:
    """The parts of a dotted path, refusing empty, overlong or over-deep paths."""
    if not isinstance(path, str):
        raise ScenarioError(
            f"path {shorten(path)}: expected text such as population.n_smes", source
        )
    if len(path) > MAX_PATH_CHARS:  # shown cut, with its length
        raise ScenarioError(
            f"path '{shorten(path)}': expected at most {MAX_PATH_CHARS:,} characters",
            source,
        )
    parts = path.split(".")
    if len(parts) > MAX_PATH_PARTS:
        raise ScenarioError(
            f"path '{shorten(path)}' has {len(parts)} parts: expected at most {MAX_PATH_PARTS}",
            source,
        )
    if any(not p for p in parts):
        raise ScenarioError(
            f"path '{shorten(path)}': an empty part (two dots, or a dot at an end): expected "
            "names joined by single dots, e.g. population.n_smes",
            source,
        )
    return parts


def list_index(items: list[Any], part: str) -> int | None:
    """Index of the item named ``part`` (ASCII digits: by position; else by its ``name``)."""
    if _INDEX.fullmatch(part):
        i = int(part)
        return i if i < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == part:
            return i
    return None


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part, MISSING)
    if isinstance(node, list):
        index = list_index(node, part)
        return MISSING if index is None else node[index]
    return MISSING


def get_value(data: Any, path: str) -> Any:
    """The value at ``path``, or :data:`MISSING` when the path leads nowhere (no wildcards)."""
    node = data
    for part in split_path(path):
        node = _child(node, part)
        if node is MISSING:
            return MISSING
    return node


def set_value(data: dict[str, Any], path: str, value: Any, source: str = "--set") -> None:
    """Set ``value`` at dotted ``path`` (no wildcards) inside a scenario mapping, in place.

    An unknown key or item is an error with a did-you-mean hint. Mappings with free keys
    (channels, focus weights, ...) accept a new key as the path's last part.
    """
    parts = split_path(path, source)
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = shorten(".".join(parts[: depth + 1]), 200)
        shown = shorten(part)
        if isinstance(node, list):
            index = list_index(node, part)
            if index is None:
                names = [str(i) for i in range(len(node))] + [
                    str(x.get("name")) for x in node if isinstance(x, dict) and "name" in x
                ]
                expected = (
                    f"expected an index 0..{len(node) - 1} or a name{did_you_mean(part, names)}"
                    if node
                    else "the list is empty (add the item in the scenario file first)"
                )
                raise ScenarioError(f"field '{where}': no item '{shown}': {expected}", source)
            if last:
                node[index] = value
                return
            node = node[index]
        elif isinstance(node, dict):
            free = last and depth > 0 and parts[depth - 1] in FREE_KEY_SECTIONS
            if part not in node and not free:
                raise ScenarioError(
                    f"field '{where}': unknown key '{shown}'{did_you_mean(part, node)}", source
                )
            if last:
                node[part] = value
                return
            node = node[part]
        else:
            parent = shorten(".".join(parts[:depth]), 200)
            raise ScenarioError(f"field '{where}': '{parent}' is a value, not a section", source)


def expand(data: Any, path: str, source: str = "--set") -> list[str]:
    """Concrete dotted paths for ``path``, where ``*`` is every list item or mapping key.

    A path without ``*`` comes back unchanged; where a part does not exist, the rest of the path
    is kept as it is, so that :func:`set_value` explains the problem with a hint.
    """
    parts = split_path(path, source)
    if WILDCARD not in parts:
        return [path]
    found: list[str] = []

    def walk(node: Any, depth: int, prefix: list[str]) -> None:
        if depth == len(parts):
            found.append(".".join(prefix))
            return
        part = parts[depth]
        if part == WILDCARD:
            if isinstance(node, list):
                pairs = [(str(i), child) for i, child in enumerate(node)]
            elif isinstance(node, dict):
                pairs = [(str(k), child) for k, child in node.items()]
            else:
                where = shorten(".".join(parts[:depth]), 200)
                raise ScenarioError(
                    f"path '{shorten(path, 200)}': '{where}' is a value, not a list or section",
                    source,
                )
            for key, child in pairs:
                walk(child, depth + 1, [*prefix, key])
            return
        child = _child(node, part)
        if child is MISSING:
            found.append(".".join([*prefix, *parts[depth:]]))
            return
        walk(child, depth + 1, [*prefix, part])

    walk(data, 0, [])
    if not found:
        raise ScenarioError(
            f"path '{shorten(path, 200)}': '*' matches nothing (an empty list or section)", source
        )
    return found


def set_values(data: dict[str, Any], path: str, value: Any, source: str = "--set") -> list[str]:
    """Set ``value`` at every path ``path`` expands to (``*`` allowed); returns those paths."""
    paths = expand(data, path, source)
    for concrete in paths:
        set_value(data, concrete, value, source)
    return paths


def canonical(data: Any, path: str) -> str:
    """The path with list items by index (``agencies.trade_agency.x`` -> ``agencies.2.x``)."""
    parts = split_path(path)
    out: list[str] = []
    node = data
    for depth, part in enumerate(parts):
        if isinstance(node, list):
            index = list_index(node, part)
            if index is None:
                return ".".join([*out, *parts[depth:]])
            out.append(str(index))
            node = node[index]
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out)
