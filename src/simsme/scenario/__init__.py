"""Scenario language: schema, loading and validation, overrides, lowering to arrays."""

from simsme.scenario.loading import (
    apply_overrides,
    load_scenario,
    parse_override,
    scenario_hash,
    scenario_warnings,
    validate_scenario,
)
from simsme.scenario.schema import FOCUS_AREAS, PURPOSES, RESOURCES, SIZE_CLASSES, Scenario

__all__ = [
    "FOCUS_AREAS",
    "PURPOSES",
    "RESOURCES",
    "SIZE_CLASSES",
    "Scenario",
    "apply_overrides",
    "load_scenario",
    "parse_override",
    "scenario_hash",
    "scenario_warnings",
    "validate_scenario",
]
