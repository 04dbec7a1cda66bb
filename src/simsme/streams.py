"""Replication streams and block sizes, shared by both engines (no numba here).

Replication ``r`` of a run draws from its own ``Generator(PCG64(SeedSequence(seed,
spawn_key=(r,))))`` (the ``r``-th child of ``SeedSequence(seed).spawn``), so its results depend
only on the scenario, the seed and ``r``: never on the engine's threads or workers, the block
size or the order in which replications finish.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np

from simsme.outputs import RunBlock
from simsme.scenario.lowering import ScenarioArrays


def replication_rng(seed: int | np.random.SeedSequence, replication: int) -> np.random.Generator:
    """The independent random stream of one replication."""
    if isinstance(seed, np.random.SeedSequence):
        ss = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, replication))
    else:
        ss = np.random.SeedSequence(seed, spawn_key=(replication,))
    return np.random.Generator(np.random.PCG64(ss))


def default_threads() -> int:
    """Worker threads by default: the cores available to this process."""
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )


def output_bytes_per_sme() -> int:
    """Bytes of raw output (:class:`~simsme.outputs.RunBlock`) per SME per replication."""
    one = RunBlock.empty(SimpleNamespace(n_total=1, n_years=0, n_channels=0), np.zeros(1))
    return sum(
        a.nbytes
        for name, a in vars(one).items()
        if name not in ("replication", "year_channel_applications")
    )


def block_size_for(
    arrays: ScenarioArrays, replications: int, threads: int, target_bytes: int = 256 * 2**20
) -> int:
    """Replications per block so that one block's raw outputs stay near ``target_bytes``."""
    per_rep = arrays.n_total * output_bytes_per_sme() + 4 * arrays.n_years * arrays.n_channels
    size = max(1, target_bytes // max(per_rep, 1))
    size = max(size, threads)  # keep every thread busy
    return int(min(replications, size))
