"""Per-replication outputs whose denominators depend on how long each SME is followed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simsme.outputs import RunBlock, replication_table
from simsme.results.summary import mean_ci, summarise

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
        # an old incumbent, a young incumbent, an early entrant, a late entrant, a last-year one
        founded_day=[-3000.0, -400.0, 100.0, 1500.0, 2000.0],
        export_step=[10, 52, -1, 250, -1],  # exports on days 77, 371, -, 1757, -
    )
    row = replication_table(block, arrays, 2010).iloc[0]
    assert row["share_exported"] == pytest.approx(3 / 5)
    # Third birthday inside the run: the young incumbent (exported at 2.1 years) and the early
    # entrant (did not). The old incumbent cannot qualify; the late entrant's third birthday
    # falls after the horizon, so its quick export does not count either way.
    assert row["share_exported_within_3y"] == pytest.approx(1 / 2)
    # Followed for a year: all but the last-year entrant; exporters within 52.18 weeks of
    # entering the run: the old incumbent (11 weeks) and the late entrant (37 weeks).
    assert row["share_exported_year_1"] == pytest.approx(2 / 4)
    # Followed for two years: the incumbents and the early entrant; the young incumbent
    # exported at 53 weeks.
    assert row["share_exported_year_2"] == pytest.approx(2 / 3)
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
