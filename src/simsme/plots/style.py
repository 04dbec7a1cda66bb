"""One style for every simsme figure: fonts, colour-blind-safe colours, sizes, saving.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable
with the common forms of colour blindness; lines also differ in dash pattern so figures survive
greyscale printing. Sequential maps use ``viridis`` (perceptually uniform, colour-blind safe).

Figures are made with :class:`matplotlib.figure.Figure` directly (no ``pyplot`` state), so the
functions work with any backend, in scripts, tests and notebooks alike.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib as mpl
from cycler import cycler
from matplotlib.figure import Figure

from simsme.analysis.survival import OVERALL_LABEL
from simsme.errors import SimsmeError

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

PALETTE: tuple[str, ...] = tuple(
    OKABE_ITO[name]
    for name in (
        "blue",
        "vermillion",
        "bluish_green",
        "orange",
        "reddish_purple",
        "sky_blue",
        "black",
        "yellow",  # last: weakest contrast on white
    )
)
"""Colours in the order groups get them (first group blue, second vermillion, ...)."""

LINESTYLES: tuple[str, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))
REFERENCE_COLOUR = "#7F7F7F"  # grey, for observed/reference values from the sources
SEQUENTIAL_CMAP = "viridis"
BAND_ALPHA = 0.2
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
DPI = 150

STYLE: dict[str, object] = {
    "font.size": 11,
    "axes.titlesize": 12.5,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
    "figure.titlesize": 14,
    "figure.titleweight": "bold",
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "lines.linewidth": 2.0,
    "image.cmap": SEQUENTIAL_CMAP,
    "savefig.dpi": DPI,
    "svg.fonttype": "none",  # text stays text in SVG
    "pdf.fonttype": 42,  # embed TrueType fonts in PDF
}

P = ParamSpec("P")
R = TypeVar("R")


def styled(func: Callable[P, R]) -> Callable[P, R]:
    """Run a figure-making function under :data:`STYLE`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


def new_figure(width: float = 7.5, height: float = 4.8) -> Figure:
    """A figure with constrained layout, under the current rc settings."""
    return Figure(figsize=(width, height), layout="constrained")


def set_titles(fig: Figure, ax, title: str, subtitle: str | None = None) -> None:
    """The figure's title (bold, top left) and its axes title (what was run, in normal weight)."""
    fig.suptitle(title, x=0.01, ha="left")
    ax.set_title(subtitle or "", loc="left", fontsize=10, fontweight="normal", color="#333333")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def linestyle(index: int) -> str | tuple:
    return LINESTYLES[index % len(LINESTYLES)]


def colours_for(labels: Sequence[str]) -> dict[str, str]:
    """A colour per label, in order, with :data:`OVERALL_LABEL` in black, so that a group keeps
    its colour whether or not the overall curve is drawn with it."""
    out: dict[str, str] = {}
    k = 0
    for label in labels:
        if label == OVERALL_LABEL:
            out[label] = OKABE_ITO["black"]
        else:
            out[label] = PALETTE[k % (len(PALETTE) - 2)]  # black and yellow kept out
            k += 1
    return out


def styles_for(labels: Sequence[str]) -> dict[str, tuple[str, str | tuple]]:
    """(colour, line style) per label, consistent across figures."""
    colours = colours_for(labels)
    out = {}
    k = 0
    for label in labels:
        if label == OVERALL_LABEL:
            out[label] = (colours[label], "-")
        else:
            out[label] = (colours[label], linestyle(k))
            k += 1
    return out


def check_format(fmt: str) -> str:
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise SimsmeError(
            f"--format: '{fmt}' is not an image format; expected one of png, svg, pdf"
        )
    return fmt


def safe_name(text: str) -> str:
    """A file-name-safe version of a label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "figure"


def save_figure(fig: Figure, folder: str | Path, name: str, fmt: str = "png") -> Path:
    """Write ``fig`` to ``folder/name.fmt`` atomically (temporary file, then rename)."""
    from simsme.results.folder import claim_file, write_atomic

    fmt = check_format(fmt)
    # never overwrites a file simsme did not write (figures carry simsme's metadata)
    path = claim_file(Path(folder) / f"{name}.{fmt}", "--out")

    def draw(tmp: Path) -> None:
        with mpl.rc_context(STYLE):
            fig.savefig(
                tmp,
                format=fmt,
                dpi=DPI,
                bbox_inches="tight",
                pad_inches=0.1,
                metadata=_metadata(fmt),
            )

    return write_atomic(path, draw)


def _metadata(fmt: str) -> dict[str, str | None]:
    # Fixed metadata keeps image files reproducible (no creation date, same software string).
    if fmt == "png":
        return {"Software": "simsme"}
    if fmt == "svg":
        return {"Date": None, "Creator": "simsme"}
    return {"CreationDate": None, "Creator": "simsme", "Producer": "simsme"}
