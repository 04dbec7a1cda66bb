"""User-facing errors. The CLI prints them without a traceback and exits with code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

MAX_PROBLEMS = 50
"""Most problems listed in one message (the rest are counted)."""
MAX_PROBLEM_CHARS = 2_000
"""Longest problem line: a hostile input's value is cut, never printed whole."""
_HINT_MAX_CHARS = 200
"""Names longer than this get no did-you-mean hint (none is that long; difflib is quadratic)."""


class SimsmeError(Exception):
    """An error in user input: the message says what, where, and what was expected."""

    exit_code = 2


class ScenarioError(SimsmeError):
    """A scenario or sweep file that cannot be used.

    Parameters
    ----------
    problems:
        One line per problem, each naming the field path, the value and what was expected.
    source:
        The file (or ``--set`` option) the problems come from.
    """

    def __init__(self, problems: list[str] | str, source: str = "<scenario>") -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        self.source = source
        shown = [shorten(p, MAX_PROBLEM_CHARS, quote=False) for p in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS} more")
        lines = "\n".join(f"  - {p}" for p in shown)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{source}: {len(self.problems)} {noun}:\n{lines}")


def shorten(value: Any, limit: int = 80, quote: bool = False) -> str:
    """``value`` as text (``repr`` when ``quote``), cut to ``limit`` characters with a count of
    the rest: messages must stay readable, and printing a megabyte is slow."""
    text = repr(value) if quote else str(value)
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 30, 10)]}... ({len(text):,} characters)"


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint, or an empty string when nothing is close."""
    name = str(name)
    if len(name) > _HINT_MAX_CHARS:
        return ""
    candidates = [str(o) for o in options if len(str(o)) <= _HINT_MAX_CHARS]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
