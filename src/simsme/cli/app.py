"""The ``simsme`` command-line application object; commands register on it from their modules."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


class _FlagsWithoutType:
    """Flags (``--quiet``, ``--smes/--no-smes``, ``--help``) take no value, so ``--help`` shows
    no value type for them (typer would show ``<bool>``)."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class SimsmeCommand(_FlagsWithoutType, TyperCommand):
    """Every ``simsme`` command."""


class SimsmeGroup(_FlagsWithoutType, TyperGroup):
    """The ``simsme`` command group."""


class SimsmeTyper(typer.Typer):
    """A Typer whose commands are :class:`SimsmeCommand` unless told otherwise."""

    def command(self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or SimsmeCommand, **kwargs)


app = SimsmeTyper(
    cls=SimsmeGroup,
    name="simsme",
    help=(
        "Agent-based simulation of SME-agency ecosystems: how digital and conventional "
        "interaction channels change SMEs' time to first export."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _print_version(value: bool) -> None:
    if value:
        from simsme import __version__

        typer.echo(f"simsme {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Agent-based simulation of SME-agency ecosystems: how digital and conventional
    interaction channels change SMEs' time to first export."""
