"""The ``simsme`` command-line application object; commands register on it from their modules."""

from __future__ import annotations

import typer

app = typer.Typer(
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
