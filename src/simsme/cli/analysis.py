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
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.", min=0)] = 0,
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
) -> None:
    """Compare the time to first export of two runs (B against A).

    Prints median TTFE with confidence intervals, the difference B - A (bootstrap interval), a log-rank test and the Cox hazard ratio B/A (> 1: B exports sooner); writes the overlaid Kaplan-Meier curves.
    """
    _use_agg()
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
