"""Posterior predictive checks: ``simsme check-model --ensemble`` (issue 13).

The shipped posterior does not exist yet, so the tests write small synthetic ensembles over two
parameters of the shipped priors. Populations are small (200 SMEs) and draws and replications
few: the tests check the mechanics (which targets, which seeds, which rule), not the model's fit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsme.calibration.check import check_model
from simsme.calibration.patterns import load_patterns
from simsme.calibration.posterior import Posterior, load_priors, write_posterior
from simsme.calibration.predictive import (
    FAIL,
    PASS,
    _row,
    as_held_out,
    predictive_check,
)
from simsme.calibration.targets import TargetSet, load_targets
from simsme.cli import main
from simsme.errors import SimsmeError
from simsme.results.summary import mean_ci
from simsme.scenario import load_scenario
from simsme.scenario.paths import get_value

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
ENTRY_COST = "behaviour.export_entry.entry_cost"
BASE_RATE = "export_market.base_rate_per_year"
PARAMETERS = (ENTRY_COST, BASE_RATE)
SMALL = ["population.n_smes=200"]

# One fitted and two held-out targets: a value and a direction (network ties shorten the time
# to first export), on the checked scenario and one variant.
TARGETS = TargetSet.model_validate(
    {
        "variants": {
            "scenario": {},
            "no_network": {"set": {"population.network.mean_degree": 0.0}},
        },
        "targets": [
            {
                "name": "fitted_uptake",
                "statistic": "uptake_human_capital",
                "source": "s",
                "where": "w",
                "value": 0.481,
                "tolerance": 0.03,
            },
            {
                "name": "medium_share",
                "role": "held_out",
                "statistic": "share_exported_medium",
                "source": "s",
                "where": "w",
                "value": 0.475,
                "tolerance": 0.125,
            },
            {
                "name": "ties_shorten_ttfe",
                "role": "held_out",
                "statistic": "restricted_mean_ttfe_weeks",
                "source": "s",
                "where": "w",
                "contrast": {"scenario": 1, "no_network": -1},
                "expect": "negative",
            },
        ],
    }
)


def _scenario():
    return load_scenario(SCENARIOS / "baseline.yaml", SMALL)


def _posterior(columns: dict[str, np.ndarray]) -> Posterior:
    priors = load_priors()
    n = len(next(iter(columns.values())))
    table = pd.DataFrame(columns).assign(weight=1.0 / n, distance=1.0)
    return Posterior(table, {p: priors[p] for p in PARAMETERS}, {"seed": 1})


def _concentrated(scenario, rows: int = 30) -> Posterior:
    """Every particle at the checked scenario's own values: the draws change nothing."""
    data = scenario.model_dump(mode="json")
    return _posterior({p: np.full(rows, float(get_value(data, p))) for p in PARAMETERS})


def _wide(scenario, rows: int = 30) -> Posterior:
    """The sunk cost spread over its whole prior (0.7-3 years of export profit)."""
    data = scenario.model_dump(mode="json")
    prior = load_priors()[ENTRY_COST]
    return _posterior(
        {
            ENTRY_COST: prior.quantile(np.linspace(0.02, 0.98, rows)),
            BASE_RATE: np.full(rows, float(get_value(data, BASE_RATE))),
        }
    )


@pytest.fixture(scope="module")
def runs():
    """The plain check and the predictive checks at a concentrated and a wide posterior."""
    scenario = _scenario()
    common = {"draws": 4, "replications": 4, "threads": 2}
    return {
        "scenario": scenario,
        "plain": check_model(scenario, TARGETS, replications=4, threads=2),
        "narrow": predictive_check(scenario, TARGETS, _concentrated(scenario), **common),
        "wide": predictive_check(scenario, TARGETS, _wide(scenario), **common),
        "in_sample": predictive_check(
            scenario, TARGETS, _concentrated(scenario), roles=("fit", "held_out"), **common
        ),
    }


def test_only_held_out_targets_by_default(runs):
    assert list(runs["narrow"].table["target"]) == ["medium_share", "ties_shorten_ttfe"]
    assert set(runs["narrow"].table["role"]) == {"held_out"}
    assert list(runs["in_sample"].table["target"]) == [t.name for t in TARGETS.targets]
    with pytest.raises(SimsmeError, match="--in-sample"):
        predictive_check(
            runs["scenario"],
            TARGETS.model_copy(update={"targets": TARGETS.by_role("fit")}),
            _concentrated(runs["scenario"]),
        )


