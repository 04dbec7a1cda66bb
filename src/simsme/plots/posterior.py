"""Figures of a posterior ensemble: marginals against the prior, and pairwise scatter plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from simsme.calibration.posterior import Posterior


def _short(path: str) -> str:
    """The last two parts of a dotted path (``export_entry.entry_cost``)."""
    return ".".join(path.split(".")[-2:])


def _scaled(posterior: Posterior, path: str) -> tuple[np.ndarray, float, float, bool]:
    prior = posterior.priors[path]
    values = posterior.table[path].to_numpy(float)
    return values, prior.low, prior.high, prior.log


def marginals_figure(posterior: Posterior) -> Figure:
    """One panel per parameter: the weighted posterior histogram over the prior's range (the
    prior is the flat line: uniform, or uniform in the logarithm), median and 90% interval."""
    params = posterior.parameters
    cols = 4
    rows = math.ceil(len(params) / cols)
    fig = Figure(figsize=(3.2 * cols, 2.3 * rows), layout="constrained")
    widths = posterior.widths().set_index("parameter")
    for i, path in enumerate(params):
        ax = fig.add_subplot(rows, cols, i + 1)
        values, low, high, log = _scaled(posterior, path)
        edges = np.geomspace(low, high, 21) if log else np.linspace(low, high, 21)
        ax.hist(values, bins=edges, weights=posterior.weights, density=True, color="#4c72b0")
        prior_density = (
            1.0 / (np.log(high / low) * edges) if log else np.full_like(edges, 1 / (high - low))
        )
        ax.plot(edges, prior_density, color="#dd8452", lw=1.5, label="prior")
        row = widths.loc[path]
        ax.axvline(row["posterior_median"], color="black", lw=1)
        ax.axvspan(row["posterior_low"], row["posterior_high"], color="grey", alpha=0.15)
        if log:
            ax.set_xscale("log")
        ax.set_title(f"{_short(path)}\n{row['verdict']} ({row['width_ratio']:.2f})", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    fig.suptitle(
        f"posterior (histogram, {len(posterior)} particles, ESS {posterior.ess():.0f}) against "
        "prior (line); median and 90% interval; width ratio posterior/prior",
        fontsize=9,
    )
    return fig


def pairs_figure(posterior: Posterior, most: int = 6) -> Figure:
    """Pairwise scatter plots of the ``most`` parameters the targets narrow most (smallest
    width ratio), dot size by weight: where the posterior's correlations are."""
    widths = posterior.widths().sort_values("width_ratio")
    params = list(widths["parameter"][:most])
    n = len(params)
    fig = Figure(figsize=(2.0 * n + 1, 2.0 * n + 1), layout="constrained")
    size = 4 + 60 * posterior.weights / posterior.weights.max()
    for i, y in enumerate(params):
        for j, x in enumerate(params):
            ax = fig.add_subplot(n, n, i * n + j + 1)
            xs, xlo, xhi, xlog = _scaled(posterior, x)
            if i == j:
                edges = np.geomspace(xlo, xhi, 21) if xlog else np.linspace(xlo, xhi, 21)
                ax.hist(xs, bins=edges, weights=posterior.weights, color="#4c72b0")
                ax.set_yticks([])
            else:
                ys, ylo, yhi, ylog = _scaled(posterior, y)
                ax.scatter(xs, ys, s=size, alpha=0.4, color="#4c72b0", linewidths=0)
                ax.set_ylim(ylo, yhi)
                if ylog:
                    ax.set_yscale("log")
            ax.set_xlim(xlo, xhi)
            if xlog:
                ax.set_xscale("log")
            ax.tick_params(labelsize=6)
            if i == n - 1:
                ax.set_xlabel(_short(x), fontsize=7)
            if j == 0 and i != j:
                ax.set_ylabel(_short(y), fontsize=7)
    fig.suptitle("posterior, pairs of the parameters the targets narrow most", fontsize=9)
    return fig


def plot_marginals(posterior: Posterior, folder: str | Path, fmt: str = "png") -> Path:
    """Write ``marginals.<fmt>`` into ``folder``."""
    from simsme.plots.style import save_figure

    return save_figure(marginals_figure(posterior), folder, "marginals", fmt)


def plot_pairs(posterior: Posterior, folder: str | Path, fmt: str = "png") -> Path:
    """Write ``pairs.<fmt>`` into ``folder``."""
    from simsme.plots.style import save_figure

    return save_figure(pairs_figure(posterior), folder, "pairs", fmt)
