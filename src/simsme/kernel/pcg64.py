"""The inline PCG64 uniform the kernel draws with, and its check against numpy.

The draw itself is :func:`simsme.mechanisms.draws.uniform` (shared with the mechanisms, which
both engines run); :func:`check_uniform` verifies, before the kernel is used, that it reproduces
numpy's own ``rng.random()`` stream with the installed numpy (it reads numpy's PCG64 state
layout directly).
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from simsme.mechanisms.draws import uniform

__all__ = ["check_uniform", "uniform"]


@njit(cache=True)
def _draws(rng, n, inline):
    out = np.empty(n)
    for k in range(n):
        if inline:
            out[k] = uniform(rng)
        else:
            out[k] = rng.random()
        if k % 5 == 0:
            out[k] += 0.0 * rng.standard_normal()  # numpy's own code shares the state
    return out


@functools.cache
def check_uniform() -> None:
    """Raise if :func:`uniform` does not reproduce numpy's PCG64 stream (a numpy change)."""
    a = _draws(np.random.Generator(np.random.PCG64(20221116)), 64, True)
    b = _draws(np.random.Generator(np.random.PCG64(20221116)), 64, False)
    if not np.array_equal(a, b):  # pragma: no cover - depends on numpy internals
        raise RuntimeError(
            "simsme.kernel.pcg64 does not reproduce numpy's PCG64 draws with numpy "
            f"{np.__version__}; the kernel cannot run with this numpy"
        )
