"""``simsme sweep``, ``simsme merge`` and ``simsme sensitivity``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import ProgressColumn, Task
from rich.table import Table
from rich.text import Text

from simsme.cli.app import app
from simsme.cli.choices import Executor
from simsme.cli.common import console, err_console, fmt, progress_bar

# numpy, pandas and the sweep machinery are imported inside the commands, so that `simsme --help`
# stays fast (tests/test_conventions.py).

SHOWN_OUTPUTS = ("restricted_mean_ttfe_weeks", "km_median_ttfe_weeks", "share_exported")


class RateColumn(ProgressColumn):
    """Points per minute (or per second when fast)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed:
            return Text("- points/min", style="progress.data.speed")
        if speed >= 1:
            return Text(f"{speed:.1f} points/s", style="progress.data.speed")
        return Text(f"{60 * speed:.1f} points/min", style="progress.data.speed")


@app.command()
def sweep(
    sweep_file: Annotated[Path, typer.Argument(metavar="SWEEP", help="Sweep YAML file.")],
    out: Annotated[
        Path | None,
        typer.Option(help="Results folder (default results/sweeps/<name>-<hash>/)."),
    ] = None,
    executor: Annotated[
        Executor, typer.Option(help="local (threads on this machine) or dask (a dask cluster).")
    ] = Executor.local,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default with --executor "
            "dask: a LocalCluster on this machine)."
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Local threads, or LocalCluster worker processes (default: all cores).", min=1
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(help="Kernel threads per task (default: local auto, dask 1).", min=1),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(help="Run slice I of N of the points (job arrays), e.g. --shard 2/8."),
    ] = None,
    smes: Annotated[
        bool, typer.Option("--smes/--no-smes", help="Also write per-SME tables (smes/).")
    ] = False,
    force_new: Annotated[
        bool,
        typer.Option("--force-new", help="Discard unfinished or different results in --out."),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the sweep and show its size; run nothing.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")
    ] = False,
) -> None:
    """Run every point of a sweep file on the kernel into one results folder (resumable)."""
    from simsme.experiments.sweep import check_options, plan_sweep
    from simsme.experiments.sweep_spec import read_sweep_file

    start = time.perf_counter()
    resolved = read_sweep_file(sweep_file)
    # a dry run checks the options too (a bad --shard, --executor, ...)
    check_options(resolved, executor, scheduler, workers, threads, shard)
    if dry_run:
        _show_design(resolved)
        return
    plan = plan_sweep(
        resolved,
        out=out,
        executor=executor,
        scheduler=scheduler,
        workers=workers,
        threads=threads,
        shard=shard,
        with_smes=smes,
        force_new=force_new,
    )
    if plan.complete is not None:
        err_console.print(
            f"reusing finished results: same sweep, seed and code ({plan.folder}); "
            "nothing to run (--force-new runs it again)",
            highlight=False,
        )
        if not quiet:
            _show_result(plan.complete.manifest, plan.complete.summary, plan.folder, start)
        return
    done = plan.done_points
    label = f"{resolved.name} ({executor})"
    if done:
        label += f", {done} points already done"
        if not quiet:
            console.print(
                f"resuming {escape(str(plan.folder))}: {done} of {len(plan.my_points)} points done"
            )
    try:
        with progress_bar(plan.pending_points, label, not quiet, RateColumn()) as advance:
            result = plan.run(progress=advance)
    except KeyboardInterrupt:
        err_console.print(
            f"interrupted: {plan.done_points} of {len(plan.my_points)} points are saved in "
            f"{plan.folder}; run the same command again to finish the others"
        )
        raise typer.Exit(130) from None
    if not quiet:
        _show_result(result.manifest, result.summary, result.folder, start)


def _show_design(resolved) -> None:  # noqa: ANN001
    from simsme.experiments.sweep import chunk_points, work_per_point

    chunks = len(chunk_points(resolved.n_points, work_per_point(resolved)))
    console.print(
        f"{resolved.source}: ok ({resolved.name}: design {resolved.kind}, "
        f"{resolved.n_points:,} points x {resolved.replications} replications = "
        f"{resolved.n_points * resolved.replications:,} runs of "
        f"{resolved.base.population.n_smes:,} SMEs x {resolved.base.time.horizon_years:g} years, "
        f"seed {resolved.seed}; {chunks} chunks, so at most {chunks} shards)"
    )
    for p in resolved.parameters:
        values = [pt[p.name] for pt in resolved.points]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        distinct = sorted(set(values)) if numeric else list(dict.fromkeys(map(repr, values)))
        if numeric and len(distinct) > 6:
            shown = f"from {fmt(distinct[0])} to {fmt(distinct[-1])}"
        else:
            shown = ", ".join(fmt(v) for v in distinct[:6]) + (" ..." if len(distinct) > 6 else "")
        console.print(f"  {p.name}: {len(distinct)} values ({shown})")


