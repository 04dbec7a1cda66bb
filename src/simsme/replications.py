"""Replications, whichever engine runs them: their random streams and how they are batched.

Replication ``r`` of a scenario seeded ``seed`` draws from its own
``Generator(PCG64(SeedSequence(seed, spawn_key=(r,))))`` (the ``r``-th child of
``SeedSequence(seed).spawn``), so its results depend only on the scenario, the seed and ``r``:
never on the engine, the number of workers, the block size or the order in which replications
finish. Both engines (:mod:`simsme.kernel.engine`, :mod:`simsme.model`) import these functions from
here, so the Mesa engine is usable without importing (and compiling) the kernel.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import numpy as np

from simsme.mechanisms import records as rec
from simsme.outputs import RunBlock, series_width


def replication_seed_sequence(
    seed: int | np.random.SeedSequence, replication: int
) -> np.random.SeedSequence:
    """The seed sequence of one replication: child ``replication`` of ``seed``."""
    if isinstance(seed, np.random.SeedSequence):
        return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, replication))
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def replication_rng(seed: int | np.random.SeedSequence, replication: int) -> np.random.Generator:
    """The independent random stream of one replication."""
    return np.random.Generator(np.random.PCG64(replication_seed_sequence(seed, replication)))


def default_threads() -> int:
    """Workers (threads or processes) by default: the cores available to this process."""
    return max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )


RECORD_BYTES = 8 * rec.RF_ROWS + 4 * rec.RI_ROWS
"""Bytes of one application's record (:mod:`simsme.mechanisms.records`)."""


def output_bytes_per_sme() -> int:
    """Bytes of raw output (:class:`~simsme.outputs.RunBlock`) per SME per replication."""
    one = RunBlock.empty(SimpleNamespace(n_total=1, n_years=0, n_channels=0), np.zeros(1))
    return sum(
        a.nbytes
        for name, a in vars(one).items()
        if isinstance(a, np.ndarray) and name not in ("replication", "year_channel_applications")
    )


def block_size_for(
    arrays: Any,
    replications: int,
    threads: int,
    target_bytes: int = 256 * 2**20,
    applications: bool = False,
    series: bool = False,
) -> int:
    """Replications per block so that one block's raw outputs stay near ``target_bytes``.

    ``arrays`` is the lowered scenario (:class:`~simsme.scenario.lowering.ScenarioArrays`; only
    ``n_total``, ``n_years`` and ``n_channels`` are read).
    """
    per_rep = arrays.n_total * output_bytes_per_sme() + 4 * arrays.n_years * arrays.n_channels
    if applications:  # records: about one per SME and year, plus one (kernel.state)
        per_rep += arrays.n_total * (arrays.n_years + 1) * RECORD_BYTES
    if series:
        n_columns = series_width(arrays.n_agencies, arrays.n_channels)
        per_rep += 8 * (arrays.n_steps + 1) * n_columns
    size = max(1, target_bytes // max(per_rep, 1))
    size = max(size, threads)  # keep every worker busy
    return int(min(replications, size))
