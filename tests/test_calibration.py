"""Calibration: the targets file, the check-model rules and command, calibrate, the parameter table.

The kernel-backed tests use the shipped targets and the real scenario library. The one that runs
``simsme check-model --quick`` on the baseline is the CI form of the model's validation (the full
run's figures are in docs/model.md, "Calibration and validation").
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsme.calibration import paramtable
from simsme.calibration.check import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    SKIPPED,
    evaluate,
    variant_scenario,
)
from simsme.calibration.targets import TargetSet, load_targets
from simsme.cli import main
from simsme.errors import ScenarioError
from simsme.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


# --------------------------------------------------------------------------------------------
# The targets file
# --------------------------------------------------------------------------------------------
def test_shipped_targets_cover_model_section_7():
    targets = load_targets()
    by_name = {t.name: t for t in targets.targets}
    table1 = {
        "human_capital": 0.481,
        "financing": 0.393,
        "market_access": 0.020,
        "innovation_technology": 0.043,
        "infrastructure": 0.063,
    }
    for focus, share in table1.items():
        target = by_name[f"uptake_{focus}"]
        assert (target.value, target.tolerance) == (share, 0.03)
        assert target.source.startswith("003_") and "Table 1" in target.where
    assert math.isclose(sum(table1.values()), 1.0)
    online = by_name["online_application_2021"]
    assert (online.statistic, online.value, online.tolerance) == ("digital_share_2021", 0.8, 0.05)
    indirect = by_name["indirect_export_share"]
    assert (indirect.statistic, indirect.value, indirect.tolerance) == ("indirect_share", 0.8, 0.05)
    assert indirect.source.startswith("004_")
    for name in (
        "digital_agencies_more_exporters",
        "mco_delays_conventional_more",
        "cocreation_shortens_ttfe",
        "network_ties_shorten_ttfe",
        "company_b_before_company_a",
    ):
        assert by_name[name].kind == "direction"
    # the difference-in-differences of the movement-control order is balanced
    assert sum(by_name["mco_delays_conventional_more"].contrast.values()) == 0
    assert targets.replications.quick < targets.replications.full


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return path


def test_bad_targets_file_names_the_file_and_the_problem(tmp_path):
    path = _write(
        tmp_path,
        "variants: {scenario: {}}\n"
        "targets:\n"
        "  - {name: a, statistic: share_exported, source: s, where: w, value: 0.5}\n"
        "  - {name: b, statistic: x, source: s, where: w, contrast: {nope: 1}, expect: positive}\n",
    )
    with pytest.raises(ScenarioError) as err:
        load_targets(path)
    text = str(err.value)
    assert str(path) in text
    assert "needs both 'value' and 'tolerance'" in text
    path = _write(
        tmp_path,
        "variants: {scenario: {}}\n"
        "targets:\n"
        "  - {name: b, statistic: x, source: s, where: w, contrast: {nope: 1}, expect: positive}\n",
    )
    with pytest.raises(ScenarioError, match="variant 'nope' is not defined"):
        load_targets(path)
    path = _write(tmp_path, "variants: {scenario: {}}\ntargets: []\ntypo: 1\n")
    with pytest.raises(ScenarioError, match="typo"):
        load_targets(path)


def test_cli_exits_2_on_a_bad_targets_file(tmp_path, capsys):
    path = _write(tmp_path, "targets: 3\n")
    code = main(["check-model", str(SCENARIOS / "baseline.yaml"), "--targets", str(path)])
    assert code == 2
    assert str(path) in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Pass rules (no simulation: per-replication statistics are made up)
# --------------------------------------------------------------------------------------------
RULES = TargetSet.model_validate(
    {
        "variants": {"scenario": {}, "other": {"set": {"population.n_smes": 10}}},
        "targets": [
            {
                "name": "v",
                "statistic": "s",
                "source": "x",
                "where": "y",
                "value": 0.5,
                "tolerance": 0.05,
            },
            {
                "name": "d",
                "statistic": "t",
                "source": "x",
                "where": "y",
                "contrast": {"scenario": 1, "other": -1},
                "expect": "positive",
                "margin": 1.0,
            },
        ],
    }
)


def _stats(s: list[float], t_a: list[float], t_b: list[float]) -> dict[str, pd.DataFrame]:
    reps = np.arange(len(s))
    return {
        "scenario": pd.DataFrame({"replication": reps, "s": s, "t": t_a}),
        "other": pd.DataFrame({"replication": reps, "t": t_b}),
    }


def _result(table: pd.DataFrame, name: str) -> str:
    return table.set_index("target").loc[name, "result"]


def test_value_target_passes_within_tolerance_and_quick_mode_widens_the_band():
    # mean 0.56: outside 0.5 +/- 0.05 ...
    stats = _stats([0.50, 0.62, 0.56, 0.56], [5, 5, 5, 5], [0, 0, 0, 0])
    assert _result(evaluate(RULES, stats, quick=False), "v") == FAIL
    # ... but its 95% CI (half-width about 0.08) overlaps the band: quick mode passes it
    assert _result(evaluate(RULES, stats, quick=True), "v") == PASS
    stats = _stats([0.52, 0.53, 0.51, 0.52], [5, 5, 5, 5], [0, 0, 0, 0])
    row = evaluate(RULES, stats, quick=False).set_index("target").loc["v"]
    assert row["result"] == PASS
    assert row["simulated"] == pytest.approx(0.52)
    assert row["ci_low"] < 0.52 < row["ci_high"]
    assert (row["band_low"], row["band_high"]) == pytest.approx((0.45, 0.55))


def test_direction_target_needs_its_whole_interval_beyond_the_margin():
    # contrast = t_a - t_b per replication; margin 1, expected positive
    clear = _stats([0.5] * 4, [3.0, 3.2, 2.9, 3.1], [0, 0, 0, 0])
    assert _result(evaluate(RULES, clear, quick=False), "d") == PASS
    straddling = _stats([0.5] * 4, [0.0, 3.0, 0.5, 2.5], [0, 0, 0, 0])  # mean 1.5, CI below 1
    assert _result(evaluate(RULES, straddling, quick=False), "d") == FAIL
    assert _result(evaluate(RULES, straddling, quick=True), "d") == PASS
    wrong = _stats([0.5] * 4, [-3.0, -3.2, -2.9, -3.1], [0, 0, 0, 0])
    assert _result(evaluate(RULES, wrong, quick=True), "d") == FAIL


def test_missing_statistics_and_variants_are_reported_not_failed():
    stats = _stats([0.5] * 3, [1] * 3, [0] * 3)
    stats["scenario"] = stats["scenario"].drop(columns="s")
    table = evaluate(RULES, stats, quick=False)
    assert _result(table, "v") == NOT_APPLICABLE
    table = evaluate(RULES, {**stats, "other": None}, quick=False)
    assert _result(table, "d") == SKIPPED


def test_undefined_replications_fail_a_value_target():
    stats = _stats([0.5, np.nan, 0.5], [1] * 3, [0] * 3)
    row = evaluate(RULES, stats, quick=False).set_index("target").loc["v"]
    assert row["result"] == FAIL and "undefined in 1 of 3" in row["note"]


def test_variants_change_the_scenario_as_written():
    targets = load_targets()
    base = Scenario()
    digital = variant_scenario(base, "digital_agencies", targets.variants["digital_agencies"], None)
    assert digital.events[-1].type == "agency_digitalisation" and digital.events[-1].level == 1.0
    shock = variant_scenario(
        base, "mco_dip_smes_shock", targets.variants["mco_dip_smes_shock"], None
    )
    assert shock.time.start_date.isoformat() == "2020-01-01"
    assert shock.behaviour.adoption.rate_per_year == 0.0
    assert shock.population.initial_channels["whatsapp"] == 1.0
    assert [e.type for e in shock.events] == ["movement_control"]
    calm = variant_scenario(base, "mco_dip_smes_calm", targets.variants["mco_dip_smes_calm"], None)
    assert calm.events == [] and calm.population == shock.population
    # case files are looked up in the case folder; without one the variant is skipped
    assert variant_scenario(base, "company_a", targets.variants["company_a"], None) is None
    case = variant_scenario(base, "company_a", targets.variants["company_a"], SCENARIOS)
    assert case.name == "company-a"


# --------------------------------------------------------------------------------------------
# The check on the kernel
# --------------------------------------------------------------------------------------------
def test_check_model_quick_passes_on_the_baseline(tmp_path, capsys, monkeypatch):
    """CI form of the validation: every target of MODEL.md section 7 on the calibrated baseline.

    Quick mode runs 10 replications per variant; its pass rules allow for the wider intervals
    (see the targets file). Exit code 0 means no target failed.
    """
    monkeypatch.chdir(ROOT)  # default scenario scenarios/baseline.yaml, cases next to it
    out = tmp_path / "check.csv"
    code = main(["check-model", "--quick", "--out", str(out)])
    printed = capsys.readouterr().out
    table = pd.read_csv(out)
    assert code == 0, table[["target", "simulated", "result", "note"]].to_string()
    assert "PASS" in printed
    assert set(table["result"]) == {PASS}  # nothing skipped: the case files were found
    assert len(table) == len(load_targets().targets)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["passed"] is True and meta["quick"] is True and meta["replications"] == 10
    # the full-mode rule is met too by the value targets, with room to spare
    values = table[table["kind"] == "value"]
    assert (abs(values["simulated"] - values["target_value"]) <= values["tolerance"]).all()


def test_check_model_exits_1_when_a_target_fails(tmp_path):
    path = _write(
        tmp_path,
        "replications: {full: 3, quick: 2}\n"
        "variants: {scenario: {}}\n"
        "targets:\n"
        "  - {name: impossible, statistic: uptake_human_capital, source: s, where: w,\n"
        "     value: 0.99, tolerance: 0.001}\n",
    )
    out = tmp_path / "check.csv"
    code = main(
        [
            "check-model",
            str(SCENARIOS / "baseline.yaml"),
            "--targets",
            str(path),
            "--quick",
            "--set",
            "population.n_smes=100",
            "--out",
            str(out),
        ]
    )
    assert code == 1
    assert pd.read_csv(out)["result"].tolist() == [FAIL]


# --------------------------------------------------------------------------------------------
# docs/model.md
# --------------------------------------------------------------------------------------------
def test_model_doc_parameter_table_is_up_to_date():
    doc = ROOT / "docs" / "model.md"
    text = doc.read_text(encoding="utf-8")
    assert text == paramtable.render_document(text), (
        "docs/model.md's parameter table is out of date: run "
        "`python -m simsme.calibration.paramtable docs/model.md`"
    )


def test_every_parameter_has_a_meaning_and_a_source():
    rows = paramtable.parameter_rows()
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths))
    assert "behaviour.support.focus_weights" in paths
    assert "agencies[].bureaucracy.site_visit_prob" in paths
    assert "events[movement_control].export_demand" in paths
    assert [p for p in paths if not next(r for r in rows if r["path"] == p)["source"]] == []
    assert [r["path"] for r in rows if not r["meaning"]] == []
    row = next(r for r in rows if r["path"] == "agencies[].capacity_per_week_per_1000_smes")
    assert (
        row["default"].startswith("training_agency: ")
        and row["unit"] == "applications/week per 1,000 SMEs"
    )
    assert next(r for r in rows if r["path"] == "time.horizon_years")["range"] == "(0, 100]"


def test_explicit_cases_folder_must_hold_the_case_scenarios(tmp_path, capsys):
    """Missing case files would leave two targets unchecked and still print PASS."""
    from simsme.cli import main

    assert main(["check-model", "--cases", str(tmp_path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--cases" in err and "company-a.yaml" in err
