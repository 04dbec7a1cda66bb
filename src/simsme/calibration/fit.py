"""``simsme calibrate``: fit the calibrated parameters to their targets, reproducibly.

Four groups of parameters are fitted, each to the target it controls most directly (the targets
are those of ``simsme/data/targets.yaml``):

=========================================  ===================================================
parameter                                  target
=========================================  ===================================================
``behaviour.support.focus_weights``        ``uptake_<focus>`` (003 Table 1, SMEs reached)
``export_market.direct_threshold``         ``indirect_export_share`` (004 Table 2, 80%)
``behaviour.adoption.rate_per_year``       ``online_application_2021`` (003 section 4.2, 80%)
``behaviour.export_entry.entry_cost``       ``share_exported_by_horizon`` (docs/evidence.md s2)
=========================================  ===================================================

No parameter is fitted to a case company: Company A and Company B (003 section 4.1) are both
predictions, checked by ``simsme check-model`` (issue 12: at most one parameter may be fitted to
them). Every round runs the scenario with the same seeds (common random numbers, so the
objective is a deterministic function of the parameters) and moves every
parameter at once: the focus weights multiplicatively by the ratio of target to simulated uptake
(human capital stays 1, the others are relative to it), the scalars by damped secant steps on
their own target's error. The coupling between groups (a higher sunk cost also shifts the
export mode) is weak enough for this diagonal scheme to converge in a few rounds.
It stops when every target is within a quarter of its tolerance, or after ``iterations`` rounds,
and returns the values of the best round evaluated (smallest worst error, in tolerances).

The result is written as a YAML file of ``--set`` overrides; the defaults in
:mod:`simsme.scenario.schema` are these values, rounded (docs/model.md, "Calibration").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from simsme.calibration.check import run_statistics
from simsme.calibration.targets import TargetSet
from simsme.errors import SimsmeError
from simsme.scenario.loading import apply_overrides
from simsme.scenario.paths import MISSING, get_value
from simsme.scenario.schema import FOCUS_AREAS, Scenario

FOCUS_PATH = "behaviour.support.focus_weights"
REFERENCE_FOCUS = "human_capital"


@dataclass(frozen=True)
class Scalar:
    """A scalar parameter fitted to one target by secant steps."""

    path: str
    target: str
    log: bool  # step in log space (positive rates)
    slope: float  # first guess of d(statistic)/d(parameter) (per unit of log when log)
    low: float
    high: float
    max_step: float  # largest change per round (in log units when log)


SCALARS: tuple[Scalar, ...] = (
    Scalar(
        path="export_market.direct_threshold",
        target="indirect_export_share",
        log=False,
        slope=2.0,  # the indirect share rises with the threshold
        low=0.0,
        high=1.0,
        max_step=0.05,
    ),
    Scalar(
        path="behaviour.adoption.rate_per_year",
        target="online_application_2021",
        log=True,
        slope=0.15,  # more adoption, more online applications
        low=0.01,
        high=52.0,
        max_step=0.7,
    ),
    Scalar(
        path="behaviour.export_entry.entry_cost",
        target="share_exported_by_horizon",
        log=True,
        slope=-0.35,  # share exported per unit of log cost: a higher cost, fewer exporters
        low=0.1,
        high=20.0,
        max_step=0.3,
    ),
)


@dataclass
class FitResult:
    """Fitted values (dotted path -> value), their starting values and the fitting history."""

    values: dict[str, float]
    start: dict[str, float]
    rounds: int
    converged: bool
    history: list[dict[str, Any]] = field(default_factory=list)


def _get(scenario: Scenario, path: str) -> Any:
    return get_value(scenario.model_dump(), path)


def _written(raw: Any, path: str) -> bool:
    """Whether a scenario file's mapping sets the dotted ``path`` itself (or a section above it
    holding it)."""
    return get_value(raw, path) is not MISSING


def _apply(scenario: Scenario, values: dict[str, float]) -> Scenario:
    return apply_overrides(scenario, list(values.items()), source="calibrate")


def calibrate(
    scenario: Scenario,
    targets: TargetSet,
    replications: int = 40,
    iterations: int = 12,
    threads: int | None = None,
    damping: float = 0.8,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Fit the parameters of the module docstring; see there for the method."""
    say = log or (lambda message: None)
    names = {t.name for t in targets.targets}
    needed = [f"uptake_{f}" for f in FOCUS_AREAS] + [s.target for s in SCALARS]
    missing = [n for n in needed if n not in names]
    if missing:
        raise SimsmeError(f"the targets file has no target(s) {missing}, which calibrate fits")
    weights = {f: float(_get(scenario, FOCUS_PATH).get(f, 0.0)) for f in FOCUS_AREAS}
    if weights[REFERENCE_FOCUS] <= 0:
        raise SimsmeError(f"{FOCUS_PATH}.{REFERENCE_FOCUS} must be positive to calibrate")
    scalars = {s.path: float(_get(scenario, s.path)) for s in SCALARS}
    start = {**{f"{FOCUS_PATH}.{f}": w for f, w in weights.items()}, **scalars}
    previous: dict[str, tuple[float, float]] = {}  # path -> (parameter, error) of last round
    slopes = {s.path: s.slope for s in SCALARS}
    history: list[dict[str, Any]] = []
    converged = False
    rounds = 0
    best: tuple[float, dict[str, float]] | None = None  # (worst error, values) evaluated so far
    for rounds in range(1, iterations + 1):
        values = {**{f"{FOCUS_PATH}.{f}": w for f, w in weights.items()}, **scalars}
        current = _apply(scenario, values)
        stats = {"scenario": run_statistics(current, replications, threads=threads)}
        errors: dict[str, float] = {}
        simulated: dict[str, float] = {}
        for name in needed:
            target = targets.get(name)
            sim = float(np.nanmean(stats[target.variant][target.statistic]))
            simulated[name] = sim
            errors[name] = (sim - target.value) / target.tolerance  # in tolerances
        history.append({"round": rounds, "values": values, "simulated": simulated})
        worst = max(abs(e) for e in errors.values())
        if best is None or worst < best[0]:
            best = (worst, values)
        uptake = "/".join(f"{simulated[f'uptake_{f}']:.3f}" for f in FOCUS_AREAS)
        say(
            f"round {rounds}: worst error {worst:.2f} tolerances "
            f"(uptake {uptake}; indirect {simulated['indirect_export_share']:.3f}; online 2021 "
            f"{simulated['online_application_2021']:.3f}; share exported "
            f"{simulated['share_exported_by_horizon']:.3f})"
        )
        if worst <= 0.25:
            converged = True
            break
        # focus weights: multiplicative step towards the target shares, reference kept at 1
        for f in FOCUS_AREAS:
            target = targets.get(f"uptake_{f}").value
            sim = max(simulated[f"uptake_{f}"], 1e-4)
            weights[f] *= (max(target, 1e-4) / sim) ** damping
        ref = weights[REFERENCE_FOCUS]
        weights = {f: w / ref for f, w in weights.items()}
        # scalars: damped secant steps
        for s in SCALARS:
            target = targets.get(s.target)
            error = simulated[s.target] - target.value
            x = math.log(scalars[s.path]) if s.log else scalars[s.path]
            if s.path in previous:
                x0, e0 = previous[s.path]
                if abs(x - x0) > 1e-9:
                    slope = (error - e0) / (x - x0)
                    if slope * s.slope > 0:  # keep the known sign; ignore noisy reversals
                        slopes[s.path] = slope
            previous[s.path] = (x, error)
            step = -damping * error / slopes[s.path]
            step = max(-s.max_step, min(s.max_step, step))
            new = math.exp(x + step) if s.log else x + step
            scalars[s.path] = min(s.high, max(s.low, new))
    assert best is not None
    return FitResult(best[1], start, rounds, converged, history)


def write_fit(fit: FitResult, path: str | Path) -> Path:
    """Write the fitted values as YAML (``--set`` paths), with the fitting history."""
    from simsme.results.folder import write_json_atomic, write_text_atomic

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by `simsme calibrate`: fitted parameter values (dotted --set paths).\n"
        f"# converged: {fit.converged} after {fit.rounds} rounds\n"
        + yaml.safe_dump({k: round(v, 6) for k, v in fit.values.items()}, sort_keys=False)
    )
    write_text_atomic(text, path)
    write_json_atomic(
        {
            "converged": fit.converged,
            "rounds": fit.rounds,
            "start": fit.start,
            "values": fit.values,
            "history": fit.history,
        },
        path.with_suffix(".json"),
    )
    return path
