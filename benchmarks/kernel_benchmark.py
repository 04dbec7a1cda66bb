"""Benchmark of the numba kernel against the Mesa reference engine (a script, not a test).

Runs the baseline scenario (``validate_scenario({})``: 1,000 SMEs, 15 years of weekly steps)
with both engines in this one process and prints:

* the machine, and the load on it while measuring (other processes distort timings);
* the kernel's compile time (first call, from an empty numba cache) and its warm time;
* throughput in SME-weeks per second of each engine on one thread, nanoseconds per SME-week of
  the kernel, and the kernel / Mesa ratio;
* scaling with replications (1, 100, 10,000 baseline replications on all cores, outputs
  streamed block by block and reduced) with the peak memory of the process, and with SMEs
  (1,000, 10,000, 100,000);
* where the kernel's time goes: a per-phase profile (``phase_profile.py``).

The last line is ``kernel_vs_mesa_speedup: <number>``.

Usage (from the repository root)::

    python benchmarks/kernel_benchmark.py            # full run, about 5 minutes on 2 cores
    python benchmarks/kernel_benchmark.py --quick    # smaller points, clearly labelled
    python benchmarks/kernel_benchmark.py --warm-cache   # use the usual numba cache

Throughput is measured in CPU seconds of the working threads as well as wall seconds: on a
shared machine the wall clock also counts time the threads spent waiting for a core.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

# The numba cache location must be chosen before numba is imported.
_ARGS = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
_ARGS.add_argument("--quick", action="store_true", help="smaller measurement points")
_ARGS.add_argument(
    "--warm-cache", action="store_true", help="use the usual numba cache (no cold compile)"
)
_ARGS.add_argument("--reps", type=int, default=10_000, help="replications of the target point")
_ARGS.add_argument("--mesa-reps", type=int, default=3, help="Mesa replications of the baseline")
_ARGS.add_argument("--seed", type=int, default=20221116)
ARGS = _ARGS.parse_args()
if not ARGS.warm_cache:
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="simsme-benchmark-numba-")

import numpy as np  # noqa: E402
import psutil  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phase_profile import profile_phases  # noqa: E402

from simsme.kernel import engine  # noqa: E402
from simsme.outputs import RunBlock  # noqa: E402
from simsme.scenario import validate_scenario  # noqa: E402
from simsme.scenario.lowering import lower  # noqa: E402

TARGET_REPS = 10_000
TARGET_SECONDS = 120.0
TARGET_PEAK_GIB = 2.0
TARGET_SPEEDUP = 200.0


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRSS:
        self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)


class Clock:
    """Wall and CPU seconds (all threads of this process) of the block."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def machine() -> None:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numba

    print("== machine")
    print(f"cpu: {cpu}; cores available: {engine.default_threads()}")
    print(f"memory: {gib(psutil.virtual_memory().total)} total")
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"{platform.system()} {platform.release()}"
    )
    print(f"load average at start: {os.getloadavg()[0]:.2f} (other processes share the cores)")


def reduce_block(block: RunBlock) -> tuple[np.ndarray, np.ndarray]:
    """What a study keeps of a block: per replication, share exported and mean TTFE (steps)."""
    exported = block.export_step >= 0
    steps = np.where(exported, block.export_step, 0).sum(axis=1)
    n = exported.sum(axis=1)
    return exported.mean(axis=1), np.divide(steps, n, out=np.full(len(n), np.nan), where=n > 0)


def run_kernel(arrays, reps: int, threads: int | None, seed: int) -> tuple[Clock, PeakRSS, int]:
    """Run ``reps`` replications streaming the blocks; returns timing, peak memory, blocks."""
    shares = []
    n_blocks = 0
    with PeakRSS() as peak, Clock() as clock:
        for block in engine.run_blocks(arrays, reps, seed, threads=threads):
            shares.append(reduce_block(block)[0])
            n_blocks += 1
    assert sum(len(s) for s in shares) == reps
    return clock, peak, n_blocks


