"""The parameter table: every scenario parameter is declared once, in the schema, with its metadata.

A parameter is a leaf field of :class:`simsme.scenario.schema.Scenario` (or of an event type)
declared with :func:`param` instead of pydantic's ``Field``. Besides the default, the valid range
(pydantic's ``ge``/``gt``/``le``/``lt``) and the meaning (``description``), it states

* ``unit`` -- what the number counts ("days", "1/year", "share", ...);
* ``source`` -- the paper file and table or section it comes from (``003_9e0cb3511f01b6dc.txt,
  Table 1``), "calibrated: ..." with its target, or "assumption" with the reason;
* how it reaches the engines: ``to`` names the :class:`~simsme.scenario.lowering.ScenarioArrays`
  attribute that the table-driven lowering fills from it (with the conversion ``via``, one of
  :data:`VIA`); ``feeds`` names the arrays a mechanism of :mod:`simsme.scenario.lowering` derives
  from it (channel masks, timelines of one-off shocks, ...); ``structural`` says why a field is
  not a model parameter at all (names, free text, the seed).

Everything else is read from these declarations: the lowering (:mod:`simsme.scenario.lowering`),
the kernel's stacked rows (:mod:`simsme.kernel.params`), the parameter table of docs/model.md
(:mod:`simsme.calibration.paramtable`) and the JSON Schema (``unit`` and ``source`` appear as
annotations). Adding a parameter that an engine reads as a number touches the schema and the
mechanism that uses it, and nothing else.

Where ``to`` is shared by several parameters (the six resources' ``mean``, the three size-class
shares), their values are stacked in declaration order. A parameter inside a list or dictionary
of models (``agencies[]``, ``channels.*``, ``programmes.*``, ``population.regions[]``) becomes a
column with one entry per item. An event parameter's ``via`` says how it combines into its
per-step timeline over the event's dates.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

S000 = "000_8e43523aad10feae.txt"
S002 = "002_6798e086be6a8ea8.txt"
S003 = "003_9e0cb3511f01b6dc.txt"
S004 = "004_71dd89347508b38e.txt"
ASSUMED = "assumption"

DATED: tuple[str, ...] = (
    "tl_agency_level",
    "tl_procedure_level",
    "tl_blocked",
    "tl_slow",
    "tl_demand",
    "tl_adoption_push",
    "tl_remote",
    "reg_start",
    "reg_end",
    "tax_start",
)
"""What a date feeds: the per-step timelines and the steps of one-off shocks."""


@dataclass(frozen=True)
class LowerContext:
    """What a conversion may need besides the value: the time step and the index sets."""

    step_days: float
    n_steps: int
    channels: tuple[str, ...]
    focus_areas: tuple[str, ...]
    resources: tuple[str, ...]
    n_smes: int = 1000  # the agencies' catchment: what quantities per 1,000 SMEs scale with

    def channel_mask(self, names: Sequence[str]) -> np.int64:
        """Bit mask of the named channels (bit i = channel i of the scenario)."""
        m = 0
        for name in names:
            m |= 1 << self.channels.index(name)
        return np.int64(m)

    def by_channel(self, shares: dict[str, float]) -> np.ndarray:
        """A vector over the scenario's channels; channels not named are 0."""
        out = np.zeros(len(self.channels))
        for name, value in shares.items():
            out[self.channels.index(name)] = value
        return out


def _scale(factor: float, divide: bool = False) -> Callable[[Any, LowerContext], Any]:
    def convert(value: Any, ctx: LowerContext) -> Any:
        if isinstance(value, list):
            return np.array([v / factor if divide else v * factor for v in value])
        return value / factor if divide else value * factor

    return convert


def _resource_vector(raises: dict[str, float], ctx: LowerContext) -> np.ndarray:
    out = np.zeros(len(ctx.resources))
    for name, value in raises.items():
        out[ctx.resources.index(name)] = value
    return out


def _cumulative(values: list[float], ctx: LowerContext) -> np.ndarray:
    out = np.cumsum(values)
    out[-1] = 1.0  # exactly 1, whatever the rounding of the shares
    return np.asarray(out, dtype=np.float64)


