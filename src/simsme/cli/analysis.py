"""``simsme plot`` and ``simsme compare``: figures and comparisons of results folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from simsme.cli.app import app
from simsme.cli.choices import Cluster, Figure, Grouping, ImageFormat
from simsme.cli.common import console
from simsme.errors import SimsmeError

FORMAT_HELP = "Image format: png, svg or pdf."


def _use_agg() -> None:
    """Draw off screen (the figures are made without pyplot; this only guards other code)."""
    import matplotlib

    matplotlib.use("Agg")


@app.command()
def plot(
    results: Annotated[Path, typer.Argument(help="Results folder of a run or of a sweep.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder for the figures (default RESULTS/figures).")
    ] = None,
    format_: Annotated[
        ImageFormat, typer.Option("--format", "-f", help=FORMAT_HELP)
    ] = ImageFormat.png,
    by: Annotated[
        Grouping,
        typer.Option(
            metavar="<grouping>",
            help="Group SMEs by size_class, region, channel_mix or agency_digitalisation "
            "(run folders).",
        ),
    ] = Grouping.size_class,
    output: Annotated[
        str | None,
        typer.Option(
            help="Replication statistic for sweep figures (default: the median TTFE column)."
        ),
    ] = None,
    only: Annotated[
        list[Figure] | None,
        typer.Option(
            metavar="<figure>",
            help="Draw only this figure (repeatable). Run folders: survival, survival_by_<by>, "
            "ttfe_by_<by>, share_exported, channel_mix, uptake_by_focus; sweep folders: "
            "sweep_response, sweep_heatmap, sensitivity.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Draw the standard figures of a results folder.

    Run folders: survival curve, survival and TTFE by group, share exported by year, channel mix of applications, uptake by focus area against 003 Table 1.

    Sweep folders: the output against each parameter, a two-parameter heatmap, Sobol or Morris indices.
    """
    _use_agg()
    from simsme.plots import plot_results
    from simsme.plots.style import check_format
    from simsme.results.store import prepare_folder

    fmt = check_format(format_)
    if out is not None:
        prepare_folder(out, "--out")
    files, skipped = plot_results(results, out, fmt, by=by, output=output, only=only)
    if quiet:
        return
    folder = files[0].parent if files else (out or results / "figures")
    console.print(f"wrote {len(files)} figure(s) to {escape(str(folder))}:", soft_wrap=True)
    for path in files:
        console.print(f"  {escape(path.name)}")
    for name, reason in skipped.items():
        console.print(f"  skipped {name}: {reason}")


