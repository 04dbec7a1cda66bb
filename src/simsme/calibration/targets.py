"""Calibration targets as data: the patterns of MODEL.md section 7, read from a YAML file.

The targets shipped with simsme live in ``simsme/data/targets.yaml`` (package data); the file
explains its format. :func:`load_targets` reads and validates it (or another file with the same
format) into a :class:`TargetSet`.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simsme.errors import ScenarioError, did_you_mean
from simsme.scenario.loading import describe_validation_errors, read_yaml

DEFAULT_TARGETS = "targets.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=10_000)


class Variant(_Strict):
    """A change to the checked scenario: dotted-path values, extra events, or a scenario file."""

    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)
    file: str | None = Field(
        None, description="Scenario file (next to the checked scenario), used as it is."
    )

    @model_validator(mode="after")
    def _file_alone(self) -> Variant:
        if self.file is not None and (self.set or self.events):
            raise ValueError("a variant with 'file' cannot also have 'set' or 'events'")
        return self


class Target(_Strict):
    """One target: a value with a tolerance, or the expected sign of a contrast."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_]+$")
    statistic: str
    source: str
    where: str
    description: str = ""
    unit: str = "share"
    # "fit": `simsme calibrate` fits the parameters to it; "held_out": only checked, out of
    # sample (`simsme check-model --ensemble` reports posterior predictive checks on these).
    role: Literal["fit", "held_out"] = "fit"
    # value targets
    variant: str = "scenario"
    value: float | None = None
    tolerance: float | None = Field(None, ge=0.0)
    # direction targets
    contrast: dict[str, float] | None = None
    expect: Literal["positive", "negative"] | None = None
    margin: float = Field(0.0, ge=0.0)

    @model_validator(mode="after")
    def _one_kind(self) -> Target:
        is_value = self.value is not None or self.tolerance is not None
        is_direction = self.contrast is not None or self.expect is not None
        if is_value == is_direction:
            raise ValueError(
                "a target has either 'value' and 'tolerance' or 'contrast' and 'expect'"
            )
        if is_value and (self.value is None or self.tolerance is None):
            raise ValueError("a value target needs both 'value' and 'tolerance'")
        if is_direction and (not self.contrast or self.expect is None):
            raise ValueError("a direction target needs both 'contrast' and 'expect'")
        return self

    @property
    def kind(self) -> Literal["value", "direction"]:
        return "value" if self.value is not None else "direction"

    @property
    def variants(self) -> list[str]:
        """Variants this target needs."""
        return list(self.contrast) if self.contrast else [self.variant]

    def expectation(self) -> str:
        """The target in words: ``0.481 +/- 0.03`` or ``> 0`` / ``< -5``."""
        if self.kind == "value":
            return f"{self.value:g} +/- {self.tolerance:g}"
        sign = ">" if self.expect == "positive" else "<"
        bound = self.margin if self.expect == "positive" else -self.margin
        return f"{sign} {bound:g}"


class Replications(_Strict):
    full: int = Field(100, ge=2, le=1_000_000)
    quick: int = Field(10, ge=2, le=1_000_000)


class TargetSet(_Strict):
    """All targets with the variants they compare and the replication counts to use."""

    replications: Replications = Field(default_factory=Replications)
    variants: dict[str, Variant]
    targets: list[Target] = Field(..., min_length=1, max_length=1_000)

    @model_validator(mode="after")
    def _references(self) -> TargetSet:
        problems = []
        if "scenario" not in self.variants:
            problems.append("variants: the variant 'scenario' (no changes) is required")
        names = [t.name for t in self.targets]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"targets: name '{name}' is used twice")
        for t in self.targets:
            for v in t.variants:
                if v not in self.variants:
                    problems.append(
                        f"targets.{t.name}: variant '{v}' is not defined under 'variants'"
                        f"{did_you_mean(v, self.variants)}"
                    )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def by_role(self, role: Literal["fit", "held_out"]) -> list[Target]:
        """The targets of one role: ``fit`` (calibrated against) or ``held_out`` (checked only)."""
        return [t for t in self.targets if t.role == role]

    def get(self, name: str) -> Target:
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


def _jsonable(value: Any) -> Any:
    """YAML dates (unquoted 2020-03-18) back to ISO strings, so they validate as scenario dates."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def load_targets(path: str | Path | None = None) -> TargetSet:
    """Read and validate a targets file (default: the one shipped in ``simsme/data``).

    Raises :class:`~simsme.errors.ScenarioError` (exit code 2 in the CLI) naming the file, the
    field and what was expected.
    """
    if path is None:
        ref = resources.files("simsme").joinpath("data", DEFAULT_TARGETS)
        with resources.as_file(ref) as file:
            return load_targets(file)
    raw = _jsonable(read_yaml(path, "targets file"))
    if not isinstance(raw, dict):
        raise ScenarioError(
            "top level: expected a mapping with 'variants' and 'targets'", str(path)
        )
    try:
        return TargetSet.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err, line in zip(exc.errors(), describe_validation_errors(exc, TargetSet), strict=True):
            if err["type"] == "value_error" and not err["loc"]:
                problems.extend(err["msg"].removeprefix("Value error, ").split("; "))
            else:
                problems.append(line)
        raise ScenarioError(problems, str(path)) from None
