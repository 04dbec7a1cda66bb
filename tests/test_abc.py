"""``simsme calibrate`` (ABC-SMC): reproducibility, resumption, parameter recovery, errors.

Every calibration here is small (a few hundred SMEs, tens of particles, two or three free
parameters) so that the file runs in about a minute on two cores; the full calibration and the
full recovery study are in benchmarks/bench_calibration.py and docs/model.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from simsme.calibration.abc import AbcSettings, calibrate_abc, fit_targets
from simsme.calibration.check import run_statistics
from simsme.calibration.posterior import load_posterior, load_priors
from simsme.calibration.targets import TargetSet, load_targets
from simsme.cli import main
from simsme.errors import SimsmeError
from simsme.scenario.loading import apply_overrides, load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"

# Three parameters the fitted targets inform directly (the sunk cost -> shares exported, the
# direct-export threshold -> indirect share, the financing propensity -> uptake of financing).
FREE = {
    "behaviour.export_entry.entry_cost": {"bounds": [0.7, 3.0], "log": True},
    "export_market.direct_threshold": {"bounds": [0.5, 0.9]},
    "behaviour.support.focus_weights.financing": {"bounds": [0.06, 1.0], "log": True},
}


def _priors_file(tmp_path: Path, free: dict = FREE) -> Path:
    path = tmp_path / "priors.yaml"
    path.write_text(yaml.safe_dump({"parameters": free}, sort_keys=False), encoding="utf-8")
    return path


def _scenario(n_smes: int = 200):
    return load_scenario(BASELINE, [f"population.n_smes={n_smes}"])


def _small(**kw) -> AbcSettings:
    return AbcSettings(**{"particles": 12, "generations": 2, "replications": 1, **kw})


def test_same_posterior_whatever_the_workers(tmp_path):
    """Each job is seeded from the calibration seed (SeedSequence(seed, (1, t, i))), so one
    worker and two give the same ensemble, bit for bit."""
    priors = load_priors(_priors_file(tmp_path))
    scenario, targets = _scenario(120), load_targets()
    one = calibrate_abc(scenario, targets, priors, _small(), tmp_path / "one", workers=1)
    two = calibrate_abc(scenario, targets, priors, _small(), tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(one.posterior.table, two.posterior.table)
    assert list(one.generations["epsilon"]) == list(two.generations["epsilon"])
    assert one.generations["epsilon"].iloc[1] < np.inf  # generation 1 selects


def test_continued_calibration_equals_an_uninterrupted_one(tmp_path):
    """Stopped after two generations and continued to three, a calibration ends with the
    ensemble of one that ran three at once (the threshold is recomputed from the stored
    generations, and generation t's jobs are seeded by t)."""
    priors = load_priors(_priors_file(tmp_path))
    scenario, targets = _scenario(120), load_targets()
    straight = calibrate_abc(
        scenario, targets, priors, _small(generations=3), tmp_path / "a", workers=1
    )
    calibrate_abc(scenario, targets, priors, _small(generations=2), tmp_path / "b", workers=1)
    continued = calibrate_abc(
        scenario, targets, priors, _small(generations=3), tmp_path / "b", workers=1
    )
    assert continued.resumed_from == 2
    pd.testing.assert_frame_equal(straight.posterior.table, continued.posterior.table)


def test_calibration_killed_mid_generation_resumes(tmp_path):
    """A calibration killed (SIGKILL) while a generation runs keeps the completed generations
    and finishes with the same ensemble as an uninterrupted run."""
    priors = _priors_file(tmp_path)
    args = [
        "calibrate", str(BASELINE), "--priors", str(priors), "--set", "population.n_smes=120",
        "--particles", "12", "--generations", "4", "-n", "1", "--workers", "1",
    ]  # fmt: skip
    killed = tmp_path / "killed"
    code = "import sys; from simsme.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args, "--out", str(killed)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import pyabc

    deadline = time.monotonic() + 120
    done = -1
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if (killed / "abc.db").exists():
            try:
                history = pyabc.History("sqlite:///" + str(killed / "abc.db"))
                history.id = 1
                stored = history.max_t
            except Exception:  # the database is being created
                continue
            # max_t is None until the first generation is stored
            done = -1 if stored is None else stored
            if done >= 1:
                break
    assert proc.poll() is None, "the calibration ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert done >= 1
    assert not (killed / "posterior.parquet").exists()  # nothing half-written
    assert main([*args, "--out", str(killed)]) in (0, 1)
    assert main([*args, "--out", str(tmp_path / "straight")]) in (0, 1)
    resumed = load_posterior(killed / "posterior.parquet")
    straight = load_posterior(tmp_path / "straight" / "posterior.parquet")
    pd.testing.assert_frame_equal(resumed.table, straight.table)


def test_a_history_killed_before_its_first_commit_starts_again(tmp_path):
    """pyabc commits the run record before the observed data: a kill between the two leaves a
    history with no population. Resuming it starts the history again (nothing was computed)
    and gives the ensemble of an uninterrupted run, instead of failing on a missing record."""
    import sqlite3

    priors = load_priors(_priors_file(tmp_path))
    scenario, targets = _scenario(120), load_targets()
    settings = _small(generations=1)
    straight = calibrate_abc(scenario, targets, priors, settings, tmp_path / "a", workers=1)
    killed = tmp_path / "b"
    calibrate_abc(scenario, targets, priors, settings, killed, workers=1)
    (killed / "posterior.parquet").unlink()
    with sqlite3.connect(killed / "abc.db") as db:
        assert db.execute("SELECT COUNT(*) FROM abc_smc").fetchone()[0] == 1
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            if table not in ("abc_smc", "version"):
                db.execute(f"DELETE FROM {table}")
    again = calibrate_abc(scenario, targets, priors, settings, killed, workers=1)
    assert again.resumed_from == 0
    pd.testing.assert_frame_equal(straight.posterior.table, again.posterior.table)


def test_parameter_recovery_small(tmp_path):
    """Targets simulated at known values (with another seed than the calibration's, so the fit
    meets fresh noise) are fitted back: every known value lies within its posterior's 90%
    interval, and the targets narrow the sunk cost and the financing propensity (the
    parameters they inform most directly) below 0.7 of their prior's 90% width (five
    generations of 40 particles stop short of the final threshold, so the posterior is still
    wider than a full calibration's; measured 0.56 and 0.2)."""
    truth = {
        "behaviour.export_entry.entry_cost": 1.8,
        "export_market.direct_threshold": 0.65,
        "behaviour.support.focus_weights.financing": 0.4,
    }
    scenario = _scenario(300)
    simulated = run_statistics(
        apply_overrides(scenario, list(truth.items())), 4, seed=scenario.seed + 1, threads=1
    )
    shipped = load_targets()
    fitted = fit_targets(shipped)
    data = shipped.model_dump()
    for target in data["targets"]:
        if target["name"] in {t.name for t in fitted}:
            target["value"] = float(np.nanmean(simulated[target["statistic"]]))
    targets = TargetSet.model_validate(data)
    priors = load_priors(_priors_file(tmp_path))
    result = calibrate_abc(
        scenario,
        targets,
        priors,
        AbcSettings(particles=40, generations=5, replications=1),
        tmp_path / "recovery",
        workers=2,
    )
    widths = result.posterior.widths().set_index("parameter")
    for path, value in truth.items():
        low, high = widths.loc[path, ["posterior_low", "posterior_high"]]
        assert low <= value <= high, (path, value, low, high)
    assert widths.loc["behaviour.export_entry.entry_cost", "width_ratio"] < 0.7
    assert widths.loc["behaviour.support.focus_weights.financing", "width_ratio"] < 0.7


def test_outputs_and_diagnostics_are_written(tmp_path):
    priors = load_priors(_priors_file(tmp_path))
    result = calibrate_abc(
        _scenario(120), load_targets(), priors, _small(), tmp_path / "out", workers=1
    )
    names = {p.name for p in result.folder.iterdir()}
    for name in (
        "posterior.parquet",
        "generations.csv",
        "identifiability.csv",
        "fitted_targets.csv",
        "diagnostics.json",
        "marginals.png",
        "pairs.png",
        "abc.db",
        "calibration.json",
    ):
        assert name in names
    posterior = load_posterior(result.folder / "posterior.parquet")
    assert list(posterior.priors) == list(FREE)
    assert posterior.weights.sum() == pytest.approx(1.0)
    for path, prior in posterior.priors.items():
        values = posterior.table[path]
        assert values.between(prior.low, prior.high).all()
    fitted = pd.read_csv(result.folder / "fitted_targets.csv")
    assert set(fitted["target"]) == {t.name for t in fit_targets(load_targets())}


def test_a_folder_of_another_calibration_is_refused(tmp_path):
    priors = load_priors(_priors_file(tmp_path))
    scenario, targets = _scenario(120), load_targets()
    calibrate_abc(scenario, targets, priors, _small(generations=1), tmp_path / "c", workers=1)
    with pytest.raises(SimsmeError, match="another --out folder"):
        calibrate_abc(scenario, targets, priors, _small(particles=14), tmp_path / "c", workers=1)


def test_a_folder_with_other_files_or_results_is_refused_untouched(tmp_path):
    """The project's results-folder rules hold for a calibration: a folder holding a user's
    file, or simsme's results of another kind, is refused before anything is written."""
    priors = load_priors(_priors_file(tmp_path))
    scenario, targets = _scenario(120), load_targets()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "posterior.parquet").write_text("the user's own file", encoding="utf-8")
    with pytest.raises(SimsmeError, match="did not write"):
        calibrate_abc(scenario, targets, priors, _small(generations=1), mine, workers=1)
    assert sorted(p.name for p in mine.iterdir()) == ["posterior.parquet"]
    assert (mine / "posterior.parquet").read_text(encoding="utf-8") == "the user's own file"
    run = tmp_path / "run"
    assert main(["run", str(BASELINE), "-n", "2", "--set", "population.n_smes=30",
                 "--out", str(run), "--quiet"]) == 0  # fmt: skip
    before = sorted(p.name for p in run.iterdir())
    with pytest.raises(SimsmeError, match="run results, not a calibration"):
        calibrate_abc(scenario, targets, priors, _small(generations=1), run, workers=1)
    assert sorted(p.name for p in run.iterdir()) == before