def _plain_values(plain, target) -> np.ndarray:
    """The plain check's per-replication values of ``target`` (a direction: the contrast)."""
    if target.kind == "value":
        return plain.statistics[target.variant][target.statistic].to_numpy(float)
    parts = [
        weight * plain.statistics[v].set_index("replication")[target.statistic]
        for v, weight in target.contrast.items()
    ]
    return pd.concat(parts, axis=1, join="inner").sum(axis=1).to_numpy(float)


def test_concentrated_posterior_reproduces_the_plain_check(runs):
    """A posterior whose every particle is the scenario's own parameter set changes nothing, and
    every draw runs with the scenario's seed: each draw repeats the plain check's replications
    bit for bit. The predictive median is then the plain mean, and the 90% predictive interval
    the Student-t 90% interval of that mean (each draw's se scaled by t_3/z: 2.353 se, not the
    normal 1.645 se). Tolerance 1e-8: only the root finder's xtol of 1e-10 separates them."""
    plain = runs["plain"].table.set_index("target")
    report = runs["in_sample"]
    for row in report.table.itertuples():
        assert row.predictive_median == pytest.approx(plain.loc[row.target, "simulated"], abs=1e-8)
        mine = report.estimates[report.estimates["target"] == row.target]
        assert mine["mean"].nunique() == 1  # the four draws are identical
        t_interval = mean_ci(_plain_values(runs["plain"], TARGETS.get(row.target)), level=0.9)
        assert t_interval["n"] == 4 and row.replications == 4
        assert row.pi_low == pytest.approx(t_interval["ci_low"], abs=1e-8)
        assert row.pi_high == pytest.approx(t_interval["ci_high"], abs=1e-8)
        se = float(mine["se"].iloc[0])  # and so wider than the normal interval of the same se
        assert row.pi_high - row.predictive_median == pytest.approx(2.3534 * se, rel=1e-4)


def test_wider_posterior_gives_wider_interval(runs):
    """The sunk cost over its whole prior moves the share of medium firms that export (fewer
    enter when entry costs three years of profit than 0.7): with the draws' noise shared (same
    seed), the interval must widen well beyond the single parameter set's (factor 1.5)."""
    narrow = runs["narrow"].table.set_index("target").loc["medium_share"]
    wide = runs["wide"].table.set_index("target").loc["medium_share"]
    assert wide.pi_high - wide.pi_low > 1.5 * (narrow.pi_high - narrow.pi_low)
    means = runs["wide"].estimates.query("target == 'medium_share'")["mean"]
    assert means.nunique() == 4  # four different parameter sets


def test_direction_share_of_draws(runs):
    for name in ("narrow", "wide"):
        report = runs[name]
        row = report.table.set_index("target").loc["ties_shorten_ttfe"]
        means = report.estimates.query("target == 'ties_shorten_ttfe'")["mean"].to_numpy()
        assert len(means) == 4 and row.draws == 4 and row.draws_defined == 4
        # expect negative, margin 0: a draw passes when its mean contrast is below 0
        assert row.share_passing == pytest.approx(np.mean(means < 0))
        assert row.result == (PASS if row.share_passing >= 0.9 else FAIL)
        assert (row.band_low, row.band_high) == (-math.inf, 0.0)


def _estimates(means, se=1.0):
    return pd.DataFrame(
        {
            "mean": means,
            "se": se,
            "n": 4,
            "passes": [m < 0 for m in means],
            "note": "",
        }
    )


def test_pass_rules():
    """Directions: at least 90% of draws beyond the margin; values: interval meets the band."""
    direction = TARGETS.get("ties_shorten_ttfe")
    nine = _estimates([-5.0] * 9 + [3.0])
    eight = _estimates([-5.0] * 8 + [3.0, 4.0])
    assert _row(direction, nine, 4)["result"] == PASS
    assert _row(direction, nine, 4)["share_passing"] == pytest.approx(0.9)
    assert _row(direction, eight, 4)["result"] == FAIL
    value = TARGETS.get("medium_share")  # band [0.35, 0.6]
    far = _estimates([0.8, 0.82, 0.81], se=0.01)
    near = _estimates([0.62, 0.64, 0.63], se=0.02)  # no draw in the band, interval touches it
    far["passes"] = near["passes"] = False
    assert _row(value, far, 4)["result"] == FAIL
    row = _row(value, near, 4)
    assert row["result"] == PASS and row["share_passing"] == 0.0 and row["pi_low"] < 0.6
    # ... a pass at the edge (median outside the band) says so; one inside the band does not
    assert row["note"].startswith("at the edge") and "0% of draws pass" in row["note"]
    inside = _estimates([0.5, 0.52, 0.51], se=0.02)
    inside["passes"] = True
    assert _row(value, inside, 4)["note"] == ""


