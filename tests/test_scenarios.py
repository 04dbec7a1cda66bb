"""The scenario library: every file validates, cites its sources, and runs on the kernel.

Runs are shrunk with ``--set``-style overrides (fewer SMEs, shorter horizons, few replications):
they check that each scenario runs and produces sane outputs, not its figures. Two statistical
checks use the files as they are: Company B reaches its first export well before Company A (003
section 4.1), and the conventional era is slower than the DIP era.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simsme.calibration.check import run_statistics
from simsme.calibration.statistics import WEEKS_PER_YEAR
from simsme.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
NAMES = [f.name for f in FILES]
SOURCE = re.compile(r"00[0-4]_[0-9a-f]{16}\.txt|MODEL\.md|\b00[0-4]\b")

REQUIRED = {
    "baseline.yaml",
    "conventional-era.yaml",
    "dip-era.yaml",
    "pandemic-mco.yaml",
    "food-act-sugar.yaml",
    "gst.yaml",
    "fta-cptpp-rcep.yaml",
    "company-a.yaml",
    "company-b.yaml",
    "indonesia-creative-network.yaml",
    "digital-agencies.yaml",
    "conventional-agencies.yaml",
}


def test_the_library_has_every_required_scenario():
    assert REQUIRED <= set(NAMES)


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_scenario_validates_and_its_header_cites_sources(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    text = "\n".join(header)
    assert len(header) >= 4, f"{path.name}: no header comment"
    assert SOURCE.search(text), f"{path.name}: the header cites no source paper"


@pytest.mark.parametrize("path", FILES, ids=NAMES)
def test_scenario_runs_on_the_kernel(path):
    """Each scenario, shrunk to 60 SMEs and 3 replications over its own dates, runs and
    produces outputs in range."""
    scenario = load_scenario(path, ["population.n_smes=60"])
    table = run_statistics(scenario, 3)
    assert len(table) == 3
    assert table["share_exported"].between(0, 1).all()
    assert (table["applications"] > 0).all()
    horizon_weeks = scenario.n_steps * scenario.time.step_days / 7.0
    assert table["restricted_mean_ttfe_weeks"].between(0, horizon_weeks + 1e-9).all()
    uptake = table[[c for c in table if c.startswith("uptake_")]].sum(axis=1)
    assert np.allclose(uptake[table["approvals"] > 0], 1.0)


def test_company_b_reaches_first_export_before_company_a():
    """003 section 4.1: A took 17 years (2005 -> January 2022), B 5 (2010 -> 2015).

    Each case file runs as written (100 replicas of the firm) for 20 replications. Replicas
    differ in profitability, orders and foreign demand, and 003 chose both firms because they
    exported, so each firm is compared with its replicas that export within the horizon: per
    replication, the median TTFE among them. A's replicas must export later than B's: one-sided
    Welch t-test of A > B at alpha 0.001 (medians differ by about 4 years, replication medians
    vary by about 2 years, measured: 8 replications left the test near alpha, 20 give t of
    about 6). And each firm's own time must not lie in a 5% tail of its
    exporting replicas' distribution (the share of them that exported by the firm's age within
    [0.05, 0.95], mean over replications; as the check-model targets).
    """
    a = run_statistics(load_scenario(ROOT / "scenarios/company-a.yaml"), 20)
    b = run_statistics(load_scenario(ROOT / "scenarios/company-b.yaml"), 20)
    years_a = a["median_ttfe_weeks"].to_numpy() / WEEKS_PER_YEAR
    years_b = b["median_ttfe_weeks"].to_numpy() / WEEKS_PER_YEAR
    assert np.isfinite(years_a).all() and np.isfinite(years_b).all()
    test = stats.ttest_ind(years_a, years_b, equal_var=False, alternative="greater")
    assert test.pvalue < 0.001, (years_a.mean(), years_b.mean())
    assert 0.05 <= a["exporters_within_17y"].mean() <= 0.95
    assert 0.05 <= b["exporters_within_5y"].mean() <= 0.95


def test_conventional_era_is_slower_than_the_dip_era():
    """Same SMEs and agencies, different era channels (003 sections 4.1.1 and 4.2): the
    restricted mean TTFE (censoring-aware) is longer in 1995-2009 than from 2018. 300 SMEs,
    20 replications each; the gap is about 45 weeks (692 against 646 at 1,000 SMEs: exporting is
    a minority outcome, so most SMEs count at the horizon in both eras) against a replication
    spread of about 20 weeks at 300 SMEs, tested with a one-sided Welch t-test at alpha 0.001."""
    overrides = ["population.n_smes=300"]
    conventional = run_statistics(
        load_scenario(ROOT / "scenarios/conventional-era.yaml", overrides), 20
    )
    dip = run_statistics(load_scenario(ROOT / "scenarios/dip-era.yaml", overrides), 20)
    test = stats.ttest_ind(
        conventional["restricted_mean_ttfe_weeks"],
        dip["restricted_mean_ttfe_weeks"],
        equal_var=False,
        alternative="greater",
    )
    assert test.pvalue < 0.001
