"""One writer per results folder: real `simsme` processes on one `--out` at once (issue 14).

A writer process runs long enough (many small chunks) for the others to start while it works;
they must be refused at once with a message naming the writer, and leave its tables alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import PIPE

import pandas as pd
import pytest

SCENARIO = """\
name: busy
population: {n_smes: 300}
time: {horizon_years: 6}
replications: 1000
"""
REPLICATIONS = 1000


def simsme(*args: str) -> list[str]:
    return [sys.executable, "-m", "simsme", *args]


def flat(text: str) -> str:
    return " ".join(text.split())


def chunks_done(out: Path) -> int:
    try:
        return len(json.loads((out / ".chunks" / "progress.json").read_text())["done"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


@dataclass
class Contest:
    writer: subprocess.Popen
    writer_running: bool
    """Whether the writer was still at work when both others had answered."""
    out: Path
    second: subprocess.CompletedProcess
    plot: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def contest(tmp_path_factory) -> Iterator[Contest]:
    """A `simsme run` writing its folder (one thread, so it stays busy a while); once it has
    committed its first chunk, a second identical `simsme run` and a `simsme plot` of the same
    folder start together."""
    root = tmp_path_factory.mktemp("busy")
    scenario = root / "busy.yaml"
    scenario.write_text(SCENARIO)
    out = root / "out"
    env = {**os.environ, "COLUMNS": "10000"}
    run = simsme("run", str(scenario), "--out", str(out), "-q", "--threads", "1")
    writer = subprocess.Popen(run, stdout=PIPE, stderr=PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 300
        while chunks_done(out) < 1 and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.poll() is None, f"finished before the others started: {writer.communicate()}"
        others = [
            subprocess.Popen(cmd, stdout=PIPE, stderr=PIPE, text=True, env=env)
            for cmd in (run, simsme("plot", str(out), "-q"))
        ]
        answers = []
        for proc in others:
            stdout, stderr = proc.communicate(timeout=300)
            answers.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
        yield Contest(writer, writer.poll() is None, out, *answers)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.communicate()


def test_a_second_run_on_the_same_out_is_refused_and_told_who_writes(contest):
    assert contest.writer_running, "the writer finished before the others answered"
    second = contest.second
    assert second.returncode == 1, second.stderr
    err = flat(second.stderr)
    assert "another simsme is writing this folder" in err
    assert f"process {contest.writer.pid} on " in err and "started" in err  # who, where, when
    assert "Traceback" not in err


def test_plot_of_a_folder_being_written_is_refused(contest):
    assert contest.writer_running, "the writer finished before the others answered"
    plot = contest.plot
    assert plot.returncode == 1, plot.stderr
    err = flat(plot.stderr)
    assert f"being written by process {contest.writer.pid}" in err, err
    assert "Traceback" not in err
    assert not (contest.out / "figures").exists()


def test_the_writer_finishes_with_whole_tables_and_can_then_be_plotted(contest):
    writer, out = contest.writer, contest.out
    _, err = writer.communicate(timeout=900)
    assert writer.returncode == 0, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed_replications"] == 0
    replications = pd.read_parquet(out / "replications.parquet")
    assert replications["replication"].tolist() == list(range(REPLICATIONS))  # once each
    smes = pd.read_parquet(out / "smes.parquet", columns=["replication"])
    assert sorted(smes["replication"].unique()) == list(range(REPLICATIONS))
    assert not (out / ".chunks").exists() and not (out / ".simsme.lock.json").exists()
    plot = subprocess.run(
        simsme("plot", str(out), "-q", "--only", "survival"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plot.returncode == 0, plot.stderr
    assert (out / "figures" / "survival.png").is_file()