def _share_per_event(share: float, ctx: LowerContext) -> float:
    k = 1000.0 / ctx.n_smes
    return share if k == 1.0 else 1.0 - (1.0 - share) ** k  # 1,000 SMEs: exactly as declared


VIA: dict[str, Callable[[Any, LowerContext], Any]] = {
    "days_from_weeks": _scale(7.0),
    "per_day_from_per_week": _scale(7.0, divide=True),
    # a rate per week per 1,000 SMEs (agency capacities): per day, for the run's n_smes, so the
    # population size changes the precision of the results, not the regime (docs/model.md s2)
    "per_day_from_per_week_per_1000_smes": lambda values, ctx: (
        np.asarray(values, dtype=np.float64) / 7.0 * (ctx.n_smes / 1000.0)
    ),
    # a share of a gap closed per event (a co-created programme) at 1,000 SMEs: with N SMEs each
    # event closes 1 - (1 - share)^(1000 / N), the same gap after the same share of SMEs
    "share_per_event_per_1000_smes": _share_per_event,
    "log": lambda values, ctx: np.log(values),
    "is_digital": lambda values, ctx: np.array([v == "digital" for v in values]),
    "cumulative": _cumulative,
    # share of the gap to a target closed per step, for an adjustment time constant in weeks
    "share_per_step": lambda weeks, ctx: 1.0 - math.exp(-ctx.step_days / (7.0 * weeks)),
    "by_channel": lambda shares, ctx: ctx.by_channel(shares),
    "by_focus": lambda weights, ctx: np.array([weights.get(f, 0.0) for f in ctx.focus_areas]),
    "by_resource": lambda rows, ctx: np.array([_resource_vector(r, ctx) for r in rows]),
}
"""Conversions from schema values to engine arrays (``param(via=...)``); none = as is."""

COMBINE: dict[str, tuple[str, Any]] = {
    # via: (timeline shape, its value where no event acts)
    "mul": ("steps", 1.0),
    "add": ("steps", 0.0),
    "or": ("steps", False),
    "mask_or": ("mask", 0),
    "per_channel_mul": ("steps x channels", 1.0),
}
"""How an event parameter combines into its per-step timeline over the event's dates."""


def combine(
    timeline: np.ndarray, lo: int, hi: int, value: Any, via: str, ctx: LowerContext
) -> None:
    """Apply one event parameter's ``value`` to its timeline over steps [lo, hi) (:data:`COMBINE`)."""
    if via == "mul":
        timeline[lo:hi] *= value
    elif via == "add":
        timeline[lo:hi] += value
    elif via == "or":
        timeline[lo:hi] |= value
    elif via == "mask_or":
        timeline[lo:hi] |= ctx.channel_mask(value)
    elif via == "per_channel_mul":
        for name, factor in value.items():
            timeline[lo:hi, ctx.channels.index(name)] *= factor
    else:
        raise ValueError(f"unknown timeline combination {via!r}; expected one of {list(COMBINE)}")


@dataclass(frozen=True)
class ParamMeta:
    """What the table knows of a parameter besides pydantic's default, range and description."""

    unit: str
    source: str
    to: str | None = None
    via: str | None = None
    feeds: tuple[str, ...] = ()
    structural: str | None = None
    calibrated: bool = False
    acts_when: str | None = None  # when a parameter inert in every shipped scenario acts

    def __call__(self, schema: dict[str, Any]) -> None:
        """Annotate the JSON Schema (pydantic's ``json_schema_extra`` hook)."""
        schema["unit"] = self.unit
        schema["source"] = self.source

    @property
    def arrays(self) -> tuple[str, ...]:
        """Every engine array this parameter reaches."""
        return ((self.to,) if self.to else ()) + self.feeds


