"""Running replications on the kernel: one compiled loop per replication, many in parallel.

Each replication ``r`` draws from its own ``Generator(PCG64(SeedSequence(seed, spawn_key=(r,))))``
(the ``r``-th child of ``SeedSequence(seed).spawn``), so its results depend only on the scenario,
the seed and ``r``, never on the number of threads, the block size or the order in which
replications finish. Replications run on a thread pool; the compiled loop releases the GIL
(``nogil=True``). Outputs come back block by block (:func:`run_blocks`), so memory stays bounded
whatever the number of replications, and a run that could not fit is refused before it starts
(:func:`check_memory`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from numba import njit

from simsme.errors import SimsmeError
from simsme.kernel.census import census_row
from simsme.kernel.params import Params, kernel_params
from simsme.kernel.pcg64 import check_uniform
from simsme.kernel.phases import step
from simsme.kernel.state import (
    C_N_RECORDS,
    C_RECORDS_LOST,
    F_FOUNDED_DAY,
    F_PROCEDURE_DAYS,
    F_WAIT_DAYS,
    I_APPLICATIONS,
    I_APPROVALS,
    I_AWARE_STEP,
    I_COCREATED,
    I_COMMITTED_STEP,
    I_DIGITAL_APPLICATIONS,
    I_DIGITAL_PROCEDURES,
    I_EXPERIENCED,
    I_EXPORT_STEP,
    I_MARKETS,
    I_MODE,
    I_PROCEDURES,
    I_REGION,
    I_SIZE_CLASS,
    L_CHANNELS,
    L_CHANNELS_USED,
    init_state,
    record_capacity,
    state_bytes_per_sme,
)
from simsme.outputs import RunBlock
from simsme.replications import (  # noqa: F401  (re-exported: shared with the Mesa engine)
    RECORD_BYTES,
    block_size_for,
    default_threads,
    output_bytes_per_sme,
    replication_rng,
)
from simsme.scenario.lowering import ScenarioArrays


@njit(cache=True, nogil=True)
def run_replication(
    rng,
    p,
    kp,
    b,
    export_step,
    founded_day,
    size_class,
    region,
    mode,
    markets,
    applications,
    approvals,
    wait_days,
    digital_applications,
    channels_used,
    channels_adopted,
    cocreated,
    aware_step,
    committed_step,
    procedure_days,
    procedures,
    digital_procedures,
    experienced,
    year_channel_applications,
    record_capacity,
    series,
):
    """Simulate one replication and write its outputs into row ``b`` of the block arrays.

    ``rng`` is the replication's PCG64 generator (:func:`replication_rng`), ``p`` the lowered
    scenario (for the population draw), ``kp`` its kernel view
    (:func:`~simsme.kernel.params.kernel_params`). ``record_capacity``: application records to
    keep (0: none); ``series``: the block's per-step series, filled when it has steps
    (:func:`~simsme.kernel.census.census_row`).

    Returns ``(fits, records' float rows, records' int rows, applications not recorded)``;
    ``fits`` is False when a count does not fit the output's integer type (then the block must
    not be used).
    """
    s = init_state(rng, p, record_capacity)
    keep_series = series.shape[1] > 0
    if keep_series:
        census_row(kp, s, 0, True, series[b, 0])
    for t in range(kp.n_steps):
        step(kp, s, t, rng)
        if keep_series:
            census_row(kp, s, t, False, series[b, t + 1])
    sf, si, sl = s.sf, s.si, s.sl
    for i in range(kp.n_total):
        export_step[b, i] = si[I_EXPORT_STEP, i]
        founded_day[b, i] = sf[F_FOUNDED_DAY, i]
        size_class[b, i] = si[I_SIZE_CLASS, i]
        region[b, i] = si[I_REGION, i]
        mode[b, i] = si[I_MODE, i]
        markets[b, i] = si[I_MARKETS, i]
        for f in range(5):
            applications[b, i, f] = si[I_APPLICATIONS + f, i]
            approvals[b, i, f] = si[I_APPROVALS + f, i]
        wait_days[b, i] = sf[F_WAIT_DAYS, i]
        digital_applications[b, i] = si[I_DIGITAL_APPLICATIONS, i]
        channels_used[b, i] = sl[L_CHANNELS_USED, i]
        channels_adopted[b, i] = sl[L_CHANNELS, i]
        cocreated[b, i] = si[I_COCREATED, i]
        aware_step[b, i] = si[I_AWARE_STEP, i]
        committed_step[b, i] = si[I_COMMITTED_STEP, i]
        procedure_days[b, i] = sf[F_PROCEDURE_DAYS, i]
        procedures[b, i] = si[I_PROCEDURES, i]
        digital_procedures[b, i] = si[I_DIGITAL_PROCEDURES, i]
        experienced[b, i] = si[I_EXPERIENCED, i]
    fits = True
    counts = s.year_channel_applications
    limit = np.iinfo(year_channel_applications.dtype).max
    for y in range(counts.shape[0]):
        for c in range(counts.shape[1]):
            if counts[y, c] > limit:
                fits = False
            year_channel_applications[b, y, c] = min(counts[y, c], limit)
    n = s.c[C_N_RECORDS]
    return fits, s.rec_f[:n].copy(), s.rec_i[:n].copy(), s.c[C_RECORDS_LOST]


def _run_into(block: RunBlock, row: int, arrays: ScenarioArrays, params: Params, seed) -> bool:
    """Run the replication of row ``row``; when it makes more applications than its records
    can hold, run it again (the same draws) with room for all of them."""
    keep = block.app_float[row] is not None
    capacity = record_capacity(arrays.n_total, arrays.n_steps, arrays.step_days) if keep else 0
    while True:
        fits, rec_f, rec_i, lost = _run_once(block, row, arrays, params, seed, capacity)
        if not keep or lost == 0:
            break
        capacity = len(rec_f) + int(lost)
    if keep:
        block.app_float[row] = rec_f
        block.app_int[row] = rec_i
    return fits


def _run_once(block: RunBlock, row: int, arrays, params, seed, capacity: int):
    rng = replication_rng(seed, int(block.replication[row]))
    return run_replication(
        rng,
        arrays,
        params,
        row,
        block.export_step,
        block.founded_day,
        block.size_class,
        block.region,
        block.mode,
        block.markets,
        block.applications,
        block.approvals,
        block.wait_days,
        block.digital_applications,
        block.channels_used,
        block.channels_adopted,
        block.cocreated,
        block.aware_step,
        block.committed_step,
        block.procedure_days,
        block.procedures,
        block.digital_procedures,
        block.experienced,
        block.year_channel_applications,
        capacity,
        block.series,
    )


def memory_needed(arrays: ScenarioArrays, block_size: int, threads: int) -> int:
    """Bytes a run needs: each thread's state, the shared parameters and two blocks of raw
    outputs (one being filled while the caller reads the other).

    Python integers throughout, so the arithmetic cannot overflow at any size.
    """
    n = int(arrays.n_total)
    n_steps, n_channels, n_agencies = (
        int(arrays.n_steps),
        int(arrays.n_channels),
        int(arrays.n_agencies),
    )
    state = n * state_bytes_per_sme(n_channels, float(arrays.mean_degree))
    state += 8 * int(arrays.n_years) * n_channels
    # each thread's application records (kept or not, sized as when kept) and their copy
    state += 2 * record_capacity(n, n_steps, float(arrays.step_days)) * RECORD_BYTES
    params = 8 * n_steps * (n_agencies + n_channels + 3)
    per_rep = n * output_bytes_per_sme() + 4 * int(arrays.n_years) * n_channels
    return threads * state + params + 2 * int(block_size) * per_rep


def check_memory(arrays: ScenarioArrays, block_size: int, threads: int) -> None:
    """Refuse, before any work, a run whose arrays would not fit in available memory (or whose
    indices would not fit the kernel's integer types)."""
    import psutil

    if arrays.n_total >= np.iinfo(np.int32).max:
        raise SimsmeError(
            f"the kernel indexes SMEs with 32-bit integers; {arrays.n_total:,} SMEs (population "
            "and entrants) is too many: reduce population.n_smes or population.entrants_per_year"
        )
    need = memory_needed(arrays, block_size, threads)
    available = psutil.virtual_memory().available
    if need > 0.8 * available:
        raise SimsmeError(
            f"the kernel would need about {need / 2**30:.1f} GiB for {arrays.n_total:,} SMEs "
            f"({threads} threads, blocks of {block_size} replications) but only "
            f"{available / 2**30:.1f} GiB is available: reduce population.n_smes or run with "
            "fewer threads"
        )


def run_blocks(
    arrays: ScenarioArrays,
    replications: int | np.ndarray,
    seed: int | np.random.SeedSequence,
    threads: int | None = None,
    block_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    applications: bool = False,
    series: bool = False,
) -> Iterator[RunBlock]:
    """Run replications on the kernel, yielding blocks of raw outputs in replication order.

    While the caller reads one block, the threads already fill the next, so at most two blocks
    are held here at a time.

    Parameters
    ----------
    arrays: the lowered scenario.
    replications: a count (replications 0..n-1) or an array of replication indices.
    seed: the scenario seed (or a ``SeedSequence`` whose children are the replications).
    threads: worker threads (default: all cores available to this process).
    block_size: replications per yielded block (default: bounded memory, see
        :func:`block_size_for`).
    progress: called with the number of replications finished, as they finish.
    applications: keep every application's record (``RunBlock.app_float`` / ``app_int``).
    series: keep the per-step series (``RunBlock.series``).
    """
    reps = (
        np.arange(replications)
        if np.isscalar(replications)
        else np.asarray(replications, dtype=np.int64)
    )
    threads = threads or default_threads()
    block_size = block_size or block_size_for(
        arrays, len(reps), threads, applications=applications, series=series
    )
    check_memory(arrays, block_size, threads)
    check_uniform()
    params = kernel_params(arrays)

    def work(block: RunBlock, row: int) -> bool:
        fits = _run_into(block, row, arrays, params, seed)
        if progress is not None:
            progress(1)
        return fits

    def submit(start: int) -> tuple[RunBlock, list[Future]]:
        block = RunBlock.empty(arrays, reps[start : start + block_size], applications, series)
        return block, [pool.submit(work, block, row) for row in range(len(block.replication))]

    starts = iter(range(0, len(reps), block_size))
    pool = ThreadPoolExecutor(max_workers=threads)
    pending: deque[tuple[RunBlock, list[Future]]] = deque()
    try:
        first = next(starts, None)
        if first is not None:
            pending.append(submit(first))
        while pending:
            block, futures = pending.popleft()
            fits = all([f.result() for f in futures])
            following = next(starts, None)
            if following is not None:
                pending.append(submit(following))
            if not fits:
                raise SimsmeError(
                    "applications per calendar year and channel exceed the output's 32-bit "
                    "counters: reduce population.n_smes"
                )
            yield block
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
