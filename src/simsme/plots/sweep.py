"""Figures of a sweep: an output against each varied parameter, a two-parameter heatmap, and
Sobol or Morris sensitivity indices."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from simsme.analysis.results import SweepResults
from simsme.analysis.survival import LEVEL
from simsme.analysis.sweep import (
    check_output,
    default_output,
    is_numeric,
    marginal_table,
    pair_table,
    point_table,
    ranked_parameters,
    sensitivity_table,
)
from simsme.errors import SimsmeError
from simsme.plots.style import (
    BAND_ALPHA,
    REFERENCE_COLOUR,
    SEQUENTIAL_CMAP,
    check_format,
    colour,
    new_figure,
    save_figure,
    set_titles,
    styled,
)

OUTPUT_LABELS: dict[str, tuple[str, str]] = {
    "km_median_ttfe_weeks": ("Median TTFE, Kaplan-Meier", "weeks"),
    "median_ttfe_weeks": ("Median TTFE of exporters", "weeks"),
    "mean_ttfe_weeks": ("Mean TTFE of exporters", "weeks"),
    "share_exported": ("Share exported by the horizon", "0-1"),
    "share_exported_within_3y": ("Share exporting within 3 years of founding", "0-1"),
    "digital_share_of_applications": ("Digital share of applications", "0-1"),
    "indirect_share": ("Share of exporters exporting indirectly", "0-1"),
    "cocreated_share": ("Share of programmes co-created", "0-1"),
    "mean_weeks_waiting": ("Mean time waiting on agencies", "weeks"),
}
"""Axis labels (name, unit) of the replication statistics."""

SWEEP_FIGURES: tuple[str, ...] = ("sweep_response", "sweep_heatmap", "sensitivity")


def output_label(output: str) -> str:
    """Axis label with unit of a replication statistic (e.g. 'Median TTFE of exporters (weeks)')."""
    name, unit = OUTPUT_LABELS.get(output, (output.replace("_", " ").capitalize(), ""))
    return f"{name} ({unit})" if unit else name


def output_unit(output: str) -> str:
    return OUTPUT_LABELS.get(output, ("", "value"))[1] or "value"


def panel_title(parameter: str) -> str:
    """Short title of a parameter: its dotted path without the top-level section."""
    parts = parameter.split(".")[1:] or [parameter]
    return " ".join("(all)" if p == "*" else p.replace("_", " ") for p in parts)


def _value_text(v: object) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.3g}"
    return str(v)


def _subtitle(sweep: SweepResults) -> str:
    ok = int((sweep.points["status"] == "ok").sum())
    failed = sweep.failed_points
    text = f"{sweep.label}; {sweep.design} design, {ok} points"
    if failed:
        text += f" ({failed} failed, left out)"
    reps = sweep.summary.groupby("point")["replication"].nunique()
    if len(reps):
        text += f"; {int(reps.median())} replications per point"
    return text


@styled
def sweep_response_figure(
    sweep: SweepResults, output: str | None = None, level: float = LEVEL
) -> Figure:
    """``output`` against each varied parameter: mean over replications (and over the other
    parameters) with its confidence band; design-point means as dots where they differ."""
    output = output or default_output(sweep)
    check_output(sweep, output)
    params = sweep.parameters
    if not params:
        raise SimsmeError(f"{sweep.folder}: the manifest lists no varied parameter")
    ncols = min(3, len(params))
    nrows = math.ceil(len(params) / ncols)
    fig = new_figure(4.3 * ncols + 0.6, 3.5 * nrows + 0.9)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    points = point_table(sweep, output, level)
    for k, (ax, param) in enumerate(zip(axes.flat, params, strict=False)):
        marg = marginal_table(sweep, param, output, level)
        numeric = is_numeric(points[param])
        positions = marg["x"].to_numpy(float) if numeric else np.arange(len(marg))
        show_points = len(params) > 1 or bool(marg["binned"].any())
        if show_points:
            px = (
                points[param].to_numpy(float)
                if numeric
                else pd.Categorical(points[param], categories=marg["x"]).codes
            )
            ax.scatter(
                px,
                points["mean"],
                s=12,
                color=REFERENCE_COLOUR,
                alpha=0.6,
                label="design point (mean of replications)",
                zorder=1,
            )
        binned = bool(marg["binned"].any())
        ax.plot(
            positions,
            marg["mean"],
            marker="o",
            markersize=4,
            color=colour(0),
            label=("mean within quantile bins" if binned else "mean")
            + (", other parameters pooled" if len(params) > 1 else ""),
            zorder=3,
        )
        ax.fill_between(
            positions,
            marg["ci_low"],
            marg["ci_high"],
            color=colour(0),
            alpha=BAND_ALPHA,
            linewidth=0,
            label=f"{level:.0%} CI of the mean",
            zorder=2,
        )
        if not numeric:
            ax.set_xticks(positions, [_value_text(v) for v in marg["x"]])
        elif sweep.is_log(param):
            ax.set_xscale("log")
            ax.set_xticks(positions, [f"{v:.3g}" for v in positions])
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_title(panel_title(param), loc="left", fontsize=10.5)
        ax.set_xlabel(param)
        if k % ncols == 0:
            ax.set_ylabel(output_label(output))
    for ax in list(axes.flat)[len(params) :]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="best", fontsize=8.5)
    fig.suptitle(f"{output_label(output)} against each swept parameter", x=0.01, ha="left")
    fig.text(0.01, 0.0, _subtitle(sweep), fontsize=9, color="#333333", ha="left", va="bottom")
    fig.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))
    return fig


def _luminance(rgba: Sequence[float]) -> float:
    r, g, b = to_rgb(rgba)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@styled
def sweep_heatmap_figure(sweep: SweepResults, x: str, y: str, output: str | None = None) -> Figure:
    """Mean of ``output`` over the grid of two parameters (other parameters pooled); the colour
    bar is the legend."""
    output = output or default_output(sweep)
    grid, binned = pair_table(sweep, x, y, output)
    fig = new_figure(7.2, 5.4)
    ax = fig.add_subplot()
    image = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap=SEQUENTIAL_CMAP)
    ax.set_xticks(range(grid.shape[1]), [_value_text(v) for v in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [_value_text(v) for v in grid.index])
    ax.grid(False)
    if grid.size <= 120:
        values = grid.to_numpy(float)
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if not np.isfinite(values[i, j]):
                    ax.text(j, i, "no data", ha="center", va="center", fontsize=8, color="#555555")
                else:
                    rgba = image.cmap(image.norm(values[i, j]))
                    ax.text(
                        j,
                        i,
                        f"{values[i, j]:.3g}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="black" if _luminance(rgba) > 0.45 else "white",
                    )
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(output_label(output))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    note = "; values binned into quantile bins (labelled by their mean)" if binned else ""
    set_titles(fig, ax, f"{output_label(output)} over two parameters", _subtitle(sweep) + note)
    return fig


@styled
def sensitivity_figure(
    sensitivity: pd.DataFrame, output: str, subtitle: str | None = None
) -> Figure:
    """Sobol (first-order S1 and total ST) or Morris (mu* and sigma) indices, one bar per
    parameter, most influential on top; error bars are the recorded confidence intervals."""
    if sensitivity.empty:
        raise SimsmeError(f"sensitivity.parquet: no indices for output '{output}'")
    method = str(sensitivity["method"].iloc[0]).lower()
    if method not in ("sobol", "morris"):
        raise SimsmeError(f"sensitivity.parquet: method '{method}' is not one of sobol, morris")
    first, second = ("S1", "ST") if method == "sobol" else ("mu_star", "sigma")
    missing = {first, second} - set(sensitivity.columns)
    if missing:
        raise SimsmeError(f"sensitivity.parquet: missing column(s) {sorted(missing)}")
    sens = sensitivity.sort_values(second if method == "sobol" else first, ascending=True)
    y = np.arange(len(sens))
    height = 0.38
    fig = new_figure(8.5, 1.2 + 0.55 * len(sens) + 1.0)
    ax = fig.add_subplot()
    conf = {"S1": "S1_conf", "ST": "ST_conf", "mu_star": "mu_star_conf", "sigma": None}
    names = {
        "S1": "first-order index S1",
        "ST": "total-order index ST",
        "mu_star": "mu* (mean absolute elementary effect)",
        "sigma": "sigma (spread: interactions, non-linearity)",
    }
    for k, column in enumerate((first, second)):
        err_col = conf[column]
        err = sens[err_col].to_numpy(float) if err_col and err_col in sens.columns else None
        ax.barh(
            y + (height / 2 if k == 0 else -height / 2),
            sens[column].to_numpy(float),
            height,
            xerr=err,
            capsize=3,
            color=colour(k),
            hatch="" if k == 0 else "//",
            edgecolor="white",
            label=names[column],
        )
    ax.set_yticks(y, list(sens["parameter"]))
    ax.set_ylabel("Parameter")
    if method == "sobol":
        ax.set_xlabel("Sobol index: share of the output's variance (0-1)")
        ax.axvline(0, color="black", linewidth=0.8)
    else:
        ax.set_xlabel(f"Morris elementary effect on the output ({output_unit(output)})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    name = "Sobol" if method == "sobol" else "Morris"
    set_titles(fig, ax, f"{name} sensitivity: {output_label(output)}", subtitle)
    return fig


def sweep_figures(
    sweep: SweepResults,
    output: str | None = None,
    level: float = LEVEL,
    only: Sequence[str] | None = None,
) -> tuple[dict[str, Figure], dict[str, str]]:
    """The standard figures of a sweep, by file name; and the ones skipped, with the reason."""
    wanted = set(only or SWEEP_FIGURES)
    unknown = wanted - set(SWEEP_FIGURES)
    if unknown:
        raise SimsmeError(
            f"--only: {', '.join(sorted(unknown))} not a figure of a sweep; expected some of "
            + ", ".join(SWEEP_FIGURES)
        )
    output = output or default_output(sweep)
    check_output(sweep, output)
    figures: dict[str, Figure] = {}
    skipped: dict[str, str] = {}
    if "sweep_response" in wanted:
        figures["sweep_response"] = sweep_response_figure(sweep, output, level)
    if "sweep_heatmap" in wanted:
        ranked = ranked_parameters(sweep, output)
        if len(ranked) >= 2:
            figures["sweep_heatmap"] = sweep_heatmap_figure(sweep, ranked[0], ranked[1], output)
        else:
            skipped["sweep_heatmap"] = "needs two or more varied parameters"
    if "sensitivity" in wanted:
        if sweep.has_sensitivity:
            sens = sensitivity_table(sweep)
            outputs = list(sens["output"].unique()) if "output" in sens.columns else [output]
            chosen = output if output in outputs else outputs[0]
            figures["sensitivity"] = sensitivity_figure(
                sensitivity_table(sweep, chosen), chosen, _subtitle(sweep)
            )
        else:
            skipped["sensitivity"] = "no sensitivity.parquet (Sobol and Morris designs only)"
    return figures, skipped


def plot_sweep(
    sweep: SweepResults,
    out: str | Path,
    fmt: str = "png",
    output: str | None = None,
    level: float = LEVEL,
    only: Sequence[str] | None = None,
) -> tuple[list[Path], dict[str, str]]:
    """Write the standard figures of a sweep to ``out``; returns the files and skipped ones."""
    fmt = check_format(fmt)
    figures, skipped = sweep_figures(sweep, output, level, only)
    return [save_figure(fig, out, name, fmt) for name, fig in figures.items()], skipped
