"""`simsme sensitivity`: Sobol and Morris indices with SALib, on cases with a known answer.

Two kinds of check:

* a known function: the sweep machinery makes the design, the outputs are a linear function of
  the parameters (no model run), so every index is known exactly;
* the model: the readiness threshold gates export (a ready SME is one whose export propensity
  passed it), so it must rank first for TTFE; a free-trade agreement that starts after the
  horizon cannot act at all, so its total index only measures replication noise.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsme.cli import main
from simsme.errors import SimsmeError
from simsme.experiments.sensitivity import analyse, ranking, write_sensitivity
from simsme.experiments.sweep import SweepResults, design_frame, parameter_frame
from simsme.experiments.sweep_spec import read_sweep_file

BASE = """\
name: tiny
population: {n_smes: 150}
time: {horizon_years: 8}
events:
  - {type: free_trade_agreement, start: 2030-01-01, opportunity_multiplier: 1.3}
"""
PARAMS = """\
parameters:
  export_market.base_rate_per_year: {bounds: [0.1, 1.1]}
  behaviour.adoption.rate_per_year: {bounds: [0.1, 1.1]}
  cocreation.bonus: {bounds: [0.1, 1.1]}
"""
COEFFICIENTS = np.array([10.0, 0.0, 1.0])  # y = 10 a + 0 b + 1 c: S = (100, 0, 1) / 101


def flat(text: str) -> str:
    return " ".join(text.split())


def known_results(tmp_path: Path, design: str) -> SweepResults:
    """A sweep folder, in memory, whose outputs are a known linear function of the design."""
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / "known.yaml"
    path.write_text(f"base: base.yaml\nseed: 3\nreplications: 2\ndesign: {design}\n{PARAMS}")
    sweep = read_sweep_file(path)
    points = parameter_frame(sweep)
    x = points[[p.name for p in sweep.parameters]].to_numpy()
    y = x @ COEFFICIENTS
    summary = pd.DataFrame(
        {
            "point": np.repeat(points["point"].to_numpy(), 2),
            "replication": np.tile([0, 1], len(points)),
            "restricted_mean_ttfe_weeks": np.repeat(y, 2),
            "km_median_ttfe_weeks": np.repeat(0.5 + 0 * y, 2),  # constant
            "share_exported": np.repeat(x[:, 2], 2),  # only the third parameter acts
        }
    )
    points.insert(1, "status", "ok")
    manifest = {
        "design": sweep.design_info(),
        "salib_problem": sweep.problem,
        "n_points": sweep.n_points,
        "seed": sweep.seed,
    }
    return SweepResults(tmp_path, manifest, points, summary, design_frame(sweep))


def rows(table: pd.DataFrame, output: str) -> pd.DataFrame:
    return table[table["output"] == output].set_index("parameter")


def test_sobol_indices_of_a_known_linear_function(tmp_path):
    results = known_results(tmp_path, "{kind: sobol, base_samples: 256}")
    result = analyse(results, num_resamples=200)
    table = result.table
    assert list(table.columns) == [
        "output",
        "parameter",
        "method",
        "S1",
        "S1_conf",
        "ST",
        "ST_conf",
    ]
    assert (table["method"] == "sobol").all()
    ttfe = rows(table, "restricted_mean_ttfe_weeks")
    a, b, c = (results.manifest["salib_problem"]["names"][i] for i in range(3))
    # Saltelli/Jansen estimators with N = 256 on a linear function: within 0.05 of the truth.
    assert ttfe.loc[a, "S1"] == pytest.approx(100 / 101, abs=0.05)
    assert ttfe.loc[a, "ST"] == pytest.approx(100 / 101, abs=0.05)
    assert ttfe.loc[c, "ST"] == pytest.approx(1 / 101, abs=0.01)
    # A parameter with no effect: f(A) == f(AB_b) for every row, so its estimates are 0 exactly.
    assert ttfe.loc[b, "ST"] == 0.0 and ttfe.loc[b, "S1"] == 0.0
    assert (ttfe["S1_conf"] >= 0).all() and ttfe.loc[a, "S1_conf"] > 0
    assert ranking(table, "restricted_mean_ttfe_weeks") == [a, c, b]
    share = rows(table, "share_exported")
    assert share.loc[c, "ST"] == pytest.approx(1.0, abs=0.05)
    assert share.loc[a, "ST"] == 0.0
    # A constant output has no variance to share out: skipped with the reason, not a crash.
    assert "km_median_ttfe_weeks" not in set(table["output"])
    assert result.skipped == ["km_median_ttfe_weeks: the same value at every point"]


def test_morris_effects_of_a_known_linear_function(tmp_path):
    results = known_results(tmp_path, "{kind: morris, trajectories: 10, levels: 4}")
    result = analyse(results, outputs=["restricted_mean_ttfe_weeks"], num_resamples=100)
    table = result.table
    assert list(table.columns) == [
        "output",
        "parameter",
        "method",
        "mu_star",
        "mu_star_conf",
        "sigma",
        "mu",
    ]
    ttfe = rows(table, "restricted_mean_ttfe_weeks")
    a, b, c = results.manifest["salib_problem"]["names"]
    # An elementary effect of a linear function is its coefficient times the range (1): exact.
    np.testing.assert_allclose(ttfe.loc[[a, b, c], "mu_star"], [10.0, 0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(ttfe.loc[[a, b, c], "mu"], [10.0, 0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(ttfe["sigma"], 0.0, atol=1e-9)
    path, csv = write_sensitivity(result)
    assert path.name == "sensitivity.parquet" and csv.name == "sensitivity.csv"
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
    assert pd.read_csv(csv)["mu_star"].round(9).tolist() == [10.0, 0.0, 1.0]


MODEL_SWEEP = """\
base: base.yaml
seed: 11
replications: 8
design: {design}
parameters:
  behaviour.export_entry.entry_cost: {{bounds: [0.3, 3.0]}}
  export_market.base_rate_per_year: {{bounds: [0.2, 0.4]}}
  events.0.opportunity_multiplier: {{bounds: [0.5, 3.0]}}
