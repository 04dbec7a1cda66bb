"""The tables of a sweep: chunks of points, parameter and design columns, canonical summary
column order, and the checks of the run options (:mod:`simsme.experiments.sweep` runs them)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsme.errors import SimsmeError
from simsme.experiments.sweep_exec import EXECUTORS, ChunkOutput
from simsme.experiments.sweep_spec import ResolvedSweep
from simsme.scenario.schema import Scenario

MAX_CHUNKS = 500
"""At most this many chunks per sweep, so that commits stay cheap however many points."""
MIN_CHUNKS = 16
"""Points are grouped only while a sweep keeps at least this many chunks (busy workers)."""
CHUNK_WORK = 5_000_000
"""SME-steps (replications x SMEs x steps) a chunk should hold before it stops growing:
about half a second of kernel time, against a few tens of milliseconds per commit."""

POINT_COLUMNS = ("point", "status", "error")
SWEEP_TABLES = ("points", "summary")


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/4"`` -> ``(2, 4)`` (shards are numbered from 1)."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise SimsmeError(
            f"--shard: value '{text}': expected I/N with 1 <= I <= N, e.g. 1/4 "
            "(with SLURM: --shard ${SLURM_ARRAY_TASK_ID}/4 and --array=1-4)"
        )
    return int(match.group(1)), int(match.group(2))


def points_per_chunk(n_points: int, work_per_point: float = float("inf")) -> int:
    """Points per committed chunk (and per task): one, unless points are so quick that commits
    would cost a noticeable share of the time (then up to :data:`CHUNK_WORK` SME-steps per
    chunk, keeping at least :data:`MIN_CHUNKS` chunks) or there are more than
    :data:`MAX_CHUNKS` points. It depends on the sweep only (never on the machine), so chunks
    and shards are the same everywhere."""
    grouped = min(
        math.ceil(CHUNK_WORK / max(work_per_point, 1.0)), math.ceil(n_points / MIN_CHUNKS)
    )
    return max(1, math.ceil(n_points / MAX_CHUNKS), grouped)


def work_per_point(sweep: ResolvedSweep) -> float:
    """Replications x SMEs x steps of the base scenario: the kernel work of a typical point."""
    base = sweep.base
    smes = base.population.n_smes * (
        1.0 + base.population.entrants_per_year * base.time.horizon_years
    )
    return float(sweep.replications) * smes * base.n_steps


def chunk_points(n_points: int, work: float = float("inf")) -> list[range]:
    size = points_per_chunk(n_points, work)
    return [range(s, min(n_points, s + size)) for s in range(0, n_points, size)]


def parameter_frame(sweep: ResolvedSweep, points: list[int] | None = None) -> pd.DataFrame:
    """The varied parameters' values, one row per point, with one dtype per column for the
    whole design (so shards and chunks agree)."""
    ids = list(range(sweep.n_points)) if points is None else list(points)
    cols: dict[str, Any] = {"point": np.asarray(ids, dtype=np.int64)}
    for p in sweep.parameters:
        every = [pt[p.name] for pt in sweep.points]
        values = [sweep.points[i][p.name] for i in ids]
        cols[p.name] = _column(values, every)
    return pd.DataFrame(cols)


def _column(values: list[Any], every: list[Any]) -> Any:
    if all(isinstance(v, bool) for v in every):
        return np.asarray(values, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in every):
        return np.asarray(values, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in every):
        return np.asarray(values, dtype=np.float64)
    if all(isinstance(v, str) for v in every):
        return pd.array(values, dtype="string")
    return pd.array([json.dumps(v, sort_keys=True) for v in values], dtype="string")


def design_frame(sweep: ResolvedSweep) -> pd.DataFrame | None:
    """SALib's sample matrix (sampling space), one row per point; ``None`` for grids/points."""
    if sweep.design_matrix is None:
        return None
    frame = pd.DataFrame(sweep.design_matrix, columns=[p.name for p in sweep.parameters])
    frame.insert(0, "point", np.arange(len(frame), dtype=np.int64))
    return frame


