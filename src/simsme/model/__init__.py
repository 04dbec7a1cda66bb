"""The Mesa reference engine: readable agents applying the rules of :mod:`simsme.rules`.

``SimsmeModel`` (a ``mesa.Model``) holds ``SME`` and ``ServiceProvider`` agents (``mesa.Agent``)
and runs the nine phases of MODEL.md section 3 with the same names, order and rules as the numba
kernel (:mod:`simsme.kernel.phases`); both fill the same raw outputs
(:class:`simsme.outputs.RunBlock`). Use :func:`run_replication` for one replication in this
process and :func:`run_blocks` for many (in worker processes).
"""

from simsme.model.agency import ServiceProvider
from simsme.model.application import Application
from simsme.model.model import PHASES, SimsmeModel, draw_network
from simsme.model.runner import run_blocks, run_replication
from simsme.model.sme import SME

__all__ = [
    "PHASES",
    "SME",
    "Application",
    "ServiceProvider",
    "SimsmeModel",
    "draw_network",
    "run_blocks",
    "run_replication",
]
