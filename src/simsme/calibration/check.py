"""``simsme check-model``: run a scenario and its variants, and compare them with the targets.

For each target of :mod:`simsme.calibration.targets` the check reports the simulated value (mean
over replications) with its 95% confidence interval, the target, the tolerance and pass or fail.
Variants of the checked scenario (digital or conventional agencies, no co-creation, a
movement-control order, the Company A and B cases, ...) run with the scenario's seed, so the
replications of two variants are paired (common random numbers) and contrasts between them have
tight intervals.

Pass rules (also written in ``simsme/data/targets.yaml``):

* value target: ``|mean - value| <= tolerance``; quick mode (few replications) widens the band by
  the half-width of the mean's 95% confidence interval, so that it fails only when the
  replications clearly disagree with the target;
* direction target: the 95% confidence interval of the contrast lies beyond ``margin`` on the
  expected side; quick mode only asks that it does not lie wholly on the other side.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsme.calibration.statistics import replication_statistics
from simsme.calibration.targets import Target, TargetSet, Variant, load_targets
from simsme.errors import SimsmeError
from simsme.results.folder import write_csv_atomic, write_json_atomic
from simsme.results.summary import BEYOND_HORIZON, bounds_of, mean_ci
from simsme.scenario.loading import apply_overrides, load_scenario, validate_scenario
from simsme.scenario.lowering import lower
from simsme.scenario.schema import Scenario

PASS, FAIL, NOT_APPLICABLE, SKIPPED = "pass", "fail", "n/a", "skipped"
COLUMNS = [
    "target",
    "kind",
    "statistic",
    "unit",
    "simulated",
    "ci_low",
    "ci_high",
    "replications",
    "target_value",
    "tolerance",
    "band_low",
    "band_high",
    "result",
    "note",
    "source",
    "where",
]


@dataclass
class CheckReport:
    """The outcome of a check: one row per target (see :data:`COLUMNS`)."""

    scenario: str
    replications: int
    quick: bool
    table: pd.DataFrame
    statistics: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)

    @property
    def passed(self) -> bool:
        """No target failed (n/a and skipped targets do not fail the check)."""
        return not (self.table["result"] == FAIL).any()

    @property
    def failed(self) -> list[str]:
        return list(self.table.loc[self.table["result"] == FAIL, "target"])


def variant_scenario(
    scenario: Scenario, name: str, variant: Variant, case_dir: Path | None
) -> Scenario | None:
    """The scenario a variant describes, or ``None`` when its case file cannot be found."""
    if variant.file is not None:
        if case_dir is None:
            return None
        path = case_dir / variant.file
        if not path.is_file():
            return None
        return load_scenario(path)
    if not variant.set and not variant.events:
        return scenario
    changed = apply_overrides(scenario, list(variant.set.items()), source=f"variant '{name}'")
    if variant.events:
        data = changed.model_dump(mode="json")
        data["events"] = [*data["events"], *variant.events]
        changed = validate_scenario(data, f"variant '{name}'")
    return changed


def run_statistics(
    scenario: Scenario,
    replications: int,
    seed: int | None = None,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Per-replication statistics of ``replications`` kernel replications of ``scenario``."""
    from simsme.kernel.engine import run_blocks

    arrays = lower(scenario)
    seed = scenario.seed if seed is None else seed
    start_year = scenario.time.start_date.year
    tables = [
        replication_statistics(block, arrays, start_year)
        for block in run_blocks(arrays, replications, seed, threads=threads, progress=progress)
    ]
    return pd.concat(tables, ignore_index=True)


def _value_row(target: Target, stats: pd.DataFrame, quick: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"target_value": target.value, "tolerance": target.tolerance}
    if target.statistic not in stats:
        return {**row, "result": NOT_APPLICABLE, "note": f"no statistic '{target.statistic}'"}
    values = stats[target.statistic].to_numpy(dtype=float)
    ci = mean_ci(
        values,
        bounds=bounds_of(target.statistic),
        nan_beyond_horizon=target.statistic in BEYOND_HORIZON,
    )
    row.update(simulated=ci["mean"], ci_low=ci["ci_low"], ci_high=ci["ci_high"])
    row["replications"] = ci["n"]
    if ci["n_undefined"]:
        return {
            **row,
            "result": FAIL,
            "note": f"undefined in {ci['n_undefined']} of {len(values)} replications",
        }
    half = 0.0
    if quick and ci["ci_high"] is not None:
        half = (ci["ci_high"] - ci["ci_low"]) / 2.0
    low = target.value - target.tolerance - half
    high = target.value + target.tolerance + half
    ok = ci["mean"] is not None and low <= ci["mean"] <= high
    return {**row, "band_low": low, "band_high": high, "result": PASS if ok else FAIL}


