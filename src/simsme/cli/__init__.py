"""The ``simsme`` command line. Each command lives in the module of its concept."""

from __future__ import annotations

import sys

from simsme.cli import run as _run  # noqa: F401  (registers run, validate, schema)
from simsme.cli.app import app
from simsme.cli.common import err_console
from simsme.errors import SimsmeError


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors print one clear message and exit 2, never a traceback."""
    try:
        app(args=argv, prog_name="simsme", standalone_mode=True)
    except SimsmeError as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, markup=True)
        return err.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted: run the same command again to resume where it stopped")
        return 130
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    return 0


def entry() -> None:
    sys.exit(main())


__all__ = ["app", "main"]
