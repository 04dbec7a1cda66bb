"""`simsme sweep` and `simsme merge`: sweep files, designs, executors, shards and resuming.

Populations are small (100-300 SMEs, 5-8 years) so the module stays well under three minutes
after the kernel is compiled. Result values are never hard-coded (the calibration may change
defaults): runs are compared with each other, row for row.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from simsme.analysis.results import load_sweep as read_sweep
from simsme.cli import main
from simsme.errors import ScenarioError, SimsmeError
from simsme.experiments.run import run_scenario
from simsme.experiments.sweep import plan_sweep, run_sweep
from simsme.experiments.sweep_spec import expand_path, read_sweep_file
from simsme.outputs import replication_table
from simsme.results.folder import CHUNKS_DIR, PROGRESS_FILE
from simsme.scenario.lowering import lower
from simsme.scenario.schema import Scenario

REPO = Path(__file__).resolve().parent.parent
BASE = """\
name: tiny
population: {n_smes: 100}
time: {horizon_years: 5}
"""
# 2 x 2 x 2 = 8 points; the horizon varies, so points have different summary columns
# (share_exported_year_6, digital_share_2015) and shards must still join to the same table.
GRID = """\
name: tiny-grid
base: base.yaml
seed: 99
replications: 3
design: {kind: grid}
parameters:
  time.horizon_years: {values: [5, 6]}
  channels.whatsapp.latency.median_days: {values: [0.5, 4.0]}
  agencies.*.bureaucracy.committee_interval_weeks: {range: {start: 0, stop: 8, num: 2}}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("grid")
    write(folder, "base.yaml", BASE)
    write(folder, "grid.yaml", GRID)
    return folder


@pytest.fixture(scope="module")
def reference(grid_dir) -> Path:
    """The grid sweep run in-process on the local executor (2 threads), with per-SME tables."""
    out = grid_dir / "reference"
    run_sweep(grid_dir / "grid.yaml", out, with_smes=True, workers=2)
    return out


def tables(folder: Path, smes: bool = True) -> dict[str, pd.DataFrame]:
    found = {
        "points": pd.read_parquet(folder / "points.parquet"),
        "summary": pd.read_parquet(folder / "summary.parquet"),
    }
    if smes:
        sme = pd.read_parquet(folder / "smes")
        sme["point"] = sme["point"].astype(np.int64)
        found["smes"] = sme.sort_values(["point", "replication", "sme"]).reset_index(drop=True)
    return found


def flat(text: str) -> str:
    """Console output with the console's line wrapping undone."""
    return " ".join(text.split())


def assert_same_tables(a: Path, b: Path, smes: bool = True) -> None:
    ta, tb = tables(a, smes), tables(b, smes)
    for name in ta:
        assert_frame_equal(ta[name], tb[name], check_exact=True, obj=name)


# --------------------------------------------------------------------------------------------
# The results folder
# --------------------------------------------------------------------------------------------
def test_grid_sweep_writes_points_summary_smes_and_manifest(grid_dir, reference):
    points = pd.read_parquet(reference / "points.parquet")
    params = [
        "time.horizon_years",
        "channels.whatsapp.latency.median_days",
        "agencies.*.bureaucracy.committee_interval_weeks",
    ]
    assert list(points.columns) == ["point", "status", "error", *params]
    assert points["point"].tolist() == list(range(8))
    assert (points["status"] == "ok").all() and points["error"].isna().all()
    # Full factorial, first parameter slowest; num: 2 from 0 to 8 gives 0 and 8.
    assert points[params[0]].tolist() == [5, 5, 5, 5, 6, 6, 6, 6]
    assert points[params[1]].tolist() == [0.5, 0.5, 4.0, 4.0] * 2
    assert points[params[2]].tolist() == [0.0, 8.0] * 4

    summary = pd.read_parquet(reference / "summary.parquet")
    assert list(summary.columns[:2]) == ["point", "replication"]
    assert list(zip(summary["point"], summary["replication"], strict=True)) == [
        (p, r) for p in range(8) for r in range(3)
    ]
    base = Scenario.model_validate({"population": {"n_smes": 10}, "time": {"horizon_years": 6}})
    from simsme.outputs import RunBlock

    arrays = lower(base)
    expected = replication_table(RunBlock.empty(arrays, np.arange(1)), arrays, 2010).columns
    assert set(expected) <= set(summary.columns)
    # 5-year points have no sixth year: NaN there, values elsewhere.
    five = summary["point"] < 4
    assert summary.loc[five, "share_exported_year_6"].isna().all()
    assert summary.loc[~five, "share_exported_year_6"].notna().all()
    assert summary["share_exported"].between(0, 1).all()

    smes = pd.read_parquet(reference / "smes")
    assert sorted(smes["point"].astype(int).unique()) == list(range(8))
    assert len(smes) == 8 * 3 * 100

    m = json.loads((reference / "manifest.json").read_text())
    assert m["status"] == "complete" and m["kind"] == "sweep"
    assert m["n_points"] == 8 and m["n_failed"] == 0 and m["replications"] == 3
    assert m["seed"] == 99 and m["design"]["kind"] == "grid"
    assert m["sweep_text"] == GRID
    assert m["base_scenario"]["hash"] and len(m["sweep_hash"]) == 64
    assert [p["name"] for p in m["parameters"]] == params
    assert m["parameters"][2]["paths"] == [
        f"agencies.{i}.bureaucracy.committee_interval_weeks" for i in range(5)
    ]
    assert m["executor"]["kind"] == "local" and "SALib" in m["versions"]
    assert not (reference / CHUNKS_DIR).exists()


