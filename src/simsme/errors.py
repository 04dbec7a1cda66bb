"""User-facing errors. The CLI prints them without a traceback and exits with code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


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
        lines = "\n".join(f"  - {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{source}: {len(self.problems)} {noun}:\n{lines}")


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint, or an empty string when nothing is close."""
    close = difflib.get_close_matches(str(name), list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