"""
READY = "behaviour.export_entry.entry_cost"
NO_EFFECT = "events.0.opportunity_multiplier"  # the agreement starts after the horizon


def run_cli_sweep(tmp_path: Path, design: str, capsys) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(MODEL_SWEEP.format(design=design))
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "-q"]) == 0, capsys.readouterr().err
    return out


def test_sobol_on_the_model_ranks_the_gate_first_and_the_idle_parameter_near_zero(tmp_path, capsys):
    out = run_cli_sweep(tmp_path, "{kind: sobol, base_samples: 16}", capsys)
    assert main(["sensitivity", str(out)]) == 0
    printed = flat(capsys.readouterr().out)
    assert "restricted_mean_ttfe_weeks (sobol)" in printed and "sensitivity.csv" in printed
    table = pd.read_parquet(out / "sensitivity.parquet")
    # The default outputs; a Kaplan-Meier median beyond the horizon at some point (high gate,
    # few exporters) leaves that output out, with the reason, rather than averaging it short.
    analysed = set(table["output"])
    assert {"restricted_mean_ttfe_weeks", "share_exported"} <= analysed
    assert analysed <= {"restricted_mean_ttfe_weeks", "km_median_ttfe_weeks", "share_exported"}
    assert len(table) == 3 * len(analysed)
    if "km_median_ttfe_weeks" not in analysed:
        assert "skipped km_median_ttfe_weeks" in printed and "beyond the horizon" in printed
    ttfe = rows(table, "restricted_mean_ttfe_weeks")
    assert ranking(table, "restricted_mean_ttfe_weeks")[0] == READY
    assert ranking(table, "share_exported")[0] == READY
    assert ttfe.loc[READY, "ST"] > 0.5
    # No effect at all: what is left is replication noise over 8 replications per point
    # (about 0.01 here), well under 0.1.
    assert ttfe.loc[NO_EFFECT, "ST"] < 0.1
    assert pd.read_csv(out / "sensitivity.csv").shape == table.shape
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["salib_problem"]["names"][0] == READY


def test_morris_on_the_model_ranks_the_gate_first(tmp_path, capsys):
    out = run_cli_sweep(tmp_path, "{kind: morris, trajectories: 8, levels: 4}", capsys)
    # the restricted mean (censoring-aware): the median among exporters moves little with the
    # sunk cost, since a higher cost lets fewer, not slower, SMEs export
    output = "restricted_mean_ttfe_weeks"
    assert main(["sensitivity", str(out), "--output", output, "-q"]) == 0
    table = pd.read_parquet(out / "sensitivity.parquet")
    ttfe = rows(table, output)
    assert ranking(table, output)[0] == READY
    # Elementary effects of the idle parameter are noise only: much smaller than the gate's.
    assert ttfe.loc[NO_EFFECT, "mu_star"] < 0.25 * ttfe.loc[READY, "mu_star"]


def test_sensitivity_refuses_what_it_cannot_analyse(tmp_path, capsys):
    (tmp_path / "base.yaml").write_text("population: {n_smes: 60}\ntime: {horizon_years: 3}\n")
    sweep = tmp_path / "grid.yaml"
    sweep.write_text(
        "base: base.yaml\nreplications: 2\nparameters: {cocreation.bonus: {values: [0.1, 0.2]}}\n"
    )
    out = tmp_path / "grid"
    assert main(["sweep", str(sweep), "--out", str(out), "-q"]) == 0
    assert main(["sensitivity", str(out)]) == 2
    assert "expected 'sobol' or 'morris'" in flat(capsys.readouterr().err)
    assert main(["sensitivity", str(tmp_path / "nowhere")]) == 2
    assert "no manifest.json" in flat(capsys.readouterr().err)

    (tmp_path / "k").mkdir()
    known = known_results(tmp_path / "k", "{kind: sobol, base_samples: 8}")
    with pytest.raises(SimsmeError, match="did you mean 'restricted_mean_ttfe_weeks'"):
        analyse(known, outputs=["restricted_mean_ttfe_week"])
    # A failed point leaves a hole in the Saltelli design: that output is skipped, with the reason.
    known.summary = known.summary[known.summary["point"] != 3]
    known.points.loc[3, "status"] = "failed"
    with pytest.raises(SimsmeError, match="1 failed points"):
        analyse(known, outputs=["restricted_mean_ttfe_weeks"])
