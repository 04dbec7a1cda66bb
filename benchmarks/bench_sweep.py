"""Benchmark of the sweep machinery: its per-point overhead, and a large sweep's run time.

Two measurements:

1. **Overhead per point.** The same points are run twice: by the kernel alone
   (:func:`simsme.kernel.engine.run_blocks` on each point's scenario, all cores) and by
   ``simsme sweep`` (local executor, all cores, results committed point by point). The difference
   per point is what the sweep machinery costs: building and validating the point's scenario,
   lowering it, the per-replication tables, the parquet commit and the final assembly. The
   in-worker part (everything but the commit and assembly) is also read from the manifest.
2. **A 1,000-point x 100-replication sweep of a 500-SME scenario** (Latin hypercube over four
   agency parameters, 15 years, weekly steps). By default one shard of it (``--shard 1/100``:
   about 10 points) is run and the whole sweep's time is extrapolated from it, clearly labelled;
   ``--full`` runs all of it.

Run: ``python benchmarks/bench_sweep.py [--full] [--fraction 100] [--repeats 3] [--json F]``.
The numbers depend on the machine; the project's reference is the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"

OVERHEAD_SWEEP = """\
name: bench-overhead
base: {base}
set: {{population.n_smes: {n_smes}, time.horizon_years: {years}}}
seed: 1
replications: {reps}
design: {{kind: grid}}
parameters:
  channels.whatsapp.latency.median_days: {{range: {{start: 0.25, stop: 4, num: {a}}}}}
  agencies.*.bureaucracy.committee_interval_weeks: {{range: {{start: 0, stop: 12, num: {b}}}}}
"""

BIG_SWEEP = """\
name: bench-1000x100
base: {base}
set: {{population.n_smes: 500}}
seed: 2
replications: 100
design: {{kind: lhs, samples: 1000}}
parameters:
  agencies.*.dart.dialogue: {{bounds: [0.1, 0.9]}}
  agencies.*.dart.access: {{bounds: [0.1, 0.9]}}
  agencies.*.bureaucracy.committee_interval_weeks: {{bounds: [0, 13]}}
  agencies.*.capacity_per_week_per_1000_smes: {{bounds: [0.5, 10.0], log: true}}
"""


def warm_kernel() -> float:
    """Load (or compile) the kernel once, so neither measurement pays for it."""
    from simsme.kernel.engine import run_blocks
    from simsme.scenario.loading import load_scenario
    from simsme.scenario.lowering import lower

    start = time.perf_counter()
    scenario = load_scenario(BASELINE, ["population.n_smes=20", "time.horizon_years=1"])
    list(run_blocks(lower(scenario), 2, 0, threads=1))
    return time.perf_counter() - start


def kernel_only(sweep, threads: int) -> float:
    """Wall time of the sweep's points run by the kernel alone (same seeds, all cores)."""
    from simsme.kernel.engine import run_blocks
    from simsme.scenario.loading import apply_overrides
    from simsme.scenario.lowering import lower

    start = time.perf_counter()
    for point in range(sweep.n_points):
        scenario = apply_overrides(sweep.base, sweep.overrides(point), source="<bench>")
        arrays = lower(scenario)
        seq = np.random.SeedSequence(sweep.seed, spawn_key=(point,))
        for _ in run_blocks(arrays, sweep.replications, seq, threads=threads):
            pass
    return time.perf_counter() - start


def measure_overhead(
    tmp: Path, n_smes: int, years: int, reps: int, a: int, b: int, repeats: int
) -> dict:
    from simsme.experiments.sweep import run_sweep
    from simsme.experiments.sweep_spec import read_sweep_file
    from simsme.kernel.engine import default_threads

    path = tmp / f"overhead-{n_smes}-{reps}.yaml"
    path.write_text(
        OVERHEAD_SWEEP.format(base=BASELINE, n_smes=n_smes, years=years, reps=reps, a=a, b=b)
    )
    sweep = read_sweep_file(path)
    threads = default_threads()
    kernels, walls, inside, kernel_cpu, sweep_cpu = [], [], [], [], []
    for i in range(repeats):  # interleaved, best of each: other load on the machine only adds
        cpu = time.process_time()
        kernels.append(kernel_only(sweep, threads))
        kernel_cpu.append(time.process_time() - cpu)
        cpu, start = time.process_time(), time.perf_counter()
        result = run_sweep(sweep, tmp / f"out-overhead-{n_smes}-{reps}-{i}", workers=threads)
        walls.append(time.perf_counter() - start)
        sweep_cpu.append(time.process_time() - cpu)
        timing = result.manifest["timing"]
        inside.append(timing["point_seconds"] - timing["kernel_seconds"])
    kernel, wall = min(kernels), min(walls)
    n = sweep.n_points
    return {
        "points": n,
        "replications": reps,
        "n_smes": n_smes,
        "years": years,
        "cores": threads,
        "kernel_only_wall_s": kernel,
        "sweep_wall_s": wall,
        "kernel_per_point_ms": 1e3 * kernel / n,
        "overhead_per_point_ms": 1e3 * (wall - kernel) / n,
        "overhead_share": (wall - kernel) / kernel,
        "in_worker_overhead_per_point_ms": 1e3 * min(inside) / n,
        "kernel_only_cpu_s": min(kernel_cpu),
        "sweep_cpu_s": min(sweep_cpu),
        "cpu_overhead_per_point_ms": 1e3 * (min(sweep_cpu) - min(kernel_cpu)) / n,
        "repeats": repeats,
    }


