"""The work of a sweep: tasks of points, and the executors that run them.

A *task* is a chunk of consecutive points; each point runs all its replications on the kernel,
with the random stream ``SeedSequence(sweep_seed, spawn_key=(point,))`` (replication ``r`` is its
child ``(point, r)``, see :func:`simsme.kernel.engine.replication_rng`). A task's results depend
only on the sweep and the point ids, so any executor, worker count or shard split gives the same
tables.

Executors:

* ``local``: a thread pool in this process. The kernel releases the GIL, so ``workers`` threads
  run ``workers`` points at once (one kernel thread each); when there are fewer tasks than
  workers, each point runs its replications on several kernel threads instead. The compiled
  kernel is loaded once per process (from numba's on-disk cache).
* ``dask``: the same tasks on a ``dask.distributed`` cluster (an existing scheduler, or a
  ``LocalCluster`` started for the run). Every worker process imports the kernel once, loading the
  compiled code from its on-disk cache, and keeps it for all its tasks.

A point that raises is returned as failed, with its error; the task goes on with the next point.
"""

from __future__ import annotations

import copy
import pickle
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simsme.errors import SimsmeError

EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class PointTask:
    point: int
    overrides: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class ChunkTask:
    """Everything a worker needs to run one chunk of points (plain data, picklable)."""

    chunk_id: str
    points: tuple[PointTask, ...]
    replications: int
    seed: int
    with_smes: bool
    threads: int = 1


@dataclass
class PointOutput:
    point: int
    status: str
    error: str | None
    summary: pd.DataFrame | None
    smes: pd.DataFrame | None
    kernel_seconds: float
    seconds: float


@dataclass
class ChunkOutput:
    chunk_id: str
    points: list[PointOutput]
    seconds: float
    worker: dict[str, Any] = field(default_factory=dict)


def run_point(
    base: dict[str, Any] | bytes,
    task: PointTask,
    replications: int,
    seed: int,
    with_smes: bool,
    threads: int = 1,
) -> PointOutput:
    """Run every replication of one point; a failure is returned, not raised.

    ``base`` is the resolved base scenario as a mapping, or pickled (a cheap deep copy)."""
    from simsme.kernel.engine import run_blocks
    from simsme.outputs import replication_table, sme_table
    from simsme.scenario.loading import apply_override, validate_scenario
    from simsme.scenario.lowering import lower

    start = time.perf_counter()
    kernel = 0.0
    try:
        data = pickle.loads(base) if isinstance(base, bytes) else copy.deepcopy(base)
        for path, value in task.overrides:
            apply_override(data, path, value, source=f"point {task.point}")
        scenario = validate_scenario(data, f"point {task.point}")
        arrays = lower(scenario)
        start_year = scenario.time.start_date.year
        channels = list(scenario.channels)
        regions = [r.name for r in scenario.population.regions]
        seq = np.random.SeedSequence(seed, spawn_key=(task.point,))
        summaries: list[pd.DataFrame] = []
        smes: list[pd.DataFrame] = []
        blocks = run_blocks(arrays, np.arange(replications), seq, threads=threads)
        while True:
            t0 = time.perf_counter()
            block = next(blocks, None)
            kernel += time.perf_counter() - t0
            if block is None:
                break
            table = replication_table(block, arrays, start_year)
            table.insert(0, "point", np.int64(task.point))
            summaries.append(table)
            if with_smes:
                smes.append(sme_table(block, arrays, channels, regions))
        summary = pd.concat(summaries, ignore_index=True)
        sme = pd.concat(smes, ignore_index=True) if with_smes else None
        return PointOutput(
            task.point, "ok", None, summary, sme, kernel, time.perf_counter() - start
        )
    except Exception as err:  # noqa: BLE001 - a failed point is data, the sweep goes on
        message = str(err) if isinstance(err, SimsmeError) else f"{type(err).__name__}: {err}"
        return PointOutput(
            task.point, "failed", message, None, None, kernel, time.perf_counter() - start
        )


def run_chunk(base: dict[str, Any], task: ChunkTask) -> ChunkOutput:
    """Run the points of one chunk in order (the function every executor calls)."""
    import os
    import platform

    from simsme import __version__

    start = time.perf_counter()
    frozen = pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL)  # a fast deep copy per point
    outputs = [
        run_point(frozen, p, task.replications, task.seed, task.with_smes, task.threads)
        for p in task.points
    ]
    worker = {"host": platform.node(), "pid": os.getpid(), "simsme": __version__}
    return ChunkOutput(task.chunk_id, outputs, time.perf_counter() - start, worker)


class ChunkLost(Exception):
    """A task that did not come back (its worker died or the cluster went away)."""

    def __init__(self, chunk_id: str, error: BaseException) -> None:
        self.chunk_id = chunk_id
        self.error = error
        super().__init__(f"chunk {chunk_id}: {type(error).__name__}: {error}")


