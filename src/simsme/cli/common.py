"""Helpers shared by the CLI commands: console output, progress bars, --set parsing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(
    total: int, description: str, enabled: bool = True, rate: ProgressColumn | None = None
) -> Iterator[Callable[[int], None]]:
    """A progress bar (on stderr) with done/total, ``rate`` if given, elapsed time and time
    left; yields ``advance(n)``."""
    if not enabled:
        yield lambda n: None
        return
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        *([rate] if rate is not None else []),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def summary_table(summary: dict[str, dict[str, Any]], title: str) -> Table:
    """Headline figures as a table: mean and 95% CI across replications."""
    table = Table(title=title, title_justify="left")
    table.add_column("statistic")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    for name, stat in summary.items():
        ci = (
            f"[{fmt(stat['ci_low'])}, {fmt(stat['ci_high'])}]"
            if stat.get("ci_low") is not None
            else "-"
        )
        table.add_row(name + ("*" if stat.get("n_undefined") else ""), fmt(stat.get("mean")), ci)
    return table


def summary_notes(summary: dict[str, dict[str, Any]]) -> list[str]:
    """One line per headline figure that some replications leave undefined (the ``*`` rows)."""
    notes = []
    for name, stat in summary.items():
        undefined = stat.get("n_undefined", 0)
        if undefined:
            total = undefined + stat.get("n", 0)
            why = UNDEFINED_BECAUSE.get(name, "")
            notes.append(f"* {name}: undefined in {undefined} of {total} replications{why}")
    return notes


UNDEFINED_BECAUSE = {
    "km_median_ttfe_weeks": " (fewer than half the SMEs export within the horizon: the median "
    "lies beyond it, so no mean is given)",
    "median_ttfe_weeks": " (no SME exported)",
    "mean_ttfe_weeks": " (no SME exported)",
    "indirect_share": " (no SME exported)",
    "share_exported_within_3y": " (no SME founded during the run was followed to its third "
    "birthday; incumbents do not count: set population.entrants_per_year)",
}
"""Why a headline figure can be undefined in a replication (shown next to its interval)."""