def _show_result(manifest: dict, summary, folder: Path, start: float) -> None:  # noqa: ANN001
    import numpy as np

    from simsme.results.summary import replication_mean

    m = manifest
    title = (
        f"{m['sweep_name']}: {m['points_in_folder']} points x {m['replications']} replications "
        f"(design {m['design']['kind']}"
        + (f", shard {m['shard']}" if m.get("shard") else "")
        + f"), seed {m['seed']}"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("output (mean over replications)")
    table.add_column("lowest point", justify="right")
    table.add_column("median point", justify="right")
    table.add_column("highest point", justify="right")
    if len(summary):
        shown = [name for name in SHOWN_OUTPUTS if name in summary.columns]
        means = summary.groupby("point")[shown].agg(replication_mean)
        for name in shown:
            col = means[name].to_numpy(dtype=float)
            undefined = int((~np.isfinite(col)).sum())
            col = col[np.isfinite(col)]
            label = name + (f" (undefined at {undefined} points)" if undefined else "")
            if len(col):
                table.add_row(
                    label, fmt(float(col.min())), fmt(float(np.median(col))), fmt(float(col.max()))
                )
    console.print(table)
    if m["n_failed"]:
        console.print(
            f"[bold red]{m['n_failed']} of {m['points_in_folder']} points failed[/] "
            "(status and error in points.parquet)"
        )
    else:
        console.print(f"all {m['points_in_folder']} points ok")
    console.print(f"results: {escape(str(folder))}  ({time.perf_counter() - start:.1f} s)")


@app.command()
def merge(
    shards: Annotated[
        list[Path], typer.Argument(help="Folders of `simsme sweep --shard I/N`, all N of them.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Merged results folder (default results/sweeps/<name>-<hash>/)."),
    ] = None,
    force_new: Annotated[
        bool, typer.Option("--force-new", help="Replace other results in --out.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
) -> None:
    """Join the shard folders of one sweep into the results folder of the whole sweep."""
    from simsme.experiments.sweep import merge_shards

    start = time.perf_counter()
    result = merge_shards(list(shards), out=out, force_new=force_new)
    if not quiet:
        _show_result(result.manifest, result.summary, result.folder, start)


@app.command()
def sensitivity(
    results: Annotated[Path, typer.Argument(help="Results folder of a sobol or morris sweep.")],
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help="Output to analyse (repeatable; default: restricted_mean_ttfe_weeks, "
            "km_median_ttfe_weeks, share_exported).",
        ),
    ] = None,
    resamples: Annotated[
        int,
        typer.Option(help="Bootstrap resamples for the confidence intervals.", min=10, max=100_000),
    ] = 1000,
    conf_level: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Sobol (S1, ST) or Morris (mu*, sigma) indices of a sweep's headline outputs."""
    from simsme.experiments.sensitivity import (
        HEADLINE_OUTPUTS,
        analyse,
        ranking,
        write_sensitivity,
    )

    result = analyse(
        results,
        outputs=list(output) if output else HEADLINE_OUTPUTS,
        num_resamples=resamples,
        conf_level=conf_level,
    )
    parquet, csv = write_sensitivity(result)
    if quiet:
        return
    t = result.table
    level = f"{conf_level:.0%}"
    for name in t["output"].unique():
        rows = t[t["output"] == name].set_index("parameter").loc[ranking(t, name)]
        table = Table(title=f"{name} ({result.method})", title_justify="left")
        table.add_column("parameter")
        if result.method == "sobol":
            for col in ("S1", "ST"):
                table.add_column(col, justify="right")
                table.add_column(f"{col} {level} CI", justify="right")
            for param, r in rows.iterrows():
                table.add_row(
                    str(param),
                    f"{r['S1']:.3f}",
                    f"± {r['S1_conf']:.3f}",
                    f"{r['ST']:.3f}",
                    f"± {r['ST_conf']:.3f}",
                )
        else:
            for col in ("mu*", f"mu* {level} CI", "sigma", "mu"):
                table.add_column(col, justify="right")
            for param, r in rows.iterrows():
                table.add_row(
                    str(param),
                    fmt(float(r["mu_star"])),
                    f"± {fmt(float(r['mu_star_conf']))}",
                    fmt(float(r["sigma"])),
                    fmt(float(r["mu"])),
                )
        console.print(table)
    for line in result.skipped:
        console.print(f"[yellow]skipped[/] {line}")
    console.print(f"wrote {parquet} and {csv.name}")