def run_local(
    base: dict[str, Any],
    tasks: list[ChunkTask],
    workers: int,
) -> Iterator[ChunkOutput | ChunkLost]:
    """Run tasks on a thread pool of ``workers`` threads, yielding outputs as they finish."""
    if not tasks:
        return
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(tasks))))
    pending: set[Future[ChunkOutput]] = set()
    try:
        queue = iter(tasks)
        # Keep a few tasks queued per worker: enough to stay busy, few to cancel on Ctrl-C.
        for task in _take(queue, 2 * workers):
            pending.add(pool.submit(run_chunk, base, task))
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                for task in _take(queue, 1):
                    pending.add(pool.submit(run_chunk, base, task))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _take(items: Iterator[ChunkTask], n: int) -> list[ChunkTask]:
    out = []
    for _ in range(n):
        item = next(items, None)
        if item is None:
            break
        out.append(item)
    return out


@dataclass
class DaskInfo:
    scheduler: str | None
    local_cluster: bool
    workers: int
    worker_versions: dict[str, str]


def _worker_version() -> str:
    """The code a worker runs: simsme's version and the hash of its model sources."""
    from simsme.results.fingerprint import code_fingerprint

    code = code_fingerprint()
    return f"{code['simsme']} (model sources {code['model_sources'][:8]})"


def check_scheduler(scheduler: str, timeout: float = 10.0) -> None:
    """Refuse an unreachable scheduler before anything is written (a TCP connection to its
    host and port; other protocols are left to dask)."""
    from urllib.parse import urlsplit

    text = scheduler if "://" in scheduler else f"tcp://{scheduler}"
    parts = urlsplit(text)
    if parts.scheme not in ("tcp", "tls", "ws", "wss"):
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise SimsmeError(
            f"--scheduler: '{scheduler}' is not a scheduler address; expected the address "
            "printed by `dask scheduler`, e.g. tcp://10.0.0.5:8786"
        )
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise SimsmeError(
            f"--scheduler: cannot reach a dask scheduler at '{scheduler}' "
            f"({err.strerror or err}); expected the address printed by `dask scheduler`, "
            "e.g. tcp://10.0.0.5:8786"
        ) from None


def run_dask(
    base: dict[str, Any],
    tasks: list[ChunkTask],
    scheduler: str | None,
    workers: int | None,
    on_connect: Callable[[DaskInfo], None] | None = None,
) -> Iterator[ChunkOutput | ChunkLost]:
    """Run tasks on a dask.distributed cluster, yielding outputs as they finish.

    ``scheduler`` is the address of a running scheduler (``tcp://host:8786``); without one a
    ``LocalCluster`` of ``workers`` single-threaded worker processes is started for the run and
    closed after it.
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - dask is an optional dependency
        raise SimsmeError(
            "--executor dask: dask.distributed is not installed; install it with "
            "pip install 'simsme[dask]'"
        ) from None
    here = _worker_version()
    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as err:
                raise SimsmeError(
                    f"--scheduler: cannot reach a dask scheduler at '{scheduler}' ({err}); "
                    "expected the address printed by `dask scheduler`, e.g. tcp://10.0.0.5:8786"
                ) from None
        else:
            from simsme.kernel.engine import default_threads

            cluster = LocalCluster(
                n_workers=workers or default_threads(),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)
            # Workers register a moment after the cluster starts; the version check below
            # and the manifest's worker count must see all of them.
            client.wait_for_workers(len(cluster.workers), timeout=120)
    except SimsmeError:
        raise
    except Exception as err:
        raise SimsmeError(f"--executor dask: could not start a cluster: {err}") from None
    try:
        versions = client.run(_worker_version)
        wrong = {w: v for w, v in versions.items() if v != here}
        if wrong:
            raise SimsmeError(
                f"--scheduler: workers run simsme {sorted(set(wrong.values()))}, this machine "
                f"{here}: install the same code everywhere (workers: {sorted(wrong)})"
            )
        if on_connect is not None:
            on_connect(
                DaskInfo(
                    scheduler=client.scheduler_info().get("address", scheduler),
                    local_cluster=cluster is not None,
                    workers=len(versions),
                    worker_versions=versions,
                )
            )
        if not tasks:
            return
        [base_future] = client.scatter([base], broadcast=True, hash=False)
        futures = {
            client.submit(run_chunk, base_future, task, pure=False, retries=1): task.chunk_id
            for task in tasks
        }
        for future in as_completed(futures):
            try:
                output = future.result()
            except Exception as err:  # worker died, cluster gone: redo on the next run
                yield ChunkLost(futures[future], err)
            else:
                yield output
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
