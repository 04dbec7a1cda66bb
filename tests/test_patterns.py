"""Population targets and stylised-fact patterns: their statistics, the patterns file and
``simsme check-model --patterns``.

The statistics are checked to the exact value on a hand-made per-SME table; the kernel-backed
tests use small populations (a few hundred SMEs, a few replications), so they check that the
pieces fit together, not that the model reproduces the facts (docs/patterns.md has those
figures).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsme.calibration.patterns import known_statistics, load_patterns
from simsme.calibration.patterns_statistics import (
    PATTERN_STATISTICS,
    WEEKS_PER_YEAR,
    pattern_statistics,
    sme_pattern_statistics,
)
from simsme.calibration.targets import load_targets
from simsme.cli import main
from simsme.scenario.loading import apply_overrides, load_scenario
from simsme.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
W = WEEKS_PER_YEAR
HORIZON_WEEKS = 10 * W
NAN = float("nan")


def _sme_table() -> pd.DataFrame:
    """Two replications, times in years (converted to weeks), horizon 10 years, 1-week steps.

    Replication 0: incumbents a-d (founded before the run), entrants e-h. Replication 1: two
    non-exporting micro incumbents and one micro entrant whose third birthday falls 0.4 weeks
    after the horizon (within half a step: followed).
    """
    late = 7 * W + 0.4  # founding week of the last entrant
    rows = [
        # replication, size, founded (years), exported, ttfe (years), age (years), mode, markets,
        # experienced founder
        (0, "micro", -2, True, 1.0, 3.0, "indirect", 1, False),  # a
        (0, "micro", -5, False, 10.0, NAN, "none", 0, False),  # b
        (0, "small", -1, True, 4.0, 5.0, "indirect", 2, True),  # c
        (0, "small", -3, False, 10.0, NAN, "none", 0, False),  # d
        (0, "medium", 2, True, 2.0, 2.0, "direct", 1, True),  # e: born global
        (0, "medium", 8, True, 1.0, 1.0, "direct", 1, False),  # f: not followed 3 years
        (0, "small", 4, False, 6.0, NAN, "none", 0, False),  # g
        (0, "small", 6, True, 3.5, 3.5, "indirect", 1, False),  # h: exported after 3 years
        (1, "micro", -1, False, 10.0, NAN, "none", 0, False),
        (1, "micro", -4, False, 10.0, NAN, "none", 0, False),
        (1, "micro", late / W, False, (HORIZON_WEEKS - late) / W, NAN, "none", 0, False),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "replication",
            "size_class",
            "founded",
            "exported",
            "ttfe",
            "age_at_first_export_years",
            "export_mode",
            "markets",
            "experienced_founder",
        ],
    )
    frame["size_class"] = pd.Categorical(frame["size_class"], ["micro", "small", "medium"])
    frame["export_mode"] = pd.Categorical(frame["export_mode"], ["none", "indirect", "direct"])
    frame["founded_week"] = frame.pop("founded") * W
    frame["ttfe_weeks"] = frame.pop("ttfe") * W
    return frame


def test_statistics_on_a_hand_made_table():
    stats = sme_pattern_statistics(_sme_table(), HORIZON_WEEKS, step_weeks=1.0)
    assert list(stats.columns) == ["replication", *PATTERN_STATISTICS]
    r0 = stats.set_index("replication").loc[0]
    expected = {
        "share_exported_by_horizon": 5 / 8,
        "share_exported_micro": 1 / 2,
        "share_exported_small": 2 / 4,
        "share_exported_medium": 2 / 2,
        # 5 first exports over 1 + 10 + 4 + 10 + 2 + 1 + 6 + 3.5 = 37.5 SME-years at risk
        "export_entry_rate_per_year": 5 / 37.5,
        "born_global_share": 1 / 3,  # e of the followed entrants e, g, h
        "single_market_share": 4 / 5,  # c went to two markets
        "indirect_share_micro": 1.0,
        "indirect_share_small": 1.0,
        "indirect_share_medium": 0.0,
        "indirect_drop_micro_to_medium": 1.0,
        "median_age_at_first_export_years": 3.0,  # ages 1, 2, 3, 3.5, 5
        # Kaplan-Meier with delayed entry (incumbents enter at their age at the start): at ages
        # 1, 2, 3, 3.5, 5 the risk sets hold 4, 4, 4, 4, 3 SMEs with one first export each, so
        # F = 1/4, 7/16, ... up to 1 - 27/128 = 101/128; half of it (0.39) is passed at age 2
        "km_median_age_at_first_export_years": 2.0,
        "size_gradient_medium_small": 2.0,
        "size_gradient_small_micro": 1.0,
        # experienced c, e: 2 exports in 6 years; others: 3 in 31.5 years
        "experienced_founder_hazard_ratio": (2 / 6) / (3 / 31.5),
    }
    for name, value in expected.items():
        assert r0[name] == pytest.approx(value, rel=1e-12), name
    r1 = stats.set_index("replication").loc[1]
    assert r1["share_exported_by_horizon"] == 0.0
    assert r1["share_exported_micro"] == 0.0
    assert r1["export_entry_rate_per_year"] == 0.0
    assert r1["born_global_share"] == 0.0  # the late entrant counts as followed (slack)
    for name in (  # undefined, not zero: no such SMEs
        "share_exported_small",
        "share_exported_medium",
        "single_market_share",
        "indirect_share_micro",
        "indirect_drop_micro_to_medium",
        "median_age_at_first_export_years",
        "km_median_age_at_first_export_years",
        "size_gradient_medium_small",
        "size_gradient_small_micro",
        "experienced_founder_hazard_ratio",
    ):
        assert math.isnan(r1[name]), name


def test_late_entrant_beyond_half_a_step_is_not_followed():
    table = _sme_table()
    table = table[table["replication"] == 1].copy()
    late = table["founded_week"] > 0
    table.loc[late, "founded_week"] += 0.2  # third birthday 0.6 weeks after the horizon
    stats = sme_pattern_statistics(table, HORIZON_WEEKS, step_weeks=1.0)
    assert math.isnan(stats.loc[0, "born_global_share"])


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="markets"):
        sme_pattern_statistics(_sme_table().drop(columns="markets"), HORIZON_WEEKS)


def test_kernel_statistics_agree_with_the_replication_table():
    """On a real run: the per-SME statistics match the replication table's own definitions."""
    from simsme.calibration.statistics import replication_statistics
    from simsme.kernel.engine import run_blocks
    from simsme.scenario.lowering import lower

    scenario = apply_overrides(
        load_scenario(SCENARIOS / "baseline.yaml"),
        [("population.n_smes", 200), ("population.entrants_per_year", 0.05)],
    )
    arrays = lower(scenario)
    for block in run_blocks(arrays, 3, scenario.seed):
        table = replication_statistics(block, arrays, scenario.time.start_date.year)
        own = pattern_statistics(block, arrays)
        assert set(PATTERN_STATISTICS) <= set(table.columns)
        np.testing.assert_allclose(table["share_exported_by_horizon"], table["share_exported"])
        np.testing.assert_allclose(table["born_global_share"], table["share_exported_within_3y"])
        np.testing.assert_allclose(
            own["export_entry_rate_per_year"], table["export_entry_rate_per_year"]
        )