def test_points_change_the_scenario_they_say(grid_dir, reference):
    """A point's rows equal a plain kernel run of the point's scenario with the point's seed."""
    from simsme.kernel.engine import run_blocks
    from simsme.scenario.loading import load_scenario

    sweep = read_sweep_file(grid_dir / "grid.yaml")
    point = 7  # horizon 6, WhatsApp 4 days, committees every 8 weeks
    scenario = load_scenario(grid_dir / "base.yaml", sweep.overrides(point))
    assert scenario.agencies[3].bureaucracy.committee_interval_weeks == 8.0
    arrays = lower(scenario)
    seq = np.random.SeedSequence(99, spawn_key=(point,))
    [block] = list(run_blocks(arrays, 3, seq, threads=1, block_size=3))
    expected = replication_table(block, arrays, 2010)
    summary = pd.read_parquet(reference / "summary.parquet")
    got = summary[summary["point"] == point].reset_index(drop=True)
    for col in expected.columns:
        np.testing.assert_array_equal(got[col].to_numpy(), expected[col].to_numpy(), err_msg=col)


# --------------------------------------------------------------------------------------------
# Same tables whatever the executor, worker count or shard split
# --------------------------------------------------------------------------------------------
def test_one_worker_gives_the_same_tables(grid_dir, reference):
    out = grid_dir / "one-worker"
    run_sweep(grid_dir / "grid.yaml", out, with_smes=True, workers=1)
    assert_same_tables(reference, out)


def test_dask_local_cluster_gives_the_same_tables(grid_dir, reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        with distributed.Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)  # both registered before the sweep counts
        out = grid_dir / "dask"
        result = run_sweep(
            grid_dir / "grid.yaml",
            out,
            with_smes=True,
            executor="dask",
            scheduler=cluster.scheduler_address,
        )
    assert result.manifest["executor"]["kind"] == "dask"
    assert result.manifest["executor"]["workers"] == 2
    assert_same_tables(reference, out)


def test_shards_merge_to_the_same_tables(grid_dir, reference, capsys):
    folders = []
    for i in (1, 2, 3):
        out = grid_dir / f"shard-{i}"
        # Shard 2 runs on a LocalCluster started for it (no --scheduler).
        options = {"executor": "dask", "workers": 2} if i == 2 else {}
        result = run_sweep(grid_dir / "grid.yaml", out, with_smes=True, shard=f"{i}/3", **options)
        assert result.manifest["shard"] == f"{i}/3"
        assert result.manifest["points_in_folder"] < 8
        folders.append(out)
    shard_points = [set(pd.read_parquet(f / "points.parquet")["point"]) for f in folders]
    assert set().union(*shard_points) == set(range(8))
    assert sum(len(s) for s in shard_points) == 8
    with pytest.raises(SimsmeError, match="holds shard 1/3 only"):
        read_sweep(folders[0])

    merged = grid_dir / "merged"
    code = main(["merge", *map(str, reversed(folders)), "--out", str(merged)])
    assert code == 0, capsys.readouterr().err
    assert_same_tables(reference, merged)
    m = json.loads((merged / "manifest.json").read_text())
    assert m["shard"] is None and m["n_points"] == 8 and m["executor"]["kind"] == "shards"

    code = main(["merge", str(folders[0]), str(folders[2]), "--out", str(grid_dir / "m2")])
    err = flat(capsys.readouterr().err)
    assert code == 2 and "missing shard(s) 2/3" in err


