"""The parts of the live view, each drawn from a running :class:`~simsme.model.SimsmeModel`.

Following Mesa's SolaraViz conventions, each part is a function of the model that returns a Solara
element (re-drawn after every step), or a Mesa component (:func:`network_renderer`,
:func:`stage_plot`):

- the SME network (the model's Mesa ``Network`` space) with each SME coloured by its stage
  (MODEL.md section 2: unaware -> aware -> ready -> exporting);
- SMEs by stage over time (the model's ``DataCollector``, :mod:`simsme.model.census`);
- agency caseloads: applications open at each agency, and those waiting for its capacity
  (003_9e0cb3511f01b6dc.txt, section 4.1);
- the channel mix: applications by channel per year, digital channels in blues, conventional
  channels in oranges (003 Table 4);
- the Kaplan-Meier curve of time to first export so far (:mod:`simsme.analysis.survival`), on
  the run's full horizon so that it grows step by step;
- a line of counts (the week, its date, and the SMEs in each stage).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import solara
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mesa.visualization import SpaceRenderer, make_plot_component
from mesa.visualization.components import AgentPortrayalStyle
from mesa.visualization.space_drawers import NetworkSpaceDrawer

from simsme.analysis.survival import kaplan_meier
from simsme.model.census import STAGES, stage_of
from simsme.model.levers import lever_values

if TYPE_CHECKING:  # pragma: no cover
    from simsme.model import SimsmeModel

STAGE_COLOURS: dict[str, str] = {
    "Unaware": "#9e9e9e",
    "Aware": "#f2a93b",
    "Ready": "#2c7fb8",
    "Exporting": "#1a9641",
}
"""Colour of each SME stage, in every part of the view."""

NOT_FOUNDED_COLOUR = "#e6e6e6"
WEEKS_PER_YEAR = 365.25 / 7.0
FIGSIZE = (6.0, 4.0)


def current_date(model: SimsmeModel) -> dt.date | None:
    """Calendar date at the end of the last step (None when the model has no scenario)."""
    if model.scenario is None:
        return None
    days = model.steps * model.p.step_days
    return model.scenario.time.start_date + dt.timedelta(days=days)


# ---------------------------------------------------------------------------------------------
# The SME network (Mesa SpaceRenderer over the model's Network space)
# ---------------------------------------------------------------------------------------------
def sme_portrayal(sme: Any) -> AgentPortrayalStyle:
    """An SME as a dot coloured by its stage; entrants not founded yet are faint."""
    stage = stage_of(sme, sme.model.today())
    if stage == "Not founded":
        return AgentPortrayalStyle(color=NOT_FOUNDED_COLOUR, size=12, alpha=0.6, zorder=1)
    return AgentPortrayalStyle(color=STAGE_COLOURS[stage], size=26, zorder=2)


def _network_legend(ax: Any) -> None:
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colour, label=stage)
        for stage, colour in STAGE_COLOURS.items()
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        ncol=4,
        frameon=False,
        fontsize=8,
        bbox_to_anchor=(0.5, 1.08),
    )
    ax.set_title("SME network, coloured by stage", fontsize=10, pad=22)


def disc_layout(graph: nx.Graph, seed: int = 0) -> dict[int, np.ndarray]:
    """A spring layout spread evenly over a disc: each node keeps its direction from the centre
    and its rank in distance, so clusters stay together and SMEs without ties do not fly off."""
    pos = nx.spring_layout(graph, seed=seed)
    if not pos:
        return pos
    xy = np.array(list(pos.values()))
    xy -= xy.mean(axis=0)
    r = np.hypot(xy[:, 0], xy[:, 1])
    rank = np.empty(len(r))
    rank[np.argsort(r, kind="stable")] = np.arange(len(r))
    scale = np.sqrt((rank + 0.5) / len(r)) / np.maximum(r, 1e-12)
    return dict(zip(pos, xy * scale[:, None], strict=True))


class NetworkRenderer(SpaceRenderer):
    """Mesa's ``SpaceRenderer`` with the SME network laid out by :func:`disc_layout` (SolaraViz
    rebuilds it with the same class when the model is reset)."""

    def _get_space_drawer(self) -> NetworkSpaceDrawer:
        return NetworkSpaceDrawer(self.space, layout_alg=disc_layout, layout_kwargs={"seed": 0})


def network_renderer(model: SimsmeModel) -> SpaceRenderer:
    """Mesa's ``SpaceRenderer`` for the model's SME network (matplotlib backend)."""
    renderer = NetworkRenderer(model, backend="matplotlib")
    renderer.draw_structure(
        node_kwargs={"alpha": 0.0, "node_size": 1},
        edge_kwargs={"alpha": 0.25, "style": "-", "width": 0.5, "edge_color": "#9e9e9e"},
    )
    renderer.draw_agents(sme_portrayal)
    renderer.post_process = _network_legend
    return renderer


# ---------------------------------------------------------------------------------------------
# Series from the DataCollector
# ---------------------------------------------------------------------------------------------
def _stage_axes(ax: Any) -> None:
    ax.set_title("SMEs by stage", fontsize=10)
    ax.set_xlabel("week")
    ax.set_ylabel("SMEs")
    ax.legend(loc="upper right", fontsize=8, frameon=False)


def stage_plot() -> tuple[Any, int]:
    """Mesa's plot component of the SME stage counts over time."""
    return make_plot_component(STAGE_COLOURS, backend="matplotlib", post_process=_stage_axes)


