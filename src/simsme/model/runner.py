"""Running replications on the Mesa engine, mirroring :func:`simsme.kernel.engine.run_blocks`.

Replication ``r`` draws from :func:`simsme.replications.replication_rng` ``(seed, r)``, so its
results depend only on the scenario, the seed and ``r``: never on the number of workers or the
order in which replications finish. Nothing here imports the numba kernel.

Mesa 3.3.1, the newest release (and so simsme's floor), keeps every model it has created alive:
the class attribute ``Agent._ids`` maps each model to its id counter (mesa issue 3179, fixed after
3.3.1 by pull request 3180, in no release yet). :func:`run_replication` drops that reference once
the outputs are written (:func:`release`), and :func:`run_blocks` runs replications in worker
processes that are replaced after ``MAX_TASKS_PER_CHILD`` replications anyway; the workers are
started with ``spawn`` (safe alongside numba's threads). Drop :func:`release` and raise the floor
once a Mesa release has the fix.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import mesa
import numpy as np

from simsme.model.model import SimsmeModel
from simsme.outputs import RunBlock, series_names
from simsme.replications import block_size_for, default_threads, replication_rng
from simsme.scenario.lowering import ScenarioArrays, lower
from simsme.scenario.schema import Scenario

MAX_TASKS_PER_CHILD = 20
"""Replications a worker process runs before it is replaced (frees Mesa's retained models)."""


def _arrays(scenario: Scenario | ScenarioArrays) -> ScenarioArrays:
    return lower(scenario) if isinstance(scenario, Scenario) else scenario


def run_replication(
    scenario: Scenario | ScenarioArrays,
    seed: int | np.random.SeedSequence,
    replication: int = 0,
    applications: bool = False,
    series: bool = False,
) -> RunBlock:
    """Run one replication in this process and return its outputs as a one-row block
    (``applications`` / ``series``: with its application records / its DataCollector's
    per-step series, as the kernel's :func:`simsme.kernel.engine.run_blocks`)."""
    arrays = _arrays(scenario)
    model = SimsmeModel(arrays, rng=replication_rng(seed, replication), collect=series)
    model.run()
    block = RunBlock.empty(arrays, np.array([replication]), applications, series)
    model.write_outputs(block, 0)
    if series:
        frame = model.datacollector.get_model_vars_dataframe()
        block.series[0] = frame[series_names(model.agency_names, model.channel_names)].to_numpy()
    release(model)
    return block


def release(model: mesa.Model) -> None:
    """Let a finished model be garbage-collected (Mesa 3.3.1 keeps a reference to every model in
    ``Agent._ids``; mesa issue 3179)."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


# Worker-process state: the scenario and seed are sent once per worker, not once per task.
_WORKER: dict[str, object] = {}


def _init_worker(
    arrays: ScenarioArrays,
    seed: int | np.random.SeedSequence,
    applications: bool = False,
    series: bool = False,
) -> None:
    _WORKER["arrays"] = arrays
    _WORKER["seed"] = seed
    _WORKER["kept"] = (applications, series)


def _work(replication: int) -> RunBlock:
    return run_replication(  # type: ignore[arg-type]
        _WORKER["arrays"], _WORKER["seed"], replication, *_WORKER["kept"]
    )


def run_blocks(
    scenario: Scenario | ScenarioArrays,
    replications: int | np.ndarray,
    seed: int | np.random.SeedSequence,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    block_size: int | None = None,
    applications: bool = False,
    series: bool = False,
) -> Iterator[RunBlock]:
    """Run replications on the Mesa engine, yielding blocks of raw outputs in replication order.

    Parameters
    ----------
    scenario: the scenario or its lowered arrays.
    replications: a count (replications 0..n-1) or an array of replication indices.
    seed: the scenario seed (or a ``SeedSequence`` whose children are the replications).
    workers: worker processes (default: all cores available to this process).
    progress: called with 1 each time a replication finishes.
    block_size: replications per yielded block (default as the kernel,
        :func:`simsme.replications.block_size_for`).
    applications, series: keep application records / per-step series (as the kernel).

    Workers are started with ``spawn``: a script that calls this function at import time must
    do so under ``if __name__ == "__main__":`` (as with any ``spawn`` process pool).
    """
    arrays = _arrays(scenario)
    reps = (
        np.arange(replications)
        if np.isscalar(replications)
        else np.asarray(replications, dtype=np.int64)
    )
    if len(reps) == 0:
        return
    workers = max(1, min(workers or default_threads(), len(reps)))
    block_size = block_size or block_size_for(
        arrays, len(reps), workers, applications=applications, series=series
    )
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(arrays, seed, applications, series),
        max_tasks_per_child=MAX_TASKS_PER_CHILD,
    )
    try:
        # Keep every worker busy across block boundaries: replications are submitted ahead,
        # at most two blocks' worth at a time, and blocks are yielded in replication order.
        pending: dict[Future[RunBlock], int] = {}
        results: dict[int, RunBlock] = {}
        next_submit = 0
        for start in range(0, len(reps), block_size):
            stop = min(start + block_size, len(reps))
            while next_submit < min(len(reps), stop + block_size):
                pending[pool.submit(_work, int(reps[next_submit]))] = next_submit
                next_submit += 1
            while any(k not in results for k in range(start, stop)):
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    results[pending.pop(future)] = future.result()
                    if progress is not None:
                        progress(1)
            block = RunBlock.empty(arrays, reps[start:stop], applications, series)
            for row in range(stop - start):
                _copy_row(results.pop(start + row), block, row)
            yield block
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _copy_row(source: RunBlock, block: RunBlock, row: int) -> None:
    """Copy the single row of ``source`` into row ``row`` of ``block``."""
    for name in RunBlock.__dataclass_fields__:
        if name == "replication":
            continue
        getattr(block, name)[row] = getattr(source, name)[0]
