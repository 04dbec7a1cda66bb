"""`simsme run`: the results folder, reproducibility, atomic writes and resuming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsme.cli import main
from simsme.errors import SimsmeError
from simsme.experiments.run import chunk_size_for, run_scenario
from simsme.outputs import OUTPUT_VERSION
from simsme.scenario.schema import FOCUS_AREAS

from helpers import small_scenario

SME_COLUMNS = {
    "replication",
    "sme",
    "size_class",
    "ttfe_weeks",
    "exported",
    "censored",
    "age_at_first_export_years",
    "export_mode",
    "markets",
    "applications",
    "approvals",
    "weeks_waiting",
    "channels_used",
    *(f"applications_{f}" for f in FOCUS_AREAS),
    *(f"approvals_{f}" for f in FOCUS_AREAS),
}


def tiny(**overrides):
    base = {"population.n_smes": 120, "time.horizon_years": 6, "replications": 6}
    base.update(overrides)
    return small_scenario(base)


def read_tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in ("smes", "replications", "channel_mix")
    }


def test_cli_run_writes_the_results_folder(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: tiny\npopulation: {n_smes: 120, entrants_per_year: 0.1}\ntime: {horizon_years: 6}\n"
    )
    out = tmp_path / "out"
    code = main(["run", str(scenario), "-n", "5", "--seed", "7", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "median_ttfe_weeks" in printed and str(out) in printed
    assert sorted(p.name for p in out.iterdir()) == [
        ".simsme.json",  # the marker: simsme's record of what it wrote
        ".simsme.lock",
        "applications.parquet",
        "channel_mix.parquet",
        "manifest.json",
        "replications.parquet",
        "smes.parquet",
        "summary.json",
    ]
    marker = json.loads((out / ".simsme.json").read_text())
    assert marker["kind"] == "run" and "smes.parquet" in marker["owned"]
    smes = pd.read_parquet(out / "smes.parquet")
    assert SME_COLUMNS <= set(smes.columns)
    assert len(smes) == 5 * (120 + 72)  # 120 incumbents and 10% a year of entrants for 6 years
    assert (smes["censored"] == ~smes["exported"]).all()
    # censored SMEs are followed to the horizon: 6 years of weekly steps
    horizon_weeks = round(6 * 365.25 / 7)
    censored = smes[smes["censored"]]
    assert np.allclose(
        censored["ttfe_weeks"] + censored["founded_week"].clip(lower=0), horizon_weeks
    )
    assert (smes.loc[smes["exported"], "ttfe_weeks"] <= horizon_weeks).all()
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "median_ttfe_weeks",
        "restricted_mean_ttfe_weeks",
        "share_exported",
        "share_exported_within_3y",
        "digital_share_of_applications",
    ):
        stat = summary[key]
        assert stat["ci_low"] <= stat["mean"] <= stat["ci_high"]
    reps = pd.read_parquet(out / "replications.parquet")
    assert np.isclose(summary["share_exported"]["mean"], reps["share_exported"].mean())
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["seed"] == 7 and manifest["replications"] == 5
    assert manifest["engine"] == "kernel"
    assert manifest["scenario"]["population"]["n_smes"] == 120
    assert {"numpy", "numba", "mesa", "simsme"} <= set(manifest["versions"])
    assert not (out / ".chunks").exists()


def test_same_seed_same_tables_different_seed_different(tmp_path):
    a = run_scenario(tiny(), out=tmp_path / "a")
    b = run_scenario(tiny(), out=tmp_path / "b", threads=1)
    c = run_scenario(tiny(seed=99), out=tmp_path / "c")
    ta, tb, tc = read_tables(a.folder), read_tables(b.folder), read_tables(c.folder)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name])
    assert not ta["smes"]["ttfe_weeks"].equals(tc["smes"]["ttfe_weeks"])


def test_replications_do_not_depend_on_how_many_are_run(tmp_path):
    """Replication r has its own stream: the first 3 of 6 equal a run of 3."""
    six = read_tables(run_scenario(tiny(), out=tmp_path / "six").folder)["replications"]
    three = read_tables(run_scenario(tiny(replications=3), out=tmp_path / "three").folder)
    pd.testing.assert_frame_equal(six.iloc[:3], three["replications"])


class Interrupt(Exception):
    pass


def interrupt_after(replications: int):
    """A progress callback that interrupts the run once ``replications`` are reported done."""
    done = []

    def advance(n: int) -> None:
        done.append(n)
        if sum(done) >= replications:
            raise Interrupt

    return advance


def test_interrupted_run_resumes_without_loss_or_duplication(tmp_path):
    scenario = tiny(replications=40)
    assert chunk_size_for(40, 2) < 40  # more than one chunk, so there is something to resume
    reference = read_tables(run_scenario(scenario, out=tmp_path / "ref", threads=2).folder)
    out = tmp_path / "resumed"
    done = []

    def stop_after_first_chunk(n: int) -> None:
        done.append(n)
        if sum(done) > chunk_size_for(40, 2):
            raise Interrupt

    with pytest.raises(Interrupt):
        run_scenario(scenario, out=out, threads=2, progress=stop_after_first_chunk)
    assert not (out / "manifest.json").exists()  # the folder does not look complete
    assert not (out / "smes.parquet").exists()
    resumed = run_scenario(scenario, out=out, threads=2)
    assert 0 < resumed.manifest["resumed_replications"] < 40
    tables = read_tables(out)
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], reference[name])


def test_a_folder_of_other_results_is_not_overwritten(tmp_path, capsys):
    run_scenario(tiny(), out=tmp_path / "r")
    again = run_scenario(tiny(), out=tmp_path / "r")  # same inputs: already complete
    assert again.manifest["resumed_replications"] == 0
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: other\npopulation: {n_smes: 50}\ntime: {horizon_years: 2}\n")
    code = main(["run", str(scenario), "--out", str(tmp_path / "r"), "-q"])
    assert code == 2
    assert "different run" in capsys.readouterr().err
    code = main(["run", str(scenario), "--out", str(tmp_path / "r"), "-q", "--force-new"])
    assert code == 0
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["scenario_name"] == "other"


@pytest.mark.parametrize("first_threads, then_threads", [(2, 1), (1, 3)])
def test_resume_with_another_thread_count_neither_loses_nor_repeats(
    tmp_path, first_threads, then_threads
):
    """Chunks are cut from the replications not yet done, whatever the chunk size now."""
    scenario = tiny(replications=40)
    reference = read_tables(run_scenario(scenario, out=tmp_path / "ref", threads=1).folder)
    out = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        run_scenario(scenario, out=out, threads=first_threads, progress=interrupt_after(20))
    resumed = run_scenario(scenario, out=out, threads=then_threads)
    assert 0 < resumed.manifest["resumed_replications"] < 40
    tables = read_tables(out)
    assert tables["replications"]["replication"].tolist() == list(range(40))
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], reference[name])


def test_resume_with_smes_reruns_chunks_written_without_them(tmp_path):
    scenario = tiny(replications=40)
    out = tmp_path / "r"
    with pytest.raises(Interrupt):
        run_scenario(scenario, out=out, threads=1, with_smes=False, progress=interrupt_after(20))
    result = run_scenario(scenario, out=out, threads=1, with_smes=True)
    assert result.manifest["resumed_replications"] == 0  # no chunk had the smes table
    smes = pd.read_parquet(out / "smes.parquet")
    assert sorted(smes["replication"].unique()) == list(range(40))


def test_finished_run_without_smes_is_completed_when_smes_are_asked_for(tmp_path):
    out = tmp_path / "r"
    run_scenario(tiny(), out=out, with_smes=False)
    assert not (out / "smes.parquet").exists()
    again = run_scenario(tiny(), out=out, with_smes=True)
    assert "smes.parquet" in again.manifest["tables"]
    assert (out / "smes.parquet").exists()


def test_replacing_a_run_leaves_none_of_its_tables(tmp_path):
    out = tmp_path / "r"
    run_scenario(tiny(), out=out, with_smes=True)
    result = run_scenario(
        tiny(seed=7), out=out, with_smes=False, with_applications=False, force_new=True
    )
    assert result.manifest["seed"] == 7
    assert not (out / "smes.parquet").exists()  # the old run's per-SME table is gone
    assert not (out / "applications.parquet").exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".simsme")) == [
        "channel_mix.parquet",
        "manifest.json",
        "replications.parquet",
        "summary.json",
    ]


@pytest.mark.parametrize("where", ["a-file", "a-file/below"])
def test_an_unusable_out_folder_is_a_clear_error(tmp_path, capsys, where):
    (tmp_path / "a-file").write_text("not a folder")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("population: {n_smes: 50}\ntime: {horizon_years: 2}\nreplications: 2\n")
    code = main(["run", str(scenario), "--out", str(tmp_path / where), "-q"])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 2
    assert "--out" in err and "a-file" in err and "expected a folder" in err
    assert "Traceback" not in err


def test_results_of_other_output_definitions_are_not_reused(tmp_path, capsys):
    """A folder written under other output definitions (an older simsme) is neither reused as
    finished nor resumed: its key differs, and the message says why."""
    out = tmp_path / "r"
    run_scenario(tiny(), out=out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["key"]["outputs"] = 1
    manifest["output_version"] = 1
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SimsmeError, match="another version of simsme"):
        run_scenario(tiny(), out=out)
    result = run_scenario(tiny(), out=out, force_new=True)
    assert result.manifest["output_version"] == OUTPUT_VERSION


def test_damaged_state_files_are_clear_errors(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("population: {n_smes: 50}\ntime: {horizon_years: 2}\nreplications: 2\n")
    out = tmp_path / "r"
    assert main(["run", str(scenario), "--out", str(out), "-q"]) == 0
    (out / "manifest.json").write_text("{ not json")
    assert main(["run", str(scenario), "--out", str(out), "-q"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "manifest.json: damaged" in err and "--force-new" in err
    assert "Traceback" not in err
    assert main(["run", str(scenario), "--out", str(out), "-q", "--force-new"]) == 0


def test_an_empty_out_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = tmp_path / "s.yaml"
    scenario.write_text("population: {n_smes: 50}\ntime: {horizon_years: 2}\nreplications: 2\n")
    assert main(["run", str(scenario), "--out", "", "-q"]) == 2
    assert "--out: the value is empty" in " ".join(capsys.readouterr().err.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
