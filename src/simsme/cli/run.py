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
        int | None,
        typer.Option(
            "--replications",
            "-n",
            help="Replications (default: file's); with --ensemble, per parameter set (default 10).",
        ),
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
    ensemble: Annotated[
        str | None,
        typer.Option(
            "--ensemble",
            metavar="FILE|default",
            help="Run over a posterior ensemble (a `simsme calibrate` posterior .parquet, or "
            "'default' for the shipped one): the posterior median and --draws parameter sets, "
            "-n replications each (default 10); reports intervals with parameter uncertainty.",
        ),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(help="With --ensemble: parameter sets drawn from the posterior (default 20)."),
    ] = None,
) -> None:
    """Run a scenario and write its results folder (smes, replications, summary, manifest).

    With --ensemble: run it over the posterior's parameter sets and write ensemble.parquet,
    draws.parquet, summary.json and a figure instead.
    """
    from simsme.experiments.run import preflight, run_scenario
    from simsme.scenario import apply_overrides, load_scenario, scenario_warnings

    overrides: list[str | tuple[str, object]] = list(set_ or [])
    if ensemble is not None:
        bad = [
            name
            for name, given in (("--engine mesa", engine != "kernel"), ("--series", series))
            if given
        ]
        if bad:
            raise SimsmeError(
                f"{bad[0]}: not available with --ensemble (ensemble runs use the kernel engine "
                "and keep per-replication statistics only)"
            )
        _run_ensemble(
            scenario, ensemble, overrides, replications, draws, seed, out, threads, force_new, quiet
        )
        return
    if draws is not None:
        raise SimsmeError("--draws: only with --ensemble FILE|default")
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


def _run_ensemble(
    scenario: Path,
    ensemble: str,
    overrides: list[str | tuple[str, object]],
    replications: int | None,
    draws: int | None,
    seed: int | None,
    out: Path | None,
    threads: int | None,
    force_new: bool,
    quiet: bool,
) -> None:
    """``simsme run --ensemble``: see :mod:`simsme.experiments.ensemble`."""
    import matplotlib

    matplotlib.use("Agg")
    from rich.table import Table

    from simsme.calibration.posterior import resolve_ensemble
    from simsme.cli.common import fmt
    from simsme.experiments.ensemble import (
        check_ensemble_folder,
        default_ensemble_folder,
        ensemble_key,
        ensemble_summary,
        run_ensemble,
        write_ensemble,
    )
    from simsme.plots.ensemble import plot_ensemble
    from simsme.scenario import apply_overrides, load_scenario, scenario_warnings
    from simsme.scenario.loading import parse_override, read_yaml

    draws = 20 if draws is None else draws
    replications = 10 if replications is None else replications
    if draws < 1:
        raise SimsmeError(f"--draws: expected at least 1 parameter set, got {draws}")
    if replications < 2:
        raise SimsmeError(
            f"--replications: expected at least 2 per parameter set with --ensemble, got "
            f"{replications}"
        )
    posterior = resolve_ensemble(ensemble)
    pairs = [parse_override(o) if isinstance(o, str) else o for o in overrides]
    resolved = load_scenario(scenario, pairs)
    raw = read_yaml(scenario, "scenario file")
    if seed is not None:
        resolved = apply_overrides(resolved, [("seed", seed)], source="command line")
    for warning in scenario_warnings(resolved, str(scenario)):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    key = ensemble_key(posterior, resolved, draws, replications, resolved.seed)
    folder = Path(out) if out is not None else Path(default_ensemble_folder(key, resolved.name))
    check_ensemble_folder(folder, force_new)  # before the work, not after
    start = time.perf_counter()
    total = (draws + 1) * replications
    try:
        with progress_bar(total, f"{resolved.name} (ensemble)", not quiet) as advance:
            result = run_ensemble(
                resolved,
                raw,
                posterior,
                draws=draws,
                replications=replications,
                threads=threads,
                progress=advance,
                overrides=pairs,
            )
    except KeyboardInterrupt:
        err_console.print("interrupted: nothing written")
        raise typer.Exit(INTERRUPTED) from None
    summary = ensemble_summary(result)
    context = {"kind": "ensemble", "source": str(scenario), "posterior": str(ensemble), "key": key}
    write_ensemble(result, summary, folder, context, force_new=force_new)
    subtitle = (
        f"{draws} posterior draws x {replications} replications x "
        f"{resolved.population.n_smes:,} SMEs, seed {resolved.seed}"
    )
    figure = plot_ensemble(summary, folder, f"{resolved.name} over the posterior", subtitle)
    if quiet:
        return
    table = Table(title=f"{resolved.name}: {subtitle}", title_justify="left")
    for column in (
        "statistic",
        escape("at posterior median [stochastic 95% CI]"),
        "95% interval with parameter uncertainty",
        "parameter share",
    ):
        table.add_column(column, justify="left" if column == "statistic" else "right")
    for row in summary.itertuples(index=False):
        table.add_row(
            row.metric,
            f"{fmt(row.median)} [{fmt(row.ci_low)}, {fmt(row.ci_high)}]",
            f"[{fmt(row.interval_low)}, {fmt(row.interval_high)}]",
            fmt(row.parameter_share, 2),
        )
    console.print(table)
    if result.kept:
        console.print(
            "kept (set by the scenario file or --set, not drawn): " + ", ".join(result.kept),
            highlight=False,
        )
    console.print(
        f"results: {escape(str(folder))}  figure: {escape(figure.name)}  "
        f"({time.perf_counter() - start:.1f} s)",
        soft_wrap=True,
    )


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
