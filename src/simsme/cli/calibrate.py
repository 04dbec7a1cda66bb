"""``simsme calibrate``: a posterior over the unsourced parameters (ABC-SMC, resumable)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from simsme.cli.app import app
from simsme.cli.check import ScenarioArg, SetOption, TargetsOption, _resolve
from simsme.cli.choices import Bandwidth, Executor
from simsme.cli.common import console, err_console, fmt
from simsme.errors import SimsmeError

INTERRUPTED = 130
#: ``--smoke``: a calibration small enough for CI (a few minutes on two cores): it exercises the
#: whole path (priors, ABC generations, resumable folder, posterior and diagnostics), not a
#: posterior to use.
SMOKE = {"particles": 24, "generations": 3, "replications": 1, "n_smes": 150}


@app.command("calibrate")
def calibrate_command(
    scenario: ScenarioArg = None,
    set_: SetOption = None,
    targets: TargetsOption = None,
    priors: Annotated[
        Path | None,
        typer.Option(help="Priors file (default: the one shipped with simsme, priors.yaml)."),
    ] = None,
    particles: Annotated[
        int, typer.Option(help="Particles per generation (posterior ensemble size).", min=10)
    ] = 200,
    generations: Annotated[int, typer.Option(help="Most generations.", min=1)] = 16,
    replications: Annotated[
        int,
        typer.Option("--replications", "-n", help="Kernel replications per simulation.", min=1),
    ] = 1,
    final_epsilon: Annotated[
        float,
        typer.Option(
            help="Stop when every fitted target is within this many tolerances (the threshold).",
            min=0.01,
        ),
    ] = 1.0,
    min_acceptance: Annotated[
        float, typer.Option(help="Stop when a generation's acceptance rate falls below this.")
    ] = 0.01,
    bandwidth: Annotated[
        Bandwidth,
        typer.Option(
            help="Kernel bandwidth: silverman (the shipped calibration) or wide (twice the "
            "particles' variance: a steadier effective sample size, about 3.4 times the "
            "simulations; use it when the ESS warning appears)."
        ),
    ] = Bandwidth.silverman,
    seed: Annotated[
        int | None, typer.Option(help="Seed of the calibration (default: the scenario's).", min=0)
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (default: all cores).", min=1)
    ] = None,
    executor: Annotated[
        Executor, typer.Option(help="local (processes on this machine) or dask (a dask cluster).")
    ] = Executor.local,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (default with --executor dask: a local one)."),
    ] = None,
    max_minutes: Annotated[
        float | None,
        typer.Option(help="Stop after the generation that passes this many minutes (resumable)."),
    ] = None,
    smoke: Annotated[
        bool,
        typer.Option(
            "--smoke",
            help="A few-minute calibration that exercises the whole path (CI); not a posterior "
            "to use.",
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Calibration folder (default results/calibration-<name>-<key>/); the same "
            "command resumes it."
        ),
    ] = None,
) -> None:
    """Fit every unsourced parameter jointly to the targets, with uncertainty (ABC-SMC).

    Draws the parameters of priors.yaml from their ranges and keeps, generation after
    generation, the parameter sets whose simulated targets (role: fit in targets.yaml) lie
    within a shrinking number of tolerances, down to one tolerance (pyabc's ABC-SMC). Held-out
    targets are never used (check-model --ensemble checks them). Writes the posterior ensemble
    (posterior.parquet: parameter sets with weights) and diagnostics: generations.csv,
    identifiability.csv (prior against posterior width), fitted_targets.csv, marginals.png and
    pairs.png. Interrupted (Ctrl-C, kill), the same command resumes from the last completed
    generation. Exit code 1 when it stops before the threshold.
    """
    from simsme.calibration.abc import AbcSettings, calibrate_abc, ess_warning
    from simsme.calibration.posterior import load_priors
    from simsme.calibration.targets import load_targets

    overrides = list(set_ or [])
    if smoke and (replications != 1 or particles != 200 or generations != 16):
        raise SimsmeError("--smoke: sets --particles, --generations and -n itself; leave them out")
    if smoke:
        overrides = [f"population.n_smes={SMOKE['n_smes']}", *overrides]
        particles, generations = SMOKE["particles"], SMOKE["generations"]
        replications = SMOKE["replications"]
    resolved, _ = _resolve(scenario, overrides)
    target_set = load_targets(targets)
    prior_set = load_priors(priors)
    settings = AbcSettings(
        particles=particles,
        generations=generations,
        replications=replications,
        final_epsilon=final_epsilon,
        min_acceptance=min_acceptance,
        seed=resolved.seed if seed is None else seed,
        bandwidth=str(bandwidth),
    )
    if out is not None and out.exists() and not out.is_dir():
        raise SimsmeError(f"--out: '{out}' is a file; expected a folder")

    def log(message: str) -> None:
        err_console.print(message, highlight=False)

    start = time.perf_counter()
    log(
        f"calibrate {resolved.name}: {len(prior_set)} parameters, "
        f"{len(target_set.by_role('fit'))} fitted targets, {particles} particles, "
        f"{replications} replication(s) of {resolved.population.n_smes} SMEs per simulation"
    )
    try:
        result = calibrate_abc(
            resolved,
            target_set,
            prior_set,
            settings,
            folder=out,
            workers=workers,
            executor=str(executor),
            scheduler=scheduler,
            max_minutes=max_minutes,
            log=log,
        )
    except KeyboardInterrupt:
        err_console.print(
            "interrupted: completed generations are kept; run the same command again to resume"
        )
        raise typer.Exit(INTERRUPTED) from None
    widths = result.posterior.widths()
    table = Table(
        title=f"posterior ({len(result.posterior)} particles, ESS {result.posterior.ess():.0f}, "
        f"generation {result.posterior.meta['generation']}, threshold "
        f"{result.posterior.meta['epsilon']:.3g} tolerances)",
        title_justify="left",
    )
    for column in ("parameter", "prior 90%", "posterior median", "posterior 90%", "width"):
        table.add_column(column, justify="left" if column == "parameter" else "right")
    table.add_column("targets")
    for row in widths.itertuples(index=False):
        table.add_row(
            row.parameter,
            f"[{fmt(row.prior_low)}, {fmt(row.prior_high)}]",
            fmt(row.posterior_median),
            f"[{fmt(row.posterior_low)}, {fmt(row.posterior_high)}]",
            f"{row.width_ratio:.2f}",
            row.verdict,
        )
    console.print(table)
    warning = ess_warning(result.posterior)
    if warning:
        err_console.print(f"warning: {warning}")
    reached = result.posterior.meta["epsilon"] <= settings.final_epsilon
    console.print(
        f"{'done' if reached else 'stopped before the threshold'}: {result.stop_reason} "
        f"({time.perf_counter() - start:.0f} s); posterior and diagnostics in "
        f"{escape(str(result.folder))}",
        soft_wrap=True,
    )
    if smoke:
        console.print("smoke calibration: the whole path ran; its posterior is not one to use")
    elif not reached:
        raise typer.Exit(1)
