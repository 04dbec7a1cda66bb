"""``simsme check-model``: the model against its targets (``simsme calibrate`` is in
:mod:`simsme.cli.calibrate`)."""

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
from simsme.cli.common import console, fmt, progress_bar
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
            "--replications",
            "-n",
            help="Replications per variant (default 100, quick 10; with --ensemble: per variant "
            "and draw, default 10).",
            min=2,
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
    ensemble: Annotated[
        str | None,
        typer.Option(
            "--ensemble",
            help="Posterior predictive check: draw parameter sets from this posterior (.parquet "
            "written by `simsme calibrate`, or 'default' for the shipped one) and check the "
            "held-out targets (all patterns with --patterns) over them.",
        ),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option("--draws", help="With --ensemble: parameter sets drawn (default 20).", min=1),
    ] = None,
    in_sample: Annotated[
        bool,
        typer.Option(
            "--in-sample", help="With --ensemble: check the fitted targets too (in sample)."
        ),
    ] = False,
) -> None:
    """Run a scenario (baseline by default) and its variants, and compare them with the targets.

    Prints, per target, the simulated value with its 95% confidence interval, the target, the
    pass band and pass or fail; writes the table as CSV and JSON. Exit code 1 when a target fails.
    With --patterns (or --patterns-file) the stylised facts of export entry are checked instead
    of the targets, with the same report and exit codes.

    With --ensemble FILE the check is a posterior predictive one: -n replications (default 10)
    of each variant at each of --draws parameter sets from the posterior, and per held-out
    target its predictive median, 90% predictive interval and the share of draws that pass.
    """
    from simsme.calibration.check import (
        check_model,
        needed_variants,
        select_targets,
        write_report,
    )
    from simsme.calibration.targets import load_targets
    from simsme.results.store import check_output_file

    if ensemble is None and (draws is not None or in_sample):
        raise SimsmeError(f"{'--draws' if draws is not None else '--in-sample'}: needs --ensemble")
    if ensemble is not None and quick:
        raise SimsmeError("--quick: not with --ensemble; set the replications per draw with -n")
    posterior = None
    if ensemble is not None:
        from simsme.calibration.posterior import resolve_ensemble

        posterior = resolve_ensemble(ensemble)  # a bad file stops here, before any run
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
    if posterior is not None:
        _check_ensemble(
            resolved,
            _held_out(target_set) if checking_patterns else target_set,
            posterior,
            str(ensemble),
            _own_mapping(scenario),
            set_ or [],
            draws=draws or 20,
            replications=replications or 10,
            in_sample=in_sample,
            case_dir=case_dir,
            checking_patterns=checking_patterns,
            out=out,
            threads=threads,
        )
        return
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
    _verdict(report, start, path)


def _held_out(target_set):
    """Patterns: nothing is fitted to them, so every one is checked as held out."""
    from simsme.calibration.predictive import as_held_out

    return as_held_out(target_set)


def _own_mapping(scenario: Path | None) -> dict:
    """What the checked scenario file sets itself (its YAML mapping; empty without a file).

    The draws of an ensemble replace only the parameters it leaves at their defaults. The --set
    paths are not marked in it: :func:`_check_ensemble` applies them again after each draw
    (``*`` paths included), as ``simsme run --ensemble`` does."""
    from simsme.scenario.loading import read_yaml

    if scenario is None and DEFAULT_SCENARIO.is_file():
        scenario = DEFAULT_SCENARIO
    raw = read_yaml(scenario, "scenario file") if scenario is not None else {}
    return raw if isinstance(raw, dict) else {}