def test_patterns_are_all_held_out():
    patterns = load_patterns()
    assert {t.role for t in as_held_out(patterns).targets} == {"held_out"}
    assert [t.name for t in as_held_out(patterns).targets] == [t.name for t in patterns.targets]


def _write_posterior(path: Path) -> Path:
    write_posterior(_wide(_scenario(), rows=30), path)
    return path


def test_cli_writes_csv_and_json(tmp_path, capsys):
    posterior = _write_posterior(tmp_path / "posterior.parquet")
    out = tmp_path / "ensemble.csv"
    code = main(
        [
            "check-model",
            str(SCENARIOS / "baseline.yaml"),
            "--ensemble",
            str(posterior),
            "--draws",
            "2",
            "-n",
            "2",
            "--set",
            SMALL[0],
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code in (0, 1)  # the model is being calibrated: pass or fail, but a report
    table = pd.read_csv(out)
    held_out = [t.name for t in load_targets().by_role("held_out")]
    assert list(table["target"]) == held_out
    assert set(table["result"]) <= {"pass", "fail"}  # the case files were found next to it
    assert "90% pred. interval" in printed and ("PASS" if code == 0 else "FAIL") in printed
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["draws"] == 2 and meta["replications"] == 2 and meta["passed"] is (code == 0)
    assert len(meta["parameter_sets"]) == 2 and set(meta["parameter_sets"][0]) == set(PARAMETERS)
    assert len(meta["estimates"]) == 2 * len(held_out)


def test_cli_patterns_with_ensemble(tmp_path):
    posterior = _write_posterior(tmp_path / "posterior.parquet")
    out = tmp_path / "patterns.csv"
    args = ["check-model", str(SCENARIOS / "baseline.yaml"), "--patterns"]
    args += ["--target", "size_gradient_medium_small", "--ensemble", str(posterior)]
    args += ["--draws", "2", "-n", "2", "--set", SMALL[0], "--out", str(out)]
    assert main(args) in (0, 1)
    table = pd.read_csv(out)
    assert list(table["target"]) == ["size_gradient_medium_small"]
    assert list(table["role"]) == ["held_out"]


@pytest.mark.parametrize("kind", ["missing", "not_parquet", "no_metadata"])
def test_cli_bad_posterior_exits_2(tmp_path, capsys, kind):
    path = tmp_path / "posterior.parquet"
    if kind == "not_parquet":
        path.write_text("not a parquet file\n")
    elif kind == "no_metadata":
        pd.DataFrame({"weight": [1.0]}).to_parquet(path)
    out = tmp_path / "check.csv"
    code = main(["check-model", "--ensemble", str(path), "--set", SMALL[0], "--out", str(out)])
    assert code == 2
    assert "Traceback" not in capsys.readouterr().err
    assert not out.exists()


def test_cli_ensemble_options_need_ensemble(tmp_path):
    assert main(["check-model", "--draws", "3", "--out", str(tmp_path / "c.csv")]) == 2
    assert main(["check-model", "--in-sample", "--out", str(tmp_path / "c.csv")]) == 2


def test_draws_reach_variants_and_cases_keep_their_own(monkeypatch):
    """Each draw is applied to the checked scenario, to its variants (whose own changes win) and
    to the case scenario, which keeps what its file sets (company-b.yaml: the founder's
    experience, 1.0) and its own seed; the other variants share the checked scenario's seed."""
    import simsme.calibration.predictive as predictive

    founder = "behaviour.export_entry.founder_experience_share"
    degree = "population.network.mean_degree"
    priors = load_priors()
    table = pd.DataFrame({ENTRY_COST: [1.0, 2.0], founder: [0.15, 0.25], "weight": [0.5, 0.5]})
    posterior = Posterior(table, {p: priors[p] for p in (ENTRY_COST, founder)})
    targets = load_targets()
    targets = targets.model_copy(
        update={
            "targets": [
                targets.get("network_ties_shorten_ttfe"),
                targets.get("company_b_ttfe"),
            ]
        }
    )
    seen = []
    real = predictive.run_statistics

    def recording(scenario, replications, seed=None, **kwargs):
        data = scenario.model_dump(mode="json")
        seen.append(
            (scenario.name, seed, *(get_value(data, p) for p in (ENTRY_COST, founder, degree)))
        )
        return real(scenario, replications, seed=seed, **kwargs)

    monkeypatch.setattr(predictive, "run_statistics", recording)
    scenario = _scenario()
    case = load_scenario(SCENARIOS / "company-b.yaml")
    report = predictive_check(
        scenario, targets, posterior, draws=2, replications=2, case_dir=SCENARIOS, threads=2
    )
    assert report.draws == 2 and set(report.table["result"]) <= {PASS, FAIL}
    by_draw = sorted({(s[2], s[3]) for s in seen if s[0] == scenario.name})
    assert by_draw == [(1.0, 0.15), (2.0, 0.25)]  # both variants of the checked scenario
    assert sorted(s[4] for s in seen if s[0] == scenario.name)[:2] == [0.0, 0.0]  # no_network
    assert {s[1] for s in seen if s[0] == scenario.name} == {scenario.seed}
    cases = [s for s in seen if s[0] == case.name]
    assert sorted(s[2] for s in cases) == [1.0, 2.0]  # the sunk cost is drawn ...
    assert {s[3] for s in cases} == {1.0}  # ... the founder's experience is the case's own
    assert {s[1] for s in cases} == {case.seed}


def test_cli_set_paths_are_kept(tmp_path):
    """A parameter set with --set is part of the checked scenario's design: not drawn."""
    posterior = _write_posterior(tmp_path / "posterior.parquet")
    out = tmp_path / "kept.csv"
    args = ["check-model", str(SCENARIOS / "baseline.yaml"), "--ensemble", str(posterior)]
    args += ["--target", "export_entry_rate", "--draws", "2", "-n", "2", "--out", str(out)]
    args += ["--set", SMALL[0], "--set", f"{ENTRY_COST}=1.5"]
    assert main(args) in (0, 1)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["kept_from_scenario"] == [ENTRY_COST]


COMMITTEE = "agencies.*.bureaucracy.committee_interval_weeks"
MISSING_DOCUMENT = "procedures.*.missing_document_prob"


def test_cli_set_star_paths_are_used_in_the_runs(tmp_path, monkeypatch):
    """--set of a drawn `*` parameter is re-applied after each draw: every run of the checked
    scenario and of its variant (no_network) has the user's value in every agency and procedure,
    while the sunk cost is still drawn; the case file (company-b.yaml, which sets neither) runs
    with the draws and without --set, as in the plain check. The report lists both as kept."""
    import simsme.calibration.predictive as predictive

    priors = load_priors()
    drawn = (ENTRY_COST, COMMITTEE, MISSING_DOCUMENT)
    table = pd.DataFrame(
        {ENTRY_COST: [1.0, 2.0], COMMITTEE: [1.0, 10.0], MISSING_DOCUMENT: [0.4, 0.45]}
    ).assign(weight=0.5, distance=1.0)
    posterior = tmp_path / "posterior.parquet"
    write_posterior(Posterior(table, {p: priors[p] for p in drawn}, {"seed": 1}), posterior)
    seen = []
    real = predictive.run_statistics

    def recording(scenario, replications, seed=None, **kwargs):
        data = scenario.model_dump(mode="json")
        seen.append(
            (
                scenario.name,
                get_value(data, ENTRY_COST),
                {a["bureaucracy"]["committee_interval_weeks"] for a in data["agencies"]},
                {p["missing_document_prob"] for p in data["procedures"]},
                get_value(data, "population.network.mean_degree"),
            )
        )
        return real(scenario, replications, seed=seed, **kwargs)

    monkeypatch.setattr(predictive, "run_statistics", recording)
    out = tmp_path / "star.csv"
    args = ["check-model", str(SCENARIOS / "baseline.yaml"), "--ensemble", str(posterior)]
    args += ["--target", "network_ties_shorten_ttfe", "--target", "company_b_ttfe"]
    args += ["--draws", "2", "-n", "2", "--threads", "2", "--out", str(out), "--set", SMALL[0]]
    args += ["--set", f"{COMMITTEE}=7", "--set", f"{MISSING_DOCUMENT}=0.15"]
    assert main(args) in (0, 1)
    baseline = load_scenario(SCENARIOS / "baseline.yaml").name
    checked = [s for s in seen if s[0] == baseline]
    assert len(checked) == 4  # 2 draws x (scenario, no_network)
    assert sorted(s[4] for s in checked)[:2] == [0.0, 0.0]  # the variant ran too
    assert all(s[2] == {7.0} and s[3] == {0.15} for s in checked)  # the user's values, exactly
    assert sorted({s[1] for s in checked}) == [1.0, 2.0]  # the rest is still drawn
    case = load_scenario(SCENARIOS / "company-b.yaml").name
    cases = [s for s in seen if s[0] == case]
    assert sorted((min(s[2]), min(s[3])) for s in cases) == [(1.0, 0.4), (10.0, 0.45)]
    assert all(len(s[2]) == 1 and len(s[3]) == 1 for s in cases)  # one value for every item
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["kept_from_scenario"] == sorted([COMMITTEE, MISSING_DOCUMENT])