def param(
    default: Any = PydanticUndefined,
    *,
    unit: str,
    source: str,
    to: str | None = None,
    via: str | None = None,
    feeds: str | tuple[str, ...] = (),
    structural: str | None = None,
    calibrated: bool = False,
    acts_when: str | None = None,
    **field_args: Any,
) -> Any:
    """A schema field that is a row of the parameter table (pydantic ``Field`` plus metadata).

    ``field_args`` go to ``Field`` (``description`` is the meaning; ``ge``, ``le`` ... the range).
    ``acts_when`` says when a parameter that moves no output in any shipped scenario acts
    (tests/test_inert.py requires it of such parameters; the table shows it with the meaning).
    """
    feeds = (feeds,) if isinstance(feeds, str) else tuple(feeds)
    if not (to or feeds or structural):
        raise TypeError("a parameter needs `to`, `feeds` or `structural` (how the engines see it)")
    if via is not None and via not in VIA and via not in COMBINE:
        raise TypeError(f"unknown conversion via={via!r}; expected one of {[*VIA, *COMBINE]}")
    meta = ParamMeta(unit, source, to, via, feeds, structural, calibrated, acts_when)
    return Field(default, json_schema_extra=meta, **field_args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Walking the schema
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One step from a model to a value: an attribute, every list item, every dict entry, or
    every event of one kind."""

    kind: str  # "attr", "items", "entries", "events"
    name: str = ""
    keys: tuple[str, ...] = ()  # entries: key order when the keys are a Literal


@dataclass(frozen=True)
class Parameter:
    """One row of the parameter table."""

    path: str
    steps: tuple[Step, ...]
    name: str
    info: FieldInfo
    owner: type[BaseModel]

    @property
    def meta(self) -> ParamMeta | None:
        extra = self.info.json_schema_extra
        return extra if isinstance(extra, ParamMeta) else None

    @property
    def collection(self) -> str | None:
        """The collection whose items give one value each (``agencies[]``, ``channels.*``), or
        none for a single value."""
        parts: list[str] = []
        for step in self.steps:
            if step.kind == "attr":
                parts.append(step.name)
            else:
                return ".".join(parts) + ("[]" if step.kind in ("items", "events") else ".*")
        return None

    @property
    def event_kind(self) -> str | None:
        kinds = [s.name for s in self.steps if s.kind == "events"]
        return kinds[0] if kinds else None


def _sub_model(annotation: Any) -> tuple[str, Any] | None:
    """("model", M), ("items", M), ("entries", (M, keys)) or ("events", members) for nested
    models; none for a leaf."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "model", annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and args:
        inner = args[0]
        if typing.get_origin(inner) is typing.Annotated:
            inner = typing.get_args(inner)[0]
        members = [a for a in typing.get_args(inner) if isinstance(a, type)]
        if members and all(issubclass(m, BaseModel) for m in members):
            return "events", tuple(members)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return "items", inner
    if origin is dict and len(args) == 2:
        key, value = args
        if isinstance(value, type) and issubclass(value, BaseModel):
            keys = typing.get_args(key) if typing.get_origin(key) is typing.Literal else ()
            return "entries", (value, tuple(keys))
    return None


def _kind_of(member: type[BaseModel]) -> str:
    return typing.get_args(member.model_fields["type"].annotation)[0]


def parameters(
    model: type[BaseModel], prefix: str = "", steps: tuple[Step, ...] = ()
) -> Iterator[Parameter]:
    """Every leaf field under ``model``, depth first in declaration order."""
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        here = (*steps, Step("attr", name))
        nested = _sub_model(info.annotation)
        if nested is None:
            yield Parameter(path, here, name, info, model)
            continue
        kind, sub = nested
        if kind == "model":
            yield from parameters(sub, f"{path}.", here)
        elif kind == "items":
            yield from parameters(sub, f"{path}[].", (*here, Step("items")))
        elif kind == "entries":
            value, keys = sub
            yield from parameters(value, f"{path}.*.", (*here, Step("entries", keys=keys)))
        else:  # a discriminated union of event types: shared fields once, then each type's own
            shared = [n for n in sub[0].model_fields if all(n in m.model_fields for m in sub)]
            for n in shared:
                if n != "type":
                    yield Parameter(
                        f"{path}[].{n}",
                        (*here, Step("items"), Step("attr", n)),
                        n,
                        sub[0].model_fields[n],
                        sub[0],
                    )
            for member in sub:
                kind_name = _kind_of(member)
                for n, field_info in member.model_fields.items():
                    if n in shared:
                        continue
                    yield Parameter(
                        f"{path}[{kind_name}].{n}",
                        (*here, Step("events", kind_name), Step("attr", n)),
                        n,
                        field_info,
                        member,
                    )


def values(obj: Any, steps: Sequence[Step]) -> list[tuple[str, Any]]:
    """The parameter's value(s) in ``obj`` as (key, value) pairs: one pair with key "" for a
    single value; one per item (keyed by its name or index) or entry for a collection."""
    items: list[tuple[str, Any]] = [("", obj)]
    for step in steps:
        nxt: list[tuple[str, Any]] = []
        for key, x in items:
            if step.kind == "attr":
                nxt.append((key, getattr(x, step.name)))
            elif step.kind == "items":
                nxt.extend((_join(key, getattr(it, "name", str(i))), it) for i, it in enumerate(x))
            elif step.kind == "events":
                nxt.extend(
                    (_join(key, str(i)), ev) for i, ev in enumerate(x) if ev.type == step.name
                )
            else:
                order = [k for k in step.keys if k in x] if step.keys else list(x)
                nxt.extend((_join(key, k), x[k]) for k in order)
        items = nxt
    return items


def _join(key: str, more: str) -> str:
    return f"{key}.{more}" if key else more


@dataclass
class Column:
    """One array the table-driven lowering builds, from the parameters declaring it as ``to``."""

    name: str
    params: list[Parameter] = field(default_factory=list)

    @property
    def via(self) -> str | None:
        return self.params[0].meta.via if self.params[0].meta else None

    @property
    def axis(self) -> str | None:
        """What the array's entries run over: a collection path (``agencies[]``), "channels" or
        "focus areas" for a dictionary converted by ``via``, "resources" for the stacked
        resource fields, "timeline" for an event parameter; none for a scalar."""
        first = self.params[0]
        if first.event_kind is not None:
            return "timeline"
        if self.via == "by_channel":
            return "channels"
        if self.via == "by_focus":
            return "focus areas"
        if first.collection is not None:
            return first.collection
        return "stacked" if len(self.params) > 1 else None

    def lower(self, obj: Any, ctx: LowerContext) -> Any:
        """The array (or scalar) for the scenario ``obj``; timelines start at their neutral
        value (the events loop of the lowering combines into them)."""
        via = self.via
        if via in COMBINE:
            shape, neutral = COMBINE[via]
            if shape == "mask":
                return np.zeros(ctx.n_steps, dtype=np.int64)
            if shape == "steps x channels":
                return np.full((ctx.n_steps, len(ctx.channels)), neutral)
            return np.full(ctx.n_steps, neutral)
        got = [v for p in self.params for _, v in values(obj, p.steps)]
        single = len(self.params) == 1 and self.params[0].collection is None
        value = got[0] if single else got
        if via is not None:
            return VIA[via](value, ctx)
        return value if single else np.array(value)


def columns(model: type[BaseModel]) -> list[Column]:
    """The arrays the table-driven lowering builds for ``model``, in declaration order."""
    found: dict[str, Column] = {}
    for p in parameters(model):
        if p.meta is not None and p.meta.to:
            found.setdefault(p.meta.to, Column(p.meta.to)).params.append(p)
    for col in found.values():
        vias = {p.meta.via for p in col.params if p.meta}
        if len(vias) != 1:
            raise TypeError(f"parameters lowered to {col.name} disagree on `via`: {vias}")
        if len(col.params) > 1 and col.via not in COMBINE and any(p.collection for p in col.params):
            paths = [p.path for p in col.params]
            raise TypeError(f"only single values stack into one array; {col.name}: {paths}")
    return list(found.values())
