"""The ``simsme`` command line. Each command lives in the module of its concept."""

from __future__ import annotations

import sys

from rich.markup import escape

from simsme.cli.app import app
from simsme.cli.common import err_console
from simsme.errors import SimsmeError

# Commands register on ``app`` when their module is imported; this order is the order of --help.
# isort: off
from simsme.cli import run as _run  # noqa: E402,F401  (run, validate, schema)
from simsme.cli import sweep as _sweep  # noqa: E402,F401  (sweep, merge, sensitivity)
from simsme.cli import analysis as _analysis  # noqa: E402,F401  (plot, compare)
from simsme.cli import check as _check  # noqa: E402,F401  (check-model)
from simsme.cli import calibrate as _calibrate  # noqa: E402,F401  (calibrate)
from simsme.cli import decompose as _decompose  # noqa: E402,F401  (decompose)
from simsme.cli import view as _view  # noqa: E402,F401  (view)
# isort: on


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one clear message and exit 2, never a traceback.

    Usage errors (unknown option, missing argument) are typer's own, also with exit code 2.
    """
    try:
        _refuse_empty_values(sys.argv[1:] if argv is None else argv)
        app(args=argv, prog_name="simsme", standalone_mode=True)
    except SimsmeError as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
        return err.exit_code
    except OSError as err:
        # The environment failed us (disk full, a file vanished, permissions changed mid-run):
        # say which file and why, without a traceback. Results already written stay consistent.
        where = f"{err.filename}: " if err.filename else ""
        err_console.print(
            f"[bold red]error:[/] {escape(where + (err.strerror or str(err)))}", highlight=False
        )
        return 1
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0


def _refuse_empty_values(args: list[str]) -> None:
    """An empty value (``--out ''``) would silently mean the current folder: refuse it."""
    for i, arg in enumerate(args):
        if arg.startswith("--") and arg.endswith("="):
            raise SimsmeError(f"{arg[:-1]}: the value is empty; expected a path or a value")
        if arg == "":
            option = args[i - 1] if i > 0 and args[i - 1].startswith("-") else "argument"
            raise SimsmeError(f"{option}: the value is empty; expected a path or a value")


def entry() -> None:
    sys.exit(main())


__all__ = ["app", "main"]