def measure_big(tmp: Path, fraction: int, full: bool) -> dict:
    from simsme.experiments.sweep import plan_sweep
    from simsme.experiments.sweep_spec import read_sweep_file
    from simsme.kernel.engine import default_threads

    path = tmp / "big.yaml"
    path.write_text(BIG_SWEEP.format(base=BASELINE))
    start = time.perf_counter()
    sweep = read_sweep_file(path)
    load_s = time.perf_counter() - start
    shard = None if full else f"1/{fraction}"
    plan = plan_sweep(sweep, tmp / "out-big", shard=shard, workers=default_threads())
    points = len(plan.my_points)
    cpu, start = time.process_time(), time.perf_counter()
    result = plan.run()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    per_point = wall / points
    cores = default_threads()
    return {
        "design": "lhs, 1000 points x 100 replications, 500 SMEs x 15 years (weekly steps)",
        "measured": "all points" if full else f"shard 1/{fraction}: {points} of 1000 points",
        "points_run": points,
        "load_and_validate_s": load_s,
        "wall_s": wall,
        "per_point_s": per_point,
        "per_replication_ms": 1e3 * wall / (points * 100),
        "kernel_share": result.manifest["timing"]["kernel_seconds"]
        / max(result.manifest["timing"]["point_seconds"], 1e-9),
        "cpu_s": cpu,
        "cpu_per_replication_ms": 1e3 * cpu / (points * 100),
        "whole_sweep_s": wall if full else load_s + per_point * 1000,
        "whole_sweep_is_extrapolated": not full,
        # On a machine shared with other work, wall time overstates the cost; the CPU time the
        # sweep used, spread over the cores, is what a dedicated machine would take.
        "whole_sweep_dedicated_estimate_s": load_s + (cpu / cores) * (1000 / points),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="run all 1,000 x 100 (slow)")
    parser.add_argument(
        "--fraction", type=int, default=100, help="run shard 1/N of the big sweep (default 100)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="overhead runs to take the best of (default 3)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    report: dict = {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        }
    }
    report["load_average_before"] = os.getloadavg()
    report["kernel_load_s"] = warm_kernel()
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp_name:
        tmp = Path(tmp_name)
        report["overhead_small_points"] = measure_overhead(tmp, 100, 5, 10, 6, 5, args.repeats)
        report["overhead_500_smes"] = measure_overhead(tmp, 500, 15, 20, 2, 2, args.repeats)
        report["big_sweep"] = measure_big(tmp, args.fraction, args.full)
    report["load_average_after"] = os.getloadavg()

    print(f"machine: {report['machine']['cpus']} cores, {report['machine']['platform']}")
    print(
        f"load average before {report['load_average_before'][0]:.2f}, after "
        f"{report['load_average_after'][0]:.2f} (above 0 means other work shared the cores)"
    )
    print(f"kernel load (cache or compile): {report['kernel_load_s']:.1f} s\n")
    print(
        "| points | reps x SMEs x years | kernel alone / point (wall) "
        "| sweep overhead / point (wall) | in the worker | CPU overhead / point |"
    )
    print("|---|---|---|---|---|---|")
    for key in ("overhead_small_points", "overhead_500_smes"):
        r = report[key]
        print(
            f"| {r['points']} | {r['replications']} x {r['n_smes']} x {r['years']} "
            f"| {r['kernel_per_point_ms']:.0f} ms "
            f"| {r['overhead_per_point_ms']:.1f} ms ({100 * r['overhead_share']:.1f}%) "
            f"| {r['in_worker_overhead_per_point_ms']:.1f} ms "
            f"| {r['cpu_overhead_per_point_ms']:.1f} ms |"
        )
    big = report["big_sweep"]
    label = "EXTRAPOLATED from " + big["measured"] if big["whole_sweep_is_extrapolated"] else ""
    print(
        f"\n1,000 points x 100 replications, 500 SMEs: measured {big['points_run']} points in "
        f"{big['wall_s']:.1f} s ({big['per_point_s']:.2f} s/point, "
        f"{big['per_replication_ms']:.0f} ms/replication on all cores, kernel "
        f"{100 * big['kernel_share']:.1f}% of point time)"
    )
    print(
        f"whole sweep: {big['whole_sweep_s'] / 60:.1f} min wall"
        + (f"  [{label}]" if label else "  [measured]")
    )
    print(
        f"CPU used: {big['cpu_per_replication_ms']:.0f} ms per replication; on a dedicated "
        f"{report['machine']['cpus']}-core machine the whole sweep would take about "
        f"{big['whole_sweep_dedicated_estimate_s'] / 60:.1f} min  [ESTIMATE from CPU time]"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
