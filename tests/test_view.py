"""The parts of ``simsme view`` without a browser: the command's errors, the page's parameters,
and what each part of the page draws (values read back from the figures)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("solara", reason="simsme view needs the viz extra")

from simsme.analysis.survival import kaplan_meier  # noqa: E402
from simsme.cli import main  # noqa: E402
from simsme.model import SimsmeModel, lever_values  # noqa: E402
from simsme.scenario import load_scenario  # noqa: E402
from simsme.viz import components as parts  # noqa: E402
from simsme.viz.app import initial_values, make_page, model_params  # noqa: E402
from simsme.viz.server import check_port, view_url  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def model() -> SimsmeModel:
    """A baseline model of 150 SMEs, 3 years in (plenty of stages, applications, exporters)."""
    model = SimsmeModel(BASELINE, n_smes=150)
    for _ in range(156):
        model.step()
    return model


def test_view_refuses_a_missing_scenario_and_a_taken_port(capsys: pytest.CaptureFixture) -> None:
    assert main(["view", "no-such-scenario.yaml", "--no-browser"]) == 2
    assert "no-such-scenario.yaml" in capsys.readouterr().err
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["view", str(BASELINE), "--no-browser", "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert f"--port {port}" in err and "choose another port" in err
        with pytest.raises(Exception, match="cannot listen"):
            check_port("127.0.0.1", port)
    assert view_url("127.0.0.1", 8765) == "http://localhost:8765/"


def test_page_parameters_build_the_scenario_as_it_is() -> None:
    """The sliders start at the scenario's levers; Mesa accepts them as model parameters; the
    model they build is the scenario's (only the population is the page's)."""
    scenario = load_scenario(BASELINE)
    params = model_params(scenario, n_smes=120)
    from mesa.visualization.solara_viz import _check_model_params

    _check_model_params(SimsmeModel.__init__, params)  # what SolaraViz checks
    values = initial_values(params)
    assert values["scenario"] is scenario and values["n_smes"] == 120
    levers = lever_values(scenario)
    for name in ("digitalisation_level", "committee_interval_weeks", "physical_documents"):
        assert values[name] == levers[name]
    built = SimsmeModel(**values, collect=False)
    reference = SimsmeModel(BASELINE, n_smes=120, collect=False)
    for a, b in zip(built.p, reference.p, strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert make_page(load_scenario(BASELINE, ["population.n_smes=60"]), n_smes=60) is not None


def test_counts_line_matches_the_census(model: SimsmeModel) -> None:
    census = model.census()
    text = parts.counts_text(model)
    assert text.startswith(f"week 156 of {model.p.n_steps} (")
    for stage in ("Unaware", "Aware", "Ready", "Exporting"):
        assert f"{stage.lower()} {int(census[stage])}" in text
    assert census["Exporting"] > 0 and census["Aware"] > 0
    assert "DIP level 1.00 from 2018" in parts.levers_text(model)
    assert "movement-control order off" in parts.levers_text(model)


def test_smes_are_coloured_by_stage(model: SimsmeModel) -> None:
    colours = {parts.sme_portrayal(s).color for s in model.smes if s.exported}
    assert colours == {parts.STAGE_COLOURS["Exporting"]}
    unaware = [s for s in model.smes if not s.aware and not s.exported]
    assert {parts.sme_portrayal(s).color for s in unaware} == {parts.STAGE_COLOURS["Unaware"]}


def test_network_layout_fills_a_disc_in_node_order(model: SimsmeModel) -> None:
    pos = parts.disc_layout(model.network)
    assert list(pos) == list(range(model.p.n_total))
    radius = np.hypot(*np.array(list(pos.values())).T)
    assert radius.max() <= 1.0 and np.median(radius) == pytest.approx(np.sqrt(0.5), abs=0.02)
    renderer = parts.network_renderer(model)
    assert renderer.space is model.grid and len(renderer.space_drawer.pos) == model.p.n_total


def test_survival_curve_is_the_kaplan_meier_estimate_so_far(model: SimsmeModel) -> None:
    fig = parts.survival_figure(model)
    (line,) = [x for x in fig.axes[0].get_lines() if x.get_label() == "Kaplan-Meier"]
    km = kaplan_meier(*model.ttfe_weeks())
    np.testing.assert_allclose(line.get_ydata(), km.survival)
    np.testing.assert_allclose(line.get_xdata(), km.time / parts.WEEKS_PER_YEAR)
    assert km.survival[-1] < 1.0  # some SMEs exported
    assert fig.axes[0].get_xlim()[1] == pytest.approx(model.p.n_steps * 7 / 365.25)


def test_agency_and_channel_figures_show_the_counts(model: SimsmeModel) -> None:
    census = model.census()
    ax = parts.agency_figure(model).axes[0]
    widths = [bar.get_width() for bar in ax.containers[0]]
    assert widths == [census[f"Open at {n}"] for n in model.agency_names]
    ax = parts.channel_figure(model).axes[0]
    total = sum(bar.get_height() for container in ax.containers for bar in container)
    assert total == model.year_channel_applications.sum() > 0
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    used = np.flatnonzero(model.year_channel_applications.sum(axis=0))
    assert labels == {model.channel_names[c] for c in used}
