"""Parameter sweeps: every point of a design, run on the kernel, into one results folder.

``simsme sweep SWEEP`` calls :func:`plan_sweep` then :meth:`SweepRun.run`. The results folder holds

* ``points.parquet``: one row per point: ``point``, ``status`` (``ok`` / ``failed``), ``error``,
  then one column per varied parameter, named by its dotted path;
* ``summary.parquet``: one row per point per replication: ``point``, ``replication`` and every
  column of :func:`simsme.outputs.replication_table`;
* ``smes/`` (with ``--smes``): the per-SME table, partitioned by point
  (``smes/point=<id>/part-0.parquet``; ``pandas.read_parquet(folder / "smes")`` reads it all);
* ``design.parquet``: for sampled designs, SALib's sample matrix (``point`` and one column per
  parameter, in SALib's sampling space) that :mod:`simsme.experiments.sensitivity` analyses;
* ``manifest.json``: the sweep file, base scenario hash, design, parameters with bounds, the
  SALib problem, seed, replications, executor, versions, times and ``n_failed``; written last,
  its ``"status": "complete"`` marks a finished folder.

Resuming: points are committed chunk by chunk (:class:`simsme.results.store.ChunkStore`), so an
interrupted sweep (Ctrl-C, ``kill -9``) started again with the same command runs the remaining
points only, and its tables are identical, row for row, to those of an uninterrupted run. The
store is keyed by the sweep's hash (its fields and the resolved base scenario), ``--smes`` and
``--shard``: a changed sweep file is refused unless ``force_new``.

Shards: ``shard=(i, n)`` runs chunks ``c`` with ``c % n == i - 1`` (a deterministic slice, for
job arrays); :func:`merge_shards` joins the shard folders into the folder an unsharded run makes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simsme.errors import SimsmeError
from simsme.experiments.run import versions as base_versions
from simsme.experiments.sweep_exec import (
    EXECUTORS,
    ChunkLost,
    ChunkOutput,
    ChunkTask,
    DaskInfo,
    PointTask,
    run_dask,
    run_local,
)
from simsme.experiments.sweep_spec import ResolvedSweep, load_sweep
from simsme.outputs import OUTPUT_VERSION
from simsme.results.store import (
    CHUNKS_DIR,
    PROGRESS_FILE,
    ChunkStore,
    clear_results,
    prepare_folder,
    read_json,
    write_json_atomic,
    write_parquet_atomic,
)
from simsme.scenario.loading import validate_scenario
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


def default_folder(sweep: ResolvedSweep, shard: tuple[int, int] | None = None) -> Path:
    suffix = f"-shard-{shard[0]}-of-{shard[1]}" if shard else ""
    return Path("results") / "sweeps" / f"{sweep.name}-{sweep.hash[:8]}{suffix}"


def run_key(sweep: ResolvedSweep, with_smes: bool, shard: tuple[int, int] | None) -> str:
    shard_text = f"{shard[0]}/{shard[1]}" if shard else "all"
    return f"{sweep.hash}|smes={int(with_smes)}|shard={shard_text}|outputs={OUTPUT_VERSION}"


def _explain_key_change(old: str, new: str, folder: Path) -> str:
    old_parts, new_parts = old.split("|"), new.split("|")
    if len(old_parts) == 3 and old.startswith(new_parts[0]):
        return "it was written by an earlier version of simsme, with other output definitions"
    if len(old_parts) != 4:
        return f"{folder}: holds results of something other than this sweep"
    reasons = []
    if old_parts[0] != new_parts[0]:
        reasons.append(
            f"the sweep file or its base scenario changed (hash {old_parts[0][:8]} -> "
            f"{new_parts[0][:8]})"
        )
    if old_parts[1] != new_parts[1]:
        reasons.append(
            "it was started " + ("with" if old_parts[1].endswith("1") else "without") + " --smes"
        )
    if old_parts[2] != new_parts[2]:
        reasons.append(f"it was started with --shard {old_parts[2]}")
    if old_parts[3] != new_parts[3]:
        reasons.append("it was written by another version of simsme, with other output definitions")
    return "; ".join(reasons) or "its inputs differ"


def versions() -> dict[str, str]:
    return base_versions(extra=("SALib", "dask", "distributed"))


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
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


def _finish_summary(frames: list[pd.DataFrame], template: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(
            {"point": pd.Series([], dtype=np.int64), "replication": pd.Series([], dtype=np.int64)}
        )
    summary = pd.concat(frames, ignore_index=True)
    summary = summary[canonical_columns(list(summary.columns), template)]
    return summary.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)


def _finish_points(status: pd.DataFrame, sweep: ResolvedSweep) -> pd.DataFrame:
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


def _status_frame(output: ChunkOutput) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "point": np.asarray([p.point for p in output.points], dtype=np.int64),
            "status": pd.array([p.status for p in output.points], dtype="string"),
            "error": pd.array([p.error for p in output.points], dtype="string"),
        }
    )


def smes_path(folder: Path, point: int) -> Path:
    return folder / "smes" / f"point={point}" / "part-0.parquet"


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------
@dataclass
class SweepRun:
    """A sweep ready to run into a folder: which chunks are done and which are left."""

    sweep: ResolvedSweep
    folder: Path
    key: str
    executor: str
    scheduler: str | None
    workers: int | None
    threads: int | None
    shard: tuple[int, int] | None
    with_smes: bool
    chunks: list[range]
    mine: list[int]
    store: ChunkStore | None = None
    complete: SweepResult | None = None
    executor_info: dict[str, Any] = field(default_factory=dict)

    def chunk_id(self, index: int) -> str:
        return f"{index:0{len(str(len(self.chunks) - 1))}d}"

    @property
    def my_points(self) -> list[int]:
        return [p for c in self.mine for p in self.chunks[c]]

    @property
    def pending(self) -> list[int]:
        """Indices of chunks of this run (or shard) not yet committed."""
        if self.store is None:
            return []
        return [c for c in self.mine if not self.store.is_done(self.chunk_id(c))]

    @property
    def pending_points(self) -> int:
        return sum(len(self.chunks[c]) for c in self.pending)

    @property
    def done_points(self) -> int:
        return len(self.my_points) - self.pending_points

    def tasks(self, threads: int) -> list[ChunkTask]:
        sweep = self.sweep
        return [
            ChunkTask(
                chunk_id=self.chunk_id(c),
                points=tuple(PointTask(p, tuple(sweep.overrides(p))) for p in self.chunks[c]),
                replications=sweep.replications,
                seed=sweep.seed,
                with_smes=self.with_smes,
                threads=threads,
            )
            for c in self.pending
        ]

    def run(self, progress: Callable[[int], None] | None = None) -> SweepResult:
        """Run the chunks left, committing each as it comes back, then write the tables."""
        if self.complete is not None:
            return self.complete
        assert self.store is not None
        started = dt.datetime.now(dt.UTC)
        wall = time.perf_counter()
        resumed = self.done_points
        pending = self.pending
        lost: list[ChunkLost] = []
        outputs: Iterable[ChunkOutput | ChunkLost] = []
        self.executor_info = {"kind": self.executor}
        if not pending:
            pass
        elif self.executor == "local":
            from simsme.kernel.engine import default_threads

            workers = self.workers or default_threads()
            busy = max(1, min(workers, len(pending)))
            threads = self.threads or max(1, workers // busy)
            self.executor_info = {"kind": "local", "workers": workers, "kernel_threads": threads}
            outputs = run_local(self.sweep.base_data, self.tasks(threads), workers)
        else:
            threads = self.threads or 1

            def connected(info: DaskInfo) -> None:
                self.executor_info = {
                    "kind": "dask",
                    "scheduler": info.scheduler,
                    "local_cluster": info.local_cluster,
                    "workers": info.workers,
                    "kernel_threads": threads,
                }

            outputs = run_dask(
                self.sweep.base_data, self.tasks(threads), self.scheduler, self.workers, connected
            )
        for output in outputs:
            if isinstance(output, ChunkLost):
                lost.append(output)
                continue
            self._commit(output)
            if progress is not None:
                progress(len(output.points))
        if lost:
            shown = "; ".join(str(x) for x in lost[:3])
            raise SweepIncomplete(
                f"{self.folder}: {len(lost)} chunk(s) of points did not come back from the "
                f"workers ({shown}); the other points are saved: run the same command again "
                "to finish the sweep"
            )
        return self._finalize(started, time.perf_counter() - wall, resumed)

    def _commit(self, output: ChunkOutput) -> None:
        assert self.store is not None
        for p in output.points:
            if p.smes is not None:
                write_parquet_atomic(p.smes, smes_path(self.folder, p.point))
        tables = {"points": _status_frame(output)}
        summaries = [p.summary for p in output.points if p.summary is not None]
        if summaries:
            tables["summary"] = pd.concat(summaries, ignore_index=True)
        info = {
            "seconds": output.seconds,
            "kernel_seconds": sum(p.kernel_seconds for p in output.points),
            "point_seconds": sum(p.seconds for p in output.points),
            "n_failed": sum(p.status != "ok" for p in output.points),
            "worker": output.worker.get("host"),
        }
        self.store.commit(output.chunk_id, tables, info)

    def _finalize(self, started: dt.datetime, wall: float, resumed: int) -> SweepResult:
        assert self.store is not None
        sweep, folder = self.sweep, self.folder
        status = self.store.read("points")
        points = _finish_points(status, sweep)
        summary = _finish_summary(
            [pd.read_parquet(p) for p in self.store.parts("summary")], summary_template(sweep.base)
        )
        write_parquet_atomic(points, folder / "points.parquet")
        write_parquet_atomic(summary, folder / "summary.parquet")
        done = self.store.done.values()
        timing = {
            "wall_seconds_last_session": wall,
            "kernel_seconds": sum(d.get("kernel_seconds", 0.0) for d in done),
            "point_seconds": sum(d.get("point_seconds", 0.0) for d in done),
            "task_seconds": sum(d.get("seconds", 0.0) for d in done),
        }
        manifest = build_manifest(
            sweep,
            key=self.key,
            with_smes=self.with_smes,
            shard=self.shard,
            points=points,
            executor=self.executor_info,
            chunks=len(self.chunks),
            started=started,
            timing=timing,
            resumed=resumed,
        )
        write_json_atomic(manifest, folder / "manifest.json")
        self.store.discard()
        return SweepResult(folder, manifest, points, summary)


def build_manifest(
    sweep: ResolvedSweep,
    *,
    key: str,
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
        "run_key": key,
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


def plan_sweep(
    sweep: ResolvedSweep | str | Path,
    out: str | Path | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    shard: tuple[int, int] | str | None = None,
    with_smes: bool = False,
    force_new: bool = False,
) -> SweepRun:
    """Check a sweep and its folder and work out what is left to run (nothing runs yet).

    Parameters
    ----------
    sweep: a sweep file, or one already loaded with :func:`load_sweep`.
    out: results folder (default ``results/sweeps/<name>-<hash8>[-shard-I-of-N]``).
    executor: ``"local"`` (threads in this process) or ``"dask"``.
    scheduler: address of a dask scheduler; with ``executor="dask"`` and none, a LocalCluster
        is started for the run.
    workers: local threads, or LocalCluster worker processes (default: all cores).
    threads: kernel threads per task (default: local, all workers' share; dask, 1).
    shard: ``(i, n)`` or ``"i/n"``: run only the i-th of n deterministic slices of the points.
    with_smes: also write the per-SME tables (``smes/``).
    force_new: discard an unfinished or finished sweep of other inputs in ``out``.
    """
    if not isinstance(sweep, ResolvedSweep):
        sweep = load_sweep(sweep)
    shard, chunks, mine = check_options(sweep, executor, scheduler, workers, threads, shard)
    folder = prepare_folder(Path(out) if out is not None else default_folder(sweep, shard))
    key = run_key(sweep, with_smes, shard)
    run = SweepRun(
        sweep=sweep,
        folder=folder,
        key=key,
        executor=executor,
        scheduler=scheduler,
        workers=workers,
        threads=threads,
        shard=shard,
        with_smes=with_smes,
        chunks=chunks,
        mine=mine,
    )
    manifest_path = folder / "manifest.json"
    if manifest_path.exists() and not force_new:
        manifest = read_json(manifest_path)
        if manifest.get("run_key") == key and manifest.get("status") == "complete":
            if not force_new:
                run.complete = SweepResult(
                    folder,
                    manifest,
                    pd.read_parquet(folder / "points.parquet"),
                    pd.read_parquet(folder / "summary.parquet"),
                    already_complete=True,
                )
                return run
        elif manifest.get("kind") != "sweep":
            raise SimsmeError(
                f"{folder}: holds the results of a `simsme run`, not of a sweep; choose another "
                "--out or pass --force-new to replace them"
            )
        else:
            what = _explain_key_change(str(manifest.get("run_key")), key, folder)
            raise SimsmeError(
                f"{folder}: already holds a finished sweep that differs from this one: {what}; "
                "choose another --out or pass --force-new to replace it"
            )
    progress_path = folder / CHUNKS_DIR / PROGRESS_FILE
    if progress_path.exists() and not force_new:
        saved = str(read_json(progress_path).get("key", ""))
        if saved != key:
            raise SimsmeError(
                f"{folder}: holds an unfinished sweep that cannot be resumed by this one: "
                f"{_explain_key_change(saved, key, folder)}; pass --force-new to discard its "
                "points and start again, or choose another --out"
            )
    if force_new or not progress_path.exists():
        clear_results(folder)
    run.store = ChunkStore(folder, key, force_new=force_new)
    design = design_frame(sweep)
    if design is not None:
        write_parquet_atomic(design, folder / "design.parquet")
    return run


def run_sweep(
    sweep: ResolvedSweep | str | Path,
    out: str | Path | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> SweepResult:
    """Plan and run a sweep in one call (see :func:`plan_sweep` for the options)."""
    return plan_sweep(sweep, out, **options).run(progress)


# --------------------------------------------------------------------------------------------
# Merging shards
# --------------------------------------------------------------------------------------------
def merge_shards(
    folders: list[str | Path], out: str | Path | None = None, force_new: bool = False
) -> SweepResult:
    """Join the folders of ``--shard 1/N`` ... ``N/N`` into the folder of the whole sweep.

    The shards must be complete, of the same sweep (same hash and ``--smes``), and together
    hold every shard exactly once. The tables are identical to an unsharded run's.
    """
    if not folders:
        raise SimsmeError("merge: expected the shard folders to join")
    manifests: list[tuple[Path, dict[str, Any]]] = []
    problems: list[str] = []
    for f in folders:
        folder = Path(f)
        path = folder / "manifest.json"
        if not path.exists():
            unfinished = (folder / CHUNKS_DIR / PROGRESS_FILE).exists()
            problems.append(
                f"{folder}: "
                + (
                    "unfinished shard: run its `simsme sweep ... --shard` command again"
                    if unfinished
                    else "no manifest.json: expected a finished `simsme sweep --shard` folder"
                )
            )
            continue
        manifest = read_json(path)
        if manifest.get("kind") != "sweep" or manifest.get("status") != "complete":
            problems.append(f"{folder}: expected a finished sweep folder")
            continue
        manifests.append((folder, manifest))
    if problems:
        raise SimsmeError("cannot merge:\n" + "\n".join(f"  - {p}" for p in problems))
    first_folder, first = manifests[0]
    counts: dict[int, Path] = {}
    for folder, m in manifests:
        if m.get("sweep_hash") != first.get("sweep_hash"):
            problems.append(
                f"{folder}: sweep hash {str(m.get('sweep_hash'))[:8]}: expected "
                f"{str(first.get('sweep_hash'))[:8]} (as {first_folder}); shards of one sweep only"
            )
            continue
        if m.get("smes") != first.get("smes"):
            problems.append(f"{folder}: --smes differs from {first_folder}")
        if not str(m.get("run_key", "")).endswith(f"|outputs={OUTPUT_VERSION}"):
            problems.append(
                f"{folder}: written by another version of simsme (other output definitions); "
                "run that shard again with --force-new"
            )
        shard = m.get("shard")
        if not shard:
            problems.append(f"{folder}: not a shard (run with --shard I/N)")
            continue
        index, count = parse_shard(shard)  # type: ignore[misc]
        first_count = parse_shard(first.get("shard"))[1] if first.get("shard") else count  # type: ignore[index]
        if count != first_count:
            problems.append(f"{folder}: shard {shard}: expected one of {first_count} shards")
        elif index in counts:
            problems.append(f"{folder}: shard {shard} is also in {counts[index]}")
        else:
            counts[index] = folder
    if not problems:
        n = parse_shard(first["shard"])[1]  # type: ignore[index]
        missing = [i for i in range(1, n + 1) if i not in counts]
        if missing:
            problems.append(
                f"missing shard(s) {', '.join(f'{i}/{n}' for i in missing)}: expected all {n}"
            )
    if problems:
        raise SimsmeError("cannot merge:\n" + "\n".join(f"  - {p}" for p in problems))

    folder = (
        Path(out)
        if out is not None
        else Path("results") / "sweeps" / f"{first['sweep_name']}-{first['sweep_hash'][:8]}"
    )
    key = (
        f"{first['sweep_hash']}|smes={int(bool(first.get('smes')))}|shard=all"
        f"|outputs={OUTPUT_VERSION}"
    )
    if any(Path(f).resolve() == folder.resolve() for f, _ in manifests):
        raise SimsmeError(f"--out: {folder} is one of the shards: expected a new folder")
    existing = folder / "manifest.json"
    if existing.is_file():
        old = read_json(existing)
        if old.get("run_key") != key and not force_new:
            raise SimsmeError(
                f"{folder}: already holds other results; choose another --out or pass --force-new"
            )
    prepare_folder(folder)
    clear_results(folder)
    ordered = [counts[i] for i in sorted(counts)]
    points_parts = [pd.read_parquet(f / "points.parquet") for f in ordered]
    status = pd.concat(points_parts, ignore_index=True)
    # The shards' points tables carry the parameter columns with the whole design's dtypes.
    points = status.sort_values("point", kind="stable").reset_index(drop=True)
    summary = _finish_summary(
        [pd.read_parquet(f / "summary.parquet") for f in ordered],
        summary_template(validate_scenario(first["base_scenario_resolved"], "<manifest>")),
    )
    if first.get("smes"):
        for f in ordered:
            for part in sorted((f / "smes").glob("point=*/*.parquet")):
                target = folder / "smes" / part.parent.name / part.name
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.tmp")
                shutil.copyfile(part, tmp)
                os.replace(tmp, target)
    design = first_folder / "design.parquet"
    if design.exists():
        write_parquet_atomic(pd.read_parquet(design), folder / "design.parquet")
    write_parquet_atomic(points, folder / "points.parquet")
    write_parquet_atomic(summary, folder / "summary.parquet")
    shard_info = [
        {
            "folder": str(f),
            "shard": read_json(f / "manifest.json").get("shard"),
            "executor": read_json(f / "manifest.json").get("executor"),
            "started": read_json(f / "manifest.json").get("started"),
            "finished": read_json(f / "manifest.json").get("finished"),
            "n_failed": read_json(f / "manifest.json").get("n_failed"),
        }
        for f in ordered
    ]
    all_manifests = [read_json(f / "manifest.json") for f in ordered]
    n_failed = int((points["status"] != "ok").sum())
    timing = {
        k: sum(m.get("timing", {}).get(k, 0.0) for m in all_manifests)
        for k in ("kernel_seconds", "point_seconds", "task_seconds")
    }
    manifest = {
        **first,
        "run_key": key,
        "shard": None,
        "points_in_folder": int(len(points)),
        "n_ok": int(len(points) - n_failed),
        "n_failed": n_failed,
        "executor": {"kind": "shards", "shards": shard_info},
        "resumed_points": 0,
        "timing": timing,
        "started": min(m["started"] for m in all_manifests),
        "finished": max(m["finished"] for m in all_manifests),
        "merged": dt.datetime.now(dt.UTC).isoformat(),
        "command": " ".join(sys.argv) if sys.argv else None,
    }
    manifest.pop("base_scenario_resolved", None)
    manifest["base_scenario_resolved"] = first.get("base_scenario_resolved")
    write_json_atomic(manifest, folder / "manifest.json")
    return SweepResult(folder, manifest, points, summary)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
@dataclass
class SweepResults:
    """A finished sweep folder, read back."""

    folder: Path
    manifest: dict[str, Any]
    points: pd.DataFrame
    summary: pd.DataFrame
    design: pd.DataFrame | None


def read_sweep(folder: str | Path) -> SweepResults:
    """Read a finished sweep folder; a clear error when it is not one (or not finished)."""
    folder = Path(folder)
    path = folder / "manifest.json"
    if not path.exists():
        unfinished = (folder / CHUNKS_DIR / PROGRESS_FILE).exists()
        raise SimsmeError(
            f"{folder}: "
            + (
                "the sweep is unfinished: run its `simsme sweep` command again to finish it"
                if unfinished
                else "no manifest.json: expected the results folder of `simsme sweep`"
            )
        )
    manifest = read_json(path)
    if manifest.get("kind") != "sweep":
        raise SimsmeError(f"{folder}: expected the results folder of `simsme sweep`")
    if manifest.get("shard"):
        raise SimsmeError(
            f"{folder}: holds shard {manifest['shard']} only: join the shards with "
            "`simsme merge` first"
        )
    design_path = folder / "design.parquet"
    return SweepResults(
        folder=folder,
        manifest=manifest,
        points=pd.read_parquet(folder / "points.parquet"),
        summary=pd.read_parquet(folder / "summary.parquet"),
        design=pd.read_parquet(design_path) if design_path.exists() else None,
    )
