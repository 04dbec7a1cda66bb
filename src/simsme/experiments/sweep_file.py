"""The fields of a sweep file, as a pydantic schema (see :mod:`simsme.experiments.sweep_spec`).

A sweep file names a base scenario, fixed changes to it (``set``), the parameters to vary by the
dotted paths of ``simsme run --set`` and a design (``grid``, ``points``, ``lhs``, ``sobol``,
``morris``). This module checks the fields alone; whether the paths and values fit the base
scenario is checked by :func:`simsme.experiments.sweep_spec.read_sweep_file`. Every number is bounded
here, so that no file can ask for more work than :data:`MAX_POINTS` points before it is refused.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simsme.errors import ScenarioError
from simsme.scenario.loading import describe_validation_errors

DESIGN_KINDS = ("grid", "points", "lhs", "sobol", "morris")
SAMPLED_KINDS = ("lhs", "sobol", "morris")
MAX_VALUES = 100_000
"""Most values one parameter's range (or values list) may give."""
MAX_POINTS = 100_000
"""Most points one sweep may have: a larger design is refused with its size before any point is
made (split larger studies into several sweeps)."""
MAX_PARAMETERS = 100
"""Most parameters one sweep may vary."""
MAX_MAGNITUDE = 1e12
"""Largest absolute number in a range or bounds (no scenario field takes more)."""

Number = Annotated[float, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)]
"""A finite number within +-:data:`MAX_MAGNITUDE` (integers stay integers)."""
IntOrNumber = Annotated[
    Annotated[int, Field(ge=-MAX_MAGNITUDE, le=MAX_MAGNITUDE)] | Number,
    Field(union_mode="left_to_right"),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=10_000)


class RangeSpec(_Strict):
    """Evenly spaced values from ``start`` to ``stop`` (inclusive), by ``step`` or ``num``."""

    start: IntOrNumber
    stop: IntOrNumber
    step: float | None = Field(
        None, gt=0.0, le=MAX_MAGNITUDE, description="Distance between values."
    )
    num: int | None = Field(None, ge=1, le=100_000, description="Number of values.")
    log: bool = Field(False, description="Geometric spacing (with num; start, stop > 0).")

    @model_validator(mode="after")
    def _one_spacing(self) -> RangeSpec:
        if (self.step is None) == (self.num is None):
            raise ValueError("exactly one of 'step' or 'num' (range: start, stop and step or num)")
        if self.step is not None and self.stop < self.start:
            raise ValueError(f"stop >= start with a step (start {self.start}, stop {self.stop})")
        if self.log and self.num is None:
            raise ValueError("'num' with log: true (geometric spacing has no fixed step)")
        if self.log and min(self.start, self.stop) <= 0:
            raise ValueError("start and stop > 0 with log: true")
        if self.step is not None and self.count() > MAX_VALUES:  # count() is capped, not inf
            raise ValueError(
                f"at most {MAX_VALUES:,} values; start {self.start}, stop {self.stop} and "
                f"step {self.step} give {self.count():,}"
            )
        return self

    def count(self) -> int:
        """How many values the range gives (without making them)."""
        if self.num is not None:
            return self.num
        steps = (float(self.stop) - float(self.start)) / float(self.step)  # type: ignore[arg-type]
        if not math.isfinite(steps) or steps > 10 * MAX_VALUES:
            return 10 * MAX_VALUES + 1  # more than allowed: the exact figure does not matter
        return int(math.floor(steps + 1e-9)) + 1

    def values(self) -> list[int | float]:
        if self.num is not None:
            if self.log:
                raw = np.geomspace(self.start, self.stop, self.num)
            else:
                raw = np.linspace(self.start, self.stop, self.num)
            out = [_tidy(float(v)) for v in raw]
        else:
            step = float(self.step)  # type: ignore[arg-type]
            out = [_tidy(self.start + k * step) for k in range(self.count())]
        if all(isinstance(v, int) for v in (self.start, self.stop)) and all(
            float(v).is_integer() for v in out
        ):
            if self.step is None or float(self.step).is_integer():
                return [int(v) for v in out]
        return out


def _tidy(value: float) -> float:
    """Round away floating-point dust (0.30000000000000004 -> 0.3)."""
    return float(f"{value:.12g}")


