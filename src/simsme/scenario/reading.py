"""Reading input files: small regular files only, parsed by one safe YAML loader.

Every file simsme reads (scenario, sweep, calibration targets and cases) and every ``--set``
value goes through :func:`read_text_file` and :class:`SafeLoader`, so the limits below hold for
all of them (docs/robustness.md). Problems are raised as :class:`~simsme.errors.ScenarioError`
naming the file and the line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from simsme.errors import ScenarioError, shorten

MAX_FILE_BYTES = 256 * 1024
"""Largest input file read (scenario, sweep, targets): 256 KiB, which PyYAML's safe loader
parses in about a second; the shipped files are under 20 KiB."""
MAX_NESTING = 40
"""Deepest nesting of YAML collections (a scenario nests about 6 deep)."""
MAX_NODES = 1_000_000
"""Most values in one document once aliases are expanded (refuses 'billion laughs')."""
MAX_TEXT_CHARS = 8_000_000
"""Most characters of text in one document once aliases are expanded."""
MAX_INT_DIGITS = 1_000
"""Longest integer literal read (every integer field is far smaller)."""


class InputLimitError(yaml.YAMLError):
    """A YAML document beyond simsme's input limits (nesting, size after aliases)."""

    def __init__(self, problem: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader (no tags that run code), and also:

    - a key given twice in one mapping is an error (PyYAML keeps the last silently, so a
      scenario that sets ``n_smes`` twice would run with one of them);
    - collections nest at most :data:`MAX_NESTING` deep (checked while composing, before the
      recursion gets deep);
    - dates that are not dates (2010-02-30) and integers of more than :data:`MAX_INT_DIGITS`
      digits are errors with their line, not Python exceptions.

    The size of the document once aliases are expanded is checked by :func:`load_yaml_text`.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise InputLimitError(
                    f"nested more than {MAX_NESTING} levels deep", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

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
                    f"duplicate key {shorten(key, 80, quote=True)} (first given on line "
                    f"{first.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        """Dates such as 2010-02-30 match YAML's date pattern but are not dates: say so."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"'{shorten(node.value)}' is not a valid date ({exc})", node.start_mark
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        digits = sum(c.isalnum() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"an integer of {digits:,} digits: expected at most {MAX_INT_DIGITS:,}",
                node.start_mark,
            )
        try:
            return super().construct_yaml_int(node)
        except ValueError as exc:  # pragma: no cover - bounded above
            raise yaml.constructor.ConstructorError(
                None, None, f"not an integer ({exc})", node.start_mark
            ) from None


SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", SafeLoader.construct_yaml_timestamp)
SafeLoader.add_constructor("tag:yaml.org,2002:int", SafeLoader.construct_yaml_int)
_UniqueKeyLoader = SafeLoader  # the name used before


def _check_expanded_size(document: Any) -> None:
    """Refuse a document whose aliases expand it beyond :data:`MAX_NODES` values or
    :data:`MAX_TEXT_CHARS` characters, or past :data:`MAX_NESTING` levels, or into a cycle.

    Each shared (aliased) collection is measured once and counted at every use, so a 'billion
    laughs' document is refused in time proportional to its text, never expanded.
    """
    sizes: dict[int, tuple[int, int]] = {}
    active: set[int] = set()

    def measure(node: Any, depth: int) -> tuple[int, int]:
        if isinstance(node, str):
            return 1, len(node)
        if not isinstance(node, dict | list):
            return 1, 0
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise InputLimitError("an alias refers to a collection that contains it (a cycle)")
        if depth > MAX_NESTING:
            raise InputLimitError(f"nested more than {MAX_NESTING} levels deep (through aliases)")
        active.add(key)
        items = list(node.items()) if isinstance(node, dict) else [(None, v) for v in node]
        count, chars = 1, 0
        for k, v in items:
            if isinstance(k, str):
                count, chars = count + 1, chars + len(k)
            n, c = measure(v, depth + 1)
            count, chars = count + n, chars + c
            if count > MAX_NODES or chars > MAX_TEXT_CHARS:
                raise InputLimitError(
                    f"more than {MAX_NODES:,} values or {MAX_TEXT_CHARS:,} characters once "
                    "aliases are expanded (an alias bomb?)"
                )
        active.discard(key)
        sizes[key] = (count, chars)
        return count, chars

    measure(document, 0)


def load_yaml_text(text: str) -> Any:
    """Parse YAML text with :class:`SafeLoader` and check its expanded size.

    Raises ``yaml.YAMLError`` (:class:`InputLimitError` for a document beyond the limits).
    """
    try:
        document = yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise InputLimitError(f"nested more than {MAX_NESTING} levels deep") from None
    _check_expanded_size(document)
    return document


def parse_yaml(text: str, source: str) -> Any:
    """:func:`load_yaml_text`, with every problem as a :class:`ScenarioError` naming ``source``
    and the line."""
    try:
        return load_yaml_text(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        limit = isinstance(exc, InputLimitError)
        kind = "YAML beyond the input limits" if limit else "malformed YAML"
        raise ScenarioError(f"{where}{kind}: {shorten(problem, 300)}", source) from None


def read_text_file(path: str | Path, what: str = "file") -> str:
    """The text of a small regular file, refused before reading when it is not one.

    Devices (``/dev/zero``), FIFOs, sockets and folders are refused without being opened, and
    files over :data:`MAX_FILE_BYTES`; the text must be UTF-8.
    """
    path = Path(path)
    source = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScenarioError(f"{what} not found", source) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"cannot read {what}: {exc}", source) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"is a folder: expected a {what}", source)
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(
            f"is not a regular file (a device, pipe or socket): expected a {what}", source
        )
    if info.st_size > MAX_FILE_BYTES:
        raise ScenarioError(
            f"{info.st_size:,} bytes: expected a {what} of at most {MAX_FILE_BYTES:,} bytes "
            f"({MAX_FILE_BYTES // 1024} KiB)",
            source,
        )
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"cannot read {what}: {exc.strerror or exc}", source) from None
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise ScenarioError(f"expected a {what} of at most {MAX_FILE_BYTES:,} bytes", source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"cannot read {what}: not UTF-8 text (byte {exc.start:,}): expected a YAML text file",
            source,
        ) from None


def read_yaml(path: str | Path, what: str = "file") -> Any:
    """Read a YAML file with :class:`SafeLoader`, every problem a :class:`ScenarioError`."""
    return parse_yaml(read_text_file(path, what), str(path))
