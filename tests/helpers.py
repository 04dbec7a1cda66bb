"""Helpers shared by the tests (importable as ``helpers``: pytest puts tests/ on the path)."""

from __future__ import annotations

from typing import Any

from simsme.scenario import validate_scenario
from simsme.scenario.loading import apply_overrides
from simsme.scenario.schema import Scenario


def small_scenario(overrides: dict[str, Any] | None = None, **top: Any) -> Scenario:
    """The default (baseline) scenario, shrunk for tests, with dotted-path overrides applied.

    ``top`` sets top-level fields (``events=[...]``); ``overrides`` maps dotted paths to values.
    """
    raw: dict[str, Any] = {"name": "test", "population": {"n_smes": 200}, "replications": 4}
    raw.update(top)
    scenario = validate_scenario(raw, "<test>")
    return apply_overrides(scenario, list((overrides or {}).items()), source="<test>")
