"""``simsme decompose``: the digital-agency effect, pathway by pathway."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simsme.cli.app import app
from simsme.cli.common import console, err_console, fmt, progress_bar

# The scenario machinery, the engines and pandas are imported inside the command, so that
# `simsme --help` stays fast (tests/test_conventions.py).

UNITS = {"restricted_mean_ttfe_weeks": "weeks sooner", "share_exported": "more SMEs exporting"}


def _number(value: float, digits: int) -> str:
    value = float(value)
    return fmt(0.0 if abs(value) < 1e-12 else value + 0.0, digits)  # no "1.1e-18", no "-0"


def _interval(mean, low, high, digits: int = 3) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    text = _number(mean, digits)
    if low is None or (isinstance(low, float) and math.isnan(low)):
        return text
    return f"{text} [{_number(low, digits)}, {_number(high, digits)}]"


def decomposition_table(table, statistic: str, title: str) -> Table:
    """One statistic's rows of the decomposition as a rich table (the CSV has every column)."""
    out = Table(title=title, title_justify="left")
    out.add_column("pathway", no_wrap=True)
    out.add_column("effect without it [95% CI]", justify="right", no_wrap=True)
    out.add_column("share of the effect [95% CI]", justify="right", no_wrap=True)
    out.add_column("fraction [95% CI]", justify="right", no_wrap=True)
    out.add_column("note")
    rows = table[table["statistic"] == statistic]
    for row in rows.itertuples(index=False):
        note = row.note if isinstance(row.note, str) else ""
        if row.status == "unavailable":
            out.add_row(row.pathway, "-", "-", "-", f"[yellow]{escape(note)}[/]")
            continue
        if row.conventional_changed is True:
            note = (note + "; " if note else "") + "switched off in the conventional arm too"
        out.add_row(
            row.pathway,
            _interval(row.effect, row.effect_low, row.effect_high),
            _interval(row.share, row.share_low, row.share_high),
            _interval(row.fraction, row.fraction_low, row.fraction_high, 2),
            escape(note),
        )
    return out


def range_table(table, checked, replications: int) -> Table:
    """The range check's restricted-mean rows, next to the pathway's share as given."""
    statistic = "restricted_mean_ttfe_weeks"
    out = Table(
        title=f"range check: each pathway's share ({UNITS[statistic]}) at the ends of its "
        f"assumption, {replications} replications",
        title_justify="left",
    )
    out.add_column("pathway", no_wrap=True)
    out.add_column("share as given", justify="right", no_wrap=True)
    out.add_column("setting")
    out.add_column("full effect", justify="right", no_wrap=True)
    out.add_column("share [95% CI]", justify="right", no_wrap=True)
    out.add_column("fraction", justify="right", no_wrap=True)
    given = table[table["statistic"] == statistic].set_index("pathway")
    for row in checked[checked["statistic"] == statistic].itertuples(index=False):
        was = given.loc[row.pathway] if row.pathway in given.index else None
        as_given = (
            "-" if was is None else _interval(was["share"], was["share_low"], was["share_high"])
        )
        if row.status == "unavailable":
            out.add_row(
                row.pathway,
                as_given,
                escape(row.setting),
                "-",
                "-",
                f"[yellow]{escape(str(row.note))}[/]",
            )
            continue
        out.add_row(
            row.pathway,
            as_given,
            escape(row.setting),
            _interval(row.full, None, None),
            _interval(row.share, row.share_low, row.share_high),
            _interval(row.fraction, None, None, 2),
        )
    return out


@app.command("decompose")
def decompose_command(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    replications: Annotated[
        int | None,
        typer.Option("--replications", "-n", help="Replications per arm (default: file's).", min=2),
    ] = None,
    pathway: Annotated[
        list[str] | None,
        typer.Option(
            "--pathway",
            help="Switch off only this pathway (repeatable; default: every pathway; a wrong name "
            "lists them).",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field: --set population.n_smes=500 (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write the table as CSV (and its context as JSON next to it)."),
    ] = None,
    threads: Annotated[
        int | None, typer.Option(help="Kernel threads (default: all cores).", min=1)
    ] = None,
    ranges: Annotated[
        bool,
        typer.Option(
            "--ranges",
            help="Also rerun each pathway with the assumption its size rests on at the low and "
            "high ends of its range (written to FILE.ranges.csv with --out).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Decompose the digital-agency effect by switching DIP's pathways off one at a time.

    The effect is the restricted mean time to first export under conventional agencies minus
    under digital agencies (and the share exported, digital minus conventional): the variants
    conventional_agencies and digital_agencies of the targets file, every arm with the
    scenario's seed (common random numbers). For each pathway (latency, bureaucracy, physical
    documents, procedures, co-creation, dissemination, e-marketplace, remote processing) it
    prints the effect with the pathway switched off and the pathway's share of the full effect,
    with 95% intervals over the paired replications; the interaction row is what the single
    pathways leave unexplained. docs/decomposition.md says what each pathway switches.
    """
    from simsme.experiments.decompose import (
        RANGES_SUFFIX,
        STATISTICS,
        decompose,
        plan,
        range_cases,
        range_check,
        range_runs,
        select_pathways,
        total_runs,
        write_decomposition,
    )
    from simsme.scenario import load_scenario, scenario_warnings

    chosen = select_pathways(pathway)  # a wrong name fails before any work
    resolved = load_scenario(scenario, list(set_ or []))
    for warning in scenario_warnings(resolved, str(scenario)):
        err_console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if out is not None:
        from simsme.results.store import check_output_file

        out = check_output_file(out, "--out", (".json", RANGES_SUFFIX) if ranges else (".json",))
    n = replications or resolved.replications
    if n < 2:
        from simsme.errors import SimsmeError

        raise SimsmeError(
            f"--replications: the scenario's {n} replication(s) give no interval; pass "
            "--replications 2 or more"
        )
    planned = plan(resolved, chosen)
    cases = range_cases(resolved, chosen) if ranges else []
    runs = total_runs(planned, n) + range_runs(cases, n)
    start = time.perf_counter()
    with progress_bar(runs, f"decompose {resolved.name}", not quiet) as advance:
        result = decompose(resolved, n, threads=threads, progress=advance, planned=planned)
        checked = range_check(resolved, n, threads=threads, progress=advance, cases=cases)
    if out is not None:
        write_decomposition(result, out, resolved, checked if ranges else None)
    shown = console if console.is_terminal else Console(width=160)
    for statistic in STATISTICS:
        title = (
            f"{resolved.name}: digital-agency effect on {statistic} ({UNITS[statistic]}), "
            f"{n} replications x {len(planned.arms())} arms, seed {resolved.seed}"
        )
        shown.print(decomposition_table(result.table, statistic, title))
    if ranges:
        shown.print(range_table(result.table, checked, n))
    console.print(
        "share = full effect - effect without the pathway; fraction = share / full effect "
        "(bootstrap interval); interaction = full effect - sum of the shares",
        highlight=False,
    )
    where = f"; table: {escape(str(out))}" if out is not None else ""
    console.print(f"({time.perf_counter() - start:.1f} s{where})", highlight=False)
