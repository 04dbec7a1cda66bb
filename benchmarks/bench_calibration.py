"""Benchmark of ``simsme calibrate``: the full calibration's time, and a full parameter recovery.

Two measurements:

1. **Full calibration** (the shipped settings: 24 parameters of priors.yaml, 200 particles, one
   replication of the baseline's 1,000 SMEs per simulation, down to one tolerance): wall time,
   simulations, generations, ESS; the posterior is written where ``--out`` says.
2. **Parameter recovery** (``--recovery``): targets are simulated at known values of all 24
   parameters (the shipped posterior's median, or ``--truth`` quantile of each prior) with
   another seed than the calibration's (four replications: fresh noise), the fitted targets'
   values are replaced by them, and the calibration fits them back. Prints, per parameter, the
   known value, the posterior's 90% interval, whether it holds the value, and the width ratio.

Run: ``python benchmarks/bench_calibration.py [--recovery [--truth Q]] [--bandwidth wide]
[--workers 2] [--out DIR]``.
The numbers depend on the machine; the project's reference is the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def main() -> None:
    from simsme.calibration.abc import AbcSettings, calibrate_abc, fit_targets
    from simsme.calibration.check import run_statistics
    from simsme.calibration.posterior import load_posterior, load_priors
    from simsme.calibration.targets import TargetSet, load_targets
    from simsme.scenario.loading import apply_overrides, load_scenario

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recovery", action="store_true", help="fit targets made at known values")
    parser.add_argument("--truth", type=float, default=None, help="prior quantile of the truth")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--particles", type=int, default=200)
    parser.add_argument("--bandwidth", default="silverman", help="silverman or wide")
    parser.add_argument("--generations", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("results/bench-calibration"))
    args = parser.parse_args()

    scenario = load_scenario(BASELINE)
    priors = load_priors()
    targets = load_targets()
    truth: dict[str, float] = {}
    if args.recovery:
        if args.truth is None:
            truth = load_posterior().median()
        else:
            truth = {p: float(prior.quantile(args.truth)) for p, prior in priors.items()}
        simulated = run_statistics(
            apply_overrides(scenario, list(truth.items())), 4, seed=scenario.seed + 1
        )
        data = targets.model_dump()
        fitted = {t.name for t in fit_targets(targets)}
        for target in data["targets"]:
            if target["name"] in fitted:
                target["value"] = float(np.nanmean(simulated[target["statistic"]]))
        targets = TargetSet.model_validate(data)
    settings = AbcSettings(
        particles=args.particles, generations=args.generations, bandwidth=args.bandwidth
    )
    start = time.perf_counter()
    result = calibrate_abc(
        scenario,
        targets,
        priors,
        settings,
        folder=args.out / ("recovery" if args.recovery else "calibration"),
        workers=args.workers,
        log=print,
    )
    seconds = time.perf_counter() - start
    g = result.generations
    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.workers} workers"
    )
    print(
        f"calibration: {seconds / 60:.1f} min, {len(g)} generations, "
        f"{int(g['simulations'].sum())} simulations, final threshold "
        f"{g['epsilon'].iloc[-1]:.3g} tolerances, ESS {result.posterior.ess():.0f} "
        f"of {len(result.posterior)}; stop: {result.stop_reason}"
    )
    print(g.to_string(index=False))
    widths = result.posterior.widths()
    if truth:
        widths["truth"] = widths["parameter"].map(truth)
        widths["covered"] = (widths["posterior_low"] <= widths["truth"]) & (
            widths["truth"] <= widths["posterior_high"]
        )
        print(
            f"\nrecovery: {int(widths['covered'].sum())} of {len(widths)} known values inside "
            "their 90% posterior intervals"
        )
    print(widths.to_string(index=False, float_format=lambda x: f"{x:.3g}"))


if __name__ == "__main__":
    main()