class ParameterSpec(_Strict):
    """How one parameter varies: explicit ``values``, a ``range``, or ``bounds`` to sample."""

    values: list[Any] | None = Field(
        None, min_length=1, max_length=MAX_VALUES, description="Explicit values."
    )
    range: RangeSpec | None = None
    bounds: tuple[Number, Number] | None = Field(
        None, description="[low, high] for lhs/sobol/morris."
    )
    log: bool = Field(False, description="Sample log-uniformly within bounds (low > 0).")
    integer: bool | None = Field(
        None, description="Round sampled values to integers (default: when the field is one)."
    )

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError("low < high, as in bounds: [0.1, 2.0]")
        return bounds

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        given = [k for k in ("values", "range", "bounds") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "exactly one of 'values', 'range' or 'bounds'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.bounds is not None:
            if self.log and self.bounds[0] <= 0:
                raise ValueError(f"bounds > 0 with log: true (got low {self.bounds[0]})")
        elif self.log:
            raise ValueError("'log' only with 'bounds' (use range: {..., log: true})")
        return self


class GridDesign(_Strict):
    """Full factorial grid of every parameter's values (the first parameter varies slowest)."""

    kind: Literal["grid"]


class PointsDesign(_Strict):
    """Explicit points, each a mapping of dotted path to value."""

    kind: Literal["points"]
    points: list[dict[str, Any]] = Field(..., min_length=1, max_length=MAX_POINTS)


class LhsDesign(_Strict):
    """Latin hypercube sample (SALib ``sample.latin``)."""

    kind: Literal["lhs"]
    samples: int = Field(..., ge=2, le=1_000_000, description="Number of points.")


class SobolDesign(_Strict):
    """Saltelli sampling for Sobol indices (SALib ``sample.sobol``)."""

    kind: Literal["sobol"]
    base_samples: int = Field(
        ...,
        ge=2,
        le=2**20,
        description="N, a power of 2; points = N x (D + 2), or N x (2D + 2) with second_order.",
    )
    second_order: bool = Field(False, description="Also estimate second-order indices.")

    @field_validator("base_samples")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(f"a power of 2 for Saltelli sampling, e.g. {lower} or {lower * 2}")
        return n


class MorrisDesign(_Strict):
    """Morris elementary-effects trajectories (SALib ``sample.morris``)."""

    kind: Literal["morris"]
    trajectories: int = Field(..., ge=2, le=100_000, description="Points = trajectories x (D+1).")
    levels: int = Field(4, ge=2, le=100, description="Grid levels (even).")

    @field_validator("levels")
    @classmethod
    def _even_levels(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError("an even number of levels, e.g. 4 or 6")
        return levels


Design = Annotated[
    Union[GridDesign, PointsDesign, LhsDesign, SobolDesign, MorrisDesign],  # noqa: UP007
    Field(discriminator="kind"),
]


class SweepFile(_Strict):
    """The fields of a sweep file."""

    name: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-\.]+$",
        description="Default: file stem.",
    )
    description: str = Field("", max_length=10_000)
    base: str = Field(
        ..., min_length=1, max_length=4096, description="Base scenario, relative to the sweep file."
    )
    set: dict[str, Any] = Field(
        default_factory=dict, description="Fixed changes to the base scenario (dotted paths)."
    )
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Default: the base's seed.")
    replications: int | None = Field(
        None, ge=1, le=1_000_000, description="Per point; default: the base's replications."
    )
    design: Design = Field(default_factory=lambda: GridDesign(kind="grid"))
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict, max_length=MAX_PARAMETERS)


def parse_sweep(raw: Any, source: str) -> SweepFile:
    """Validate the mapping read from a sweep file (the fields only, not the scenario paths)."""
    if not isinstance(raw, dict):
        raise ScenarioError(
            f"top level: value of type {type(raw).__name__}: expected a mapping with base, "
            "parameters, design, ...",
            source,
        )
    try:
        return SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(describe_validation_errors(exc, SweepFile), source) from None
    except (OverflowError, ValueError) as exc:  # a last guard: never a traceback
        raise ScenarioError(f"top level: cannot be read as a sweep ({exc})", source) from None