# ---------------------------------------------------------------------------------------------
# Custom parts (functions of the model; SolaraViz re-draws them after each step)
# ---------------------------------------------------------------------------------------------
DPI = 80


def _new_figure(left: float = 0.12) -> tuple[Figure, Any]:
    """A figure with fixed margins (no tight bounding box: each frame renders once)."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    fig.subplots_adjust(left=left, right=0.97, top=0.91, bottom=0.13)
    return fig, fig.subplots()


def _figure(fig: Figure) -> Any:
    return solara.FigureMatplotlib(fig, format="png", dpi=DPI)


def counts_text(model: SimsmeModel) -> str:
    """One line: the week, its date, the SMEs in each stage and the open applications."""
    census = model.census()
    date = current_date(model)
    when = f"week {model.steps} of {model.p.n_steps}" + (f" ({date:%d %b %Y})" if date else "")
    stages = ", ".join(f"{name.lower()} {int(census[name])}" for name in STAGES)
    founded = sum(int(census[name]) for name in STAGES)
    open_ = sum(int(v) for k, v in census.items() if k.startswith("Open at "))
    return f"{when}: {founded} SMEs founded: {stages}; {open_} applications with agencies"


def levers_text(model: SimsmeModel) -> str:
    """The levers of the running model, in words."""
    if model.scenario is None:
        return ""
    v = lever_values(model.scenario)
    interval = v["committee_interval_weeks"]
    start = v["digitalisation_start"]
    since = str(start.year) if (start.month, start.day) == (1, 1) else start.isoformat()
    return (
        f"Levers of this run: agencies at DIP level {v['digitalisation_level']:.2f} from "
        f"{since}; committee "
        + (f"every {interval:g} weeks" if interval else "none")
        + f"; physical documents {'required' if v['physical_documents'] else 'not required'}; "
        f"movement-control order {'on' if v['movement_control'] else 'off'}. "
        "Move a lever, then press Reset."
    )


def Counts(model: SimsmeModel) -> Any:
    """The counts line (:func:`counts_text`) and the levers (:func:`levers_text`)."""
    with solara.Column() as column:
        solara.Text(counts_text(model), style={"font-weight": "bold"})
        solara.Text(levers_text(model))
    return column


def agency_figure(model: SimsmeModel) -> Figure:
    """Applications open at each agency now, and those waiting for its capacity."""
    census = model.census()
    names = model.agency_names
    open_ = np.array([census[f"Open at {n}"] for n in names], dtype=float)
    queue = np.array([census[f"Queue at {n}"] for n in names], dtype=float)
    fig, ax = _new_figure(left=0.25)
    y = np.arange(len(names))
    ax.barh(y, open_, color="#bdbdbd", label="open (submitted, not yet notified)")
    ax.barh(y, queue, color="#d7301f", label="waiting for capacity")
    ax.set_yticks(y, [n.replace("_", " ") for n in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(5.0, float(open_.max()) * 1.15))
    ax.set_xlabel("applications")
    ax.set_title("Agency caseloads and queues", fontsize=10)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return fig


def AgencyQueues(model: SimsmeModel) -> Any:
    return _figure(agency_figure(model))


def channel_figure(model: SimsmeModel) -> Figure:
    """Applications per year by channel (stacked), digital channels in blues."""
    counts = model.year_channel_applications
    years = counts.shape[0]
    start_year = model.scenario.time.start_date.year if model.scenario is not None else 0
    used = np.flatnonzero(counts.sum(axis=0) > 0)
    digital = np.asarray(model.p.ch_digital, dtype=bool)
    fig, ax = _new_figure()
    x = start_year + np.arange(years)
    bottom = np.zeros(years)
    import matplotlib as mpl

    blues, oranges = mpl.colormaps["Blues"], mpl.colormaps["Oranges"]
    order = sorted(used, key=lambda c: (bool(digital[c]), c))
    n_dig = max(1, int(digital[used].sum()))
    n_conv = max(1, len(used) - int(digital[used].sum()))
    i_dig = i_conv = 0
    for c in order:
        if digital[c]:
            colour = blues(0.45 + 0.5 * i_dig / n_dig)
            i_dig += 1
        else:
            colour = oranges(0.35 + 0.5 * i_conv / n_conv)
            i_conv += 1
        ax.bar(x, counts[:, c], bottom=bottom, color=colour, label=model.channel_names[c])
        bottom += counts[:, c]
    ax.set_xlim(x[0] - 0.6, x[-1] + 0.6)
    ax.set_xlabel("year")
    ax.set_ylabel("applications")
    total = counts.sum()
    share = counts[:, digital].sum() / total if total else float("nan")
    title = "Channel mix of applications"
    ax.set_title(title + (f" (digital so far: {share:.0%})" if total else ""), fontsize=10)
    if len(used):  # beside the plot: the bars fill the axes as the years pass
        fig.subplots_adjust(right=0.78)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig


def ChannelMix(model: SimsmeModel) -> Any:
    return _figure(channel_figure(model))


def survival_figure(model: SimsmeModel) -> Figure:
    """Kaplan-Meier estimate of the share not yet exporting, with its 95% band."""
    durations, exported = model.ttfe_weeks()
    fig, ax = _new_figure()
    horizon = model.p.n_steps * model.p.step_days / 7.0 / WEEKS_PER_YEAR
    if len(durations):
        km = kaplan_meier(durations, exported)
        t = km.time / WEEKS_PER_YEAR
        ax.fill_between(
            t, km.ci_low, km.ci_high, step="post", color="#1a9641", alpha=0.2, label="95% band"
        )
        ax.step(t, km.survival, where="post", color="#1a9641", label="Kaplan-Meier")
        median = km.median()
        label = (
            f"median TTFE {median.estimate / WEEKS_PER_YEAR:.1f} years"
            if median.reached
            else "median TTFE not reached yet"
        )
        ax.text(0.98, 0.95, label, transform=ax.transAxes, ha="right", va="top", fontsize=8)
    ax.set_xlim(0, horizon)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("years since the start of the run (or founding)")
    ax.set_ylabel("share not yet exporting")
    ax.set_title("Time to first export so far", fontsize=10)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    return fig


def SurvivalCurve(model: SimsmeModel) -> Any:
    return _figure(survival_figure(model))
