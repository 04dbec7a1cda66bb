"""Posterior predictive checks: ``simsme check-model --ensemble FILE`` (issue 13).

The plain check (:mod:`simsme.calibration.check`) runs the model at one parameter set. This one
runs it at ``draws`` parameter sets drawn from a posterior ensemble
(:meth:`simsme.calibration.posterior.Posterior.draws`: resampled by weight, so equally weighted)
and asks whether the targets the calibration never saw (``role: held_out`` in
``simsme/data/targets.yaml``; every pattern of ``simsme/data/patterns.yaml``) are predicted
out of sample: the posterior predictive check of Gelman, Meng and Stern (1996), Statistica
Sinica 6, 733-807, and Gelman et al., *Bayesian Data Analysis* (3rd ed., 2013), section 6.3.

For each draw d the parameter set is applied (:func:`~simsme.calibration.posterior.apply_draw`)
to the checked scenario and, through it, to every variant the targets compare; a case variant
(``file: company-a.yaml``) gets the draw applied to its own scenario, keeping the parameters that
case file sets itself (they describe the company, not the ecosystem). Each variant then runs
``replications`` kernel replications, and each target's statistic is estimated per draw as in
the plain check: a value target's mean over the replications and its standard error; a direction
target's contrast per replication (variants paired by seed, common random numbers), its mean and
standard error.

Every draw runs with the checked scenario's seed (case files: their own seed), so the draws
differ in their parameters only: the spread of the draws' means is the parameters' effect, and
the replication noise enters once, through each draw's standard error. With independent seeds
per draw the noise would be counted twice.

What is predicted is the *estimate* the check compares with the target -- the mean over the
``-n`` replications of a draw -- not a single replication: its predictive distribution, with
parameter and stochastic uncertainty together, is the equal-weight mixture over draws of
N(mean_d, se_d^2) (law of total variance,
:func:`~simsme.calibration.posterior.mixture_interval`). With few replications se_d is itself
uncertain, so each draw's standard error is scaled by t_{n-1}/z at the 90% level, as
:mod:`simsme.experiments.ensemble` does (its ``_t_over_z``): a posterior concentrated on one
point then gives back exactly the Student-t 90% interval of the plain check's mean, where the
plain normal mixture would be narrower (by 1.645/2.353 for 4 replications).

``--set`` overrides (``overrides``) are the user's design, like what the scenario file sets: they
are applied again after each draw, so a drawn parameter they set -- a ``*`` path such as
``agencies.*.bureaucracy.committee_interval_weeks`` included -- keeps the user's value, in the
checked scenario and in every variant built from it (whose own changes still go on top), and is
reported as kept. They are not applied to case files: as in the plain check, where ``--set``
changes the checked scenario and a case file runs as its file says, a case gets the draw (less
what its file sets) and nothing of ``--set``.

Reported per target: the predictive median and the central 90% predictive interval of that
mixture, the share of draws whose estimate passes the target's own rule, and a result:

* value target: passes when its 90% predictive interval overlaps the band
  ``[value - tolerance, value + tolerance]`` (a draw passes when its mean lies in the band); a
  pass whose predictive median lies outside the band is noted "at the edge", with the share of
  draws that pass, so that a band the model barely reaches is not read as a match;
* direction target: passes when at least 90% of the draws lie beyond the margin on the expected
  side (a draw passes when its mean contrast does).

A draw whose estimate is undefined (no replication defined it, or a Kaplan-Meier median beyond
the horizon) does not pass and is left out of the interval.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsme.calibration.check import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    SKIPPED,
    needed_variants,
    run_statistics,
    variant_scenario,
)
from simsme.calibration.posterior import Posterior, apply_draw, mixture_interval
from simsme.calibration.targets import Target, TargetSet
from simsme.errors import SimsmeError
from simsme.experiments.ensemble import _t_over_z
from simsme.results.folder import write_csv_atomic, write_json_atomic
from simsme.results.summary import BEYOND_HORIZON, bounds_of, mean_ci
from simsme.scenario.loading import apply_overrides, load_scenario, parse_override, read_yaml
from simsme.scenario.schema import Scenario

#: Level of the predictive interval (value targets) and share of draws (direction targets).
LEVEL = 0.9
ROLES = ("fit", "held_out")
RULE = (
    "value targets pass when the 90% predictive interval overlaps the band value +/- tolerance; "
    "directions when at least 90% of draws lie beyond the margin on the expected side "
    "(share passing: draws whose estimate meets the target's own rule)"
)
COLUMNS = [
    "target",
    "kind",
    "role",
    "statistic",
    "unit",
    "predictive_median",
    "pi_low",
    "pi_high",
    "draws",
    "draws_defined",
    "replications",
    "target_value",
    "tolerance",
    "band_low",
    "band_high",
    "share_passing",
    "result",
    "note",
    "source",
    "where",
]


@dataclass
class PredictiveReport:
    """The outcome of a predictive check: one row per target (see :data:`COLUMNS`), and each
    draw's estimate per target (``estimates``: target, draw, mean, se, passes)."""

    scenario: str
    draws: int
    replications: int
    roles: tuple[str, ...]
    table: pd.DataFrame
    estimates: pd.DataFrame = field(repr=False)
    parameters: list[dict[str, float]] = field(repr=False, default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No target failed (n/a and skipped targets do not fail the check)."""
        return not (self.table["result"] == FAIL).any()

    @property
    def failed(self) -> list[str]:
        return list(self.table.loc[self.table["result"] == FAIL, "target"])


def as_held_out(targets: TargetSet) -> TargetSet:
    """Every target as ``role: held_out``: for the patterns file, to which nothing is fitted
    (its targets carry no role and so read as the default ``fit``)."""
    return targets.model_copy(
        update={"targets": [t.model_copy(update={"role": "held_out"}) for t in targets.targets]}
    )


def select_roles(targets: TargetSet, roles: Iterable[str]) -> TargetSet:
    """The targets whose role is among ``roles``; an error when none is left."""
    roles = tuple(roles)
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise SimsmeError(f"roles: unknown role(s) {unknown}; expected some of {list(ROLES)}")
    kept = [t for t in targets.targets if t.role in roles]
    if not kept:
        raise SimsmeError(
            f"no target with role {' or '.join(roles)} to check against the ensemble "
            "(add --in-sample to check the fitted targets too)"
        )
    return targets.model_copy(update={"targets": kept})


def _estimate(target: Target, stats: dict[str, pd.DataFrame]) -> tuple[float, float, int, str]:
    """One draw's estimate of ``target``: (mean, standard error, replications, note).

    The mean is NaN where it is undefined; the note says why (empty when it is defined)."""
    if target.kind == "value":
        frame = stats[target.variant]
        if target.statistic not in frame:
            return math.nan, math.nan, 0, f"no statistic '{target.statistic}'"
        values = frame[target.statistic].to_numpy(dtype=float)
        ci = mean_ci(
            values,
            bounds=bounds_of(target.statistic),
            nan_beyond_horizon=target.statistic in BEYOND_HORIZON,
        )
    else:
        assert target.contrast is not None
        parts = []
        for variant, weight in target.contrast.items():
            frame = stats[variant]
            if target.statistic not in frame:
                return math.nan, math.nan, 0, f"no statistic '{target.statistic}'"
            parts.append(weight * frame.set_index("replication")[target.statistic])
        # Paired by replication (the variants share the seed): the contrast per replication.
        joined = pd.concat(parts, axis=1, join="inner")
        values = joined.sum(axis=1, skipna=False).to_numpy(dtype=float)
        ci = mean_ci(values, nan_beyond_horizon=target.statistic in BEYOND_HORIZON)
    if ci["mean"] is None:
        return math.nan, math.nan, ci["n"], "undefined"
    se = ci["sd"] / math.sqrt(ci["n"]) if ci["sd"] is not None else math.nan
    note = f"undefined in {ci['n_undefined']} replications" if ci["n_undefined"] else ""
    return ci["mean"], se, ci["n"], note


def _draw_passes(target: Target, mean: float, note: str) -> bool:
    """Whether one draw's estimate meets the target's own rule (see the module docstring)."""
    if not math.isfinite(mean) or note:
        return False  # as in the plain check, undefined replications fail
    if target.kind == "value":
        assert target.value is not None and target.tolerance is not None
        return target.value - target.tolerance <= mean <= target.value + target.tolerance
    sign = 1.0 if target.expect == "positive" else -1.0
    return sign * mean > target.margin


def _row(target: Target, estimates: pd.DataFrame, replications: int) -> dict[str, Any]:
    """The report row of one target from its per-draw estimates."""
    row: dict[str, Any] = {
        "target": target.name,
        "kind": target.kind,
        "role": target.role,
        "statistic": target.statistic,
        "unit": target.unit,
        "draws": len(estimates),
        "replications": replications,
        "source": target.source,
        "where": target.where,
        "note": "",
    }
    if target.kind == "value":
        assert target.value is not None and target.tolerance is not None
        low, high = target.value - target.tolerance, target.value + target.tolerance
        row.update(target_value=target.value, tolerance=target.tolerance)
    else:
        sign = 1.0 if target.expect == "positive" else -1.0
        low, high = (target.margin, math.inf) if sign > 0 else (-math.inf, -target.margin + 0.0)
        row.update(target_value=sign * target.margin + 0.0)  # + 0.0: no -0
    row.update(band_low=low, band_high=high)
    notes = [n for n in estimates["note"] if n]
    if any(n.startswith("no statistic") for n in notes):
        return {**row, "result": NOT_APPLICABLE, "note": notes[0]}
    means = estimates["mean"].to_numpy(float)
    # t_{n-1}/z per draw: the 90% quantiles of the mixture are then t quantiles for one draw
    errors = estimates["se"].to_numpy(float) * _t_over_z(estimates["n"].to_numpy(float), LEVEL)
    defined = int(np.isfinite(means).sum())
    row.update(draws_defined=defined, share_passing=float(estimates["passes"].mean()))
    undefined = len(means) - defined
    note = f"undefined in {undefined} of {len(means)} draws" if undefined else ""
    if notes and not undefined:
        note = f"some replications undefined in {len(notes)} of {len(means)} draws"
    if defined == 0:
        return {**row, "result": FAIL, "note": note}
    median = mixture_interval(means, errors, 0.0)[0]  # the mixture's median: its 0% interval
    pi_low, pi_high = mixture_interval(means, errors, LEVEL)
    row.update(predictive_median=median, pi_low=pi_low, pi_high=pi_high)
    if target.kind == "value":
        ok = pi_low <= high and pi_high >= low
        if ok and not low <= median <= high:
            # the overlap rule is the usual predictive check (is the band plausible under the
            # model?), but a pass at the edge of the interval is not a match: say so
            share = row["share_passing"]
            edge = f"at the edge: predictive median outside the band, {share:.0%} of draws pass"
            note = "; ".join(n for n in (note, edge) if n)
    else:
        ok = row["share_passing"] >= LEVEL
    return {**row, "result": PASS if ok else FAIL, "note": note}


def _case_scenarios(
    targets: TargetSet, names: list[str], case_dir: Path | None
) -> dict[str, tuple[Scenario, Any] | None]:
    """Each case variant's scenario and its file's own mapping (``None`` when not found)."""
    cases: dict[str, tuple[Scenario, Any] | None] = {}
    for name in names:
        variant = targets.variants[name]
        if variant.file is None:
            continue
        path = None if case_dir is None else case_dir / variant.file
        if path is None or not path.is_file():
            cases[name] = None
            continue
        cases[name] = (load_scenario(path), read_yaml(path, "case scenario"))
    return cases


def predictive_check(
    scenario: Scenario,
    targets: TargetSet,
    posterior: Posterior,
    draws: int = 20,
    replications: int = 10,
    seed: int | None = None,
    case_dir: Path | None = None,
    roles: Iterable[str] = ("held_out",),
    threads: int | None = None,
    progress: Callable[[str, int], None] | None = None,
    raw: Any = None,
    overrides: Sequence[str | tuple[str, Any]] = (),
) -> PredictiveReport:
    """Posterior predictive check of ``targets`` over ``draws`` parameter sets of ``posterior``.

    Parameters
    ----------
    scenario: the checked scenario (overrides applied).
    targets: the targets (or patterns: pass them through :func:`as_held_out`).
    posterior: the ensemble the parameter sets are drawn from.
    draws: parameter sets drawn (systematic resampling by weight).
    replications: kernel replications per variant and draw.
    seed: seed of the resampling (default: the scenario's seed).
    case_dir: where case scenario files are looked up; ``None`` skips the targets that need them.
    roles: the roles checked; ``("fit", "held_out")`` adds the in-sample targets.
    threads: kernel threads (default: all cores).
    progress: called as ``progress(variant, replications_just_finished)``.
    raw: the checked scenario file's own mapping: parameters it sets are part of its design
        and are not replaced by the draws.
    overrides: the ``--set`` overrides (``PATH=VALUE`` strings or (path, value) pairs; already
        applied to ``scenario``): applied again after each draw, so the user's values win over
        the drawn ones, ``*`` paths included, in the checked scenario and its variants; not in
        case files (module docstring). Drawn paths among them are reported as kept.
    """
    if replications < 2:
        raise SimsmeError(f"-n: expected at least 2 replications per draw, got {replications}")
    targets = select_roles(targets, roles)
    pairs = [parse_override(o) if isinstance(o, str) else o for o in overrides]
    set_paths = {path for path, _ in pairs}
    params = posterior.draws(draws, scenario.seed if seed is None else seed)
    needed = needed_variants(targets)
    cases = _case_scenarios(targets, needed, case_dir)
    rows = []
    kept: set[str] = set()
    for d, draw in enumerate(params):
        drawn, kept_here = apply_draw(scenario, draw, raw, source=f"--ensemble draw {d}")
        # --set values are the user's design too: applied again over the drawn ones (as
        # simsme.experiments.ensemble does); exact paths, so a `*` path the draw sets is caught
        drawn = apply_overrides(drawn, pairs, source="--set")
        kept.update(kept_here, (p for p in draw if p in set_paths))
        stats: dict[str, pd.DataFrame | None] = {}
        for name in needed:
            variant = targets.variants[name]
            if variant.file is not None:
                case = cases[name]
                if case is None:
                    stats[name] = None
                    continue
                # The case keeps the parameters its file sets, and its own seed; --set is the
                # checked scenario's (as in the plain check), so it is not applied here.
                resolved, _ = apply_draw(case[0], draw, case[1], source=f"{variant.file} draw {d}")
                run_seed = resolved.seed
            else:
                # The variant's own changes go on top of the draw (they win where both set).
                resolved = variant_scenario(drawn, name, variant, case_dir)
                run_seed = scenario.seed
            assert resolved is not None
            advance = (lambda k, name=name: progress(name, k)) if progress else None
            stats[name] = run_statistics(
                resolved, replications, seed=run_seed, threads=threads, progress=advance
            )
        for target in targets.targets:
            if any(stats.get(v) is None for v in target.variants):
                continue
            mean, se, n, note = _estimate(target, stats)  # type: ignore[arg-type]
            passes = _draw_passes(target, mean, note)
            rows.append(
                {"target": target.name, "draw": d, "mean": mean, "se": se, "n": n}
                | {"passes": passes, "note": note}
            )
    estimates = pd.DataFrame(rows, columns=["target", "draw", "mean", "se", "n", "passes", "note"])
    table_rows = []
    for target in targets.targets:
        mine = estimates[estimates["target"] == target.name]
        if mine.empty:  # a case file was not found
            files = ", ".join(
                str(targets.variants[v].file) for v in target.variants if cases.get(v) is None
            )
            row = _row(target, mine, replications)
            row.update(result=SKIPPED, note=f"case scenario not found: {files} (pass --cases DIR)")
            row.update(draws=0)
            table_rows.append(row)
            continue
        table_rows.append(_row(target, mine, replications))
    table = pd.DataFrame(table_rows)
    for column in COLUMNS:
        if column not in table:
            table[column] = np.nan
    return PredictiveReport(
        scenario=scenario.name,
        draws=len(params),
        replications=replications,
        roles=tuple(roles),
        table=table[COLUMNS],
        estimates=estimates,
        parameters=params,
        kept=sorted(kept),
    )


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready records (infinite and missing values as null)."""
    return (
        frame.replace({np.inf: None, -np.inf: None})
        .astype(object)
        .where(frame.notna(), None)
        .to_dict(orient="records")
    )


def write_predictive_report(
    report: PredictiveReport, path: str | Path, scenario: Scenario, ensemble: str
) -> Path:
    """Write the report table as CSV (atomically) and, next to it as JSON, its context, the
    parameter sets drawn and each draw's estimate per target."""
    from simsme.scenario.loading import scenario_hash

    path = Path(path)
    write_csv_atomic(report.table, path)
    write_json_atomic(
        {
            "scenario": report.scenario,
            "scenario_hash": scenario_hash(scenario),
            "ensemble": ensemble,
            "draws": report.draws,
            "replications": report.replications,
            "roles": list(report.roles),
            "rule": RULE,
            "kept_from_scenario": report.kept,
            "passed": report.passed,
            "failed": report.failed,
            "written": dt.datetime.now(dt.UTC).isoformat(),
            "targets": _records(report.table),
            "parameter_sets": report.parameters,
            "estimates": _records(report.estimates),
        },
        path.with_suffix(".json"),
    )
    return path
