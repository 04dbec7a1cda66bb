"""Figures of results folders, all in one style (:mod:`simsme.plots.style`).

``plot_results(folder, out)`` writes the standard figure set of a run or a sweep folder (what
``simsme plot`` does); the ``*_figure`` functions return :class:`matplotlib.figure.Figure` objects
for notebooks and custom reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from simsme.analysis.results import RunResults, load_results
from simsme.plots.compare import comparison_figure, plot_comparison
from simsme.plots.run import (
    channel_mix_figure,
    plot_run,
    run_figures,
    share_exported_figure,
    survival_figure,
    ttfe_distribution_figure,
    uptake_figure,
)
from simsme.plots.style import FORMATS, OKABE_ITO, PALETTE, save_figure
from simsme.plots.sweep import (
    plot_sweep,
    sensitivity_figure,
    sweep_figures,
    sweep_heatmap_figure,
    sweep_response_figure,
)


def plot_results(
    folder: str | Path,
    out: str | Path | None = None,
    fmt: str = "png",
    by: str = "size_class",
    output: str | None = None,
    only: Sequence[str] | None = None,
) -> tuple[list[Path], dict[str, str]]:
    """Write the standard figures of a run or sweep folder (default ``<folder>/figures``).

    ``by`` groups SMEs in the run figures; ``output`` is the replication statistic of the sweep
    figures. Returns the files written and the figures skipped (name -> reason).
    """
    results = load_results(folder)
    out = Path(out) if out is not None else Path(folder) / "figures"
    if isinstance(results, RunResults):
        return plot_run(results, out, fmt, by=by, only=only)
    return plot_sweep(results, out, fmt, output=output, only=only)


__all__ = [
    "FORMATS",
    "OKABE_ITO",
    "PALETTE",
    "channel_mix_figure",
    "comparison_figure",
    "plot_comparison",
    "plot_results",
    "plot_run",
    "plot_sweep",
    "run_figures",
    "save_figure",
    "sensitivity_figure",
    "share_exported_figure",
    "survival_figure",
    "sweep_figures",
    "sweep_heatmap_figure",
    "sweep_response_figure",
    "ttfe_distribution_figure",
    "uptake_figure",
]
