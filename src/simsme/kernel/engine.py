"""Running replications on the kernel: one compiled loop per replication, many in parallel.

Each replication ``r`` draws from its own ``Generator(PCG64(SeedSequence(seed, spawn_key=(r,))))``
(the ``r``-th child of ``SeedSequence(seed).spawn``), so its results depend only on the scenario,
the seed and ``r``, never on the number of threads or the order in which replications finish.
Replications run on a thread pool; the compiled loop releases the GIL (``nogil=True``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from simsme.errors import SimsmeError
from simsme.kernel.phases import step
from simsme.kernel.state import init_state
from simsme.outputs import RunBlock
from simsme.scenario.lowering import ScenarioArrays

# Bytes of kernel state per SME (arrays in State, with a mean degree of 50 at most) and of raw
# output per SME per replication (RunBlock); used to refuse runs that cannot fit in memory.
STATE_BYTES_PER_SME = 420
OUTPUT_BYTES_PER_SME = 120


def replication_rng(seed: int | np.random.SeedSequence, replication: int) -> np.random.Generator:
    """The independent random stream of one replication."""
    if isinstance(seed, np.random.SeedSequence):
        ss = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, replication))
    else:
        ss = np.random.SeedSequence(seed, spawn_key=(replication,))
    return np.random.Generator(np.random.PCG64(ss))


@njit(cache=True, nogil=True)
def run_replication(
    rng,
    p,
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
    year_channel_applications,
):
    """Simulate one replication and write its outputs into row ``b`` of the block arrays."""
    s = init_state(rng, p)
    for t in range(p.n_steps):
        step(p, s, t, rng)
    export_step[b, :] = s.export_step
    founded_day[b, :] = s.founded_day
    size_class[b, :] = s.size_class
    region[b, :] = s.region
    mode[b, :] = s.mode
    markets[b, :] = s.markets
    applications[b, :, :] = s.applications
    approvals[b, :, :] = s.approvals
    wait_days[b, :] = s.wait_days
    digital_applications[b, :] = s.digital_applications
    channels_used[b, :] = s.channels_used
    channels_adopted[b, :] = s.channels
    cocreated[b, :] = s.cocreated
    aware_step[b, :] = s.aware_step
    year_channel_applications[b, :, :] = s.year_channel_applications


def _run_into(block: RunBlock, row: int, arrays: ScenarioArrays, seed) -> None:
    rng = replication_rng(seed, int(block.replication[row]))
    run_replication(
        rng,
        arrays,
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
        block.year_channel_applications,
    )


def default_threads() -> int:
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )


def memory_needed(arrays: ScenarioArrays, block_size: int, threads: int) -> int:
    """Bytes a run needs: per-thread state plus one block of raw outputs."""
    n = arrays.n_total
    per_sme_state = STATE_BYTES_PER_SME + 8 * arrays.n_channels + 8 * int(arrays.mean_degree)
    per_sme_out = OUTPUT_BYTES_PER_SME
    year_channel = 4 * arrays.n_years * arrays.n_channels
    return threads * n * per_sme_state + block_size * (n * per_sme_out + year_channel)


def check_memory(arrays: ScenarioArrays, block_size: int, threads: int) -> None:
    """Refuse, before any work, a run whose arrays would not fit in available memory."""
    import psutil

    need = memory_needed(arrays, block_size, threads)
    available = psutil.virtual_memory().available
    if need > 0.8 * available:
        raise SimsmeError(
            f"the kernel would need about {need / 2**30:.1f} GiB for {arrays.n_total:,} SMEs "
            f"({threads} threads, blocks of {block_size} replications) but only "
            f"{available / 2**30:.1f} GiB is available: reduce population.n_smes or run with "
            "fewer threads"
        )


def block_size_for(
    arrays: ScenarioArrays, replications: int, threads: int, target_bytes: int = 256 * 2**20
) -> int:
    """Replications per block so that one block's raw outputs stay near ``target_bytes``."""
    per_rep = arrays.n_total * OUTPUT_BYTES_PER_SME + 4 * arrays.n_years * arrays.n_channels
    size = max(1, target_bytes // max(per_rep, 1))
    size = max(size, threads)  # keep every thread busy
    return int(min(replications, size))


def run_blocks(
    arrays: ScenarioArrays,
    replications: int | np.ndarray,
    seed: int | np.random.SeedSequence,
    threads: int | None = None,
    block_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[RunBlock]:
    """Run replications on the kernel, yielding blocks of raw outputs in replication order.

    Parameters
    ----------
    arrays: the lowered scenario.
    replications: a count (replications 0..n-1) or an array of replication indices.
    seed: the scenario seed (or a ``SeedSequence`` whose children are the replications).
    threads: worker threads (default: all cores available to this process).
    block_size: replications per yielded block (default: bounded memory, see
        :func:`block_size_for`).
    progress: called with the number of replications finished, as they finish.
    """
    reps = (
        np.arange(replications)
        if np.isscalar(replications)
        else np.asarray(replications, dtype=np.int64)
    )
    threads = threads or default_threads()
    block_size = block_size or block_size_for(arrays, len(reps), threads)
    check_memory(arrays, block_size, threads)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, len(reps), block_size):
            block = RunBlock.empty(arrays, reps[start : start + block_size])

            def work(row: int, block: RunBlock = block) -> None:
                _run_into(block, row, arrays, seed)
                if progress is not None:
                    progress(1)

            list(pool.map(work, range(len(block.replication))))
            yield block
