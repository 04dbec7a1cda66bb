"""The Mesa reference engine: readable agents applying the rules of :mod:`simsme.rules`.

``SimsmeModel`` (a ``mesa.Model``) holds ``SME`` and ``ServiceProvider`` agents (``mesa.Agent``,
in the agent sets ``model.smes`` and ``model.agencies``) and runs the nine phases of MODEL.md
section 3 with the same names, order and rules as the numba kernel; both fill the same raw outputs
(:class:`simsme.outputs.RunBlock`). Build it from a scenario, a scenario file or keyword levers,
step it (``step()``, ``run_model()``) and read ``model.datacollector``, as any Mesa model; the SME
network is the Mesa space ``model.grid`` (what ``simsme view`` draws). Use
:func:`run_replication` for one replication in this process and :func:`run_blocks` for many (in
worker processes). Importing this package does not import (or compile) the numba kernel.
"""

from simsme.model.agency import ServiceProvider
from simsme.model.application import Application
from simsme.model.census import STAGES, stage_of
from simsme.model.levers import LEVERS, apply_levers, lever_values
from simsme.model.model import PHASES, SimsmeModel, draw_network, resolve_scenario
from simsme.model.runner import run_blocks, run_replication
from simsme.model.sme import SME

__all__ = [
    "LEVERS",
    "PHASES",
    "SME",
    "STAGES",
    "Application",
    "ServiceProvider",
    "SimsmeModel",
    "apply_levers",
    "draw_network",
    "lever_values",
    "resolve_scenario",
    "run_blocks",
    "run_replication",
    "stage_of",
]
