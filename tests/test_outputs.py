"""Per-replication outputs whose denominators depend on how long each SME is followed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simsme.outputs import RunBlock, replication_table
from simsme.results.summary import mean_ci, replication_mean, summarise

STEP_DAYS = 7.0
N_STEPS = 313  # six years of weeks, rounded: the run ends on day 2191 (six years = 2191.5 days)


def block_of(founded_day: list[float], export_step: list[int]) -> tuple[RunBlock, SimpleNamespace]:
    arrays = SimpleNamespace(
        n_total=len(founded_day),
        n_years=6,
        n_channels=2,
        n_steps=N_STEPS,
        step_days=STEP_DAYS,
        ch_digital=np.array([True, False]),
    )
    block = RunBlock.empty(arrays, np.array([0]))
    block.founded_day[:] = founded_day
    block.export_step[:] = export_step
    return block, arrays


def test_shares_count_only_smes_followed_long_enough():
    block, arrays = block_of(
        # an old incumbent, a young incumbent, two early entrants, a late one, a last-year one
        founded_day=[-3000.0, -400.0, 100.0, 200.0, 1500.0, 2000.0],
        export_step=[10, 52, -1, 150, 250, -1],  # days 77, 371, -, 1057, 1757, -
    )
    row = replication_table(block, arrays, 2010).iloc[0]
    assert row["share_exported"] == pytest.approx(4 / 6)
    # Born-global share: entrants followed to their third birthday, the two early ones; one
    # exported at 2.35 years. Incumbents never count (their first years were not simulated); the
    # late entrant's third birthday falls after the horizon, so its quick export does not count.
    assert row["share_exported_within_3y"] == pytest.approx(1 / 2)
    # Followed for a year: all but the last-year entrant; exporters within 52.18 weeks of
    # entering the run: the old incumbent (11 weeks) and the late entrant (37 weeks).
    assert row["share_exported_year_1"] == pytest.approx(2 / 5)
    # Followed for two years: the incumbents and the early entrants; the young incumbent
    # exported at 53 weeks.
    assert row["share_exported_year_2"] == pytest.approx(2 / 4)
    # Followed six years (to the nearest step): the two incumbents, both exported.
    assert row["share_exported_year_6"] == pytest.approx(1.0)


def test_share_is_undefined_when_nobody_is_followed_long_enough():
    block, arrays = block_of(founded_day=[-3000.0, 2000.0], export_step=[-1, -1])
    row = replication_table(block, arrays, 2010).iloc[0]
    assert np.isnan(row["share_exported_within_3y"])
    assert row["share_exported_year_6"] == 0.0


def test_share_intervals_stay_within_zero_and_one():
    rare = np.array([0.0] * 9 + [0.05])  # a rare event: the t interval would reach below 0
    assert mean_ci(rare)["ci_low"] < 0
    assert mean_ci(rare, bounds=(0.0, 1.0))["ci_low"] == 0.0
    table = {"share_exported": rare, "mean_weeks_waiting": rare * 100}
    summary = summarise(pd.DataFrame(table))
    assert summary["share_exported"]["ci_low"] == 0.0
    assert summary["mean_weeks_waiting"]["ci_low"] == 0.0
    assert summary["share_exported"]["ci_high"] == pytest.approx(mean_ci(rare)["ci_high"])


def test_restricted_mean_is_the_area_under_the_km_curve():
    from simsme.analysis.survival import km_restricted_mean

    rng = np.random.default_rng(5)
    horizon = 100.0
    ttfe = np.minimum(rng.exponential(60, 500), horizon)
    exported = ttfe < horizon
    # Everyone followed to the horizon: the area equals the mean of min(TTFE, horizon).
    assert km_restricted_mean(ttfe, exported, horizon) == pytest.approx(ttfe.mean())
    # Censoring before the horizon (late entrants): by hand, S = 1 until 10, then 1/2 (one of
    # the two at risk exports), then the last SME is censored at 30: area 10 + 0.5 * 90 = 55.
    assert km_restricted_mean(
        np.array([10.0, 30.0]), np.array([True, False]), horizon
    ) == pytest.approx(55.0)


def test_entrants_do_not_pull_the_restricted_mean_down():
    """A late entrant censored after a short follow-up is not a quick exporter."""
    incumbents = ([-3000.0] * 4, [100, 200, 300, -1])
    block, arrays = block_of(*incumbents)
    without = replication_table(block, arrays, 2010).iloc[0]["restricted_mean_ttfe_weeks"]
    block, arrays = block_of(incumbents[0] + [2100.0], incumbents[1] + [-1])
    with_entrant = replication_table(block, arrays, 2010).iloc[0]["restricted_mean_ttfe_weeks"]
    assert with_entrant == pytest.approx(without, rel=0.02)
    assert replication_table(block, arrays, 2010).iloc[0]["share_exported"] == pytest.approx(0.6)


def test_a_median_beyond_the_horizon_makes_the_mean_undefined():
    """Leaving out replications whose median was not reached would bias the mean short."""
    medians = pd.Series([400.0, 420.0, np.nan, 410.0], name="km_median_ttfe_weeks")
    summary = summarise(pd.DataFrame({"km_median_ttfe_weeks": medians}))
    assert summary["km_median_ttfe_weeks"]["mean"] is None
    assert summary["km_median_ttfe_weeks"]["n_undefined"] == 1
    assert np.isnan(replication_mean(medians))
    # An output that is merely undefined in a replication (no exporter to take a mode share of)
    # is averaged over the replications that define it.
    shares = pd.Series([0.8, np.nan, 0.6], name="indirect_share")
    assert replication_mean(shares) == pytest.approx(0.7)
    assert summarise(pd.DataFrame({"indirect_share": shares}))["indirect_share"]["mean"] == (
        pytest.approx(0.7)
    )
