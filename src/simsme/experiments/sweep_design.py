"""The points of a sweep's design: grids, explicit points and SALib samples.

Sampled designs (``lhs``, ``sobol``, ``morris``) are drawn with SALib, so the Saltelli and Morris
structures that :mod:`simsme.experiments.sensitivity` analyses are SALib's own. The number of
points is worked out from the fields alone (:func:`design_size`) before any point is made, so a
design too large to expand quickly is refused with its size.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simsme.errors import SimsmeError
from simsme.experiments.sweep_file import DESIGN_KINDS, ParameterSpec, SweepFile


@dataclass
class Parameter:
    """One varied parameter: its dotted path (the column name) and the concrete paths it sets."""

    name: str
    paths: list[str]
    spec: ParameterSpec | None = None
    integer: bool = False

    @property
    def log(self) -> bool:
        return bool(self.spec and self.spec.log)

    def sample_bounds(self) -> list[float]:
        """Bounds in the space SALib samples in (log10 of the value when ``log``)."""
        assert self.spec is not None and self.spec.bounds is not None
        low, high = self.spec.bounds
        return [math.log10(low), math.log10(high)] if self.log else [float(low), float(high)]

    def from_sample(self, x: float) -> int | float:
        """A parameter value from a SALib sample coordinate."""
        value = 10.0**x if self.log else float(x)
        if self.integer:
            return int(round(value))
        return value

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "paths": self.paths, "integer": self.integer}
        if self.spec is not None:
            out.update(self.spec.model_dump(mode="json", exclude_none=True))
        return out


def salib_problem(parameters: list[Parameter]) -> dict[str, Any]:
    """The SALib problem dict (bounds in sampling space: log10 for ``log`` parameters)."""
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [p.sample_bounds() for p in parameters],
    }


def design_size(spec: SweepFile, n_parameters: int) -> int:
    """Number of points the design will have, from its fields alone (nothing is made).

    grid: the product of the parameters' value counts; points: their number; lhs: ``samples``;
    sobol: N (D + 2), or N (2D + 2) with second-order indices; morris: trajectories (D + 1).
    """
    design = spec.design
    d = n_parameters
    if design.kind == "points":
        return len(design.points)
    if design.kind == "lhs":
        return design.samples
    if design.kind == "sobol":
        return design.base_samples * ((2 * d + 2) if design.second_order else (d + 2))
    if design.kind == "morris":
        return design.trajectories * (d + 1)
    size = 1
    for pspec in spec.parameters.values():
        if pspec.values is not None:
            size *= len(pspec.values)
        elif pspec.range is not None:
            size *= pspec.range.count()
    return size


def design_points(
    spec: SweepFile, parameters: list[Parameter], seed: int
) -> tuple[list[dict[str, Any]], np.ndarray | None, dict[str, Any] | None]:
    """The points (parameter name -> value), the SALib sample matrix and problem (sampled
    designs only)."""
    design = spec.design
    names = [p.name for p in parameters]
    if design.kind == "points":
        return [{n: point[n] for n in names} for point in design.points], None, None
    if design.kind == "grid":
        lists = []
        for p in parameters:
            assert p.spec is not None
            lists.append(p.spec.values if p.spec.values is not None else p.spec.range.values())  # type: ignore[union-attr]
        combos = itertools.product(*lists)
        return [dict(zip(names, combo, strict=True)) for combo in combos], None, None
    problem = salib_problem(parameters)
    # SALib seeds numpy's legacy global generator in some samplers; keep the caller's state.
    state = np.random.get_state()
    try:
        matrix = _salib_sample(design, problem, seed)
    finally:
        np.random.set_state(state)
    points = [
        {p.name: p.from_sample(float(x)) for p, x in zip(parameters, row, strict=True)}
        for row in matrix
    ]
    return points, matrix, problem


def _salib_sample(design: Any, problem: dict[str, Any], seed: int) -> np.ndarray:
    import warnings

    seed = int(seed) % 2**32  # SALib's samplers take a 32-bit seed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design.kind == "lhs":
            from SALib.sample import latin

            return np.asarray(latin.sample(problem, design.samples, seed=seed))
        if design.kind == "sobol":
            from SALib.sample import sobol

            return np.asarray(
                sobol.sample(
                    problem, design.base_samples, calc_second_order=design.second_order, seed=seed
                )
            )
        if design.kind == "morris":
            from SALib.sample import morris

            return np.asarray(
                morris.sample(problem, design.trajectories, num_levels=design.levels, seed=seed)
            )
    raise SimsmeError(f"design kind '{design.kind}': expected one of {list(DESIGN_KINDS)}")