def test_bad_shard_options_are_refused(grid_dir):
    for shard in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(SimsmeError, match="--shard"):
            plan_sweep(grid_dir / "grid.yaml", grid_dir / "bad-shard", shard=shard)
    with pytest.raises(SimsmeError, match="at most 8 shards"):
        plan_sweep(grid_dir / "grid.yaml", grid_dir / "bad-shard", shard="1/9")
    with pytest.raises(SimsmeError, match="--executor"):
        plan_sweep(grid_dir / "grid.yaml", grid_dir / "bad-shard", executor="slurm")
    with pytest.raises(SimsmeError, match="only used with --executor dask"):
        plan_sweep(grid_dir / "grid.yaml", grid_dir / "bad-shard", scheduler="tcp://x:1")


# --------------------------------------------------------------------------------------------
# Resuming
# --------------------------------------------------------------------------------------------
KILL_SWEEP = """\
name: kill-me
base: base.yaml
seed: 4242
replications: 10
design: {kind: grid}
set:
  population.n_smes: 200
  time.horizon_years: 8
parameters:
  behaviour.export_entry.entry_cost: {range: {start: 1.5, stop: 3.0, num: 4}}
  channels.whatsapp.latency.median_days: {values: [0.25, 0.5, 1, 2, 4, 8]}
"""


def done_chunks(folder: Path) -> int:
    try:
        return len(json.loads((folder / CHUNKS_DIR / PROGRESS_FILE).read_text())["done"])
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_sweep_resumes_to_identical_tables(tmp_path, sig):
    write(tmp_path, "base.yaml", BASE)
    sweep = write(tmp_path, "kill.yaml", KILL_SWEEP)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "simsme", "sweep", str(sweep), "--out", str(out), "-q"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while done_chunks(out) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, f"finished before it could be interrupted: {proc.communicate()}"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130 and "run the same command again" in " ".join(err.split())
    assert not (out / "manifest.json").exists()
    interrupted_at = done_chunks(out)
    assert 3 <= interrupted_at < 24

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed_points"] >= interrupted_at
    assert manifest["n_points"] == 24 and manifest["n_failed"] == 0

    whole = tmp_path / "whole"
    run_sweep(sweep, whole)
    assert_same_tables(whole, out, smes=False)


def test_changed_sweep_file_is_refused_unless_force_new(tmp_path, capsys):
    write(tmp_path, "base.yaml", BASE)
    sweep = write(tmp_path, "s.yaml", GRID)
    out = tmp_path / "out"
    plan = plan_sweep(sweep, out)
    first = plan.tasks(1)[0]
    from simsme.experiments.sweep_exec import run_chunk

    plan._commit(run_chunk(plan.sweep.base_data, first))  # one chunk done, then "interrupted"
    plan.close()  # (an interrupted process releases the folder's lock)
    write(tmp_path, "s.yaml", GRID.replace("replications: 3", "replications: 2"))
    code = main(["sweep", str(sweep), "--out", str(out), "-q"])
    err = flat(capsys.readouterr().err)
    assert code == 2
    assert "unfinished sweep" in err and "sweep file or its base scenario changed" in err
    assert "--force-new" in err
    # The base scenario is part of the sweep's identity too.
    write(tmp_path, "s.yaml", GRID)
    write(tmp_path, "base.yaml", BASE.replace("100", "110"))
    assert main(["sweep", str(sweep), "--out", str(out), "-q"]) == 2
    write(tmp_path, "base.yaml", BASE)
    # --smes on resume would leave earlier points without per-SME tables: refused as well.
    assert main(["sweep", str(sweep), "--out", str(out), "-q", "--smes"]) == 2
    assert "started without --smes" in flat(capsys.readouterr().err)

    write(tmp_path, "s.yaml", GRID.replace("replications: 3", "replications: 2"))
    assert main(["sweep", str(sweep), "--out", str(out), "-q", "--force-new"]) == 0
    summary = pd.read_parquet(out / "summary.parquet")
    assert sorted(summary["replication"].unique()) == [0, 1]
    # Finished: the same command does nothing; a different sweep is refused.
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    assert "reusing finished results: same sweep, seed and code" in flat(capsys.readouterr().err)
    write(tmp_path, "s.yaml", GRID)
    assert main(["sweep", str(sweep), "--out", str(out), "-q"]) == 2
    assert "already holds a finished sweep" in flat(capsys.readouterr().err)


