"""Figures of runs and comparisons over a posterior ensemble (issue 13).

One panel per statistic (they have different units): the estimate at the posterior median as a
point, a thick short bar for its stochastic interval (replications only) and a thin wide bar for
the interval with parameter uncertainty (mixture over posterior draws; see
:mod:`simsme.experiments.ensemble`). Comparisons show the effect B - A with a line at 0 and the
share of draws in which B is better.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from simsme.plots.style import (
    OKABE_ITO,
    REFERENCE_COLOUR,
    check_format,
    new_figure,
    safe_name,
    save_figure,
    styled,
)

LABELS = {
    "restricted_mean_ttfe_weeks": "restricted mean TTFE",
    "share_exported_by_horizon": "share exported by the horizon",
    "median_ttfe_exporters_years": "median TTFE of exporters",
    "indirect_share": "indirect share of exporters",
}
WIDE = OKABE_ITO["sky_blue"]
NARROW = OKABE_ITO["blue"]


def _num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "NA"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _panel(ax, centre: float, ci: tuple[float, float], interval: tuple[float, float]) -> None:
    """Point, thick short bar (stochastic), thin wide bar (with parameter uncertainty)."""
    if all(np.isfinite(interval)):
        ax.plot(interval, [0, 0], color=WIDE, lw=2.0, solid_capstyle="butt", zorder=2)
        ax.plot([interval[0]] * 2, [-0.25, 0.25], color=WIDE, lw=2.0, zorder=2)
        ax.plot([interval[1]] * 2, [-0.25, 0.25], color=WIDE, lw=2.0, zorder=2)
    if all(np.isfinite(ci)):
        ax.plot(ci, [0, 0], color=NARROW, lw=9.0, solid_capstyle="butt", zorder=3)
    if np.isfinite(centre):
        ax.plot([centre], [0], "o", color="black", ms=6, zorder=4)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    ax.grid(axis="y", visible=False)
    ax.spines["left"].set_visible(False)
    lows = [v for v in (*ci, *interval, centre) if np.isfinite(v)]
    if lows:
        lo, hi = min(lows), max(lows)
        pad = 0.08 * (hi - lo) if hi > lo else max(abs(hi), 1e-3) * 0.1
        ax.set_xlim(lo - pad, hi + pad)


def _legend(fig: Figure, level: float, what: str) -> None:
    pct = f"{level:.0%}"
    handles = [
        Line2D([], [], marker="o", color="black", linestyle="none", ms=6),
        Line2D([], [], color=NARROW, lw=9.0, solid_capstyle="butt"),
        Line2D([], [], color=WIDE, lw=2.0),
    ]
    labels = [
        f"{what} at the posterior median",
        f"{pct} CI, stochastic only (replications)",
        f"{pct} interval with parameter uncertainty (posterior draws)",
    ]
    fig.legend(handles, labels, loc="outside lower center", ncols=1, fontsize=9)


def _title_of(metric: str, unit: str) -> str:
    label = LABELS.get(metric, metric)
    return f"{label} ({unit})" if unit and unit != "share" else label


@styled
def ensemble_figure(
    summary: pd.DataFrame, title: str, subtitle: str, level: float = 0.95
) -> Figure:
    """Estimates of ``simsme run --ensemble`` (rows of
    :func:`simsme.experiments.ensemble.ensemble_summary`)."""
    n = len(summary)
    fig = new_figure(7.5, 1.25 * n + 2.0)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, summary.itertuples(index=False), strict=True):
        _panel(ax, row.median, (row.ci_low, row.ci_high), (row.interval_low, row.interval_high))
        ax.set_title(
            f"{_title_of(row.metric, row.unit)}: {_num(row.median)} "
            f"[{_num(row.ci_low)}, {_num(row.ci_high)}]; with parameters "
            f"[{_num(row.interval_low)}, {_num(row.interval_high)}], "
            f"parameter share {_num(row.parameter_share)}",
            loc="left",
            fontsize=9.5,
            fontweight="normal",
        )
    fig.suptitle(f"{title}\n{subtitle}", x=0.01, ha="left", fontsize=11)
    _legend(fig, level, "estimate")
    return fig


@styled
def ensemble_comparison_figure(
    summary: pd.DataFrame, title: str, subtitle: str, level: float = 0.95
) -> Figure:
    """Effects B - A of ``simsme compare --ensemble`` (rows of
    :attr:`simsme.experiments.ensemble.EnsembleComparison.summary`), with a line at 0."""
    n = len(summary)
    fig = new_figure(7.5, 1.25 * n + 2.0)
    axes = fig.subplots(n, 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, summary.itertuples(index=False), strict=True):
        ax.axvline(0.0, color=REFERENCE_COLOUR, lw=1.0, ls="--", zorder=1)
        _panel(ax, row.effect, (row.ci_low, row.ci_high), (row.interval_low, row.interval_high))
        lo, hi = ax.get_xlim()
        ax.set_xlim(min(lo, -0.05 * (hi - lo)), max(hi, 0.05 * (hi - lo)))  # 0 in view
        better = (
            f"; B better in {row.share_b_better:.0%} of draws"
            if row.share_b_better is not None and math.isfinite(row.share_b_better)
            else ""
        )
        ax.set_title(
            f"{_title_of(row.metric, row.unit)}, B - A: {_num(row.effect)} "
            f"[{_num(row.ci_low)}, {_num(row.ci_high)}]; with parameters "
            f"[{_num(row.interval_low)}, {_num(row.interval_high)}]{better}",
            loc="left",
            fontsize=9.5,
            fontweight="normal",
        )
    fig.suptitle(f"{title}\n{subtitle}", x=0.01, ha="left", fontsize=11)
    _legend(fig, level, "effect B - A")
    return fig


def plot_ensemble(
    summary: pd.DataFrame,
    folder: str | Path,
    title: str,
    subtitle: str,
    fmt: str = "png",
    level: float = 0.95,
) -> Path:
    """Write ``folder/ensemble.<fmt>``."""
    return save_figure(
        ensemble_figure(summary, title, subtitle, level), folder, "ensemble", check_format(fmt)
    )


def plot_ensemble_comparison(
    summary: pd.DataFrame,
    folder: str | Path,
    labels: tuple[str, str],
    subtitle: str,
    fmt: str = "png",
    level: float = 0.95,
) -> Path:
    """Write ``folder/ensemble_<A>_vs_<B>.<fmt>``."""
    a, b = labels
    fig = ensemble_comparison_figure(
        summary, f"B - A over the posterior: A {a}, B {b}", subtitle, level
    )
    return save_figure(fig, folder, f"ensemble_{safe_name(a)}_vs_{safe_name(b)}", check_format(fmt))
