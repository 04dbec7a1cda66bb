"""The kernel's compact view of the lowered scenario (:class:`Params`).

Numba passes a tuple argument as all of its members, and each array member costs several
nanoseconds per call (reference counting and argument packing). The phases are called every
step with the whole parameter set, so the kernel reads the scenario through this compact copy of
:class:`~simsme.scenario.lowering.ScenarioArrays`: the same numbers, with the per-channel,
per-agency, per-programme and per-step arrays stacked into a few 2-D arrays whose rows are named
by constants. Nothing is recomputed or rounded: each row is the lowered array as is (booleans
become 0.0 / 1.0).

The rows are generated from the parameter table (:mod:`simsme.scenario.table`), in declaration
order, so a parameter added to the schema with ``to=...`` gets its row without an edit here:

============  =====================================================  ==========================
stack         columns of the table                                   row constant of ``ag_x``
============  =====================================================  ==========================
``Params.ch``    one value per channel (``channels.*`` parameters)      ``CH_X`` for ``ch_x``
``Params.ag``    one value per agency (``agencies[]`` parameters)       ``AG_X`` for ``ag_x``
``Params.prog``  one value per focus area (``programmes.*``, and       ``PR_X`` for ``prog_x`` or
                 dictionaries keyed by focus area); a per-resource      ``x``; ``PR_RAISE + r``
                 vector takes one row per resource
``Params.tl``    per-step timelines of event parameters that            ``TL_X`` for ``tl_x``
                 multiply, add or switch on
``Params.pc``    one value per procedure (``procedures[]``)             ``PC_X`` for ``pc_x``
============  =====================================================  ==========================

``*_ROWS`` is each stack's row count. Every scalar of the table becomes a field of
:class:`Params` under its own name, except the population's (read once, by the population
draw, from :class:`ScenarioArrays`). ``REG_*`` and ``TAX_*`` name the rows of the one-off shocks,
which a mechanism of the lowering derives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from simsme.scenario.lowering import ScenarioArrays, table_columns
from simsme.scenario.schema import RESOURCES, Scenario

# name of each stack, the collections whose columns it holds, the prefix its row names drop
STACKS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "ch": ("CH", ("channels.*",), "ch_"),
    "ag": ("AG", ("agencies[]",), "ag_"),
    "prog": ("PR", ("programmes.*", "focus areas"), "prog_"),
    "tl": ("TL", ("timeline",), "tl_"),
    "pc": ("PC", ("procedures[]",), "pc_"),
}
TIMELINE_ROWS = ("mul", "add", "or")  # timelines of one value per step (the others: tl_slow ...)
ROWS_PER_COLUMN = {"by_resource": len(RESOURCES)}
ALIASES = {"TL_PUSH": "TL_ADOPTION_PUSH"}  # short names the kernel uses

# rows of Params.reg [REG_ROWS, K] (steps stored as floats; exact for any step count)
REG_START = 0
REG_END = 1
REG_SHARE = 2
REG_PENALTY = 3
REG_ROWS = 4

# rows of Params.tax [TAX_ROWS, K]
TAX_START = 0
TAX_LOSS = 1
TAX_ROWS = 2

HEAD: tuple[tuple[str, Any], ...] = (
    ("n_initial", int),
    ("n_total", int),
    ("n_steps", int),
    ("n_years", int),
    ("n_channels", int),
    ("n_agencies", int),
    ("step_days", float),
    ("dt_years", float),
    ("digital_mask", int),
    ("conventional_mask", int),
    ("documents_mask", int),
    ("face_to_face", int),
)
TAIL: tuple[tuple[str, Any], ...] = (
    ("ch", np.ndarray),  # [CH_ROWS, C] float64
    ("ch_order", np.ndarray),  # [C] int64, channels by preference
    ("ag", np.ndarray),  # [AG_ROWS, A] float64
    ("ag_accept", np.ndarray),  # [A, P] int64 channel masks per purpose
    ("focus_agencies", np.ndarray),  # [5, 1 + A] int64: count, then agency indices
    ("prog", np.ndarray),  # [PR_ROWS, 5] float64
    ("tl", np.ndarray),  # [TL_ROWS, T] float64
    ("tl_level", np.ndarray),  # [T, A] agency digitalisation level
    ("tl_slow", np.ndarray),  # [T, C] channel slowdown
    ("tl_blocked", np.ndarray),  # [T] int64 blocked-channel mask
    ("reg", np.ndarray),  # [REG_ROWS, K] float64
    ("tax", np.ndarray),  # [TAX_ROWS, K] float64
    ("pc", np.ndarray),  # [PC_ROWS, K] float64, one column per procedure
    ("pc_accept", np.ndarray),  # [K] int64 channel masks
    ("tl_pc_level", np.ndarray),  # [T, K] the regulators' digitalisation level
)


@dataclass
class Layout:
    """Which lowered column fills which rows, and the scalars the kernel reads."""

    stacks: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)  # (col, row, n)
    rows: dict[str, int] = field(default_factory=dict)  # stack -> row count
    constants: dict[str, int] = field(default_factory=dict)
    scalars: list[str] = field(default_factory=list)


@cache
def layout(model: type[Scenario] = Scenario) -> Layout:
    """The stacked rows and kernel scalars for a scenario class's parameter table."""
    out = Layout(stacks={name: [] for name in STACKS})
    for col in table_columns(model):
        if col.axis is None:
            if not col.params[0].path.startswith("population."):
                out.scalars.append(col.name)
            continue
        for stack, (prefix, axes, drop) in STACKS.items():
            if col.axis not in axes or (stack == "tl" and col.via not in TIMELINE_ROWS):
                continue
            n = ROWS_PER_COLUMN.get(col.via or "", 1)
            row = sum(k for _, _, k in out.stacks[stack])
            out.stacks[stack].append((col.name, row, n))
            out.constants[f"{prefix}_{col.name.removeprefix(drop).upper()}"] = row
    for stack, (prefix, _, _) in STACKS.items():
        out.rows[stack] = sum(k for _, _, k in out.stacks[stack])
        out.constants[f"{prefix}_ROWS"] = out.rows[stack]
    for alias, name in ALIASES.items():
        out.constants[alias] = out.constants[name]
    return out