@app.command()
def compare(
    results_a: Annotated[Path, typer.Argument(help="Results folder of run A (the reference).")],
    results_b: Annotated[Path, typer.Argument(help="Results folder of run B.")],
    out: Annotated[
        Path,
        typer.Option(help="Folder for the overlaid survival curves (default: this folder)."),
    ] = Path("."),
    format_: Annotated[
        ImageFormat, typer.Option("--format", "-f", help=FORMAT_HELP)
    ] = ImageFormat.png,
    level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    resamples: Annotated[
        int,
        typer.Option(help="Bootstrap resamples for the median difference.", min=0, max=100_000),
    ] = 999,
    seed: Annotated[
        int | None,
        typer.Option(
            help="Seed of the bootstrap (default 0); with --ensemble, of the draws and the "
            "replications (default: A's seed).",
            min=0,
        ),
    ] = None,
    cluster: Annotated[
        Cluster,
        typer.Option(
            help="Resample/cluster by 'replication' or 'sme'; 'auto': by replication when both "
            "runs have 10 or more."
        ),
    ] = Cluster.auto,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the comparison as JSON here.")
    ] = None,
    ensemble: Annotated[
        str | None,
        typer.Option(
            "--ensemble",
            metavar="FILE|default",
            help="Compare over a posterior ensemble (a `simsme calibrate` posterior .parquet, or "
            "'default'): A and B are scenario files (or results folders, whose scenario is "
            "run again), run at the posterior median and --draws parameter sets.",
        ),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(help="With --ensemble: parameter sets drawn from the posterior (default 20)."),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications", "-n", help="With --ensemble: replications per draw (default 10)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="With --ensemble: override a field of both scenarios (repeatable)."
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="With --ensemble: kernel threads (default: all cores).", min=1),
    ] = None,
) -> None:
    """Compare the time to first export of two runs (B against A).

    Prints median TTFE with confidence intervals, the difference B - A (bootstrap interval), a log-rank test and the Cox hazard ratio B/A (> 1: B exports sooner); writes the overlaid Kaplan-Meier curves.

    With --ensemble: runs scenarios A and B under the same posterior draws and random streams and prints each effect B - A with its stochastic interval (at the posterior median) and its interval with parameter uncertainty.
    """
    _use_agg()
    if ensemble is not None:
        _compare_ensemble(
            results_a,
            results_b,
            ensemble,
            draws,
            replications,
            seed,
            list(set_ or []),
            threads,
            out,
            format_,
            level,
            json_out,
        )
        return
    for name, given in (
        ("--draws", draws),
        ("--replications", replications),
        ("--set", set_),
        ("--threads", threads),
    ):
        if given is not None:
            raise SimsmeError(f"{name}: only with --ensemble FILE|default")
    seed = 0 if seed is None else seed
    from rich.table import Table

    from simsme.analysis import compare_runs, load_run
    from simsme.plots import plot_comparison
    from simsme.plots.style import check_format
    from simsme.results.store import check_output_file, prepare_folder, write_json_atomic

    fmt = check_format(format_)
    if cluster not in ("auto", "replication", "sme"):
        raise SimsmeError(f"--cluster: '{cluster}' is not one of auto, replication, sme")
    prepare_folder(out, "--out")
    if json_out is not None:
        check_output_file(json_out, "--json")
    run_a, run_b = load_run(results_a), load_run(results_b)
    comparison = compare_runs(run_a, run_b, level, resamples, seed, cluster)  # type: ignore[arg-type]
    frame = comparison.to_frame()
    table = Table(
        title=f"A: {comparison.labels[0]} ({results_a})  vs  B: {comparison.labels[1]} "
        f"({results_b})",
        title_justify="left",
    )
    for k, column in enumerate(frame.columns):
        table.add_column(str(column), justify="left" if k == 0 else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    console.print(table)
    console.print(f"median difference: {comparison.median_difference.method}")
    console.print(f"hazard ratio: {comparison.hazard_ratio.method}")
    for note in comparison.notes:
        console.print(f"note: {escape(note)}")
    path = plot_comparison(comparison, out, fmt)
    console.print(f"survival curves: {escape(str(path))}", soft_wrap=True)
    if json_out is not None:
        write_json_atomic(comparison.to_dict(), json_out)
        console.print(f"comparison: {escape(str(json_out))}", soft_wrap=True)


def _ensemble_arm(path: Path, option: str) -> tuple[object, object, str]:
    """The scenario of one arm of ``compare --ensemble``, its file's own mapping and a label.

    A scenario file is read as it is; a results folder gives the resolved scenario of its
    manifest, and the mapping of the scenario file the manifest names when that file still
    exists (to keep the parameters it sets), else none (every drawn parameter is applied).
    """
    from simsme.results.folder import read_state
    from simsme.scenario import load_scenario, validate_scenario
    from simsme.scenario.loading import read_yaml

    if path.is_dir():
        manifest = read_state(path / "manifest.json")
        if manifest is None or not isinstance(manifest.get("scenario"), dict):
            raise SimsmeError(
                f"{option}: '{path}' is a folder without a run's manifest.json; expected a "
                "scenario YAML file or a run's results folder"
            )
        scenario = validate_scenario(manifest["scenario"], str(path / "manifest.json"))
        source = manifest.get("source")
        raw = None
        if isinstance(source, str) and Path(source).is_file():
            raw = read_yaml(source, "scenario file")
        return scenario, raw, scenario.name
    if not path.is_file():
        raise SimsmeError(f"{option}: '{path}' does not exist; expected a scenario YAML file")
    scenario = load_scenario(path)
    return scenario, read_yaml(path, "scenario file"), scenario.name


def _compare_ensemble(
    path_a: Path,
    path_b: Path,
    ensemble: str,
    draws: int | None,
    replications: int | None,
    seed: int | None,
    set_: list[str],
    threads: int | None,
    out: Path,
    format_: str,
    level: float,
    json_out: Path | None,
) -> None:
    """``simsme compare A B --ensemble``: see :mod:`simsme.experiments.ensemble`."""
    from rich.table import Table

    from simsme.calibration.posterior import resolve_ensemble
    from simsme.cli.common import err_console, fmt, progress_bar
    from simsme.experiments.ensemble import compare_ensemble, posterior_digest
    from simsme.plots.ensemble import plot_ensemble_comparison
    from simsme.plots.style import check_format
    from simsme.results.store import check_output_file, prepare_folder, write_json_atomic
    from simsme.scenario.loading import apply_overrides, parse_override

    draws = 20 if draws is None else draws
    replications = 10 if replications is None else replications
    if draws < 1:
        raise SimsmeError(f"--draws: expected at least 1 parameter set, got {draws}")
    if replications < 2:
        raise SimsmeError(
            f"--replications: expected at least 2 per parameter set, got {replications}"
        )
    if not 0 < level < 1:
        raise SimsmeError(f"--level: expected a value between 0 and 1, got {level}")
    fmt_ = check_format(format_)
    prepare_folder(out, "--out")
    if json_out is not None:
        check_output_file(json_out, "--json")
    posterior = resolve_ensemble(ensemble)
    pairs = [parse_override(o) for o in set_]
    arms = []
    for path, option in ((path_a, "A"), (path_b, "B")):
        scenario, raw, label = _ensemble_arm(path, option)
        arms.append((apply_overrides(scenario, pairs), raw, label))
    (scenario_a, raw_a, label_a), (scenario_b, raw_b, label_b) = arms
    if scenario_a.population.n_smes != scenario_b.population.n_smes:
        err_console.print(
            f"[yellow]warning:[/] A has {scenario_a.population.n_smes:,} SMEs and B "
            f"{scenario_b.population.n_smes:,}: their replications are not paired draw by draw",
            highlight=False,
        )
    total = 2 * (draws + 1) * replications
    with progress_bar(total, f"{label_a} vs {label_b} (ensemble)") as advance:
        comparison = compare_ensemble(
            scenario_a,
            raw_a,
            scenario_b,
            raw_b,
            posterior,
            draws=draws,
            replications=replications,
            seed=seed,
            threads=threads,
            progress=advance,
            level=level,
            labels=(label_a, label_b),
            overrides=pairs,
        )
    pct = f"{level:.0%}"
    subtitle = (
        f"{draws} posterior draws x {replications} replications x "
        f"{scenario_a.population.n_smes:,} SMEs, seed {comparison.seed}, common random numbers"
    )
    table = Table(
        title=f"A: {label_a} ({path_a})  vs  B: {label_b} ({path_b}); {subtitle}",
        title_justify="left",
    )
    for column in (
        "statistic",
        "A at median",
        "B at median",
        escape(f"B - A at median [stochastic {pct} CI]"),
        f"{pct} interval with parameter uncertainty",
        "parameter share",
        "draws B better",
    ):
        table.add_column(column, justify="left" if column == "statistic" else "right")
    for row in comparison.summary.itertuples(index=False):
        better = row.share_b_better
        table.add_row(
            row.metric,
            fmt(row.a_at_median),
            fmt(row.b_at_median),
            f"{fmt(row.effect)} [{fmt(row.ci_low)}, {fmt(row.ci_high)}]",
            f"[{fmt(row.interval_low)}, {fmt(row.interval_high)}]",
            fmt(row.parameter_share, 2),
            "-" if better != better else f"{better:.0%}",
        )
    console.print(table)
    console.print(
        "restricted_mean_ttfe_weeks: negative = B exports sooner; draws B better: share of "
        "posterior draws whose mean effect favours B",
        highlight=False,
    )
    for note in comparison.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    path = plot_ensemble_comparison(
        comparison.summary, out, (label_a, label_b), subtitle, fmt_, level
    )
    console.print(f"figure: {escape(str(path))}", soft_wrap=True)
    if json_out is not None:
        record = {**comparison.to_dict(), "posterior": ensemble}
        record["posterior_digest"] = posterior_digest(posterior)
        write_json_atomic(record, json_out)
        console.print(f"comparison: {escape(str(json_out))}", soft_wrap=True)