def test_the_wide_kernel_is_twice_the_variance_and_its_density_is_exact():
    """--bandwidth wide: each parameter's kernel sd is sqrt(2) x the particles' weighted sd
    (Beaumont et al. 2009), wider than Silverman's; either kernel's pdf integrates to 1 over the
    (bounded) range, so the importance weights stay exact (checked on a grid, to 1e-3)."""
    from simsme.calibration.abc import product_kernel

    rng = np.random.default_rng(5)
    particles = pd.DataFrame({"a": rng.uniform(0.2, 0.8, 50), "b": rng.uniform(0.0, 1.0, 50)})
    weights = rng.uniform(0.5, 1.5, 50)
    bounds = {"a": (0.0, 1.0), "b": (0.0, 1.0)}
    kernels = {}
    for rule in ("silverman", "wide"):
        kernel = product_kernel(bounds, rule)
        kernel.fit(particles, weights)
        kernels[rule] = kernel
        grid = np.linspace(0.0005, 0.9995, 1000)
        points = pd.DataFrame({"a": np.repeat(grid, 1000), "b": np.tile(grid, 1000)})
        assert kernel.pdf(points).mean() == pytest.approx(1.0, abs=1e-3)
    w = weights / weights.sum()
    sd = np.sqrt(w @ (particles.to_numpy() - w @ particles.to_numpy()) ** 2)
    np.testing.assert_allclose(kernels["wide"]._h, np.sqrt(2) * sd)
    assert (kernels["silverman"]._h < kernels["wide"]._h).all()
    with pytest.raises(SimsmeError, match="--bandwidth"):
        AbcSettings(bandwidth="narrow")