def _check_ensemble(
    resolved,
    target_set,
    posterior,
    ensemble: str,
    raw: dict,
    set_: list[str],
    draws: int,
    replications: int,
    in_sample: bool,
    case_dir: Path | None,
    checking_patterns: bool,
    out: Path | None,
    threads: int | None,
) -> None:
    """``check-model --ensemble``: the posterior predictive check, its table and exit code.

    ``raw`` is the scenario file's own mapping (:func:`_own_mapping`); the ``--set`` overrides
    ``set_`` (already applied to ``resolved``) are applied again after each draw, so the user's
    values are kept in the checked scenario and its variants (not in case files, which run as
    their files say, as in the plain check): :func:`simsme.calibration.predictive.predictive_check`.
    """
    from simsme.calibration.check import needed_variants
    from simsme.calibration.predictive import (
        RULE,
        predictive_check,
        select_roles,
        write_predictive_report,
    )
    from simsme.results.store import check_output_file
    from simsme.scenario.loading import parse_override

    roles = ("fit", "held_out") if in_sample else ("held_out",)
    checked = select_roles(target_set, roles)
    suffix = ("-patterns" if checking_patterns else "") + "-ensemble"
    path = check_output_file(
        out or Path("results") / f"check-{resolved.name}{suffix}.csv", "--out", (".json",)
    )
    total = draws * replications * len(needed_variants(checked))
    start = time.perf_counter()
    with progress_bar(total, f"check-model {resolved.name} (ensemble)") as advance:
        report = predictive_check(
            resolved,
            checked,
            posterior,
            draws=draws,
            replications=replications,
            case_dir=case_dir,
            roles=roles,
            threads=threads,
            progress=lambda variant, k: advance(k),
            raw=raw,
            overrides=[parse_override(o) for o in set_],
        )
    write_predictive_report(report, path, resolved, ensemble)
    kind = "patterns" if checking_patterns else "targets"
    scope = "in and out of sample" if in_sample else "held out"
    title = (
        f"check-model {resolved.name} --ensemble {ensemble}: {report.draws} draws x "
        f"{report.replications} replications per variant, {len(report.table)} {kind} ({scope})"
    )
    caption = RULE + (
        f"; kept from the scenario, not drawn: {', '.join(report.kept)}" if report.kept else ""
    )
    shown = console if console.is_terminal else Console(width=160)
    shown.print(predictive_table(report.table, title, caption))
    _verdict(report, start, path)


def _verdict(report, start: float, path: Path) -> None:
    """The last line of a check (PASS, PASS (incomplete) or FAIL, with counts, time and table);
    exit code 1 when a target failed."""
    skipped = report.table["result"].isin(["skipped", "n/a"]).sum()
    verdict = "FAIL" if not report.passed else ("PASS (incomplete)" if skipped else "PASS")
    console.print(
        f"{verdict}: "
        f"{(report.table['result'] == 'pass').sum()} passed, {len(report.failed)} failed"
        + (f", {skipped} not checked" if skipped else "")
        + f"  ({time.perf_counter() - start:.0f} s; table: {escape(str(path))})"
    )
    if not report.passed:
        raise typer.Exit(1)


def predictive_table(table, title: str, caption: str = "") -> Table:
    """The predictive check as a rich table: target | role | predictive median | 90% predictive
    interval | target band | share of draws passing | result."""
    out = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    out.add_column("target", no_wrap=True)
    out.add_column("role", no_wrap=True)
    out.add_column("pred. median", justify="right", no_wrap=True)
    out.add_column("90% pred. interval", justify="right", no_wrap=True)
    out.add_column("target band", justify="right", no_wrap=True)
    out.add_column("draws passing", justify="right", no_wrap=True)
    out.add_column("result")
    styles = {"pass": "green", "fail": "bold red", "n/a": "yellow", "skipped": "yellow"}
    for row in table.itertuples(index=False):
        interval = "-" if _missing(row.pi_low) else f"[{_bound(row.pi_low)}, {_bound(row.pi_high)}]"
        if row.kind == "value":
            band = f"[{_bound(row.band_low)}, {_bound(row.band_high)}]"
        else:
            band = ("> " if row.band_high == math.inf else "< ") + _bound(row.target_value)
        share = "-" if _missing(row.share_passing) else f"{row.share_passing:.0%}"
        result = f"[{styles.get(row.result, '')}]{row.result}[/]"
        if isinstance(row.note, str) and row.note:
            result += f" ({escape(row.note)})"
        unit = "" if row.unit in ("share", "") else f" ({row.unit})"
        out.add_row(
            f"{row.target}{unit}",
            row.role,
            _bound(row.predictive_median),
            interval,
            band,
            share,
            result,
        )
    return out


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