def main() -> None:
    machine()
    seed = ARGS.seed
    scenario = validate_scenario({})
    arrays = lower(scenario)
    sme_weeks = arrays.n_total * arrays.n_steps
    print(
        f"baseline: {arrays.n_total:,} SMEs x {arrays.n_steps} weekly steps = "
        f"{sme_weeks:,} SME-weeks per replication"
    )

    print("\n== compile (first call)")
    cache = "usual numba cache" if ARGS.warm_cache else "empty numba cache"
    with Clock() as first:
        list(engine.run_blocks(arrays, 1, seed, threads=1))
    with Clock() as again:
        list(engine.run_blocks(arrays, 1, seed, threads=1))
    print(
        f"first call ({cache}): {first.wall:.1f} s, of which compile ~{first.wall - again.wall:.1f} s"
    )
    print(f"same call once compiled: {again.wall:.2f} s")

    print("\n== one thread, baseline (kernel and Mesa timed in turns, so both see the same load)")
    from simsme.model import run_replication as mesa_replication

    # Numba's compiler leaves many Python objects behind; freeze them out of the garbage
    # collector's way, so that the Mesa engine (which allocates agents) runs as it would in a
    # process of its own.
    gc.collect()
    gc.freeze()
    m_reps = ARGS.mesa_reps
    chunk = 10 if ARGS.quick else 20
    k_wall = k_cpu = m_wall = m_cpu = 0.0
    identical = True
    for r in range(m_reps):
        for _ in range(2):  # a kernel chunk before and after each Mesa replication
            kernel, _, _ = run_kernel(arrays, chunk, 1, seed)
            k_wall, k_cpu = k_wall + kernel.wall, k_cpu + kernel.cpu
        with Clock() as mesa:
            mesa_block = mesa_replication(arrays, seed, r)
        m_wall, m_cpu = m_wall + mesa.wall, m_cpu + mesa.cpu
        (check,) = engine.run_blocks(arrays, np.array([r]), seed, threads=1)
        identical &= all(
            np.array_equal(getattr(check, f), getattr(mesa_block, f))
            for f in RunBlock.__dataclass_fields__
        )
    k_reps = 2 * chunk * m_reps
    k_rate_wall, k_rate_cpu = k_reps * sme_weeks / k_wall, k_reps * sme_weeks / k_cpu
    m_rate_wall, m_rate_cpu = m_reps * sme_weeks / m_wall, m_reps * sme_weeks / m_cpu
    print(
        f"kernel: {k_reps} replications in {k_wall:.2f} s wall ({k_cpu:.2f} s CPU): "
        f"{k_rate_wall:,.0f} SME-weeks/s wall, {k_rate_cpu:,.0f} SME-weeks/s CPU"
    )
    print(
        f"kernel: {1e9 / k_rate_wall:.1f} ns per SME-week wall, "
        f"{1e9 / k_rate_cpu:.1f} ns per SME-week CPU"
    )
    print(
        f"mesa:   {m_reps} replications in {m_wall:.1f} s wall ({m_cpu:.1f} s CPU): "
        f"{m_rate_wall:,.0f} SME-weeks/s wall, {m_rate_cpu:,.0f} SME-weeks/s CPU "
        f"({1e6 / m_rate_cpu:.1f} us per SME-week CPU)"
    )
    print(f"mesa and kernel outputs identical for these replications: {identical}")
    speedup_wall = k_rate_wall / m_rate_wall
    speedup = k_rate_cpu / m_rate_cpu
    print(
        f"kernel / mesa throughput: {speedup:.0f}x (CPU time), {speedup_wall:.0f}x (wall) "
        f"(target >= {TARGET_SPEEDUP:.0f}x)"
    )

    print("\n== scaling with replications (baseline, all cores, blocks streamed and reduced)")
    print(f"{'replications':>12} {'wall s':>9} {'CPU s':>9} {'ns/SME-week':>12} {'peak RSS':>10}")
    target_reps = min(ARGS.reps, 1000) if ARGS.quick else ARGS.reps
    target = None
    for reps in (1, 100, target_reps):
        clock, peak, n_blocks = run_kernel(arrays, reps, None, seed)
        threads = min(engine.default_threads(), reps)
        ns = clock.wall * 1e9 * threads / (reps * sme_weeks)
        print(
            f"{reps:>12,} {clock.wall:>9.2f} {clock.cpu:>9.2f} {ns:>12.1f} {gib(peak.peak):>10}"
            f"  ({n_blocks} blocks, ns per SME-week per thread)"
        )
        if reps == target_reps:
            target = (clock, peak)
    assert target is not None
    clock, peak = target
    projected = clock.wall * TARGET_REPS / target_reps
    label = "measured" if target_reps == TARGET_REPS else f"extrapolated from {target_reps:,}"
    print(
        f"{TARGET_REPS:,} replications: {projected:.1f} s wall ({label}; target <= "
        f"{TARGET_SECONDS:.0f} s), peak RSS {gib(peak.peak)} (target < {TARGET_PEAK_GIB} GiB)"
    )
    cpu_projected = clock.cpu * TARGET_REPS / target_reps / engine.default_threads()
    print(
        f"  on {engine.default_threads()} otherwise idle cores (CPU seconds / cores): "
        f"{cpu_projected:.1f} s"
    )

    print("\n== scaling with SMEs (baseline otherwise, all cores)")
    print(f"{'SMEs':>9} {'replications':>12} {'wall s':>9} {'ns/SME-week':>12} {'peak RSS':>10}")
    sizes = ((1_000, 100), (10_000, 10), (100_000, 2))
    if ARGS.quick:
        sizes = ((1_000, 20), (10_000, 4), (100_000, 2))
    for n_smes, reps in sizes:
        big = lower(validate_scenario({"population": {"n_smes": n_smes}}))
        clock, peak, _ = run_kernel(big, reps, None, seed)
        threads = min(engine.default_threads(), reps)
        ns = clock.wall * 1e9 * threads / (reps * big.n_total * big.n_steps)
        print(f"{n_smes:>9,} {reps:>12} {clock.wall:>9.2f} {ns:>12.1f} {gib(peak.peak):>10}")

    print("\n== where the time goes (one thread, ns per SME-week, baseline)")
    profile = profile_phases(arrays, 10 if ARGS.quick else 20, seed)
    total = sum(profile.values())
    for name, ns in profile.items():
        print(f"{name:>22} {ns:7.2f}  {100 * ns / total:5.1f}%")
    print(f"{'total':>22} {total:7.2f}")

    peak_all = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"\npeak RSS of the whole benchmark process: {gib(peak_all)}")
    print(f"kernel_vs_mesa_speedup: {speedup:.1f}")


if __name__ == "__main__":
    main()