def test_a_posterior_carried_by_few_particles_is_flagged():
    """ESS = 1 / sum(w^2): 100 equal weights give 100 (no warning); one particle with nearly
    all the weight gives about 1 (below 10% of the particles: a warning naming the ESS)."""
    from simsme.calibration.abc import ess_warning
    from simsme.calibration.posterior import Posterior

    priors = load_priors()
    path = "behaviour.export_entry.entry_cost"
    values = np.linspace(0.8, 2.5, 100)
    even = pd.DataFrame({path: values, "weight": np.full(100, 0.01), "distance": np.zeros(100)})
    assert ess_warning(Posterior(even, {path: priors[path]})) is None
    skewed = even.assign(weight=np.r_[0.99, np.full(99, 0.01 / 99)])
    warning = ess_warning(Posterior(skewed, {path: priors[path]}))
    assert warning is not None and warning.startswith("effective sample size 1 of 100")


def test_only_value_targets_of_the_scenario_can_be_fitted():
    data = load_targets().model_dump()
    for target in data["targets"]:
        if target["name"] == "digital_agencies_sooner":
            target["role"] = "fit"
    with pytest.raises(SimsmeError, match="digital_agencies_sooner"):
        fit_targets(TargetSet.model_validate(data))


def test_held_out_targets_include_the_cases_and_two_population_targets():
    held = {t.name for t in load_targets().by_role("held_out")}
    assert {"company_a_ttfe", "company_b_ttfe", "company_b_before_company_a"} <= held
    assert {"export_entry_rate", "share_exported_medium"} <= held
    fitted = {t.name for t in fit_targets(load_targets())}
    assert not fitted & held


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("parameters: {behaviour.export_entry.entry_cost: {bounds: [3, 1]}}", "low < high"),
        ("parameters: {behaviour.export_entry.nope: {bounds: [0, 1]}}", "nope"),
        ("parameters: {export_market.direct_threshold: {bounds: [0, 2]}}", "direct_threshold"),
        ("parameters: {cocreation.bonus: {bounds: [0, 1], log: true}}", "low > 0"),
    ],
)
def test_bad_priors_file_exits_2_naming_the_field(tmp_path, capsys, text, expected):
    path = tmp_path / "bad-priors.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["calibrate", str(BASELINE), "--priors", str(path), "--smoke"]) == 2
    err = capsys.readouterr().err
    assert "bad-priors.yaml" in err and expected in err
    assert "Traceback" not in err


