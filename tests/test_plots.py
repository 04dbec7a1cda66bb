"""simsme plot / simsme compare and the figure functions: files written, and figures made for
people (titles, labelled axes, legends, the colour-blind-safe palette).

Results folders are fabricated (no simulation): run folders by ``write_run_folder`` from
test_analysis, sweep folders by :func:`write_sweep_folder` following the sweep results layout.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from test_analysis import write_run_folder

from simsme.analysis import compare_runs, load_run, load_sweep
from simsme.cli import main
from simsme.plots import comparison_figure, run_figures, sweep_figures
from simsme.plots.style import OKABE_ITO

RUN_FILES = [
    "survival",
    "survival_by_size_class",
    "ttfe_by_size_class",
    "share_exported",
    "channel_mix",
    "uptake_by_focus",
]
MAGIC = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}
P1, P2 = "channels.whatsapp.latency.median_days", "agencies.*.capacity_per_week_per_1000_smes"


def write_sweep_folder(
    folder: Path, design: str = "grid", sensitivity: str | None = None, seed: int = 0
) -> Path:
    """A sweep results folder: TTFE grows with P1 and falls with P2 (plus noise); point 1 failed."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    if design == "grid":
        values = list(itertools.product([0.5, 1.0, 2.0, 4.0], [2.0, 4.0, 6.0]))
    else:
        values = list(zip(rng.uniform(0.5, 4, 40), rng.uniform(2, 6, 40), strict=True))
    points = pd.DataFrame(
        {
            "point": np.arange(len(values)),
            "status": "ok",
            "error": None,
            P1: [v[0] for v in values],
            P2: [v[1] for v in values],
        }
    )
    points.loc[1, ["status", "error"]] = ["failed", "ScenarioError: example"]
    rows = [
        {
            "point": p,
            "replication": r,
            "median_ttfe_weeks": 200 + 30 * x1 - 10 * x2 + rng.normal(0, 5),
            "share_exported": 0.8 - 0.02 * x1 + rng.normal(0, 0.01),
        }
        for p, (x1, x2) in enumerate(values)
        if p != 1
        for r in range(3)
    ]
    points.to_parquet(folder / "points.parquet")
    pd.DataFrame(rows).to_parquet(folder / "summary.parquet")
    manifest = {
        "status": "complete",
        "kind": "sweep",
        "sweep_name": f"test-{design}",
        "design": {"kind": design},
        "parameters": [{"name": P1, "paths": [P1]}, {"name": P2, "paths": [P2], "log": False}],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    if sensitivity == "sobol":
        sens = pd.DataFrame(
            {
                "output": "median_ttfe_weeks",
                "parameter": [P1, P2],
                "method": "sobol",
                "S1": [0.7, 0.2],
                "S1_conf": [0.05, 0.04],
                "ST": [0.75, 0.25],
                "ST_conf": [0.06, 0.05],
            }
        )
        sens.to_parquet(folder / "sensitivity.parquet")
    elif sensitivity == "morris":
        sens = pd.DataFrame(
            {
                "output": "median_ttfe_weeks",
                "parameter": [P1, P2],
                "method": "morris",
                "mu_star": [90.0, 35.0],
                "mu_star_conf": [8.0, 5.0],
                "sigma": [4.0, 3.0],
                "mu": [90.0, -35.0],
            }
        )
        sens.to_parquet(folder / "sensitivity.parquet")
    return folder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("plots")
    return {
        "run": write_run_folder(root / "run", "baseline", 0.006, replications=4, n_smes=300),
        "conventional": write_run_folder(
            root / "conv", "conventional-agencies", 0.006, replications=4, n_smes=300, seed=1
        ),
        "digital": write_run_folder(
            root / "dig", "digital-agencies", 0.009, replications=4, n_smes=300, seed=2
        ),
        "bare": write_run_folder(
            root / "bare", "baseline", 0.006, replications=2, n_smes=50, with_smes=False
        ),
        "grid": write_sweep_folder(root / "grid"),
        "sobol": write_sweep_folder(root / "sobol", "sobol", "sobol"),
        "morris": write_sweep_folder(root / "morris", "morris", "morris"),
    }


def written(folder: Path) -> dict[str, int]:
    bookkeeping = (".simsme.json", ".simsme.lock")  # simsme's record of the files it wrote
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.name not in bookkeeping}