def test_failed_point_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch, capsys):
    import simsme.scenario.lowering as lowering

    real = lowering.lower

    def fragile(scenario):
        if scenario.channels["whatsapp"].latency.median_days == 4.0:
            raise RuntimeError("boom at 4 days")
        return real(scenario)

    monkeypatch.setattr(lowering, "lower", fragile)
    write(tmp_path, "base.yaml", BASE)
    sweep = write(tmp_path, "s.yaml", GRID)
    code = main(["sweep", str(sweep), "--out", str(tmp_path / "out")])
    printed = flat(capsys.readouterr().out)
    assert code == 0
    assert "4 of 8 points failed" in printed
    points = pd.read_parquet(tmp_path / "out" / "points.parquet")
    failed = points[points["status"] == "failed"]
    assert failed["channels.whatsapp.latency.median_days"].eq(4.0).all() and len(failed) == 4
    assert (failed["error"] == "RuntimeError: boom at 4 days").all()
    assert points.loc[points["status"] == "ok", "error"].isna().all()
    summary = pd.read_parquet(tmp_path / "out" / "summary.parquet")
    assert set(summary["point"]) == set(points.loc[points["status"] == "ok", "point"])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["n_failed"] == 4


# --------------------------------------------------------------------------------------------
# Sweep files: designs and validation
# --------------------------------------------------------------------------------------------
def sampled(kind_line: str, extra: str = "") -> str:
    return f"""\
base: base.yaml
seed: 5
replications: 2
design: {kind_line}
parameters:
  export_market.base_rate_per_year: {{bounds: [0.1, 1.0]}}
  channels.whatsapp.latency.median_days: {{bounds: [0.1, 10.0], log: true}}
  population.n_smes: {{bounds: [50, 150]}}
{extra}"""


def test_sampled_designs_come_from_salib(tmp_path):
    from SALib.sample import latin, morris, sobol

    write(tmp_path, "base.yaml", BASE)
    cases = {
        "lhs": ("{kind: lhs, samples: 12}", 12),
        "sobol": ("{kind: sobol, base_samples: 8}", 8 * (3 + 2)),
        "sobol2": ("{kind: sobol, base_samples: 8, second_order: true}", 8 * (2 * 3 + 2)),
        "morris": ("{kind: morris, trajectories: 5, levels: 4}", 5 * (3 + 1)),
    }
    for name, (line, n) in cases.items():
        sweep = read_sweep_file(write(tmp_path, f"{name}.yaml", sampled(line)))
        assert sweep.n_points == n, name
        problem = sweep.problem
        assert problem["names"] == [p.name for p in sweep.parameters]
        np.testing.assert_allclose(problem["bounds"][1], [-1.0, 1.0])  # log10 of 0.1, 10
        if name == "lhs":
            expected = latin.sample(problem, 12, seed=5)
        elif name.startswith("sobol"):
            expected = sobol.sample(problem, 8, calc_second_order=name == "sobol2", seed=5)
        else:
            expected = morris.sample(problem, 5, num_levels=4, seed=5)
        np.testing.assert_array_equal(sweep.design_matrix, expected)
        rates = [p["export_market.base_rate_per_year"] for p in sweep.points]
        latencies = np.array([p["channels.whatsapp.latency.median_days"] for p in sweep.points])
        smes = [p["population.n_smes"] for p in sweep.points]
        assert min(rates) >= 0.1 and max(rates) <= 1.0
        np.testing.assert_allclose(latencies, 10 ** sweep.design_matrix[:, 1])
        assert all(isinstance(v, int) and 50 <= v <= 150 for v in smes)  # int field: rounded
    again = read_sweep_file(tmp_path / "sobol.yaml")
    assert again.points == read_sweep_file(tmp_path / "sobol.yaml").points