def _direction_row(target: Target, stats: dict[str, pd.DataFrame], quick: bool) -> dict[str, Any]:
    assert target.contrast is not None
    sign = 1.0 if target.expect == "positive" else -1.0
    row: dict[str, Any] = {"target_value": sign * target.margin + 0.0}  # + 0.0: no -0
    frames = []
    for variant, weight in target.contrast.items():
        frame = stats[variant]
        if target.statistic not in frame:
            return {**row, "result": NOT_APPLICABLE, "note": f"no statistic '{target.statistic}'"}
        frames.append(weight * frame.set_index("replication")[target.statistic])
    joined = pd.concat(frames, axis=1, join="inner")
    contrast = joined.sum(axis=1, skipna=False).to_numpy(dtype=float)
    ci = mean_ci(contrast, nan_beyond_horizon=target.statistic in BEYOND_HORIZON)
    row.update(simulated=ci["mean"], ci_low=ci["ci_low"], ci_high=ci["ci_high"])
    row["replications"] = ci["n"]
    note = f"undefined in {ci['n_undefined']} replications" if ci["n_undefined"] else ""
    if ci["n"] < 2:
        return {**row, "result": FAIL, "note": note or "fewer than two replications"}
    # Distance of the interval from the margin, measured in the expected direction.
    near = sign * (ci["ci_low"] if sign > 0 else ci["ci_high"])
    far = sign * (ci["ci_high"] if sign > 0 else ci["ci_low"])
    if quick:
        ok = far > target.margin  # not wholly on the wrong side
        bound = "CI not wholly on the wrong side (quick)"
    else:
        ok = near > target.margin
        bound = "95% CI beyond the margin"
    if sign > 0:
        row.update(band_low=target.margin, band_high=math.inf)
    else:
        row.update(band_low=-math.inf, band_high=-target.margin + 0.0)
    return {**row, "result": PASS if ok else FAIL, "note": "; ".join(x for x in (note, bound) if x)}


def evaluate(
    targets: TargetSet, stats: dict[str, pd.DataFrame | None], quick: bool
) -> pd.DataFrame:
    """One row per target from the per-replication statistics of each variant run."""
    rows = []
    for target in targets.targets:
        base = {
            "target": target.name,
            "kind": target.kind,
            "statistic": target.statistic,
            "unit": target.unit,
            "source": target.source,
            "where": target.where,
            "note": "",
        }
        if target.kind == "value":
            base.update(target_value=target.value, tolerance=target.tolerance)
        else:
            sign = 1.0 if target.expect == "positive" else -1.0
            base.update(target_value=sign * target.margin + 0.0)  # + 0.0: no -0
            base.update(band_low=target.margin if sign > 0 else -math.inf)
            base.update(band_high=math.inf if sign > 0 else -target.margin + 0.0)
        missing = [v for v in target.variants if stats.get(v) is None]
        if missing:
            files = ", ".join(str(targets.variants[v].file) for v in missing)
            row = {
                "result": SKIPPED,
                "note": f"case scenario not found: {files} (pass --cases DIR)",
            }
        elif target.kind == "value":
            row = _value_row(target, stats[target.variant], quick)  # type: ignore[arg-type]
        else:
            row = _direction_row(target, stats, quick)  # type: ignore[arg-type]
        rows.append({**base, **row})
    table = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in table:
            table[column] = np.nan
    return table[COLUMNS]


def select_targets(targets: TargetSet, only: list[str] | None) -> TargetSet:
    """The targets named in ``only`` (all when ``only`` is empty)."""
    if not only:
        return targets
    names = [t.name for t in targets.targets]
    unknown = [n for n in only if n not in names]
    if unknown:
        raise SimsmeError(f"--target: unknown target(s) {unknown}; expected some of {names}")
    return targets.model_copy(update={"targets": [t for t in targets.targets if t.name in only]})


def needed_variants(targets: TargetSet) -> list[str]:
    """Variants the targets compare, in order of first use."""
    needed: list[str] = []
    for target in targets.targets:
        needed.extend(v for v in target.variants if v not in needed)
    return needed


def check_model(
    scenario: Scenario,
    targets: TargetSet | None = None,
    replications: int | None = None,
    quick: bool = False,
    threads: int | None = None,
    case_dir: Path | None = None,
    only: list[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> CheckReport:
    """Run ``scenario`` and the variants its targets need, and evaluate every target.

    Parameters
    ----------
    scenario: the checked scenario (overrides applied).
    targets: the targets (default: ``simsme/data/targets.yaml``).
    replications: replications per variant (default: the targets file's full or quick count).
    quick: reduced-replication mode with the quick pass rules.
    threads: kernel threads (default: all cores).
    case_dir: where case scenario files (``file:`` variants) are looked up; ``None`` skips them.
    only: evaluate only these targets (by name).
    progress: called as ``progress(variant, replications_just_finished)``.
    """
    targets = select_targets(targets or load_targets(), only)
    n = replications or (targets.replications.quick if quick else targets.replications.full)
    needed = needed_variants(targets)
    stats: dict[str, pd.DataFrame | None] = {}
    for name in needed:
        variant = targets.variants[name]
        resolved = variant_scenario(scenario, name, variant, case_dir)
        if resolved is None:
            stats[name] = None
            continue
        # Variants of the checked scenario share its seed; case files keep their own.
        seed = resolved.seed if variant.file is not None else scenario.seed
        advance = (lambda k, name=name: progress(name, k)) if progress else None
        stats[name] = run_statistics(resolved, n, seed=seed, threads=threads, progress=advance)
    table = evaluate(targets, stats, quick)
    return CheckReport(
        scenario=scenario.name,
        replications=n,
        quick=quick,
        table=table,
        statistics={k: v for k, v in stats.items() if v is not None},
    )


def write_report(report: CheckReport, path: str | Path, scenario: Scenario) -> Path:
    """Write the report table as CSV (atomically) and its context as JSON next to it."""
    from simsme.scenario.loading import scenario_hash

    path = Path(path)
    write_csv_atomic(report.table, path)
    write_json_atomic(
        {
            "scenario": report.scenario,
            "scenario_hash": scenario_hash(scenario),
            "replications": report.replications,
            "quick": report.quick,
            "passed": report.passed,
            "failed": report.failed,
            "written": dt.datetime.now(dt.UTC).isoformat(),
            "targets": report.table.replace({np.inf: None, -np.inf: None})
            .astype(object)
            .where(report.table.notna(), None)
            .to_dict(orient="records"),
        },
        path.with_suffix(".json"),
    )
    return path