def test_shipped_priors_cover_the_sobol_sweep_parameters():
    """The priors hold every parameter of the Sobol sweep over unsourced parameters."""
    sweep = yaml.safe_load(
        (ROOT / "scenarios" / "sweeps" / "02-sobol-uncertain-parameters.yaml").read_text()
    )
    priors = load_priors()
    assert set(sweep["parameters"]) <= set(priors)
    assert len(priors) >= 20


def test_cli_smoke_calibration(tmp_path, capsys):
    """`simsme calibrate --smoke` (the CI form): the whole path, the shipped priors and
    targets, a small population; it prints the posterior table and writes the ensemble."""
    out = tmp_path / "smoke"
    assert main(["calibrate", str(BASELINE), "--smoke", "--workers", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "posterior (24 particles" in printed and "smoke calibration" in printed
    posterior = load_posterior(out / "posterior.parquet")
    assert len(posterior) == 24 and len(posterior.priors) == len(load_priors())
    assert posterior.meta["generation"] == 2


def test_defaults_are_the_shipped_posterior_medians():
    """The shipped posterior (simsme/data/posterior.parquet) is the calibration the defaults
    come from: each calibrated default is its parameter's weighted posterior median, rounded to
    two significant digits (docs/model.md s9.3)."""
    from simsme.scenario.paths import expand, get_value
    from simsme.scenario.schema import Scenario

    posterior = load_posterior()
    assert list(posterior.priors) == list(load_priors())
    assert posterior.meta["epsilon"] <= 1.0  # the shipped calibration reached its threshold
    defaults = Scenario().model_dump(mode="json")
    for path, median in posterior.median().items():
        for concrete in expand(defaults, path):
            assert get_value(defaults, concrete) == pytest.approx(float(f"{median:.2g}")), path
