"""The SolaraViz page of ``simsme view`` (a Solara app module: ``page`` is the page).

The scenario comes from the environment, set by :func:`simsme.viz.server.serve`:
``SIMSME_VIEW_SCENARIO`` (a scenario file; empty = the built-in baseline) and
``SIMSME_VIEW_N_SMES`` (the population the page starts with; 200 keeps each step quick).

The sliders are the levers of :mod:`simsme.model.levers`, starting where the scenario is
(:func:`simsme.model.lever_values`); as on every SolaraViz page, a lever takes effect when the
model is reset (the Reset button).
"""

from __future__ import annotations

import os
from typing import Any

from mesa.visualization import Slider, SolaraViz

from simsme.model import SimsmeModel, lever_values
from simsme.scenario import load_scenario
from simsme.scenario.schema import Scenario
from simsme.viz.components import (
    AgencyQueues,
    ChannelMix,
    Counts,
    SurvivalCurve,
    network_renderer,
    stage_plot,
)

DEFAULT_N_SMES = 200
"""SMEs on the page unless ``SIMSME_VIEW_N_SMES`` says otherwise: small, so a step is quick."""


def view_scenario() -> Scenario:
    """The scenario named by ``SIMSME_VIEW_SCENARIO`` (the built-in baseline when unset)."""
    path = os.environ.get("SIMSME_VIEW_SCENARIO", "")
    return load_scenario(path) if path else Scenario()


def model_params(scenario: Scenario, n_smes: int = DEFAULT_N_SMES) -> dict[str, Any]:
    """SolaraViz parameters: the scenario (fixed), the seed, and a slider per lever."""
    levers = lever_values(scenario)
    start, end = (
        scenario.time.start_date.year,
        scenario.time.start_date.year + int(scenario.time.horizon_years),
    )
    return {
        "scenario": scenario,
        "seed": {"type": "InputText", "value": str(scenario.seed), "label": "Seed"},
        "n_smes": Slider("SMEs", value=n_smes, min=50, max=1000, step=50),
        "digitalisation_level": Slider(
            "Agencies' DIP level",
            value=levers["digitalisation_level"],
            min=0.0,
            max=1.0,
            step=0.05,
            dtype=float,
        ),
        "digitalisation_start": Slider(
            "DIP plan from (year)",
            value=min(max(levers["digitalisation_start"].year, start), end),
            min=start,
            max=end,
            step=1,
            dtype=int,
        ),
        "committee_interval_weeks": Slider(
            "Committee sits every (weeks)",
            value=levers["committee_interval_weeks"],
            min=0.0,
            max=26.0,
            step=1.0,
            dtype=float,
        ),
        "physical_documents": {
            "type": "Checkbox",
            "value": levers["physical_documents"],
            "label": "Physical documents required",
        },
        "movement_control": {
            "type": "Checkbox",
            "value": levers["movement_control"],
            "label": "Movement-control order (2020-21)",
        },
    }


def initial_values(params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments the page's controls start with (what Reset builds the model from
    until a control is moved)."""
    out = {}
    for name, option in params.items():
        if isinstance(option, Slider):
            out[name] = option.value
        elif isinstance(option, dict) and "type" in option:
            out[name] = option["value"]
        else:
            out[name] = option
    return out


def make_page(scenario: Scenario, n_smes: int = DEFAULT_N_SMES) -> Any:
    """The SolaraViz page for ``scenario``."""
    params = model_params(scenario, n_smes)
    model = SimsmeModel(**initial_values(params))
    return SolaraViz(
        model,
        network_renderer(model),
        components=[stage_plot(), SurvivalCurve, AgencyQueues, ChannelMix, Counts],
        model_params=params,
        name=f"simsme: {scenario.name}",
        play_interval=150,
    )


page = make_page(view_scenario(), int(os.environ.get("SIMSME_VIEW_N_SMES", DEFAULT_N_SMES)))