def summary_template(base: Scenario) -> list[str]:
    """Column order of the summary table for ``base`` (the reference for a canonical order)."""
    from simsme.outputs import RunBlock, replication_table
    from simsme.scenario.loading import apply_overrides
    from simsme.scenario.lowering import lower

    small = apply_overrides(base, [("population.n_smes", 1)], source="<template>")
    arrays = lower(small)
    table = replication_table(
        RunBlock.empty(arrays, np.arange(1)), arrays, small.time.start_date.year
    )
    return ["point", *table.columns]


_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def canonical_columns(columns: list[str], template: list[str]) -> list[str]:
    """Order columns as in ``template``; extra numbered columns (``share_exported_year_20``
    when a point runs longer than the base) go next to their siblings, in number order."""

    def split(name: str) -> tuple[str, int]:
        match = _TRAILING_NUMBER.match(name)
        return (match.group(1), int(match.group(2))) if match else (name, -1)

    stems: dict[str, int] = {}
    for name in template:
        stems.setdefault(split(name)[0], len(stems))

    def key(name: str) -> tuple[int, int, str]:
        stem, number = split(name)
        return (stems.get(stem, len(stems)), number, name)

    return sorted(columns, key=key)


def finish_summary(frames: list[pd.DataFrame], template: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(
            {"point": pd.Series([], dtype=np.int64), "replication": pd.Series([], dtype=np.int64)}
        )
    summary = pd.concat(frames, ignore_index=True)
    summary = summary[canonical_columns(list(summary.columns), template)]
    return summary.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)


def finish_points(status: pd.DataFrame, sweep: ResolvedSweep) -> pd.DataFrame:
    status = status.sort_values("point", kind="stable").reset_index(drop=True)
    params = parameter_frame(sweep, status["point"].tolist())
    out = pd.DataFrame(
        {
            "point": status["point"].astype(np.int64).to_numpy(),
            "status": pd.array(status["status"].tolist(), dtype="string"),
            "error": pd.array(status["error"].tolist(), dtype="string"),
        }
    )
    for name in params.columns[1:]:
        out[name] = params[name].to_numpy() if params[name].dtype != "string" else params[name]
    return out


def status_frame(output: ChunkOutput) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "point": np.asarray([p.point for p in output.points], dtype=np.int64),
            "status": pd.array([p.status for p in output.points], dtype="string"),
            "error": pd.array([p.error for p in output.points], dtype="string"),
        }
    )


def smes_path(folder: Path, point: int) -> Path:
    return folder / "smes" / f"point={point}" / "part-0.parquet"


def check_options(
    sweep: ResolvedSweep,
    executor: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    shard: tuple[int, int] | str | None = None,
) -> tuple[tuple[int, int] | None, list[range], list[int]]:
    """Check the run options against the sweep (``--dry-run`` does too); returns the shard, the
    chunks of points and the chunks this shard runs."""
    if executor not in EXECUTORS:
        raise SimsmeError(f"--executor: value '{executor}': expected one of {', '.join(EXECUTORS)}")
    if scheduler and executor != "dask":
        raise SimsmeError(
            f"--scheduler: value '{scheduler}': only used with --executor dask "
            "(add --executor dask)"
        )
    if workers is not None and workers < 1:
        raise SimsmeError(f"--workers: value {workers}: expected at least 1")
    if threads is not None and threads < 1:
        raise SimsmeError(f"--threads: value {threads}: expected at least 1")
    shard = parse_shard(shard) if isinstance(shard, str) else shard
    chunks = chunk_points(sweep.n_points, work_per_point(sweep))
    if shard is not None:
        index, count = shard
        if count > len(chunks):
            raise SimsmeError(
                f"--shard: value {index}/{count}: expected at most {len(chunks)} shards "
                f"(the sweep has {sweep.n_points} points in {len(chunks)} chunks)"
            )
        mine = [c for c in range(len(chunks)) if c % count == index - 1]
    else:
        mine = list(range(len(chunks)))
    return shard, chunks, mine
