"""simsme.analysis: Kaplan-Meier curves, medians, shares by year and run comparisons, checked
against cases with known answers (closed forms, a textbook data set, synthetic results folders).

The synthetic folders (:func:`write_run_folder`) hold SMEs whose first export arrives at a fixed
weekly hazard h, so TTFE is geometric: P(TTFE > k weeks) = (1 - h)^k, with median
ceil(ln 0.5 / ln(1 - h)) weeks. No simulation is run here (fast, no numba compile).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simsme.analysis import (
    WEEKS_PER_YEAR,
    combine_runs,
    compare_runs,
    group_labels,
    kaplan_meier,
    km_by_group,
    km_from_smes,
    km_median_weighted,
    km_medians,
    load_run,
    load_sweep,
    median_table,
    share_exported_by_year,
)
from simsme.analysis.results import folder_kind
from simsme.errors import SimsmeError
from simsme.scenario.schema import FOCUS_AREAS, SIZE_CLASSES

from helpers import small_scenario


def geometric_smes(
    n: int,
    hazard: float,
    horizon: float,
    rng: np.random.Generator,
    late_entry_weeks: float = 0.0,
) -> pd.DataFrame:
    """SMEs exporting at a constant weekly ``hazard``, followed until ``horizon`` weeks after the
    start; with ``late_entry_weeks`` > 0 each enters uniformly later and is followed less long."""
    ttfe = rng.geometric(hazard, n).astype(float)  # support 1, 2, ...: P(T > k) = (1 - h)^k
    entry = np.floor(rng.uniform(0, late_entry_weeks, n)) if late_entry_weeks else np.zeros(n)
    follow = horizon - entry
    exported = ttfe <= follow
    return pd.DataFrame(
        {
            "ttfe_weeks": np.where(exported, ttfe, follow),
            "exported": exported,
            "founded_week": entry,
        }
    )


def closed_form_median(hazard: float) -> float:
    return float(math.ceil(math.log(0.5) / math.log(1 - hazard)))


def write_run_folder(
    folder: Path,
    name: str,
    hazard: float,
    replications: int = 6,
    n_smes: int = 200,
    horizon_years: float = 6.0,
    seed: int = 0,
    with_smes: bool = True,
) -> Path:
    """A results folder like ``simsme run`` writes, with geometric TTFE (see module docstring).

    Size classes differ in hazard (micro x0.5, small x1, medium x2) so groups are visible.
    """
    rng = np.random.default_rng(seed)
    horizon = horizon_years * WEEKS_PER_YEAR
    smes, reps, mix = [], [], []
    channels = ["paper", "face_to_face", "email", "web_portal"]
    for r in range(replications):
        size = rng.choice(3, n_smes, p=[0.25, 0.55, 0.2])
        parts = []
        for k, factor in enumerate((0.5, 1.0, 2.0)):
            part = geometric_smes(int((size == k).sum()), hazard * factor, horizon, rng)
            part["size_class"] = SIZE_CLASSES[k]
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True)
        frame.insert(0, "replication", r)
        frame.insert(1, "sme", np.arange(len(frame)))
        frame["censored"] = ~frame["exported"]
        frame["size_class"] = pd.Categorical(frame["size_class"], categories=SIZE_CLASSES)
        frame["region"] = pd.Categorical(
            rng.choice(["urban", "rural"], len(frame), p=[0.7, 0.3]), categories=["urban", "rural"]
        )
        frame["applications"] = rng.poisson(3, len(frame))
        frame["digital_applications"] = rng.binomial(frame["applications"], 0.4)
        smes.append(frame)
        uptake = rng.dirichlet([40, 30, 5, 10, 10])
        row = {"replication": r, "n_smes": len(frame), "share_exported": frame.exported.mean()}
        row["median_ttfe_weeks"] = frame.loc[frame.exported, "ttfe_weeks"].median()
        row.update({f"uptake_{f}": u for f, u in zip(FOCUS_AREAS, uptake, strict=True)})
        reps.append(row)
        for year in range(2010, 2010 + int(horizon_years)):
            digital_share = 0.0 if year < 2013 else 0.8
            apps = rng.poisson(50)
            split = [apps * (1 - digital_share) * 0.8, apps * (1 - digital_share) * 0.2]
            split += [apps * digital_share * 0.3, apps * digital_share * 0.7]
            for channel, count, digital in zip(
                channels, split, [False, False, True, True], strict=True
            ):
                mix.append((r, year, channel, digital, int(round(count))))
    folder.mkdir(parents=True, exist_ok=True)
    if with_smes:
        pd.concat(smes, ignore_index=True).to_parquet(folder / "smes.parquet")
    pd.DataFrame(reps).to_parquet(folder / "replications.parquet")
    mix_frame = pd.DataFrame(
        mix, columns=["replication", "year", "channel", "digital", "applications"]
    )
    mix_frame["channel"] = pd.Categorical(mix_frame["channel"], categories=channels)
    mix_frame.to_parquet(folder / "channel_mix.parquet")
    scenario = small_scenario(
        {"population.n_smes": n_smes, "time.horizon_years": horizon_years}, name=name
    )
    manifest = {
        "status": "complete",
        "scenario_name": name,
        "engine": "synthetic",
        "seed": seed,
        "replications": replications,
        "n_smes": n_smes,
        "scenario": scenario.model_dump(mode="json"),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "summary.json").write_text("{}")
    return folder


# Kaplan-Meier against known answers ------------------------------------------------------------


def test_km_matches_the_geometric_closed_form_within_its_band():
    hazard, horizon = 0.01, 150.0
    smes = geometric_smes(4000, hazard, horizon, np.random.default_rng(1), late_entry_weeks=60)
    assert 0.1 < (~smes.exported).mean() < 0.5  # heavy censoring: 150-week horizon, late entry
    curve = km_from_smes(smes)
    weeks = np.arange(1, 150)
    truth = (1 - hazard) ** weeks
    low, high = curve.band_at(weeks)
    inside = (low <= truth) & (truth <= high)
    # Pointwise 95% bands: about 95% of the weeks should hold the truth; 85% leaves room for the
    # bands' correlation over time (one seed, deterministic).
    assert inside.mean() >= 0.85
    for week in (26, 52, 104):
        assert low[week - 1] <= (1 - hazard) ** week <= high[week - 1]
    # Greenwood standard error at n = 4000 is ~0.008: the curve is within 0.03 everywhere.
    assert np.max(np.abs(curve.at(weeks) - truth)) < 0.03


def test_median_is_censoring_aware_and_dropping_censored_smes_is_wrong():
    hazard = 0.01
    truth = closed_form_median(hazard)  # 69 weeks
    smes = geometric_smes(3000, hazard, 120.0, np.random.default_rng(2), late_entry_weeks=40)
    median = km_from_smes(smes).median()
    assert median.ci_low <= truth <= median.ci_high
    assert median.ci_high - median.ci_low < 15  # informative at n = 3000
    # The exporters alone (censored SMEs dropped) give a much shorter, wrong median.
    exporters = smes[smes.exported]
    naive = km_from_smes(exporters).median().estimate
    assert naive == pytest.approx(exporters.ttfe_weeks.median(), abs=1)
    assert naive < median.ci_low - 10
    assert truth - naive > 15


def test_km_reproduces_the_textbook_6mp_example():
    # Remission times (weeks) of the 6-MP group, Freireich et al. (1963), as in Kleinbaum &
    # Klein, "Survival Analysis", ch. 2; "+" (censored) as exported=False.
    times = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
    event = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
    curve = kaplan_meier(times, np.array(event, bool))
    expected = {6: 0.8571, 7: 0.8067, 10: 0.7529, 13: 0.6902, 16: 0.6275, 22: 0.5378, 23: 0.4482}
    for week, s in expected.items():
        assert curve.at(week)[0] == pytest.approx(s, abs=1e-4)
    assert curve.at(5.9)[0] == 1.0
    assert curve.at(35)[0] == pytest.approx(0.4482, abs=1e-4)  # flat after the last event
    assert np.isnan(curve.at(36)[0])  # beyond the follow-up: unknown
    median = curve.median()
    assert median.estimate == 23
    assert median.ci_low == 13  # first week the lower log-log limit is <= 0.5
    assert np.isnan(median.ci_high)  # the upper limit never reaches 0.5: not bounded
    assert curve.n == 21 and curve.events == 9


def test_km_edge_cases_and_bad_input():
    none = kaplan_meier([10.0, 20.0], [False, False])
    assert none.at(15)[0] == 1.0 and not none.median().reached
    every = kaplan_meier([1.0, 2.0, 2.0, 3.0], [True, True, True, True])
    assert every.at(3)[0] == 0.0
    assert every.at(100)[0] == 0.0  # everyone exported: stays at zero after the follow-up
    assert every.median().estimate == 2.0
    with pytest.raises(SimsmeError, match="durations"):
        kaplan_meier([1.0, -2.0], [True, True])
    with pytest.raises(SimsmeError, match="same length"):
        kaplan_meier([1.0, 2.0], [True])
    with pytest.raises(SimsmeError, match="no SMEs"):
        kaplan_meier([], [])


def test_weighted_km_median_equals_scipy_on_tied_censored_data():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(20, 200))
        t = rng.integers(1, 30, n).astype(float)  # many ties
        e = rng.random(n) < rng.uniform(0.3, 0.9)
        w = rng.integers(0, 4, n)  # weights = copies of each row
        rows = np.repeat(np.arange(n), w)
        if len(rows) == 0:
            continue
        expected = kaplan_meier(t[rows], e[rows]).median().estimate
        times = np.unique(t)
        got = km_median_weighted(np.searchsorted(times, t), e.astype(float), w.astype(float), times)
        assert got == expected or (np.isnan(got) and np.isnan(expected))


def test_km_medians_per_group():
    rng = np.random.default_rng(4)
    a = geometric_smes(3000, 0.02, 300, rng).assign(point=0)
    b = geometric_smes(3000, 0.005, 300, rng).assign(point=1)
    medians = km_medians(pd.concat([a, b]), ["point"])
    # closed forms 35 and 139 weeks; Greenwood SE of the median ~ 1 and ~ 4 weeks at n = 3000
    assert medians[0] == pytest.approx(closed_form_median(0.02), abs=4)
    assert medians[1] == pytest.approx(closed_form_median(0.005), abs=12)


def test_share_exported_by_year_is_censoring_aware():
    hazard = 0.01
    rng = np.random.default_rng(5)
    horizon = 3 * WEEKS_PER_YEAR
    smes = geometric_smes(4000, hazard, horizon, rng, late_entry_weeks=2 * WEEKS_PER_YEAR)
    # 99.9% bands: three years checked at once, each should hold the truth (95% ones miss one
    # of three years about 1 time in 7).
    table = share_exported_by_year({"all SMEs": km_from_smes(smes, level=0.999)})
    assert list(table.year) == [1, 2, 3]
    truth = 1 - (1 - hazard) ** np.floor(table.year * WEEKS_PER_YEAR)
    assert np.all((table.ci_low <= truth) & (truth <= table.ci_high))
    assert np.all(table.ci_high - table.ci_low < 0.12)  # few SMEs are followed 3 years
    # Counting exporters over all SMEs ignores that late entrants were followed less long:
    naive_year3 = (smes.exported & (smes.ttfe_weeks <= horizon)).mean()
    assert table.share_exported.iloc[2] - naive_year3 > 0.1


# Groups and results folders --------------------------------------------------------------------


def test_groups_by_size_class_order_the_medians(tmp_path):
    run = load_run(write_run_folder(tmp_path / "r", "synthetic", 0.01, replications=4, n_smes=500))
    curves = km_by_group(run.smes(), "size_class", run)
    assert list(curves) == ["micro", "small", "medium"]
    table = median_table(curves).set_index("group")
    for group, factor in (("micro", 0.5), ("small", 1.0), ("medium", 2.0)):
        truth = closed_form_median(0.01 * factor)
        row = table.loc[group]
        if np.isfinite(row.ci_high_weeks):
            assert row.ci_low_weeks <= truth <= row.ci_high_weeks
    assert table.median_ttfe_weeks.is_monotonic_decreasing


def test_channel_mix_and_agency_digitalisation_groups(tmp_path):
    smes = pd.DataFrame(
        {
            "applications": [0, 4, 4, 2, 3],
            "digital_applications": [0, 1, 2, 2, 0],
            "founded_week": [-100.0, 0.0, 50.0, 300.0, 600.0],
        }
    )
    mix = group_labels(smes, "channel_mix")
    assert list(mix) == [
        "no applications",
        "mostly conventional",
        "mostly digital",
        "mostly digital",
        "mostly conventional",
    ]
    folder = write_run_folder(
        tmp_path / "r", "synthetic", 0.01, replications=1, n_smes=10, horizon_years=12
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    for agency in manifest["scenario"]["agencies"]:  # DIP from 2013 (week ~156) for all
        agency["digitalisation"] = {"level": 0.0, "schedule": [{"date": "2013-01-01", "level": 1}]}
    manifest["scenario"]["agencies"][0]["digitalisation"]["schedule"] = [
        {"date": "2016-01-01", "level": 1}
    ]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    labels = group_labels(smes, "agency_digitalisation", load_run(folder))
    assert list(labels) == [
        "conventional agencies",
        "conventional agencies",
        "conventional agencies",
        "partly digital agencies",  # 2015: every agency but the first has moved
        "digital agencies",
    ]
    with pytest.raises(SimsmeError, match="did you mean 'size_class'"):
        group_labels(smes, "size_clas")


def test_curves_by_scenario_pool_several_runs(tmp_path):
    a = write_run_folder(tmp_path / "a", "conventional", 0.01, replications=2, n_smes=400)
    b = write_run_folder(tmp_path / "b", "digital", 0.02, replications=2, n_smes=400, seed=1)
    runs = [load_run(a), load_run(b)]
    smes = combine_runs(runs)
    assert list(smes.scenario.cat.categories) == ["conventional", "digital"]
    curves = km_by_group(smes, "scenario")
    assert [c.n for c in curves.values()] == [800, 800]
    medians = median_table(curves).set_index("group").median_ttfe_weeks
    assert medians["digital"] < medians["conventional"]


def test_folder_kinds_and_clear_errors(tmp_path):
    run = write_run_folder(tmp_path / "run", "synthetic", 0.01, replications=1, n_smes=10)
    assert folder_kind(run) == "run"
    with pytest.raises(SimsmeError, match="no such results folder"):
        folder_kind(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SimsmeError, match="not a results folder"):
        load_run(tmp_path / "empty")
    with pytest.raises(SimsmeError, match="single run, not of a sweep"):
        load_sweep(run)
    bare = write_run_folder(
        tmp_path / "bare", "s", 0.01, replications=1, n_smes=10, with_smes=False
    )
    with pytest.raises(SimsmeError, match="without --no-smes"):
        load_run(bare).smes()
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["status"] = "running"
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SimsmeError, match="not complete"):
        load_run(run)
    # Tables without the manifest (killed while writing them) are not a finished run.
    (run / "manifest.json").unlink()
    with pytest.raises(SimsmeError, match="not a results folder"):
        load_run(run)
    (run / ".chunks").mkdir()
    with pytest.raises(SimsmeError, match="unfinished results"):
        load_run(run)


# Comparing two runs ----------------------------------------------------------------------------


def test_compare_recovers_a_known_hazard_ratio_and_median_difference(tmp_path):
    ha, hb = 0.008, 0.012
    a = write_run_folder(tmp_path / "a", "conventional", ha, replications=12, n_smes=300, seed=1)
    b = write_run_folder(tmp_path / "b", "digital", hb, replications=12, n_smes=300, seed=2)
    # Each size class has its own hazard, but the ratio B/A is 1.5 in every class, so the
    # proportional-hazards model holds; continuous-time HR = ln(1 - hb) / ln(1 - ha).
    true_hr = math.log(1 - hb) / math.log(1 - ha)
    result = compare_runs(load_run(a), load_run(b), n_resamples=300, seed=0)
    assert result.labels == ("conventional", "digital")
    hr = result.hazard_ratio
    assert hr.ci_low <= true_hr <= hr.ci_high
    assert "clustering by replication" in hr.method  # 12 replications each: cluster-robust
    assert result.logrank_p_value < 1e-6
    assert result.notes == []
    # True medians of the size-class mixture: solve the mixture's S(t) = 0.5.
    weeks = np.arange(1, 2000)

    def mixture_median(h: float) -> float:
        s = sum(p * (1 - h * f) ** weeks for p, f in ((0.25, 0.5), (0.55, 1.0), (0.2, 2.0)))
        return float(weeks[np.argmax(s <= 0.5)])

    true_diff = mixture_median(hb) - mixture_median(ha)
    d = result.median_difference
    assert d.ci_low <= true_diff <= d.ci_high
    assert d.ci_high < 0  # B (digital) reaches first export sooner
    assert "over replications" in d.method
    table = result.to_frame()
    assert list(table.columns) == ["statistic", "conventional", "digital", "B vs A"]
    assert result.to_dict()["hazard_ratio"]["estimate"] == pytest.approx(hr.estimate)


def test_compare_of_equal_runs_finds_no_difference(tmp_path):
    a = write_run_folder(tmp_path / "a", "baseline", 0.01, replications=4, n_smes=300, seed=3)
    b = write_run_folder(tmp_path / "b", "baseline", 0.01, replications=4, n_smes=300, seed=4)
    result = compare_runs(load_run(a), load_run(b), n_resamples=300, seed=0)
    assert result.labels == ("baseline (a)", "baseline (b)")  # same scenario: folder names
    assert result.hazard_ratio.ci_low <= 1.0 <= result.hazard_ratio.ci_high
    assert result.median_difference.ci_low <= 0 <= result.median_difference.ci_high
    assert result.logrank_p_value > 0.01  # one fixed seed; the null is true
    assert "over SMEs" in result.median_difference.method  # 4 replications: SME-level
    assert any("fewer than 10 replications" in note for note in result.notes)
    # The log-rank statistic is scipy's; check it against the two samples directly.
    sa, sb = load_run(a).smes(), load_run(b).smes()
    direct = stats.logrank(
        stats.CensoredData(
            uncensored=sa.ttfe_weeks[sa.exported], right=sa.ttfe_weeks[~sa.exported]
        ),
        stats.CensoredData(
            uncensored=sb.ttfe_weeks[sb.exported], right=sb.ttfe_weeks[~sb.exported]
        ),
    )
    assert result.logrank_p_value == pytest.approx(direct.pvalue)


def test_questionable_pairs_are_pointed_out(tmp_path):
    a = write_run_folder(tmp_path / "a", "a", 0.01, replications=4, n_smes=100, seed=5)
    same = compare_runs(load_run(a), load_run(a), n_resamples=50, seed=0)
    assert any("same results folder" in note for note in same.notes)
    b = write_run_folder(tmp_path / "b", "b", 0.01, replications=4, n_smes=100, seed=6)
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["scenario"]["time"]["horizon_years"] = 9.0
    (b / "manifest.json").write_text(json.dumps(manifest))
    other = compare_runs(load_run(a), load_run(b), n_resamples=50, seed=0)
    assert any("different periods" in note for note in other.notes)


def test_runs_with_the_same_seed_are_paired_by_replication(tmp_path):
    """Same seed and replications: replication r of both runs share random numbers, so they are
    resampled together. Two identical runs then differ by exactly 0 in every resample; resampled
    independently, the interval would be as wide as the replication noise."""
    a = write_run_folder(tmp_path / "a", "a", 0.01, replications=10, n_smes=200, seed=5)
    b = write_run_folder(tmp_path / "b", "b", 0.01, replications=10, n_smes=200, seed=5)
    paired = compare_runs(load_run(a), load_run(b), n_resamples=200, seed=0)
    assert "paired by replication" in paired.median_difference.method
    assert paired.median_difference.ci_low == paired.median_difference.ci_high == 0.0
    c = write_run_folder(tmp_path / "c", "c", 0.01, replications=10, n_smes=200, seed=6)
    unpaired = compare_runs(load_run(a), load_run(c), n_resamples=200, seed=0)
    assert "paired" not in unpaired.median_difference.method
    assert unpaired.median_difference.ci_low < unpaired.median_difference.ci_high


def test_sweep_summary_gains_a_censoring_aware_median_from_smes(tmp_path):
    folder = tmp_path / "sweep"
    rng = np.random.default_rng(6)
    rows, summary = [], []
    for point, hazard in enumerate((0.02, 0.005)):
        for rep in range(2):
            smes = geometric_smes(2000, hazard, 150.0, rng).assign(point=point, replication=rep)
            path = folder / "smes" / f"point={point}"
            path.mkdir(parents=True, exist_ok=True)
            rows.append(smes)
            summary.append({"point": point, "replication": rep, "median_ttfe_weeks": 1.0})
        pd.concat([r for r in rows if r.point.iloc[0] == point]).drop(columns="point").to_parquet(
            path / "part-0.parquet"
        )
    pd.DataFrame({"point": [0, 1], "status": "ok", "error": None, "x": [1.0, 2.0]}).to_parquet(
        folder / "points.parquet"
    )
    pd.DataFrame(summary).to_parquet(folder / "summary.parquet")
    (folder / "manifest.json").write_text(
        json.dumps({"status": "complete", "kind": "sweep", "design": {"kind": "grid"}})
    )
    sweep = load_sweep(folder)
    assert sweep.parameters == ["x"] and sweep.design == "grid"
    km = sweep.summary.set_index(["point", "replication"])["km_median_ttfe_weeks"]
    # closed forms 35 and 139 weeks; 150-week horizon censors ~47% at h = 0.005
    assert np.all(np.abs(km.loc[0] - closed_form_median(0.02)) <= 5)
    assert np.all(np.abs(km.loc[1] - closed_form_median(0.005)) <= 20)


def test_restricted_mean_difference_of_known_runs():
    """The restricted mean TTFE difference (area under the Kaplan-Meier curves to the horizon):
    B's SMEs export 10 weeks before A's in every replication, so the paired difference is -10
    exactly; unpaired, the Welch interval covers -10; SMEs exporting after the horizon count at
    the horizon (censored at 200 weeks)."""
    from simsme.analysis.compare import restricted_mean_difference

    rng = np.random.default_rng(3)
    reps = np.repeat(np.arange(30), 20)
    base = rng.uniform(50, 150, len(reps)) + 5.0 * reps % 7
    a = pd.DataFrame({"replication": reps, "ttfe_weeks": base, "exported": True})
    b = a.assign(ttfe_weeks=base - 10.0)
    paired = restricted_mean_difference(a, b, 200.0, True, paired=True)
    assert paired.estimate == pytest.approx(-10.0)
    assert paired.ci_low == pytest.approx(-10.0) and paired.ci_high == pytest.approx(-10.0)
    welch = restricted_mean_difference(a, b, 200.0, True, paired=False)
    assert welch.estimate == pytest.approx(-10.0) and welch.ci_low < -10.0 < welch.ci_high
    pooled = restricted_mean_difference(a, b, 200.0, False)
    assert pooled.estimate == pytest.approx(-10.0) and np.isnan(pooled.ci_low)
    # a horizon inside the data: every time beyond it counts as the horizon
    capped = restricted_mean_difference(a, a.assign(ttfe_weeks=base + 500.0), 200.0, True, True)
    expected = 200.0 - np.minimum(base, 200.0).mean()
    assert capped.estimate == pytest.approx(expected)