globals().update(layout().constants)  # CH_*, AG_*, PR_*, TL_* and *_ROWS


@cache
def params_type(model: type[Scenario] = Scenario) -> type[tuple]:
    """The :class:`Params` named tuple for a scenario class."""
    fields = [*HEAD, *((name, float) for name in layout(model).scalars), *TAIL]
    return NamedTuple("Params", fields)  # type: ignore[misc]


Params = params_type(Scenario)
Params.__doc__ = "Everything the phases read, as scalars and a dozen stacked arrays."


def _f64(x: object) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float64))


def _stack(p: ScenarioArrays, plan: list[tuple[str, int, int]], n_rows: int, width: int):
    out = np.empty((n_rows, width))
    for name, row, n in plan:
        value = np.asarray(getattr(p, name))
        out[row : row + n] = value.T if n > 1 else value
    return out


def kernel_params(p: ScenarioArrays) -> Params:
    """Stack the lowered scenario into the kernel's :class:`Params` (no value changes)."""
    model = getattr(type(p), "scenario_model", Scenario)
    lay = layout(model)
    n_ag = int(p.n_agencies)
    n_pc = int(p.n_procedures)
    widths = {"ch": p.n_channels, "ag": n_ag, "prog": 5, "tl": p.n_steps, "pc": n_pc}
    stacked = {s: _stack(p, lay.stacks[s], lay.rows[s], widths[s]) for s in STACKS}
    focus_agencies = np.zeros((5, 1 + n_ag), dtype=np.int64)
    focus_agencies[:, 0] = p.n_agencies_by_focus
    focus_agencies[:, 1:] = p.agencies_by_focus
    reg = np.empty((REG_ROWS, len(p.reg_start)))
    reg[REG_START] = p.reg_start
    reg[REG_END] = p.reg_end
    reg[REG_SHARE] = p.reg_share
    reg[REG_PENALTY] = p.reg_penalty
    tax = np.empty((TAX_ROWS, len(p.tax_start)))
    tax[TAX_START] = p.tax_start
    tax[TAX_LOSS] = p.tax_loss
    return params_type(model)(
        n_initial=int(p.n_initial),
        n_total=int(p.n_total),
        n_steps=int(p.n_steps),
        n_years=int(p.n_years),
        n_channels=int(p.n_channels),
        n_agencies=n_ag,
        step_days=float(p.step_days),
        dt_years=float(p.dt_years),
        digital_mask=int(p.digital_mask),
        conventional_mask=int(p.conventional_mask),
        documents_mask=int(p.documents_mask),
        face_to_face=int(p.face_to_face),
        **{name: float(getattr(p, name)) for name in lay.scalars},
        ch=stacked["ch"],
        ch_order=np.ascontiguousarray(np.asarray(p.ch_order, dtype=np.int64)),
        ag=stacked["ag"],
        ag_accept=np.ascontiguousarray(np.asarray(p.ag_accept, dtype=np.int64)),
        focus_agencies=focus_agencies,
        prog=stacked["prog"],
        tl=stacked["tl"],
        tl_level=_f64(p.tl_agency_level).reshape(p.n_steps, n_ag),
        tl_slow=_f64(p.tl_slow).reshape(p.n_steps, p.n_channels),
        tl_blocked=np.ascontiguousarray(np.asarray(p.tl_blocked, dtype=np.int64)),
        reg=reg,
        tax=tax,
        pc=stacked["pc"],
        pc_accept=np.ascontiguousarray(np.asarray(p.pc_accept, dtype=np.int64).reshape(n_pc)),
        tl_pc_level=_f64(p.tl_procedure_level).reshape(p.n_steps, n_pc),
    )
