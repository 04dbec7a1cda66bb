"""Runs and comparisons over a posterior ensemble (simsme.experiments.ensemble, issue 13).

Synthetic posteriors over two calibrated parameters stand in for the shipped one; scenarios are
small (200 SMEs, a few draws and replications) so the file runs in well under a minute.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simsme.calibration.posterior import Posterior, load_priors, write_posterior
from simsme.cli import main
from simsme.experiments.ensemble import (
    MEDIAN_DRAW,
    compare_ensemble,
    ensemble_summary,
    run_ensemble,
)

from helpers import small_scenario

COST = "behaviour.export_entry.entry_cost"
INERTIA = "behaviour.export_entry.inertia_per_decade"


def _posterior(costs: np.ndarray, inertias: np.ndarray) -> Posterior:
    priors = load_priors()
    n = len(costs)
    table = pd.DataFrame(
        {
            COST: costs,
            INERTIA: inertias,
            "weight": np.linspace(0.5, 1.5, n),
            "distance": np.zeros(n),
        }
    )
    return Posterior(table, {COST: priors[COST], INERTIA: priors[INERTIA]}, {"synthetic": True})


@pytest.fixture(scope="module")
def wide() -> Posterior:
    """Spread over most of both priors (entry cost 0.8-2.8 years of profit, inertia 0-1)."""
    rng = np.random.default_rng(3)
    return _posterior(rng.uniform(0.8, 2.8, 30), rng.uniform(0.0, 1.0, 30))


@pytest.fixture(scope="module")
def point() -> Posterior:
    """Every particle at the same parameter set."""
    return _posterior(np.full(30, 1.4), np.full(30, 0.5))


@pytest.fixture(scope="module")
def wide_result(wide):
    return run_ensemble(small_scenario(), None, wide, draws=6, replications=5, seed=11)


def _width(low: float, high: float) -> float:
    return high - low


def test_tables_hold_every_draw_and_replication(wide_result):
    stats = wide_result.statistics
    assert sorted(stats["draw"].unique()) == [MEDIAN_DRAW, 0, 1, 2, 3, 4, 5]
    assert len(stats) == 7 * 5
    assert list(wide_result.draws["draw"]) == [MEDIAN_DRAW, 0, 1, 2, 3, 4, 5]
    # common random numbers: every draw runs replications 0..4 of the same seed
    assert (stats.groupby("draw")["replication"].apply(list) == [list(range(5))] * 7).all()


def test_a_wide_posterior_widens_the_interval(wide_result):
    summary = ensemble_summary(wide_result).set_index("metric")
    # the entry cost moves the share exporting and the time to export strongly (Roberts and
    # Tybout 1997): over 0.8-2.8 the parameter interval must contain the stochastic one and be
    # clearly (>= 1.5x) wider; seeds fixed, so this is a deterministic check
    for metric in ("restricted_mean_ttfe_weeks", "share_exported_by_horizon"):
        row = summary.loc[metric]
        assert row["interval_low"] <= row["ci_low"] <= row["median"]
        assert row["median"] <= row["ci_high"] <= row["interval_high"]
        assert _width(row["interval_low"], row["interval_high"]) >= 1.5 * _width(
            row["ci_low"], row["ci_high"]
        )
        assert row["parameter_share"] > 0.5


def test_a_posterior_on_one_point_gives_the_stochastic_interval(point):
    result = run_ensemble(small_scenario(), None, point, draws=3, replications=5, seed=11)
    summary = ensemble_summary(result).set_index("metric")
    # every draw is the median set and runs the same streams: identical replications, so the
    # mixture (errors scaled t/z) is exactly the t interval; 1e-6 relative covers the bisection
    for metric in ("restricted_mean_ttfe_weeks", "share_exported_by_horizon"):
        row = summary.loc[metric]
        assert row["interval_low"] == pytest.approx(row["ci_low"], rel=1e-6)
        assert row["interval_high"] == pytest.approx(row["ci_high"], rel=1e-6)
        assert row["parameter_share"] == 0.0


def test_a_scenario_compared_with_itself_has_no_effect_in_any_draw(wide):
    scenario = small_scenario()
    comparison = compare_ensemble(
        scenario, None, scenario, None, wide, draws=3, replications=3, seed=5
    )
    per_draw = comparison.per_draw
    defined = per_draw["effect"].notna()
    assert defined.sum() >= 3 * 4  # the TTFE and share statistics are defined in every draw
    assert (per_draw.loc[defined, "effect"] == 0.0).all()  # exactly: same streams, same model
    summary = comparison.summary.set_index("metric")
    for metric in ("restricted_mean_ttfe_weeks", "share_exported_by_horizon"):
        row = summary.loc[metric]
        assert row["effect"] == 0.0 and row["ci_low"] == 0.0 and row["ci_high"] == 0.0
        assert abs(row["interval_low"]) < 1e-6 and abs(row["interval_high"]) < 1e-6
        assert row["share_b_better"] == 0.0


def test_the_same_seed_gives_the_same_tables_whatever_the_threads(wide):
    one = run_ensemble(small_scenario(), None, wide, draws=2, replications=4, seed=9, threads=1)
    two = run_ensemble(small_scenario(), None, wide, draws=2, replications=4, seed=9, threads=2)
    pd.testing.assert_frame_equal(one.statistics, two.statistics)
    pd.testing.assert_frame_equal(one.draws, two.draws)


def test_parameters_the_scenario_file_sets_are_kept(wide):
    raw = {"name": "test", "behaviour": {"export_entry": {"entry_cost": 1.1}}}
    scenario = small_scenario({COST: 1.1})
    result = run_ensemble(scenario, raw, wide, draws=2, replications=2, seed=1)
    assert result.kept == [COST]
    comparison = compare_ensemble(
        scenario, raw, small_scenario(), None, wide, draws=2, replications=2, seed=1
    )
    assert comparison.kept == {"A": [COST], "B": []}
    assert any(COST in note for note in comparison.notes)


@pytest.fixture
def files(tmp_path, wide):
    scenario = tmp_path / "small.yaml"
    scenario.write_text("name: small\npopulation:\n  n_smes: 200\n", encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(
        "name: other\npopulation:\n  n_smes: 200\nevents:\n  - type: agency_digitalisation\n"
        "    start: 2010-01-01\n    level: 0.0\n",
        encoding="utf-8",
    )
    posterior = write_posterior(wide, tmp_path / "posterior.parquet")
    return scenario, other, posterior


def test_cli_run_with_an_ensemble_writes_its_folder(files, tmp_path, capsys):
    scenario, _, posterior = files
    out = tmp_path / "ens"
    code = main(
        ["run", str(scenario), "--ensemble", str(posterior), "--draws", "2", "-n", "2"]
        + ["--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "small: 2 posterior draws x 2 replications x 200 SMEs" in printed  # the table title
    for name in ("ensemble.parquet", "draws.parquet", "summary.json", "ensemble.png"):
        assert (out / name).is_file()
    assert len(pd.read_parquet(out / "ensemble.parquet")) == 3 * 2
    summary = json.loads((out / "summary.json").read_text())
    assert summary["draws"] == 2 and summary["replications_per_draw"] == 2


def test_cli_compare_with_an_ensemble(files, tmp_path, capsys):
    scenario, other, posterior = files
    out = tmp_path / "cmp"
    code = main(
        ["compare", str(scenario), str(other), "--ensemble", str(posterior), "--draws", "2"]
        + ["--replications", "2", "--out", str(out), "--json", str(out / "c.json")]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "common random numbers" in " ".join(printed.split())  # the table title
    data = json.loads((out / "c.json").read_text())
    assert {row["metric"] for row in data["summary"]} >= {
        "restricted_mean_ttfe_weeks",
        "share_exported_by_horizon",
    }
    assert (out / "ensemble_small_vs_other.png").is_file()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--ensemble", "{missing}"], "is not a file"),
        (["--ensemble", "{bad}"], "not a parquet file"),
        (["--ensemble", "{posterior}", "--draws", "0"], "--draws"),
        (["--ensemble", "{posterior}", "--engine", "mesa"], "--engine mesa"),
        (["--draws", "3"], "only with --ensemble"),
    ],
)
def test_cli_bad_ensemble_input_exits_2(files, tmp_path, capsys, extra, expected):
    scenario, _, posterior = files
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet", encoding="utf-8")
    names = {"missing": tmp_path / "nope.parquet", "bad": bad, "posterior": posterior}
    args = [a.format(**names) for a in extra]
    code = main(["run", str(scenario), *args, "--out", str(tmp_path / "o"), "-q"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert expected in err
    assert "Traceback" not in err


def test_cli_compare_bad_ensemble_exits_2(files, tmp_path, capsys):
    scenario, other, _ = files
    code = main(["compare", str(scenario), str(other), "--ensemble", str(scenario)])
    assert code == 2
    assert "not a parquet file" in " ".join(capsys.readouterr().err.split())


def test_cli_run_with_an_ensemble_refuses_a_run_folder_before_running(files, tmp_path, capsys):
    scenario, _, posterior = files
    folder = tmp_path / "run"
    assert main(["run", str(scenario), "-n", "2", "--out", str(folder), "-q"]) == 0
    code = main(["run", str(scenario), "--ensemble", str(posterior), "--out", str(folder), "-q"])
    assert code == 2
    assert "holds the results of a run" in " ".join(capsys.readouterr().err.split())
    assert not (folder / "ensemble.parquet").exists()
    assert (folder / "replications.parquet").is_file()  # the run's results are untouched
