"""Figures of one run: survival curves, TTFE by group, share exported by year, channel mix,
programme uptake against 003 Table 1.

Every function returns a :class:`matplotlib.figure.Figure` (title, labelled axes with units,
legend); :func:`plot_run` writes the standard set for a results folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from simsme.analysis.results import WEEKS_PER_YEAR, RunResults
from simsme.analysis.survival import (
    GROUPINGS,
    LEVEL,
    KaplanMeier,
    group_labels,
    km_by_group,
    run_smes,
    share_exported_by_year,
)
from simsme.errors import SimsmeError
from simsme.plots.style import (
    BAND_ALPHA,
    REFERENCE_COLOUR,
    check_format,
    colour,
    colours_for,
    new_figure,
    save_figure,
    set_titles,
    styled,
    styles_for,
)
from simsme.results.summary import mean_ci
from simsme.scenario.schema import FOCUS_AREAS

TIME_LABEL = "Years since the start of the run (or founding, for entrants)"

TABLE1_SME_SHARE: dict[str, float] = {
    "human_capital": 48.1,
    "financing": 39.3,
    "market_access": 2.0,
    "innovation_technology": 4.3,
    "infrastructure": 6.3,
}
"""Share (%) of SMEs reached per focus area in 2020, 003_9e0cb3511f01b6dc.txt Table 1."""

FOCUS_LABELS: dict[str, str] = {
    "human_capital": "Human capital",
    "financing": "Financing",
    "market_access": "Market access",
    "innovation_technology": "Innovation &\ntechnology",
    "infrastructure": "Infrastructure",
}

GROUP_TITLES: dict[str, str] = {
    "size_class": "size class",
    "region": "region",
    "channel_mix": "channels used for applications",
    "agency_digitalisation": "agency digitalisation at entry",
    "scenario": "scenario",
}

RUN_FIGURES: tuple[str, ...] = (
    "survival",
    "survival_by_group",
    "ttfe_by_group",
    "share_exported",
    "channel_mix",
    "uptake_by_focus",
)
"""The standard figure set of a run (``*_by_group`` files are named after the grouping)."""

NEEDS_SMES = {"survival", "survival_by_group", "ttfe_by_group", "share_exported"}


def _years(weeks: np.ndarray | float) -> np.ndarray | float:
    return np.asarray(weeks) / WEEKS_PER_YEAR


def _median_text(curve: KaplanMeier) -> str:
    m = curve.median()
    if not m.reached:
        return "median not reached"
    return f"median {_years(m.estimate):.1f} y"


@styled
def survival_figure(
    curves: dict[str, KaplanMeier],
    title: str = "Time to first export",
    subtitle: str | None = None,
    legend_title: str | None = None,
) -> Figure:
    """Kaplan-Meier curves (share of SMEs not yet exporting against years) with shaded bands.

    Dotted drop lines mark each median TTFE (where reached).
    """
    if not curves:
        raise SimsmeError("no survival curve to plot")
    fig = new_figure()
    ax = fig.add_subplot()
    end = 0.0
    styles = styles_for(list(curves))
    for label, curve in curves.items():
        x = _years(np.r_[curve.time, curve.follow_up])
        end = max(end, float(x[-1]))
        c, ls = styles[label]
        ax.step(
            x,
            np.r_[curve.survival, curve.survival[-1]],
            where="post",
            color=c,
            linestyle=ls,
            label=f"{label} (n = {curve.n:,}; {_median_text(curve)})",
        )
        ax.fill_between(
            x,
            np.r_[curve.ci_low, curve.ci_low[-1]],
            np.r_[curve.ci_high, curve.ci_high[-1]],
            step="post",
            color=c,
            alpha=BAND_ALPHA,
            linewidth=0,
        )
        m = curve.median()
        if m.reached:
            ax.plot([_years(m.estimate)] * 2, [0, 0.5], color=c, linestyle=":", linewidth=1.2)
    ax.axhline(0.5, color=REFERENCE_COLOUR, linestyle=":", linewidth=1)
    ax.set_xlim(0, end)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("SMEs not yet exporting (%)")
    level = next(iter(curves.values())).level
    ax.legend(
        title=legend_title or f"shaded: {level:.0%} confidence band",
        loc="best",
        alignment="left",
    )
    set_titles(fig, ax, title, subtitle)
    return fig


@styled
def ttfe_distribution_figure(
    smes: pd.DataFrame,
    groups: pd.Categorical,
    group_title: str = "group",
    title: str = "Time to first export by group",
    subtitle: str | None = None,
) -> Figure:
    """Violins of TTFE (years) of the SMEs that exported, per group; under each, the share that
    had not exported by the end of its follow-up (the censored SMEs the violins leave out)."""
    fig = new_figure()
    ax = fig.add_subplot()
    exported = smes["exported"].to_numpy(bool)
    years = _years(smes["ttfe_weeks"].to_numpy(float))
    handles = []
    labels = list(groups.categories)
    colours = colours_for(labels)
    for k, label in enumerate(labels):
        members = np.asarray(groups == label)
        values = years[members & exported]
        c = colours[label]
        if len(np.unique(values)) >= 2:
            parts = ax.violinplot(values, positions=[k], widths=0.8, showextrema=False)
            for body in parts["bodies"]:
                body.set_facecolor(c)
                body.set_edgecolor(c)
                body.set_alpha(0.55)
        if len(values):
            q1, med, q3 = np.percentile(values, [25, 50, 75])
            ax.vlines(k, q1, q3, color="black", linewidth=4)
            ax.scatter([k], [med], color="white", edgecolor="black", zorder=3, s=36)
        censored = 1.0 - exported[members].mean()
        ax.annotate(
            f"{censored:.0%} not\nexported",
            xy=(k, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
        )
        handles.append(Patch(facecolor=c, alpha=0.55, label=f"{label} (n = {members.sum():,})"))
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor="black",
            label="median of exporters",
        )
    )
    handles.append(Patch(facecolor="black", label="interquartile range of exporters"))
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel(group_title.capitalize())
    ax.set_ylabel("Time to first export (years), exporters only")
    ax.set_ylim(bottom=-0.12 * max(1.0, float(np.nanmax(years, initial=1.0))))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    set_titles(fig, ax, title, subtitle)
    return fig


@styled
def share_exported_figure(
    table: pd.DataFrame,
    title: str = "Share of SMEs that have exported, by year",
    subtitle: str | None = None,
    level: float = LEVEL,
) -> Figure:
    """Share exported within each whole year (from :func:`share_exported_by_year`), with bands."""
    fig = new_figure()
    ax = fig.add_subplot()
    styles = styles_for([str(g) for g in table["group"].unique()])
    for label, rows in table.groupby("group", sort=False):
        c, ls = styles[str(label)]
        ax.plot(
            rows["year"],
            rows["share_exported"],
            marker="o",
            markersize=4,
            color=c,
            linestyle=ls,
            label=str(label),
        )
        ax.fill_between(
            rows["year"], rows["ci_low"], rows["ci_high"], color=c, alpha=BAND_ALPHA, linewidth=0
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("SMEs that have exported (%)")
    ax.legend(title=f"Kaplan-Meier; shaded: {level:.0%} CI", loc="best", alignment="left")
    set_titles(fig, ax, title, subtitle)
    return fig


@styled
def channel_mix_figure(
    channel_mix: pd.DataFrame,
    title: str = "Channels used for applications, by year",
    subtitle: str | None = None,
    max_channels: int = 7,
) -> Figure:
    """Stacked shares of applications by submission channel per calendar year (all replications
    pooled); digital channels hatched, rare channels lumped into "other"."""
    needed = {"year", "channel", "digital", "applications"}
    if not needed <= set(channel_mix.columns):
        raise SimsmeError(
            f"channel_mix table: missing column(s) {sorted(needed - set(channel_mix))}"
        )
    totals = channel_mix.groupby(["year", "channel"], observed=True)["applications"].sum()
    mix = totals.unstack("channel").fillna(0.0)
    digital = channel_mix.groupby("channel", observed=True)["digital"].first()
    used = [c for c in mix.columns if mix[c].sum() > 0]
    if not used:
        raise SimsmeError("channel_mix table: no applications were made in this run")
    used.sort(key=lambda c: (bool(digital[c]), -mix[c].sum()))
    shown = sorted(used, key=lambda c: -mix[c].sum())[:max_channels]
    ordered = [c for c in used if c in shown]
    others = [c for c in used if c not in shown]
    year_total = mix[used].sum(axis=1).replace(0, np.nan)
    shares = {str(c): (mix[c] / year_total).fillna(0.0).to_numpy() for c in ordered}
    if others:
        shares["other"] = (mix[others].sum(axis=1) / year_total).fillna(0.0).to_numpy()
    fig = new_figure(8.5, 4.8)
    ax = fig.add_subplot()
    years = mix.index.to_numpy()
    names = list(shares)
    colours = [colour(k) for k in range(len(ordered))] + ([REFERENCE_COLOUR] if others else [])
    hatches = [("//" if digital.get(n, False) else "") for n in names]
    labels = [
        f"{n.replace('_', ' ')} ({'digital' if digital.get(n, False) else 'conventional'})"
        if n != "other"
        else "other channels"
        for n in names
    ]
    polys = ax.stackplot(
        years,
        np.vstack([shares[n] for n in names]),
        labels=labels,
        colors=colours,
        alpha=0.85,
        edgecolor="white",
        linewidth=0.5,
    )
    for poly, hatch in zip(polys, hatches, strict=True):
        poly.set_hatch(hatch)
    ax.set_xlim(years.min(), years.max())
    ax.set_ylim(0, 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("Calendar year")
    ax.set_ylabel("Share of applications (%)")
    handles, texts = ax.get_legend_handles_labels()
    ax.legend(
        handles[::-1],
        texts[::-1],
        title="Submission channel (hatched: digital)",
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        alignment="left",
    )
    set_titles(fig, ax, title, subtitle)
    return fig


@styled
def uptake_figure(
    replications: pd.DataFrame,
    title: str = "Programme uptake by focus area",
    subtitle: str | None = None,
    level: float = LEVEL,
) -> Figure:
    """Share of SME-programme reaches per focus area (mean over replications, with CI) next to
    the shares of SMEs reached in 2020 (003_9e0cb3511f01b6dc.txt Table 1)."""
    cols = [f"uptake_{f}" for f in FOCUS_AREAS]
    missing = [c for c in cols if c not in replications.columns]
    if missing:
        raise SimsmeError(f"replications table: missing column(s) {missing}")
    stats_ = [mean_ci(replications[c], level, (0.0, 1.0)) for c in cols]
    mean = np.array([np.nan if s["mean"] is None else s["mean"] * 100 for s in stats_])
    low = np.array([np.nan if s["ci_low"] is None else s["ci_low"] * 100 for s in stats_])
    high = np.array([np.nan if s["ci_high"] is None else s["ci_high"] * 100 for s in stats_])
    x = np.arange(len(FOCUS_AREAS))
    width = 0.38
    fig = new_figure()
    ax = fig.add_subplot()
    err = np.vstack([np.nan_to_num(mean - low), np.nan_to_num(high - mean)])
    ax.bar(
        x - width / 2,
        mean,
        width,
        color=colour(0),
        yerr=err,
        capsize=3,
        label=f"simulated (mean over {len(replications)} replications, {level:.0%} CI)",
    )
    ax.bar(
        x + width / 2,
        [TABLE1_SME_SHARE[f] for f in FOCUS_AREAS],
        width,
        color=REFERENCE_COLOUR,
        hatch="//",
        edgecolor="white",
        label="observed, 2020 (003 Table 1)",
    )
    ax.set_xticks(x, [FOCUS_LABELS[f] for f in FOCUS_AREAS])
    ax.set_xlabel("Focus area of the programme")
    ax.set_ylabel("Share of SMEs reached (%)")
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    ax.legend(loc="upper right")
    set_titles(fig, ax, title, subtitle)
    return fig


def _subtitle(results: RunResults) -> str:
    m = results.manifest
    parts = [results.label]
    if m.get("replications") is not None and m.get("n_smes") is not None:
        parts.append(f"{m['replications']} replications x {m['n_smes']:,} SMEs")
    if m.get("engine"):
        parts.append(f"engine {m['engine']}")
    if m.get("seed") is not None:
        parts.append(f"seed {m['seed']}")
    return "; ".join(parts)


def figure_names(by: str) -> list[str]:
    """File names (without extension) of the standard run figures for grouping ``by``."""
    return [n.replace("by_group", f"by_{by}") for n in RUN_FIGURES]


def run_figures(
    results: RunResults,
    by: str = "size_class",
    level: float = LEVEL,
    only: Sequence[str] | None = None,
) -> tuple[dict[str, Figure], dict[str, str]]:
    """The standard figures of a run, by file name; and the ones skipped, with the reason."""
    if by not in GROUPINGS or by == "scenario":
        choices = ", ".join(g for g in GROUPINGS if g != "scenario")
        raise SimsmeError(f"--by: '{by}' is not a grouping of one run; expected one of {choices}")
    names = figure_names(by)
    wanted = set(names if not only else only)
    unknown = wanted - set(names)
    if unknown:
        raise SimsmeError(
            f"--only: {', '.join(sorted(unknown))} not a figure of a run; expected some of "
            + ", ".join(names)
        )
    sub = _subtitle(results)
    figures: dict[str, Figure] = {}
    skipped: dict[str, str] = {}
    smes_needed = wanted & {n.replace("by_group", f"by_{by}") for n in NEEDS_SMES}
    if smes_needed and not results.has_smes:
        for name in sorted(smes_needed):
            skipped[name] = "no smes.parquet (run made with --no-smes)"
        smes_needed = set()
    if smes_needed:
        smes = run_smes(results, by)
        overall = km_by_group(smes, None, results, level)
        if "survival" in wanted:
            figures["survival"] = survival_figure(
                overall, "Time to first export: SMEs not yet exporting", sub
            )
        groups = group_labels(smes, by, results)
        curves = km_by_group(smes, by, results, level)
        if f"survival_by_{by}" in wanted:
            figures[f"survival_by_{by}"] = survival_figure(
                curves,
                f"Time to first export by {GROUP_TITLES[by]}",
                sub,
            )
        if f"ttfe_by_{by}" in wanted:
            figures[f"ttfe_by_{by}"] = ttfe_distribution_figure(
                smes,
                groups,
                GROUP_TITLES[by],
                f"Time to first export of exporters by {GROUP_TITLES[by]}",
                sub,
            )
        if "share_exported" in wanted:
            both = {**overall, **curves} if len(curves) > 1 else overall
            figures["share_exported"] = share_exported_figure(
                share_exported_by_year(both), subtitle=sub, level=level
            )
    if "channel_mix" in wanted:
        if (results.folder / "channel_mix.parquet").exists():
            figures["channel_mix"] = channel_mix_figure(results.channel_mix, subtitle=sub)
        else:
            skipped["channel_mix"] = "no channel_mix.parquet"
    if "uptake_by_focus" in wanted:
        figures["uptake_by_focus"] = uptake_figure(results.replications, subtitle=sub, level=level)
    ordered = {n: figures[n] for n in names if n in figures}
    return ordered, skipped


def plot_run(
    results: RunResults,
    out: str | Path,
    fmt: str = "png",
    by: str = "size_class",
    level: float = LEVEL,
    only: Sequence[str] | None = None,
) -> tuple[list[Path], dict[str, str]]:
    """Write the standard figures of a run to ``out``; returns the files and the skipped ones."""
    fmt = check_format(fmt)
    figures, skipped = run_figures(results, by, level, only)
    return [save_figure(fig, out, name, fmt) for name, fig in figures.items()], skipped
