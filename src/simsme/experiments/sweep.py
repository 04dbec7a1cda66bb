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

Resuming: points are committed chunk by chunk (:class:`simsme.results.chunks.ChunkStore`), so an
interrupted sweep (Ctrl-C, ``kill -9``) started again with the same command runs the remaining
points only, and its tables are identical, row for row, to those of an uninterrupted run. The
store is keyed by the sweep's hash (its fields and the resolved base scenario), ``--smes``,
``--shard``, the output definitions and the code fingerprint (:mod:`simsme.experiments.sweep_folder`):
a changed sweep file or code is refused unless ``force_new``. The folder's rules (marker, lock, what
``--force-new`` removes) are those of :mod:`simsme.results.folder`.

The module is split by concern: :mod:`~simsme.experiments.sweep_spec` reads sweep files,
:mod:`~simsme.experiments.sweep_tables` builds the tables, :mod:`~simsme.experiments.sweep_exec`
runs points (locally or on dask), :mod:`~simsme.experiments.sweep_folder` keys and manifests,
:mod:`~simsme.experiments.sweep_merge` joins shards; this module plans and runs a sweep.

Shards: ``shard=(i, n)`` runs chunks ``c`` with ``c % n == i - 1`` (a deterministic slice, for
job arrays); :func:`merge_shards` joins the shard folders into the folder an unsharded run makes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simsme.analysis.results import SweepResults
from simsme.errors import SimsmeError
from simsme.experiments.sweep_exec import (
    ChunkLost,
    ChunkOutput,
    ChunkTask,
    DaskInfo,
    PointTask,
    check_scheduler,
    run_dask,
    run_local,
)
from simsme.experiments.sweep_folder import (
    SweepIncomplete,
    SweepResult,
    build_manifest,
    default_folder,
    run_key,
    versions,
)
from simsme.experiments.sweep_merge import merge_shards
from simsme.experiments.sweep_spec import ResolvedSweep, read_sweep_file
from simsme.experiments.sweep_tables import (
    CHUNK_WORK,
    MAX_CHUNKS,
    MIN_CHUNKS,
    canonical_columns,
    check_options,
    chunk_points,
    design_frame,
    finish_points,
    finish_summary,
    parameter_frame,
    parse_shard,
    points_per_chunk,
    smes_path,
    status_frame,
    summary_template,
    work_per_point,
)
from simsme.results.chunks import ChunkStore
from simsme.results.fingerprint import key_differences
from simsme.results.folder import (
    CHUNKS_DIR,
    PROGRESS_FILE,
    DamagedFolder,
    ResultsFolder,
    write_parquet_atomic,
)

__all__ = [
    "CHUNK_WORK",
    "MAX_CHUNKS",
    "MIN_CHUNKS",
    "SweepIncomplete",
    "SweepResult",
    "SweepResults",
    "SweepRun",
    "canonical_columns",
    "check_options",
    "chunk_points",
    "default_folder",
    "design_frame",
    "merge_shards",
    "parameter_frame",
    "parse_shard",
    "plan_sweep",
    "points_per_chunk",
    "run_key",
    "run_sweep",
    "summary_template",
    "versions",
    "work_per_point",
]


@dataclass
class SweepRun:
    """A sweep ready to run into a folder: which chunks are done and which are left."""

    sweep: ResolvedSweep
    folder: Path
    key: dict[str, Any]
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
    results: ResultsFolder | None = None
    _stack: ExitStack = field(default_factory=ExitStack, repr=False)

    def close(self) -> None:
        """Release the folder (its lock); :meth:`run` does so when it ends."""
        self._stack.close()

    def __enter__(self) -> SweepRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        try:
            return self._run(progress)
        finally:
            self.close()

    def _run(self, progress: Callable[[int], None] | None) -> SweepResult:
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
        tables = {"points": status_frame(output)}
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
        points = finish_points(status, sweep)
        summary = finish_summary(self.store.frames("summary"), summary_template(sweep.base))
        assert self.results is not None
        self.results.write_parquet("points.parquet", points)
        self.results.write_parquet("summary.parquet", summary)
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
        self.results.write_json("manifest.json", manifest)
        self.store.discard()
        return SweepResult(folder, manifest, points, summary)


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
    sweep: a sweep file, or one already loaded with :func:`read_sweep_file`.
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
        sweep = read_sweep_file(sweep)
    shard, chunks, mine = check_options(sweep, executor, scheduler, workers, threads, shard)
    if executor == "dask" and scheduler:
        check_scheduler(scheduler)  # before anything is created in the folder
    key = run_key(sweep, with_smes, shard)
    run = SweepRun(
        sweep=sweep,
        folder=Path(out) if out is not None else default_folder(sweep, shard),
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
    try:
        _prepare(run, force_new)
    except BaseException:
        run.close()
        raise
    if run.complete is not None:
        run.close()
    return run


def _prepare(run: SweepRun, force_new: bool) -> None:
    """Open the folder (its lock is held until the run ends) and find what is done."""
    results = run._stack.enter_context(ResultsFolder.open(run.folder, "sweep"))
    run.results = results
    folder, key, sweep = results.path, run.key, run.sweep
    manifest = None if force_new else results.manifest()
    if manifest is not None:
        if manifest.get("kind") != "sweep":
            raise SimsmeError(
                f"{folder}: holds the results of a `simsme run`, not of a sweep; choose another "
                "--out or pass --force-new to replace them"
            )
        if manifest.get("key") == key and manifest.get("status") == "complete":
            run.complete = SweepResult(
                folder,
                manifest,
                _read_table(folder / "points.parquet"),
                _read_table(folder / "summary.parquet"),
                already_complete=True,
            )
            return
        reasons = "; ".join(key_differences(manifest.get("key"), key))
        raise SimsmeError(
            f"{folder}: already holds a finished sweep that differs from this one: {reasons}; "
            "choose another --out or pass --force-new to replace it"
        )
    resuming = not force_new and (folder / CHUNKS_DIR / PROGRESS_FILE).exists()
    if not resuming:
        results.clear()
    results.set_kind("sweep")
    run.store = ChunkStore(results, key, force_new=force_new, what="an unfinished sweep")
    if run.with_smes:
        results.claim("smes/")
    design = design_frame(sweep)
    if design is not None:
        results.write_parquet("design.parquet", design)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # missing or damaged: pyarrow's own errors
        raise DamagedFolder(
            f"{path}: cannot be read ({err}); pass --force-new to run the sweep again"
        ) from None


def run_sweep(
    sweep: ResolvedSweep | str | Path,
    out: str | Path | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    **options: Any,
) -> SweepResult:
    """Plan and run a sweep in one call (see :func:`plan_sweep` for the options)."""
    return plan_sweep(sweep, out, **options).run(progress)