# --------------------------------------------------------------------------------------------
# The files
# --------------------------------------------------------------------------------------------
def test_patterns_file_loads_and_names_known_statistics():
    patterns = load_patterns()
    assert len(patterns.targets) >= 6
    known = set(known_statistics(Scenario()))
    for pattern in patterns.targets:
        assert pattern.statistic in known, pattern.name
        assert pattern.source and pattern.where
        if pattern.kind == "value":
            assert pattern.tolerance > 0
    # no pattern duplicates a target: the facts are checked, not fitted
    targets = {t.name for t in load_targets().targets}
    assert not targets & {p.name for p in patterns.targets}


def test_population_targets_are_in_the_targets_file():
    by_name = {t.name: t for t in load_targets().targets}
    for name, statistic in (
        ("share_exported_by_horizon", "share_exported_by_horizon"),
        ("export_entry_rate", "export_entry_rate_per_year"),
        ("share_exported_micro", "share_exported_micro"),
        ("share_exported_small", "share_exported_small"),
        ("share_exported_medium", "share_exported_medium"),
    ):
        target = by_name[name]
        assert target.statistic == statistic and target.kind == "value"
        assert target.source and target.tolerance > 0
    # the size classes' ranges are ordered micro < small < medium
    low = [by_name[f"share_exported_{s}"] for s in ("micro", "small", "medium")]
    assert low[0].value < low[1].value < low[2].value
    # Company A and B stay targets
    assert {"company_a_ttfe", "company_b_ttfe"} <= set(by_name)


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------
def test_check_model_patterns_quick_end_to_end(tmp_path, capsys):
    out = tmp_path / "patterns.csv"
    code = main(
        [
            "check-model",
            str(SCENARIOS / "baseline.yaml"),
            "--patterns",
            "--quick",
            "-n",
            "3",
            "--set",
            "population.n_smes=200",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code in (0, 1)  # the model is being rewritten: pass or fail, but a report
    table = pd.read_csv(out)
    assert list(table["target"]) == [p.name for p in load_patterns().targets]
    assert set(table["result"]) <= {"pass", "fail"}  # every statistic was computed
    assert ("PASS" if code == 0 else "FAIL") in printed and "patterns" in printed
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["passed"] is (code == 0) and meta["replications"] == 3


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "patterns.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (  # a field missing
            "variants: {scenario: {}}\n"
            "targets:\n"
            "  - {name: p, statistic: share_exported_by_horizon, where: w, value: 0.3,\n"
            "     tolerance: 0.1}\n",
            "targets[0].source",
        ),
        (  # a statistic no check computes
            "variants: {scenario: {}}\n"
            "targets:\n"
            "  - {name: p, statistic: share_exported_by_horizn, source: s, where: w,\n"
            "     value: 0.3, tolerance: 0.1}\n",
            "targets.p.statistic",
        ),
    ],
)
def test_bad_patterns_file_exits_2_naming_file_and_field(tmp_path, capsys, text, field):
    path = _write(tmp_path, text)
    code = main(
        [
            "check-model",
            str(SCENARIOS / "baseline.yaml"),
            "--patterns-file",
            str(path),
            "--quick",
            "--out",
            str(tmp_path / "c.csv"),
        ]
    )
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert code == 2
    assert "patterns.yaml" in err and field in err
    assert not (tmp_path / "c.csv").exists()


def test_patterns_and_targets_options_do_not_mix(tmp_path, capsys):
    code = main(["check-model", "--patterns", "--targets", str(tmp_path / "t.yaml")])
    assert code == 2
    assert "--patterns-file" in capsys.readouterr().err


def test_a_statistic_of_a_variant_only_is_known(tmp_path):
    """``digital_share_<year>`` columns follow the dates: a variant that moves them brings its own."""
    path = _write(
        tmp_path,
        "replications: {full: 3, quick: 2}\n"
        "variants:\n"
        "  scenario: {}\n"
        "  later: {set: {time.start_date: 2030-01-01, time.horizon_years: 2}}\n"
        "targets:\n"
        "  - {name: p, statistic: digital_share_2031, variant: later, source: s, where: w,\n"
        "     value: 0.5, tolerance: 0.5}\n",
    )
    out = tmp_path / "c.csv"
    code = main(
        [
            "check-model",
            str(SCENARIOS / "baseline.yaml"),
            "--patterns-file",
            str(path),
            "--quick",
            "--set",
            "population.n_smes=50",
            "--out",
            str(out),
        ]
    )
    assert code in (0, 1)
    assert pd.read_csv(out)["target"].tolist() == ["p"]
