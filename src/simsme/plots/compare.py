"""Figure of a comparison of two runs: overlaid survival curves with the test results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simsme.analysis.compare import Comparison
from simsme.plots.run import survival_figure
from simsme.plots.style import check_format, safe_name, save_figure, styled


def _fmt(x: float) -> str:
    return "NA" if not np.isfinite(x) else f"{x:.0f}"


def _p(p: float | None) -> str:
    if p is None or not np.isfinite(p):
        return "p = NA"
    return f"p = {p:.2g}" if p >= 1e-4 else "p < 0.0001"


@styled
def comparison_figure(comparison: Comparison, title: str | None = None) -> Figure:
    """Kaplan-Meier curves of both runs, with the median and restricted-mean differences, the
    log-rank test and the hazard ratio written under the legend."""
    a, b = comparison.labels
    pct = f"{comparison.level:.0%}"

    def size(label: str) -> str:
        reps = comparison.replications[label]
        return f"{reps} replications x {comparison.n_smes[label] // max(reps, 1):,} SMEs"

    subtitle = f"A: {a} ({size(a)})   B: {b} ({size(b)})"
    fig = survival_figure(
        comparison.curves,
        title or f"Time to first export: {a} vs {b}",
        subtitle,
    )
    d, hr = comparison.median_difference, comparison.hazard_ratio
    lines = [
        f"median TTFE B - A: {_fmt(d.estimate)} weeks [{pct} CI {_fmt(d.ci_low)}, "
        f"{_fmt(d.ci_high)}]",
    ]
    rm = comparison.restricted_mean_difference
    if rm is not None:  # defined even when a median is not reached
        lines.append(
            f"restricted mean TTFE B - A: {_fmt(rm.estimate)} weeks [{pct} CI "
            f"{_fmt(rm.ci_low)}, {_fmt(rm.ci_high)}]"
        )
    lines += [
        f"hazard ratio B/A (Cox): {hr.estimate:.2f} [{hr.ci_low:.2f}, {hr.ci_high:.2f}]",
        f"log-rank: chi2 = {comparison.logrank_statistic**2:.1f}, {_p(comparison.logrank_p_value)}",
    ]
    ax = fig.axes[0]
    # the results join the legend as lines without a marker, so that matplotlib's "best"
    # placement keeps curves, legend and results apart whatever the shape of the curves
    handles, labels = ax.get_legend_handles_labels()
    old = ax.get_legend()
    blank = [Line2D([], [], linestyle="none") for _ in lines]
    ax.legend(
        handles=[*handles, *blank],
        labels=[*labels, *lines],
        title=old.get_title().get_text() if old is not None else None,
        loc="best",
        alignment="left",
        fontsize=9,
        handlelength=2.0,
    )
    return fig


def comparison_name(comparison: Comparison) -> str:
    a, b = comparison.labels
    return f"survival_{safe_name(a)}_vs_{safe_name(b)}"


def plot_comparison(comparison: Comparison, out: str | Path, fmt: str = "png") -> Path:
    """Write the overlaid survival curves to ``out/survival_<A>_vs_<B>.<fmt>``."""
    fmt = check_format(fmt)
    return save_figure(comparison_figure(comparison), out, comparison_name(comparison), fmt)
