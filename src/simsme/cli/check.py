"""``simsme check-model`` and ``simsme calibrate``: the model against its targets."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simsme.cli.app import app
from simsme.cli.common import console, err_console, fmt, progress_bar
from simsme.errors import SimsmeError

if TYPE_CHECKING:  # imported inside the commands, so that `simsme --help` stays fast
    from simsme.scenario.schema import Scenario

DEFAULT_SCENARIO = Path("scenarios") / "baseline.yaml"

ScenarioArg = Annotated[
    Path | None,
    typer.Argument(
        help="Scenario YAML file (default: scenarios/baseline.yaml if present, else the built-in "
        "defaults)."
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a field: --set population.n_smes=500 (repeatable)."),
]
TargetsOption = Annotated[
    Path | None,
    typer.Option("--targets", help="Targets file (default: the one shipped with simsme)."),
]
PatternsOption = Annotated[
    bool,
    typer.Option(
        "--patterns",
        help="Check the stylised facts of export entry (the patterns file shipped with simsme) "
        "instead of the targets.",
    ),
]
PatternsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--patterns-file",
        help="Patterns file (format of the targets file); implies --patterns.",
    ),
]
CasesOption = Annotated[
    Path | None,
    typer.Option(
        "--cases",
        help="Folder of the case scenarios (company-a.yaml, ...); default: the scenario's folder.",
    ),
]
ThreadsOption = Annotated[
    int | None, typer.Option(help="Kernel threads (default: all cores).", min=1)
]


def _resolve(scenario: Path | None, set_: list[str] | None) -> tuple[Scenario, Path | None]:
    """The checked scenario and the folder where its case scenarios are looked up."""
    from simsme.scenario import load_scenario
    from simsme.scenario.schema import Scenario

    overrides = list(set_ or [])
    if scenario is None and DEFAULT_SCENARIO.is_file():
        scenario = DEFAULT_SCENARIO
    if scenario is None:
        from simsme.scenario.loading import apply_overrides

        return apply_overrides(Scenario(), overrides), None
    return load_scenario(scenario, overrides), scenario.resolve().parent


def _bound(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return fmt(float(value) + 0.0)  # + 0.0: no "-0"


def report_table(table, title: str, caption: str = "", wide: bool = True) -> Table:
    """The check report as a rich table (one row per target; the CSV has every column).

    ``wide=False`` leaves out the interval and pass-band columns (narrow terminals).
    """
    out = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    out.add_column("target", no_wrap=True)
    out.add_column("simulated", justify="right", no_wrap=True)
    if wide:
        out.add_column("95% CI", justify="right", no_wrap=True)
    out.add_column("target", justify="right", no_wrap=True)
    if wide:
        out.add_column("pass band", justify="right", no_wrap=True)
    out.add_column("result")
    styles = {"pass": "green", "fail": "bold red", "n/a": "yellow", "skipped": "yellow"}
    for row in table.itertuples(index=False):
        ci = "-" if _missing(row.ci_low) else f"[{_bound(row.ci_low)}, {_bound(row.ci_high)}]"
        if row.kind == "value":
            expected = f"{fmt(row.target_value)} +/- {fmt(row.tolerance)}"
        else:
            expected = ("> " if row.band_high == math.inf else "< ") + _bound(row.target_value)
        band = (
            "-" if _missing(row.band_low) else f"[{_bound(row.band_low)}, {_bound(row.band_high)}]"
        )
        result = f"[{styles.get(row.result, '')}]{row.result}[/]"
        if row.note and not row.note.startswith(("95% CI", "CI not")):
            result += f" ({row.note})"
        unit = "" if row.unit in ("share", "") else f" ({row.unit})"
        cells = [f"{row.target}{unit}", _bound(row.simulated)]
        cells += [ci, expected, band] if wide else [expected]
        out.add_row(*cells, result)
    return out


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@app.command("check-model")
def check_model_command(
    scenario: ScenarioArg = None,
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="Few replications (the targets file's quick count) with pass rules widened for "
            "them; for CI.",
        ),
    ] = False,
    replications: Annotated[
        int | None,
        typer.Option(
            "--replications", "-n", help="Replications per variant (default 100, quick 10).", min=2
        ),
    ] = None,
    set_: SetOption = None,
    targets: TargetsOption = None,
    patterns: PatternsOption = False,
    patterns_file: PatternsFileOption = None,
    cases: CasesOption = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="Check only this target or pattern (repeatable)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Report table (CSV; JSON next to it). Default "
            "results/check-<name>[-patterns][-quick].csv."
        ),
    ] = None,
    threads: ThreadsOption = None,
) -> None:
    """Run a scenario (baseline by default) and its variants, and compare them with the targets.

    Prints, per target, the simulated value with its 95% confidence interval, the target, the
    pass band and pass or fail; writes the table as CSV and JSON. Exit code 1 when a target fails.
    With --patterns (or --patterns-file) the stylised facts of export entry are checked instead
    of the targets, with the same report and exit codes.
    """
    from simsme.calibration.check import (
        check_model,
        needed_variants,
        select_targets,
        write_report,
    )
    from simsme.calibration.targets import load_targets
    from simsme.results.store import check_output_file

    resolved, case_dir = _resolve(scenario, set_)
    if cases is not None:
        if not cases.is_dir():
            raise SimsmeError(f"--cases: '{cases}' is not a folder")
        case_dir = cases
    checking_patterns = patterns or patterns_file is not None
    if checking_patterns:
        from simsme.calibration.patterns import (
            DEFAULT_PATTERNS,
            check_statistic_names,
            load_patterns,
            variant_statistics,
        )

        if targets is not None:
            raise SimsmeError(
                "--targets: not with --patterns; give a patterns file with --patterns-file"
            )
        loaded = load_patterns(patterns_file)
        check_statistic_names(
            loaded,
            variant_statistics(loaded, resolved, case_dir),
            patterns_file or f"simsme/data/{DEFAULT_PATTERNS}",
        )
    else:
        loaded = load_targets(targets)
    target_set = select_targets(loaded, target)
    if cases is not None:
        _require_case_files(target_set, cases)
    suffix = ("-patterns" if checking_patterns else "") + ("-quick" if quick else "")
    path = check_output_file(  # the report, and its context as JSON next to it
        out or Path("results") / f"check-{resolved.name}{suffix}.csv", "--out", (".json",)
    )
    n = replications or (target_set.replications.quick if quick else target_set.replications.full)
    total = n * len(needed_variants(target_set))
    start = time.perf_counter()
    with progress_bar(total, f"check-model {resolved.name}") as advance:
        report = check_model(
            resolved,
            target_set,
            replications=n,
            quick=quick,
            threads=threads,
            case_dir=case_dir,
            progress=lambda variant, k: advance(k),
        )
    write_report(report, path, resolved)
    mode = "quick" if quick else "full"
    title = (
        f"check-model {resolved.name}: {report.replications} replications per variant "
        f"({mode} mode), {len(report.table)} {'patterns' if checking_patterns else 'targets'}"
    )
    rule = (
        "value targets pass when the mean lies in the pass band (quick mode: widened by the CI "
        "half-width); directions when the 95% CI of the contrast lies beyond the bound"
        + (" (quick mode: when it does not lie wholly on the other side)" if quick else "")
    )
    # every column where stdout is not a terminal (CI logs) or the terminal is wide enough
    shown = console if console.is_terminal else Console(width=140)
    shown.print(report_table(report.table, title, rule, wide=shown.width >= 120))
    skipped = report.table["result"].isin(["skipped", "n/a"]).sum()
    verdict = "FAIL" if not report.passed else ("PASS (incomplete)" if skipped else "PASS")
    console.print(
        f"{verdict}: "
        f"{(report.table['result'] == 'pass').sum()} passed, {len(report.failed)} failed"
        + (f", {skipped} not checked" if skipped else "")
        + f"  ({time.perf_counter() - start:.0f} s; table: {path})"
    )
    if not report.passed:
        raise typer.Exit(1)


def _require_case_files(target_set, cases: Path) -> None:
    """With ``--cases`` given, every case file the targets need must be there."""
    from simsme.calibration.check import needed_variants

    missing = sorted(
        {
            variant.file
            for name, variant in target_set.variants.items()
            if variant.file is not None
            and name in needed_variants(target_set)
            and not (cases / variant.file).is_file()
        }
    )
    if missing:
        raise SimsmeError(
            f"--cases: '{cases}' has no {', '.join(missing)}: expected the case scenarios the "
            "targets compare (or leave out --cases to look next to the scenario)"
        )


@app.command("calibrate")
def calibrate_command(
    scenario: ScenarioArg = None,
    replications: Annotated[
        int, typer.Option("--replications", "-n", help="Replications per evaluation.", min=2)
    ] = 40,
    iterations: Annotated[int, typer.Option(help="Most fitting rounds.", min=1)] = 12,
    set_: SetOption = None,
    targets: TargetsOption = None,
    out: Annotated[
        Path, typer.Option(help="Fitted values as a YAML file of --set overrides.")
    ] = Path("results/calibration.yaml"),
    threads: ThreadsOption = None,
) -> None:
    """Fit the calibrated parameters to the targets (reproducible: fixed seed, fixed rounds).

    Fits the focus-area propensities to the uptake shares (003 Table 1), the direct-export
    threshold to the indirect share (004), the channel-adoption rate to the 2021 online share
    (003 section 4.2) and the sunk cost of a first export to the share of SMEs that export by
    the horizon (docs/evidence.md), one parameter per target, by damped secant steps with
    common random numbers. No parameter is fitted to the case companies: Company A and B are
    predictions that check-model checks. Writes the fitted values; the defaults in
    simsme/scenario/schema.py are these, rounded.
    """
    from simsme.calibration.fit import calibrate, write_fit
    from simsme.calibration.targets import load_targets
    from simsme.results.store import check_output_file

    resolved, _ = _resolve(scenario, set_)
    target_set = load_targets(targets)
    check_output_file(out, "--out", (".json",))  # the values, and the fitting history as JSON

    def log(message: str) -> None:
        err_console.print(message, highlight=False)

    fit = calibrate(
        resolved,
        target_set,
        replications=replications,
        iterations=iterations,
        threads=threads,
        log=log,
    )
    write_fit(fit, out)
    table = Table(title=f"calibrated parameters ({fit.rounds} rounds)", title_justify="left")
    table.add_column("parameter")
    table.add_column("start", justify="right")
    table.add_column("fitted", justify="right")
    for path, value in fit.values.items():
        table.add_row(path, fmt(fit.start[path], 4), fmt(value, 4))
    console.print(table)
    console.print(f"wrote {escape(str(out))}; converged: {fit.converged}")
    if not fit.converged:
        raise typer.Exit(1)
