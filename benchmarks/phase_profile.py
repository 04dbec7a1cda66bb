"""Per-phase profile of the numba kernel: where the time of one replication goes.

A compiled driver runs one replication exactly as :func:`simsme.kernel.engine.run_replication`
does, reading the CPU's cycle counter (``llvm.readcyclecounter``) between phases, so the
profile costs a few cycles per phase and step and covers the production phase functions
themselves. Cycles are converted to seconds with the counter's rate measured against
``time.perf_counter`` over the same run.
"""

from __future__ import annotations

import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from simsme.kernel import phases as P
from simsme.kernel.engine import replication_rng
from simsme.kernel.params import kernel_params
from simsme.kernel.state import init_state
from simsme.scenario.lowering import ScenarioArrays

SECTIONS = ("init_state",) + tuple(
    name
    for name in (
        "apply_events",
        "disseminate",
        "adopt_channels",
        "seek_support",
        "process_applications",
        "deliver_programmes",
        "update_capabilities",
        "enter_exports",
        "observe",
    )
)


@intrinsic
def _cycles(typingctx):
    """The CPU's cycle counter (rdtsc on x86)."""

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return types.int64(), codegen


@njit
def cycles() -> int:
    return _cycles()


@njit
def _profile_replication(rng, p, kp, out):
    c = _cycles()
    s = init_state(rng, p)
    c1 = _cycles()
    out[0] += c1 - c
    c = c1
    for t in range(kp.n_steps):
        P.apply_events(kp, s, t, rng)
        c1 = _cycles()
        out[1] += c1 - c
        c = c1
        P.disseminate(kp, s, t, rng)
        c1 = _cycles()
        out[2] += c1 - c
        c = c1
        P.adopt_channels(kp, s, t, rng)
        c1 = _cycles()
        out[3] += c1 - c
        c = c1
        P.seek_support(kp, s, t, rng)
        c1 = _cycles()
        out[4] += c1 - c
        c = c1
        P.process_applications(kp, s, t, rng)
        c1 = _cycles()
        out[5] += c1 - c
        c = c1
        P.deliver_programmes(kp, s, t, rng)
        c1 = _cycles()
        out[6] += c1 - c
        c = c1
        P.update_capabilities(kp, s, t, rng)
        c1 = _cycles()
        out[7] += c1 - c
        c = c1
        P.enter_exports(kp, s, t, rng)
        c1 = _cycles()
        out[8] += c1 - c
        c = c1
        P.observe(kp, s, t, rng)
        c1 = _cycles()
        out[9] += c1 - c
        c = c1


def profile_phases(arrays: ScenarioArrays, replications: int, seed: int) -> dict[str, float]:
    """Nanoseconds per SME-week spent in each section, over ``replications`` (one thread)."""
    kp = kernel_params(arrays)
    out = np.zeros(len(SECTIONS), np.int64)
    _profile_replication(replication_rng(seed, 0), arrays, kp, out)  # compile
    out[:] = 0
    c0, t0, cpu0 = cycles(), time.perf_counter(), time.thread_time()
    for r in range(replications):
        _profile_replication(replication_rng(seed, r), arrays, kp, out)
    total_cycles = cycles() - c0
    wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
    # cycles count wall time; charge each section its share of this thread's CPU time, so
    # that time the thread spent descheduled (other processes) is not counted
    rate = total_cycles / min(wall, cpu)
    work = replications * arrays.n_total * arrays.n_steps
    return {name: float(c) / rate / work * 1e9 for name, c in zip(SECTIONS, out, strict=True)}
