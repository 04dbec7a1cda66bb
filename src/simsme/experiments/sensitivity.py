"""Sensitivity indices of a finished sweep, with SALib.

For each headline output (median TTFE, share exported, share exported within 3 years), the value
of a point is its mean over replications; SALib then gives

* for Sobol (Saltelli) designs: first-order and total indices ``S1`` and ``ST`` with confidence
  intervals (``SALib.analyze.sobol``; Saltelli 2002, Jansen 1999);
* for Morris designs: ``mu_star`` (mean absolute elementary effect, with its confidence
  interval), ``sigma`` (their spread: interactions or non-linearity) and ``mu``
  (``SALib.analyze.morris``; Morris 1991, Campolongo et al. 2007).

The analysis uses the SALib problem and sample matrix stored with the sweep (``manifest.json``
and ``design.parquet``), so it can be reproduced from the results folder alone. Replication noise
is part of each point's value: with few replications per point, a parameter without effect still
gets a small total index, about the noise variance over the output variance.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsme.analysis.results import SweepResults
from simsme.analysis.results import load_sweep as read_sweep
from simsme.errors import SimsmeError, did_you_mean
from simsme.results.folder import claim_file, write_csv_atomic, write_parquet_atomic
from simsme.results.summary import BEYOND_HORIZON, replication_mean

HEADLINE_OUTPUTS = ("restricted_mean_ttfe_weeks", "km_median_ttfe_weeks", "share_exported")
MIN_RESAMPLES, MAX_RESAMPLES = 10, 100_000
"""Bootstrap resamples allowed (SALib holds them all in memory at once)."""
SOBOL_COLUMNS = ("S1", "S1_conf", "ST", "ST_conf")
MORRIS_COLUMNS = ("mu_star", "mu_star_conf", "sigma", "mu")


@dataclass
class SensitivityResult:
    """The indices table and the outputs that could not be analysed (with the reason)."""

    table: pd.DataFrame
    method: str
    skipped: list[str]
    folder: Path


def point_values(results: SweepResults, outputs: list[str]) -> pd.DataFrame:
    """Mean over replications of each output, one row per point of the design (NaN where a
    point failed, where no replication defined the output, or where a Kaplan-Meier median lies
    beyond the horizon in a replication: see :func:`simsme.results.summary.replication_mean`)."""
    n = int(results.manifest["n_points"])
    means = results.summary.groupby("point")[outputs].agg(replication_mean)
    return means.reindex(pd.RangeIndex(n, name="point"))


def analyse(
    folder: str | Path | SweepResults,
    outputs: list[str] | tuple[str, ...] = HEADLINE_OUTPUTS,
    num_resamples: int = 1000,
    conf_level: float = 0.95,
) -> SensitivityResult:
    """Sobol or Morris indices of a finished sweep, per output and parameter."""
    results = folder if isinstance(folder, SweepResults) else read_sweep(folder)
    manifest = results.manifest
    design = manifest["design"]
    kind = design["kind"]
    if kind not in ("sobol", "morris"):
        raise SimsmeError(
            f"{results.folder}: design kind '{kind}': expected 'sobol' or 'morris' for "
            "sensitivity indices (grid, points and lhs designs have no Saltelli or Morris "
            "structure)"
        )
    if not 0.0 < conf_level < 1.0:
        raise SimsmeError(f"--conf-level: value {conf_level}: expected between 0 and 1")
    if not MIN_RESAMPLES <= num_resamples <= MAX_RESAMPLES:
        raise SimsmeError(
            f"--resamples: value {num_resamples}: expected {MIN_RESAMPLES} to {MAX_RESAMPLES:,}"
        )
    known = [c for c in results.summary.columns if c not in ("point", "replication")]
    if outputs is HEADLINE_OUTPUTS:  # the defaults: those this sweep's tables have
        outputs = [name for name in HEADLINE_OUTPUTS if name in known] or ["median_ttfe_weeks"]
    outputs = list(outputs)
    for name in outputs:
        if name not in known:
            raise SimsmeError(
                f"--output: value '{name}': expected a column of summary.parquet"
                f"{did_you_mean(name, known)}"
            )
    problem = dict(manifest["salib_problem"])
    values = point_values(results, outputs)
    seed = int(manifest["seed"]) % 2**32
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    n_failed = int((results.points["status"] != "ok").sum())
    for name in outputs:
        y = values[name].to_numpy(dtype=float)
        missing = int(np.isnan(y).sum())
        if missing:
            if n_failed:
                reason = f"{n_failed} failed points"
            elif name in BEYOND_HORIZON:
                reason = "the median lies beyond the horizon in some replication"
            else:
                reason = "no replication defined it"
            skipped.append(
                f"{name}: {missing} of {len(y)} points have no value ({reason}); the design "
                "needs every point"
            )
            continue
        if np.ptp(y) == 0:
            skipped.append(f"{name}: the same value at every point")
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if kind == "sobol":
                from SALib.analyze import sobol

                si = sobol.analyze(
                    problem,
                    y,
                    calc_second_order=bool(design.get("second_order", False)),
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    seed=seed,
                )
                for i, param in enumerate(problem["names"]):
                    rows.append(
                        {
                            "output": name,
                            "parameter": param,
                            "method": "sobol",
                            **{c: float(si[c][i]) for c in SOBOL_COLUMNS},
                        }
                    )
            else:
                from SALib.analyze import morris

                if results.design_matrix is None:
                    raise SimsmeError(f"{results.folder}: design.parquet is missing")
                design = results.design_matrix.sort_values("point")
                x = design[problem["names"]].to_numpy(dtype=float)
                si = morris.analyze(
                    problem,
                    x,
                    y,
                    num_resamples=num_resamples,
                    conf_level=conf_level,
                    num_levels=int(design.get("levels", 4)),
                    seed=seed,
                )
                for i, param in enumerate(problem["names"]):
                    rows.append(
                        {
                            "output": name,
                            "parameter": param,
                            "method": "morris",
                            **{c: float(si[c][i]) for c in MORRIS_COLUMNS},
                        }
                    )
    if not rows:
        raise SimsmeError(
            f"{results.folder}: no output could be analysed:\n"
            + "\n".join(f"  - {s}" for s in skipped)
        )
    columns = ["output", "parameter", "method"] + list(
        SOBOL_COLUMNS if kind == "sobol" else MORRIS_COLUMNS
    )
    table = pd.DataFrame(rows, columns=columns)
    return SensitivityResult(table=table, method=kind, skipped=skipped, folder=results.folder)


def write_sensitivity(result: SensitivityResult) -> tuple[Path, Path]:
    """Write ``sensitivity.parquet`` and ``sensitivity.csv`` into the sweep folder (atomic)."""
    parquet = claim_file(result.folder / "sensitivity.parquet", "sensitivity")
    csv = claim_file(result.folder / "sensitivity.csv", "sensitivity")
    write_parquet_atomic(result.table, parquet)
    write_csv_atomic(result.table, csv)
    return parquet, csv


def ranking(table: pd.DataFrame, output: str) -> list[str]:
    """Parameters of one output, most influential first (by ST, or by mu_star)."""
    rows = table[table["output"] == output]
    key = "ST" if "ST" in rows.columns else "mu_star"
    return rows.sort_values(key, ascending=False, kind="stable")["parameter"].tolist()
