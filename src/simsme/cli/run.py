"""``simsme run``, ``simsme validate`` and ``simsme schema``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from simsme.cli.app import app
from simsme.cli.choices import Engine, SchemaKind
from simsme.cli.common import console, err_console, progress_bar, summary_notes, summary_table
from simsme.errors import SimsmeError

# The scenario machinery (pydantic models), the engines and the results store are imported
# inside the commands, so that `simsme --help` stays fast (tests/test_conventions.py).

INTERRUPTED = 130  # the shell's code for Ctrl-C
HEADLINE_SHOWN = (
    "km_median_ttfe_weeks",
    "restricted_mean_ttfe_weeks",
    "median_ttfe_weeks",
    "share_exported",
    "share_exported_within_3y",
    "indirect_share",
    "digital_share_of_applications",
    "mean_weeks_waiting",
)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    replications: Annotated[
        int | None, typer.Option("--replications", "-n", help="Replications (default: file's).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: file's).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Results folder (default results/<name>-<hash>/)."),
    ] = None,
    engine: Annotated[
        Engine, typer.Option(help="kernel (fast, default) or mesa (reference, agent by agent).")
    ] = Engine.kernel,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field: --set population.n_smes=500 (repeatable)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="Worker threads or processes (default: all cores).", min=1)
    ] = None,
    smes: Annotated[
        bool, typer.Option("--smes/--no-smes", help="Write the per-SME table smes.parquet.")
    ] = True,
    applications: Annotated[
        bool,
        typer.Option(
            "--applications/--no-applications",
            help="Write applications.parquet, one row per application or procedure (stages, "
            "channels, days).",
        ),
    ] = True,
    series: Annotated[
        bool,
        typer.Option(
            "--series", help="Write series.parquet, the per-step series (replication x step)."
        ),
    ] = False,
    force_new: Annotated[
        bool, typer.Option("--force-new", help="Discard unfinished or different results in --out.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
) -> None:
    """Run a scenario and write its results folder (smes, replications, summary, manifest)."""
    from simsme.experiments.run import preflight, run_scenario
    from simsme.scenario import apply_overrides, load_scenario, scenario_warnings

    overrides: list[str | tuple[str, object]] = list(set_ or [])
    resolved = load_scenario(scenario, overrides)
    cli_values = []
    if replications is not None:
        cli_values.append(("replications", replications))
    if seed is not None:
        cli_values.append(("seed", seed))
    resolved = apply_overrides(resolved, cli_values, source="command line")
    for warning in scenario_warnings(resolved, str(scenario)):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    preflight(resolved, engine, threads)  # refuse impossible runs before the progress bar
    start = time.perf_counter()
    try:
        with progress_bar(
            resolved.replications, f"{resolved.name} ({engine})", not quiet
        ) as advance:
            result = run_scenario(
                resolved,
                out=out,
                engine=engine,
                threads=threads,
                with_smes=smes,
                with_applications=applications,
                with_series=series,
                force_new=force_new,
                progress=advance,
                source=str(scenario),
            )
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: finished replications are kept; run the same command again to resume"
        )
        raise typer.Exit(INTERRUPTED) from None
    if result.reused:
        err_console.print(
            f"reusing finished results: same scenario, seed and code ({escape(str(result.folder))}); "
            "--force-new runs again",
            highlight=False,
        )
    if quiet:
        return
    shown = {k: v for k, v in result.summary.items() if k in HEADLINE_SHOWN}
    m = result.manifest
    title = (
        f"{m['scenario_name']}: {m['replications']} replications x {m['n_smes']:,} SMEs x "
        f"{m['n_steps']} steps, engine {m['engine']}, seed {m['seed']}"
    )
    console.print(summary_table(shown, title))
    for note in summary_notes(shown):
        console.print(note, highlight=False)
    console.print(f"results: {escape(str(result.folder))}  ({time.perf_counter() - start:.1f} s)")


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario YAML files to check.")],
) -> None:
    """Check scenario files; print every problem (field, value, expected) and exit 2 if any."""
    from simsme.scenario import load_scenario, scenario_warnings

    problems = []
    for file in files:
        try:
            scenario = load_scenario(file)
        except SimsmeError as err:
            problems.append(str(err))
            continue
        for warning in scenario_warnings(scenario, str(file)):
            err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        console.print(
            f"{escape(str(file))}: ok ({scenario.name}: {scenario.population.n_smes:,} SMEs, "
            f"{len(scenario.agencies)} agencies, {len(scenario.events)} events, "
            f"{scenario.time.horizon_years:g} years)"
        )
    if problems:
        raise SimsmeError("\n".join(problems))


@app.command()
def schema(
    kind: Annotated[
        SchemaKind, typer.Argument(help="Which files: scenario files or sweep files.")
    ] = SchemaKind.scenario,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of scenario (or sweep) files, for editor completion and checking.

    The package ships both (simsme/data/*.schema.json); scenario files point at them from a
    first line '# yaml-language-server: $schema=...'.
    """
    from simsme.schemas import schema_text

    text = schema_text(kind)
    if out is None:
        print(text, end="")
    else:
        from simsme.results.store import check_output_file, write_text_atomic

        write_text_atomic(text, check_output_file(out, "--out"))
        console.print(f"wrote {out}")
