"""Results folders: simsme never removes or overwrites a file it did not write, results of other
code are never reused, and damaged folder state is one message (issues 11 and 14)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import simsme.results.fingerprint as fingerprint
from simsme.cli import main
from simsme.errors import SimsmeError
from simsme.experiments.run import run_scenario
from simsme.results.folder import MARKER, ResultsFolder, is_simsme_figure

from helpers import small_scenario

REPO = Path(__file__).resolve().parent.parent
TINY = "name: tiny\npopulation: {n_smes: 50}\ntime: {horizon_years: 2}\nreplications: 2\n"
BASE = "name: base\npopulation: {n_smes: 40}\ntime: {horizon_years: 2}\n"
SWEEP = """\
name: tiny-sweep
base: base.yaml
seed: 3
replications: 1
design: {kind: grid}
parameters:
  channels.whatsapp.latency.median_days: {values: [0.5, 4.0]}
"""

USER_FILES = {
    "smes/": "smes/mine.csv",
    "design.parquet": "design.parquet",
    "summary.json": "summary.json",
    "replications.parquet": "replications.parquet",
    "manifest.json": "manifest.json",
    ".chunks/": ".chunks/progress.json",
    "tmp": ".notes.tmp",
    "simsme-tmp": ".summary.json.tmp",
    "other": "notes.txt",
}
"""A user's files named as simsme's own (in a folder without simsme's marker)."""


def flat(text: str) -> str:
    return " ".join(text.split())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def user_folder(root: Path, relative: str) -> Path:
    folder = root / "users-folder"
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("keep me\n")
    return folder


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Messages on one line, so that long paths are not wrapped inside."""
    from simsme.cli import common

    monkeypatch.setattr(common.err_console, "width", 10_000)
    monkeypatch.setattr(common.console, "width", 10_000)


@pytest.fixture
def files(tmp_path) -> Path:
    (tmp_path / "tiny.yaml").write_text(TINY)
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "sweep.yaml").write_text(SWEEP)
    return tmp_path


def refused(capsys, folder: Path, name: str) -> str:
    err = flat(capsys.readouterr().err)
    assert "holds files simsme did not write" in err, err
    joined = "".join(err.split())  # the console may wrap inside a long path
    assert str(folder) in joined and name.split("/")[0] in joined
    assert "Traceback" not in err
    return err


# --------------------------------------------------------------------------------------------
# Never delete what simsme did not write
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("force_new", [False, True], ids=["plain", "force-new"])
@pytest.mark.parametrize("case", sorted(USER_FILES))
def test_run_and_sweep_refuse_a_folder_of_user_files(files, capsys, case, force_new):
    folder = user_folder(files, USER_FILES[case])
    before = snapshot(folder)
    extra = ["--force-new"] if force_new else []
    code = main(["run", str(files / "tiny.yaml"), "--out", str(folder), "-q", *extra])
    assert code == 2
    refused(capsys, folder, USER_FILES[case])
    code = main(["sweep", str(files / "sweep.yaml"), "--out", str(folder), "-q", *extra])
    assert code == 2
    refused(capsys, folder, USER_FILES[case])
    assert snapshot(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        {USER_FILES[case].split("/")[0]}
    )  # nothing added either: no marker, no lock


def test_merge_refuses_a_folder_of_user_files(files, capsys):
    shards = []
    for i in (1, 2):
        out = files / f"shard-{i}"
        code = main(["sweep", str(files / "sweep.yaml"), "--shard", f"{i}/2", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        shards.append(str(out))
    capsys.readouterr()
    for relative in ("points.parquet", "smes/mine.csv", ".chunks/progress.json", ".x.tmp"):
        folder = user_folder(files / relative.replace("/", "-"), relative)
        before = snapshot(folder)
        for extra in ([], ["--force-new"]):
            assert main(["merge", *shards, "--out", str(folder), "-q", *extra]) == 2
            refused(capsys, folder, relative)
        assert snapshot(folder) == before
    merged = files / "merged"
    assert main(["merge", *shards, "--out", str(merged), "-q"]) == 0
    assert (merged / "points.parquet").is_file()


def test_force_new_removes_only_what_simsme_recorded(files, capsys):
    out = files / "out"
    sweep = str(files / "sweep.yaml")
    assert main(["sweep", sweep, "--out", str(out), "--smes", "-q"]) == 0
    assert sorted((out / "smes").glob("point=*/part-0.parquet"))
    marker = json.loads((out / MARKER).read_text())
    assert {"points.parquet", "summary.parquet", "manifest.json", "smes/"} <= set(marker["owned"])

    # A file the user adds at the top of the folder: the folder is no longer simsme's alone.
    (out / "notes.txt").write_text("mine")
    assert main(["sweep", sweep, "--out", str(out), "-q", "--force-new"]) == 2
    refused(capsys, out, "notes.txt")
    assert (out / "manifest.json").is_file() and (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()

    # A file the user puts inside simsme's smes/ folder survives --force-new.
    (out / "smes" / "mine.csv").write_text("mine")
    (out / "smes" / "point=0" / "mine.parquet").write_text("mine too")
    assert main(["sweep", sweep, "--out", str(out), "-q", "--force-new"]) == 0
    assert (out / "smes" / "mine.csv").read_text() == "mine"
    assert (out / "smes" / "point=0" / "mine.parquet").read_text() == "mine too"
    assert not list((out / "smes").glob("point=*/part-*.parquet"))  # simsme's are gone
    assert "smes/" in json.loads((out / MARKER).read_text())["owned"]  # kept: it holds files

    # Replacing the sweep by a run removes the sweep's tables, and only those.
    assert main(["run", str(files / "tiny.yaml"), "--out", str(out), "-q", "--force-new"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"replications.parquet", "smes.parquet", "manifest.json"} <= names
    assert not names & {"points.parquet", "summary.parquet"}
    assert (out / "smes" / "mine.csv").read_text() == "mine"


def test_plot_and_compare_never_overwrite_a_user_file(files, capsys):
    for name in ("a", "b"):
        (files / f"{name}.yaml").write_text(TINY.replace("name: tiny", f"name: {name}"))
        assert main(["run", str(files / f"{name}.yaml"), "--out", str(files / name), "-q"]) == 0
    figures = files / "figures"
    figures.mkdir()
    (figures / "survival.png").write_text("my own picture")
    (figures / "notes.txt").write_text("mine")
    code = main(["plot", str(files / "a"), "--out", str(figures), "--only", "survival", "-q"])
    err = flat(capsys.readouterr().err)
    assert code == 2 and "survival.png' exists and was not written by simsme" in err
    assert (figures / "survival.png").read_text() == "my own picture"
    (figures / "survival.png").unlink()
    # A figure simsme drew is recognised by its metadata and may be drawn again.
    for _ in range(2):
        assert main(["plot", str(files / "a"), "--out", str(figures), "--only", "survival"]) == 0
    assert is_simsme_figure(figures / "survival.png")
    assert (figures / "notes.txt").read_text() == "mine"  # other files in the folder: untouched

    compare_out = files / "compare"
    compare_out.mkdir()
    (compare_out / "survival_a_vs_b.png").write_text("my own picture")
    (compare_out / "cmp.json").write_text("{}")
    args = ["compare", str(files / "a"), str(files / "b"), "--out", str(compare_out)]
    assert main([*args, "--resamples", "0"]) == 2
    err = flat(capsys.readouterr().err)
    assert "survival_a_vs_b.png' exists and was not written by simsme" in err
    assert (compare_out / "survival_a_vs_b.png").read_text() == "my own picture"
    (compare_out / "survival_a_vs_b.png").unlink()
    assert main([*args, "--resamples", "0", "--json", str(compare_out / "cmp.json")]) == 2
    assert "cmp.json' exists and was not written by simsme" in flat(capsys.readouterr().err)
    assert (compare_out / "cmp.json").read_text() == "{}"
    for _ in range(2):  # simsme's own outputs may be written again
        assert main([*args, "--resamples", "0", "--json", str(compare_out / "c2.json")]) == 0
    assert json.loads((compare_out / "c2.json").read_text())


def test_check_model_never_overwrites_a_user_file(files, capsys):
    for name in ("report.csv", "report.json"):
        folder = files / name.replace(".", "-")
        folder.mkdir()
        (folder / name).write_text("mine")
        code = main(
            [
                "check-model",
                str(REPO / "scenarios" / "baseline.yaml"),
                "--quick",
                "--out",
                str(folder / "report.csv"),
            ]
        )
        err = flat(capsys.readouterr().err)
        assert code == 2 and f"{name}' exists and was not written by simsme" in err, err
        assert (folder / name).read_text() == "mine"
        assert sorted(p.name for p in folder.iterdir()) == [name]


# --------------------------------------------------------------------------------------------
# The code fingerprint: results of other code are never returned
# --------------------------------------------------------------------------------------------
def test_a_rerun_after_a_code_change_does_not_return_the_old_results(files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    scenario = str(files / "tiny.yaml")
    assert main(["run", scenario, "-q"]) == 0
    [first] = (files / "results").iterdir()
    assert main(["run", scenario, "-q"]) == 0  # same code: reused, and said so
    assert "reusing finished results: same scenario, seed and code" in flat(capsys.readouterr().err)
    out = files / "explicit"
    assert main(["run", scenario, "-q", "--out", str(out)]) == 0
    old = pd.read_parquet(out / "replications.parquet")
    stamp = (out / "manifest.json").read_bytes()

    # "Change a rule": the model sources hash differently.
    monkeypatch.setattr(fingerprint, "source_hash", lambda: "f" * 64)
    assert main(["run", scenario, "-q"]) == 0
    folders = sorted((files / "results").iterdir())
    assert len(folders) == 2  # no --out: a fresh folder, the old one untouched
    [second] = [f for f in folders if f != first]
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["code"]["model_sources"] == "f" * 16
    assert manifest["resumed_replications"] == 0
    assert "reusing" not in capsys.readouterr().err

    code = main(["run", scenario, "-q", "--out", str(out)])  # explicit --out: refused, saying why
    err = flat(capsys.readouterr().err)
    assert code == 2
    assert "written by other code" in err and "--force-new" in err
    assert (out / "manifest.json").read_bytes() == stamp
    assert main(["run", scenario, "-q", "--out", str(out), "--force-new"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["code"]["model_sources"] == "f" * 16
    pd.testing.assert_frame_equal(pd.read_parquet(out / "replications.parquet"), old)


def test_an_unfinished_run_of_other_code_is_not_resumed(tmp_path, monkeypatch):
    scenario = small_scenario({"population.n_smes": 60, "time.horizon_years": 2}, replications=40)
    out = tmp_path / "r"

    class Stop(Exception):
        pass

    def stop(n: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        run_scenario(scenario, out=out, threads=1, progress=stop)
    assert (out / ".chunks" / "progress.json").is_file()
    monkeypatch.setattr(fingerprint, "source_hash", lambda: "0" * 64)
    with pytest.raises(SimsmeError, match="unfinished run .* written by other code"):
        run_scenario(scenario, out=out, threads=1)
    result = run_scenario(scenario, out=out, threads=1, force_new=True)
    assert result.manifest["resumed_replications"] == 0


def test_the_source_hash_follows_the_model_sources(tmp_path, monkeypatch):
    package = tmp_path / "simsme"
    for entry in ("rules.py", "kernel", "scenario/lowering.py"):
        source = fingerprint.PACKAGE / entry
        target = package / entry
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, target)
    monkeypatch.setattr(fingerprint, "PACKAGE", package)
    fingerprint.source_hash.cache_clear()
    try:
        before = fingerprint.source_hash()
        (package / "mechanisms").mkdir()  # a package of mechanisms counts once it exists
        (package / "mechanisms" / "queue.py").write_text("RATE = 1\n")
        with_mechanisms = fingerprint.source_hash.__wrapped__()
        (package / "rules.py").write_text((package / "rules.py").read_text() + "\n# changed\n")
        changed = fingerprint.source_hash.__wrapped__()
        (package / "README.txt").write_text("not a source")
        assert fingerprint.source_hash.__wrapped__() == changed
    finally:
        fingerprint.source_hash.cache_clear()
    assert len({before, with_mechanisms, changed}) == 3


def test_the_manifest_records_the_code_and_the_git_commit(tmp_path, monkeypatch):
    result = run_scenario(small_scenario({"population.n_smes": 40}, replications=2), tmp_path / "r")
    code = result.manifest["code"]
    assert code == fingerprint.code_fingerprint()
    assert code["model_sources"] == fingerprint.source_hash()[:16]
    git = result.manifest["git"]
    in_checkout = shutil.which("git") and (REPO / ".git").exists()
    if in_checkout and fingerprint.PACKAGE.is_relative_to(REPO):
        assert re.fullmatch(r"[0-9a-f]{40}", git["commit"]) and isinstance(git["modified"], bool)
    # Outside a git work tree (an installed package): no commit, and no failure.
    monkeypatch.setattr(fingerprint, "PACKAGE", tmp_path)
    fingerprint.git_commit.cache_clear()
    try:
        assert fingerprint.git_commit() is None
        monkeypatch.setattr(fingerprint.shutil, "which", lambda name: None)
        fingerprint.git_commit.cache_clear()
        assert fingerprint.git_commit() is None
    finally:
        fingerprint.git_commit.cache_clear()


# --------------------------------------------------------------------------------------------
# Damaged folder state: one message, exit 1, pointing to --force-new
# --------------------------------------------------------------------------------------------
DAMAGE = {
    "manifest-list": ("manifest.json", "[1, 2]", "expected a JSON object, found a JSON list"),
    "manifest-string": ("manifest.json", '"x"', "found a JSON string"),
    "manifest-truncated": ("manifest.json", '{"status": "compl', "damaged"),
    "progress-list": (".chunks/progress.json", "[]", "found a JSON list"),
    "progress-done-list": (".chunks/progress.json", '{"key": {}, "done": [1]}', "chunks done"),
    "chunk-missing": ("chunk", None, "is missing"),
    "chunk-truncated": ("chunk", b"PAR1\x00\x00", "is damaged"),
}


def unfinished_run(files: Path, out: Path) -> None:
    scenario = small_scenario({"population.n_smes": 60, "time.horizon_years": 2}, replications=40)

    class Stop(Exception):
        pass

    def stop_after_a_chunk(n: int) -> None:
        if (out / ".chunks" / "progress.json").is_file() and json.loads(
            (out / ".chunks" / "progress.json").read_text()
        )["done"]:
            raise Stop

    with pytest.raises(Stop):
        run_scenario(scenario, out=out, threads=1, progress=stop_after_a_chunk)
    text = "name: test\npopulation: {n_smes: 60}\ntime: {horizon_years: 2}\nreplications: 40\n"
    (files / "same.yaml").write_text(text)


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damaged_folder_state_is_one_message(files, capsys, case):
    name, content, expected = DAMAGE[case]
    out = files / "out"
    if name == "manifest.json":
        assert main(["run", str(files / "tiny.yaml"), "--out", str(out), "-q"]) == 0
        (out / name).write_text(content)
        command = ["run", str(files / "tiny.yaml"), "--out", str(out), "-q", "--threads", "1"]
    else:
        unfinished_run(files, out)
        command = ["run", str(files / "same.yaml"), "--out", str(out), "-q", "--threads", "1"]
        if name == "chunk":
            [chunk] = sorted((out / ".chunks").glob("replications-*.parquet"))[:1]
            if content is None:
                chunk.unlink()
            else:
                chunk.write_bytes(content)
        else:
            (out / name).write_text(content)
    capsys.readouterr()
    assert main(command) == 1
    err = flat(capsys.readouterr().err)
    assert expected in err and "--force-new" in err and "Traceback" not in err
    assert main([*command, "--force-new"]) == 0
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_a_damaged_manifest_is_one_message_for_readers(files, capsys):
    out = files / "out"
    assert main(["run", str(files / "tiny.yaml"), "--out", str(out), "-q"]) == 0
    (out / "manifest.json").write_text("[]")
    assert main(["plot", str(out)]) == 1
    err = flat(capsys.readouterr().err)
    assert "manifest.json: damaged" in err and "Traceback" not in err


def test_a_damaged_marker_removes_nothing(files, capsys):
    out = files / "out"
    assert main(["run", str(files / "tiny.yaml"), "--out", str(out), "-q"]) == 0
    (out / MARKER).write_text('{"owned": "everything"}')
    before = snapshot(out)
    assert main(["run", str(files / "tiny.yaml"), "--out", str(out), "-q", "--force-new"]) == 1
    err = flat(capsys.readouterr().err)
    assert "removes nothing" in err and "Traceback" not in err
    assert snapshot(out) == before


# --------------------------------------------------------------------------------------------
# The folder module itself
# --------------------------------------------------------------------------------------------
def test_a_second_writer_in_the_same_process_is_told_who_holds_the_folder(tmp_path):
    folder = tmp_path / "f"
    with ResultsFolder.open(folder, "run") as results:
        results.write_json("summary.json", {"a": 1})
        with pytest.raises(SimsmeError, match=r"another simsme is writing .*\(this process\)"):
            with ResultsFolder.open(folder, "run"):
                pass
        info = json.loads((folder / ".simsme.lock.json").read_text())
        assert {"pid", "host", "started", "command"} <= set(info)
    assert not (folder / ".simsme.lock.json").exists()  # released
    with ResultsFolder.open(folder, "run") as results:  # free again
        assert results.owned == ["summary.json"]


def test_atomic_writes_leave_no_temporary_files_and_keep_the_old_file_on_failure(tmp_path):
    from simsme.results.folder import write_atomic, write_json_atomic

    path = tmp_path / "x.json"
    write_json_atomic({"a": 1}, path)

    def fail(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(path, fail)
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
    assert oct(path.stat().st_mode & 0o777) != oct(0o600)  # an ordinary file, not mkstemp's


def test_unreachable_scheduler_leaves_nothing_in_out(files, capsys):
    import socket

    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = files / "out"
    command = ["sweep", str(files / "sweep.yaml"), "--out", str(out), "--executor", "dask"]
    assert main([*command, "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    err = flat(capsys.readouterr().err)
    assert "--scheduler: cannot reach a dask scheduler" in err and "Traceback" not in err
    assert not out.exists()
    out.mkdir()
    assert main([*command, "--scheduler", f"127.0.0.1:{port}"]) == 2
    assert list(out.iterdir()) == []  # no .chunks/, no marker


def test_results_are_reused_only_under_the_same_key(tmp_path):
    scenario = small_scenario({"population.n_smes": 40}, replications=2)
    first = run_scenario(scenario, tmp_path / "r")
    again = run_scenario(scenario, tmp_path / "r")
    assert again.reused and not first.reused
    digest = hashlib.sha256((tmp_path / "r" / "replications.parquet").read_bytes()).hexdigest()
    with pytest.raises(SimsmeError, match="different run .*scenario"):
        run_scenario(small_scenario({"population.n_smes": 40}, replications=3), tmp_path / "r")
    with pytest.raises(SimsmeError, match="engine"):
        run_scenario(scenario, tmp_path / "r", engine="mesa")
    after = hashlib.sha256((tmp_path / "r" / "replications.parquet").read_bytes()).hexdigest()
    assert after == digest


def test_a_folder_of_single_outputs_is_not_a_results_folder(tmp_path):
    from simsme.results.folder import claim_file, write_csv_atomic

    report = claim_file(tmp_path / "reports" / "check.csv", "--out", (".json",))
    write_csv_atomic(pd.DataFrame({"target": ["a"]}), report)
    assert claim_file(report, "--out") == report  # simsme's own report: may be written again
    with pytest.raises(SimsmeError, match=r"holds files simsme did not write \(check.csv\)"):
        with ResultsFolder.open(tmp_path / "reports", "run"):
            pass
    assert report.is_file()


def test_a_run_never_clears_an_unfinished_sweep(files):
    from simsme.experiments.sweep import plan_sweep
    from simsme.experiments.sweep_exec import run_chunk

    out = files / "out"
    plan = plan_sweep(files / "sweep.yaml", out, with_smes=True)
    plan._commit(run_chunk(plan.sweep.base_data, plan.tasks(1)[0]))  # then "interrupted"
    plan.close()
    before = snapshot(out)
    assert any(name.startswith("smes/point=") for name in before)
    with pytest.raises(SimsmeError, match="results of a sweep, not of a run"):
        run_scenario(small_scenario({"population.n_smes": 40}, replications=2), out)
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k != ".chunks/progress.json"} == {
        k: v for k, v in before.items() if k != ".chunks/progress.json"
    }


def test_a_second_sweep_on_the_same_out_is_refused_before_any_work(files):
    from simsme.experiments.sweep import plan_sweep
    from simsme.results.folder import FolderBusy

    out = files / "out"
    with plan_sweep(files / "sweep.yaml", out) as first:
        assert first.pending  # planned, holding the folder
        with pytest.raises(FolderBusy, match="another simsme is writing this folder"):
            plan_sweep(files / "sweep.yaml", out)
        assert not (out / "manifest.json").exists()
    result = plan_sweep(files / "sweep.yaml", out).run()  # released: it runs
    assert result.manifest["n_points"] == 2 and not (out / ".simsme.lock.json").exists()