# Files written by the commands ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_plot_run_writes_the_standard_figures(folders, tmp_path, capsys, fmt):
    out = tmp_path / "figs"
    assert main(["plot", str(folders["run"]), "--out", str(out), "--format", fmt]) == 0
    files = written(out)
    assert sorted(files) == sorted(f"{name}.{fmt}" for name in RUN_FILES)
    for name, size in files.items():
        assert size > 5000, name  # a real drawing, not an empty canvas
        assert (out / name).read_bytes()[:5].startswith(MAGIC[fmt])
    assert f"wrote 6 figure(s) to {out}" in capsys.readouterr().out


def test_plot_run_default_folder_grouping_and_only(folders):
    run = folders["run"]
    assert main(["plot", str(run), "--by", "channel_mix", "-q"]) == 0
    names = set(written(run / "figures"))
    assert {"survival_by_channel_mix.png", "ttfe_by_channel_mix.png"} <= names
    out = run / "only"
    code = main(
        ["plot", str(run), "--out", str(out), "--only", "survival", "--only", "channel_mix"]
    )
    assert code == 0
    assert sorted(written(out)) == ["channel_mix.png", "survival.png"]


def test_plot_run_without_smes_draws_what_it_can(folders, tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["plot", str(folders["bare"]), "--out", str(out)]) == 0
    assert sorted(written(out)) == ["channel_mix.png", "uptake_by_focus.png"]
    printed = capsys.readouterr().out
    assert "skipped survival: no smes.parquet" in printed


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("grid", ["sweep_heatmap.png", "sweep_response.png"]),
        ("sobol", ["sensitivity.png", "sweep_heatmap.png", "sweep_response.png"]),
        ("morris", ["sensitivity.png", "sweep_heatmap.png", "sweep_response.png"]),
    ],
)
def test_plot_sweep_writes_its_figures(folders, tmp_path, kind, expected):
    out = tmp_path / kind
    assert main(["plot", str(folders[kind]), "--out", str(out)]) == 0
    files = written(out)
    assert sorted(files) == expected
    assert all(size > 5000 for size in files.values())


