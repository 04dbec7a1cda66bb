"""``simsme view``: watch the Mesa engine run in the browser (a Mesa SolaraViz page)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from simsme.cli.app import app
from simsme.errors import SimsmeError

# solara, mesa.visualization and the model are imported inside the command, so that
# `simsme --help` stays fast.


@app.command()
def view(
    scenario: Annotated[
        Path | None,
        typer.Argument(help="Scenario YAML file (default: the built-in baseline)."),
    ] = None,
    port: Annotated[
        int, typer.Option(help="Port to serve on (0: any free port).", min=0, max=65535)
    ] = 8765,
    host: Annotated[
        str, typer.Option(help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    smes: Annotated[
        int, typer.Option("--smes", help="SMEs the page starts with (a slider changes it).", min=1)
    ] = 200,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the page in a web browser.")
    ] = True,
) -> None:
    """Serve a live view of the Mesa engine: the SME network by stage, agency queues, the
    channel mix and the time-to-first-export curve, with sliders for the policy levers."""
    missing = [name for name in ("solara", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        raise SimsmeError(
            f"simsme view needs the viz extra ({', '.join(missing)} missing): "
            'pip install "simsme[viz]"'
        )
    # imported here, after the check (and before solara itself: serve() configures it first)
    from simsme.viz.server import serve

    try:
        serve(
            scenario, host=host, port=port, open_browser=browser, n_smes=smes, announce=typer.echo
        )
    except KeyboardInterrupt:
        typer.echo("simsme view: stopped")