def test_points_design_and_ranges(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    text = """\
base: base.yaml
design:
  kind: points
  points:
    - {population.size_mix: {micro: 0.5, small: 0.3, medium: 0.2}, channels.fax.cost: 0.1}
    - {population.size_mix: {micro: 0.2, small: 0.6, medium: 0.2}, channels.fax.cost: 0.9}
"""
    sweep = read_sweep_file(write(tmp_path, "p.yaml", text))
    assert sweep.n_points == 2 and sweep.replications == 20  # the base's default
    assert sweep.overrides(1) == [
        ("population.size_mix", {"micro": 0.2, "small": 0.6, "medium": 0.2}),
        ("channels.fax.cost", 0.9),
    ]
    ranged = """\
base: base.yaml
parameters:
  channels.fax.cost: {range: {start: 0, stop: 0.3, step: 0.1}}
  population.n_smes: {range: {start: 10, stop: 1000, num: 3, log: true}}
"""
    sweep = read_sweep_file(write(tmp_path, "r.yaml", ranged))
    assert [p["channels.fax.cost"] for p in sweep.points[::3]] == [0, 0.1, 0.2, 0.3]
    assert [p["population.n_smes"] for p in sweep.points[:3]] == [10, 100, 1000]


def test_wildcards_expand_over_lists_and_mappings():
    data = Scenario().model_dump(mode="json")
    assert expand_path(data, "agencies.*.capacity_per_week_per_1000_smes") == [
        f"agencies.{i}.capacity_per_week_per_1000_smes" for i in range(5)
    ]
    assert len(expand_path(data, "channels.*.latency.median_days")) == 10
    assert expand_path(data, "population.n_smes") == ["population.n_smes"]


BAD = {
    "unknown-key": (
        "replicatons: 3\nparameters: {channels.fax.cost: {values: [0.1]}}",
        ["field 'replicatons': unknown key 'replicatons' (did you mean 'replications'?)"],
    ),
    "unknown-design": (
        "design: {kind: sobl}\nparameters: {channels.fax.cost: {bounds: [0.1, 0.2]}}",
        ["field 'design.kind': value 'sobl'", "did you mean 'sobol'?"],
    ),
    "parameter-key": (
        "parameters: {channels.fax.cost: {value: [0.1]}}",
        ["field 'parameters['channels.fax.cost'].value': unknown key 'value'", "'values'"],
    ),
    "path": (
        "parameters: {channels.whatsap.latency.median_days: {values: [1]}}",
        ["parameters['channels.whatsap.latency.median_days']", "did you mean 'whatsapp'?"],
    ),
    "wildcard-path": (
        "parameters: {agencies.*.capacity_per_wek: {values: [1]}}",
        ["unknown key 'capacity_per_wek'", "did you mean 'capacity_per_week_per_1000_smes'?"],
    ),
    "value": (
        "parameters: {channels.whatsapp.latency.median_days: {values: [1, -2]}}",
        [
            "field 'parameters['channels.whatsapp.latency.median_days'].values[1]': value -2: "
            "expected greater than 0"
        ],
    ),
    "bound": (
        "design: {kind: lhs, samples: 4}\n"
        "parameters: {channels.whatsapp.latency.sigma: {bounds: [0.1, 5]}}",
        ["'].bounds[1]': value 5.0: expected less than or equal to 3"],
    ),
    "bounds-order": (
        "design: {kind: lhs, samples: 4}\nparameters: {channels.fax.cost: {bounds: [0.5, 0.1]}}",
        ["field 'parameters['channels.fax.cost'].bounds'", "expected low < high"],
    ),
    "grid-needs-values": (
        "parameters: {channels.fax.cost: {bounds: [0.1, 0.5]}}",
        ["expected 'values' or 'range' for design kind 'grid'"],
    ),
    "sobol-needs-bounds": (
        "design: {kind: sobol, base_samples: 8}\nparameters: {channels.fax.cost: {values: [1]}}",
        ["expected 'bounds' (low and high) for design kind 'sobol'"],
    ),
    "power-of-two": (
        "design: {kind: sobol, base_samples: 12}\n"
        "parameters: {channels.fax.cost: {bounds: [0.1, 0.2]}}",
        ["field 'design.base_samples': value 12: expected a power of 2", "8 or 16"],
    ),
    "reserved": (
        "parameters: {seed: {values: [1, 2]}}",
        ["field 'parameters['seed']'", "set by the sweep itself"],
    ),
    "combination": (
        "design:\n  kind: points\n  points:\n"
        "    - {population.size_mix.micro: 0.5, population.size_mix.small: 0.4}\n",
        ["point 0", "size-class shares must sum to 1"],
    ),
    "set": (
        "set: {population.n_smse: 5}\nparameters: {channels.fax.cost: {values: [0.1]}}",
        ["field 'set'", "did you mean 'n_smes'?"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sweep_files_name_file_field_value_and_expected(tmp_path, capsys, case):
    body, expected = BAD[case]
    write(tmp_path, "base.yaml", BASE)
    path = write(tmp_path, "bad.yaml", "base: base.yaml\n" + body + "\n")
    code = main(["sweep", str(path), "--dry-run"])
    err = flat(capsys.readouterr().err)
    assert code == 2
    assert str(path) in err and "Traceback" not in err
    for text in expected:
        assert " ".join(text.split()) in err, (case, text, err)
    with pytest.raises(ScenarioError):
        read_sweep_file(path)


def test_missing_base_scenario(tmp_path):
    path = write(tmp_path, "s.yaml", "base: nowhere.yaml\nparameters: {a.b: {values: [1]}}\n")
    with pytest.raises(ScenarioError, match="field 'base': value 'nowhere.yaml'"):
        read_sweep_file(path)


def test_example_sweeps_are_valid(capsys):
    files = sorted((REPO / "scenarios" / "sweeps").glob("*.yaml"))
    assert len(files) >= 2
    kinds = set()
    for path in files:
        sweep = read_sweep_file(path)
        kinds.add(sweep.kind)
        assert sweep.base_path.is_file()
    assert "sobol" in kinds
    first = read_sweep_file(files[0])  # the small one of the docs: a grid of 20 points
    assert first.kind == "grid" and first.n_points * first.replications <= 2000
    assert main(["sweep", str(files[0]), "--dry-run"]) == 0
    assert "points" in capsys.readouterr().out
    assert main(["sweep", str(files[0]), "--dry-run", "--shard", "5/2"]) == 2
    assert "--shard" in capsys.readouterr().err  # a dry run checks the options too


def test_sweep_into_an_unusable_folder_is_refused(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    sweep = write(tmp_path, "s.yaml", GRID)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SimsmeError, match="--out: cannot use"):
        plan_sweep(sweep, tmp_path / "a-file")


def test_sweep_replacing_a_run_leaves_none_of_its_tables(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    sweep = write(tmp_path, "s.yaml", GRID)
    out = tmp_path / "out"
    run_scenario(
        Scenario.model_validate(
            {"population": {"n_smes": 40}, "time": {"horizon_years": 2}, "replications": 2}
        ),
        out=out,
    )
    with pytest.raises(SimsmeError, match="results of a `simsme run`"):
        plan_sweep(sweep, out)
    run_sweep(sweep, out, force_new=True)
    names = {p.name for p in out.iterdir()}
    assert "points.parquet" in names
    assert not names & {"replications.parquet", "smes.parquet", "channel_mix.parquet"}


def test_overlapping_and_oversized_parameters_are_refused(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    overlap = write(
        tmp_path,
        "overlap.yaml",
        "base: base.yaml\nparameters:\n"
        "  agencies.trade_agency.capacity_per_week_per_1000_smes: {values: [5, 10]}\n"
        "  agencies.*.capacity_per_week_per_1000_smes: {values: [5, 10]}\n",
    )
    with pytest.raises(ScenarioError, match="also sets"):
        read_sweep_file(overlap)
    huge = write(
        tmp_path,
        "huge.yaml",
        "base: base.yaml\nparameters:\n"
        "  channels.whatsapp.latency.median_days: {range: {start: 0.001, stop: 10, step: 1.0e-7}}\n",
    )
    with pytest.raises(ScenarioError, match="at most 100,000 values"):
        read_sweep_file(huge)


def test_sweep_of_a_run_folder_is_refused(tmp_path):
    write(tmp_path, "base.yaml", BASE)
    sweep = write(tmp_path, "s.yaml", GRID)
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"status": "complete", "run_key": "x"}))
    # a manifest simsme did not mark as its own: a foreign folder, left alone
    with pytest.raises(SimsmeError, match="holds files simsme did not write"):
        plan_sweep(sweep, out)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]


def test_chunks_group_only_quick_points_and_depend_on_the_sweep_only():
    from simsme.experiments.sweep import CHUNK_WORK, chunk_points, points_per_chunk

    assert points_per_chunk(40, work_per_point=CHUNK_WORK) == 1  # heavy points: one per commit
    assert points_per_chunk(40, work_per_point=CHUNK_WORK / 10) == 3  # light: >= 16 chunks kept
    assert points_per_chunk(10_000, work_per_point=CHUNK_WORK * 10) == 20  # at most 500 chunks
    chunks = chunk_points(41, CHUNK_WORK / 100)
    assert len(chunks) == 14 and [p for c in chunks for p in c] == list(range(41))