def test_compare_prints_the_table_and_writes_the_curves(folders, tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", str(folders["conventional"]), str(folders["digital"]), "--out", str(out)]
    assert main([*args, "--resamples", "200", "--json", str(out / "c.json")]) == 0
    printed = capsys.readouterr().out
    for text in ("median TTFE", "log-rank", "hazard ratio", "conventional-agencies"):
        assert text in printed
    files = written(out)
    assert sorted(files) == ["c.json", "survival_conventional-agencies_vs_digital-agencies.png"]
    result = json.loads((out / "c.json").read_text())
    assert result["labels"] == ["conventional-agencies", "digital-agencies"]
    assert result["hazard_ratio"]["estimate"] > 1  # digital: hazard 0.009 vs 0.006


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plot", "{run}", "--format", "jpg"], "'jpg' is not one of 'png'"),
        (["plot", "{missing}"], "no such results folder"),
        (["plot", "{run}", "--by", "size"], "'size' is not one of 'size_class'"),
        (["plot", "{run}", "--only", "pie"], "'pie' is not one of"),
        (["plot", "{grid}", "--output", "median_ttfe"], "did you mean 'median_ttfe_weeks'"),
        (["compare", "{run}", "{grid}"], "holds the results of a sweep"),
        (["compare", "{run}", "{bare}"], "without --no-smes"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(folders, tmp_path, capsys, args, message):
    paths = {k: str(v) for k, v in folders.items()} | {"missing": str(tmp_path / "nope")}
    code = main([a.format(**paths) for a in args] + ["--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert message in " ".join(err.split())
    assert "Traceback" not in err


# Figures are for people -----------------------------------------------------------------------


def _data_axes(fig):
    """Axes holding data (not colour bars, not hidden panels)."""
    return [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]


def _check_readable(fig, name):
    assert fig._suptitle is not None and fig._suptitle.get_text().strip(), name
    axes = _data_axes(fig)
    assert axes, name
    for ax in axes:
        assert ax.get_xlabel().strip(), f"{name}: x axis without label"
    assert any(ax.get_ylabel().strip() for ax in axes), f"{name}: y axis without label"
    legends = [ax.get_legend() for ax in axes if ax.get_legend() is not None]
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    if name == "sweep_heatmap":  # its legend is the colour bar
        assert colorbars and colorbars[0].get_ylabel().strip()
    else:
        assert legends, f"{name}: no legend"
        assert all(t.get_text().strip() for lg in legends for t in lg.get_texts())
    for text in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
        if text.get_text().strip() and text.get_visible():
            assert text.get_fontsize() >= 8, f"{name}: text '{text.get_text()}' too small"


def _colours_used(fig) -> set[str]:
    out = set()
    for ax in _data_axes(fig):
        for line in ax.get_lines():
            if line.get_label().startswith("_"):
                continue
            out.add(mcolors.to_hex(line.get_color()).upper())
    return out


def test_run_figures_have_titles_labels_legends_and_okabe_ito_colours(folders):
    run = load_run(folders["run"])
    figures, skipped = run_figures(run, by="size_class")
    assert list(figures) == RUN_FILES and skipped == {}
    palette = {c.upper() for c in OKABE_ITO.values()}
    for name, fig in figures.items():
        _check_readable(fig, name)
        assert _colours_used(fig) <= palette, name
    survival = figures["survival_by_size_class"].axes[0]
    labels = [t.get_text() for t in survival.get_legend().get_texts()]
    assert [lab.split(" (")[0] for lab in labels] == ["micro", "small", "medium"]
    assert "years" in survival.get_xlabel().lower() or "Years" in survival.get_xlabel()
    assert "%" in survival.get_ylabel()
    # The same group has the same colour in every figure.
    share = figures["share_exported"].axes[0]
    colour_of = {
        line.get_label(): mcolors.to_hex(line.get_color())
        for line in share.get_lines()
        if not line.get_label().startswith("_")
    }
    first = mcolors.to_hex(survival.get_lines()[0].get_color())
    assert colour_of["micro"] == first
    assert colour_of["all SMEs"] == OKABE_ITO["black"].lower()


@pytest.mark.parametrize("kind", ["grid", "sobol", "morris"])
def test_sweep_figures_have_titles_labels_and_legends(folders, kind):
    figures, _ = sweep_figures(load_sweep(folders[kind]))
    assert "sweep_response" in figures and "sweep_heatmap" in figures
    for name, fig in figures.items():
        _check_readable(fig, name)
    response = figures["sweep_response"]
    assert [ax.get_xlabel() for ax in _data_axes(response)] == [P1, P2]
    assert "(weeks)" in _data_axes(response)[0].get_ylabel()


def test_comparison_figure_is_readable_and_names_both_runs(folders):
    result = compare_runs(
        load_run(folders["conventional"]), load_run(folders["digital"]), n_resamples=100
    )
    fig = comparison_figure(result)
    _check_readable(fig, "comparison")
    title = fig._suptitle.get_text()
    assert "conventional-agencies" in title and "digital-agencies" in title
    # the results are written in the legend (its "best" place keeps them off the curves)
    texts = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "hazard ratio" in texts and "log-rank" in texts and "restricted mean" in texts


def test_sweep_log_parameters_and_undefined_medians(tmp_path, capsys):
    folder = write_sweep_folder(tmp_path / "sweep", "lhs")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["parameters"][0]["log"] = True
    (folder / "manifest.json").write_text(json.dumps(manifest))
    summary = pd.read_parquet(folder / "summary.parquet")
    summary["km_median_ttfe_weeks"] = np.nan  # fewer than half exported anywhere
    summary.to_parquet(folder / "summary.parquet")
    sweep = load_sweep(folder)
    figures, _ = sweep_figures(sweep)
    response = _data_axes(figures["sweep_response"])
    assert response[0].get_xscale() == "log" and response[1].get_xscale() == "linear"
    # The censoring-aware median is undefined, so the figures fall back to the exporters' one.
    assert response[0].get_ylabel() == "Median TTFE of exporters (weeks)"
    code = main(["plot", str(folder), "--output", "km_median_ttfe_weeks", "--out", str(tmp_path)])
    assert code == 2
    assert "undefined (NaN) at every point" in " ".join(capsys.readouterr().err.split())
