"""What a sweep's results folder records: its key, its manifest, and the finished result.

The key (:func:`run_key`) is structured, like a run's (:mod:`simsme.results.fingerprint`): the
sweep's hash (its fields and the resolved base scenario), ``--smes``, ``--shard``, the output
definitions and the code fingerprint. A folder is reused or resumed only under an equal key.
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simsme.errors import SimsmeError
from simsme.experiments.run import versions as base_versions
from simsme.experiments.sweep_spec import ResolvedSweep
from simsme.experiments.sweep_tables import points_per_chunk, work_per_point
from simsme.outputs import OUTPUT_VERSION
from simsme.results.fingerprint import code_fingerprint, git_commit, key_digest


class SweepIncomplete(SimsmeError):
    """Some chunks did not come back (a worker died): running the command again finishes them."""

    exit_code = 1


@dataclass
class SweepResult:
    """What a finished sweep (or merge) produced."""

    folder: Path
    manifest: dict[str, Any]
    points: pd.DataFrame
    summary: pd.DataFrame
    already_complete: bool = False


def shard_text(shard: tuple[int, int] | None) -> str | None:
    return f"{shard[0]}/{shard[1]}" if shard else None


def run_key(sweep: ResolvedSweep, with_smes: bool, shard: tuple[int, int] | None) -> dict[str, Any]:
    """Identity of a sweep's results: the sweep, ``--smes``, ``--shard``, outputs and code."""
    return merged_key(sweep.hash, with_smes, shard)


def merged_key(
    sweep_hash: str, with_smes: bool, shard: tuple[int, int] | None = None
) -> dict[str, Any]:
    return {
        "kind": "sweep",
        "sweep": sweep_hash,
        "smes": bool(with_smes),
        "shard": shard_text(shard),
        "outputs": OUTPUT_VERSION,
        "code": code_fingerprint(),
    }


def default_folder(sweep: ResolvedSweep, shard: tuple[int, int] | None = None) -> Path:
    """``results/sweeps/<name>-<hash8>[-shard-I-of-N]``; the hash is that of the sweep and the
    code, so a sweep run again after a code change starts in a folder of its own."""
    suffix = f"-shard-{shard[0]}-of-{shard[1]}" if shard else ""
    short = key_digest({"sweep": sweep.hash, "code": code_fingerprint()})[:8]
    return Path("results") / "sweeps" / f"{sweep.name}-{short}{suffix}"


def versions() -> dict[str, str]:
    return base_versions(extra=("SALib", "dask", "distributed"))


def build_manifest(
    sweep: ResolvedSweep,
    *,
    key: dict[str, Any],
    with_smes: bool,
    shard: tuple[int, int] | None,
    points: pd.DataFrame,
    executor: dict[str, Any],
    chunks: int,
    started: dt.datetime,
    timing: dict[str, Any],
    resumed: int,
) -> dict[str, Any]:
    n_failed = int((points["status"] != "ok").sum())
    tables = ["points.parquet", "summary.parquet"]
    if sweep.design_matrix is not None:
        tables.append("design.parquet")
    if with_smes:
        tables.append("smes/")
    return {
        "status": "complete",
        "kind": "sweep",
        "sweep_name": sweep.name,
        "description": sweep.spec.description,
        "sweep_file": str(sweep.source),
        "sweep_text": sweep.text,
        "sweep": sweep.spec.model_dump(mode="json"),
        "sweep_hash": sweep.hash,
        "key": key,
        "code": key["code"],
        "git": git_commit(),
        "base_scenario": {
            "path": str(sweep.base_path),
            "name": sweep.base.name,
            "hash": sweep.base_hash,
        },
        "design": sweep.design_info(),
        "parameters": [p.describe() for p in sweep.parameters],
        "salib_problem": sweep.problem,
        "seed": sweep.seed,
        "replications": sweep.replications,
        "n_points": sweep.n_points,
        "points_in_folder": int(len(points)),
        "n_ok": int(len(points) - n_failed),
        "n_failed": n_failed,
        "smes": with_smes,
        "shard": f"{shard[0]}/{shard[1]}" if shard else None,
        "chunks": chunks,
        "points_per_chunk": points_per_chunk(sweep.n_points, work_per_point(sweep)),
        "executor": executor,
        "tables": tables,
        "resumed_points": resumed,
        "timing": timing,
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "command": " ".join(sys.argv) if sys.argv else None,
        "versions": versions(),
        "platform": platform.platform(),
        "base_scenario_resolved": sweep.base_data,
    }
