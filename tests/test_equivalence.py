"""The two engines are equivalent on every scenario in ``scenarios/``.

The kernel (numba, flat arrays) and the Mesa model (agents) apply the same rules from
:mod:`simsme.rules` in the same phase order and make the same random draws in the same order,
so from the same replication stream they produce the *same* outputs. That is a stronger check
than a statistical one, and it is what we test first: for every shipped scenario (population
reduced to keep the Mesa engine quick), two replications of each engine give identical raw
outputs, field by field.

Power: a statistical comparison able to catch a one-week difference in median TTFE or two
percentage points in share exported would need thousands of Mesa replications per scenario
(the between-replication spread of the median is about 20 weeks at 200 SMEs, so n ~ 2 (2.8 x 20
/ 1)^2 ~ 6,000 per arm). With common random streams any rule that differs between the engines
changes some draw, the stream desynchronises and the outputs diverge, so exact equality detects
differences of any size, including one week or two points, with certainty. The censoring-aware
statistics are then compared too (log-rank test on TTFE, share exported, mode split and uptake
by focus area); with identical inputs they must agree exactly, which guards the table code.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simsme.kernel import engine
from simsme.model import run_replication
from simsme.outputs import applications_table, replication_table, series_table, sme_table
from simsme.scenario import load_scenario
from simsme.scenario.lowering import lower

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
REPLICATIONS = (0, 1)
N_SMES = 60


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_engines_agree_on_every_scenario(path: Path) -> None:
    scenario = load_scenario(path, [f"population.n_smes={N_SMES}"])
    arrays = lower(scenario)
    reps = np.array(REPLICATIONS)
    (kernel,) = engine.run_blocks(
        arrays,
        reps,
        scenario.seed,
        threads=1,
        block_size=len(reps),
        applications=True,
        series=True,
    )
    for row, r in enumerate(REPLICATIONS):
        mesa = run_replication(arrays, scenario.seed, r, applications=True, series=True)
        for field in fields(kernel):
            np.testing.assert_array_equal(
                getattr(kernel, field.name)[row],
                getattr(mesa, field.name)[0],
                err_msg=f"{path.name}, replication {r}: {field.name} differs",
            )
    assert kernel.applications.sum() > 0  # the scenario exercises the agencies

    # The same statistics from both engines' tables (one table builder, so this checks that
    # the rows line up: replication, SME and every column).
    mesa_block = _stack(
        [run_replication(arrays, scenario.seed, r, True, True) for r in REPLICATIONS]
    )
    names = list(scenario.channels)
    agencies = [a.name for a in scenario.agencies]
    # the application records and the per-step series (the Mesa DataCollector's) agree too
    procedures = [p.name for p in scenario.procedures]
    k_apps = applications_table(kernel, names, agencies, procedures)
    pd.testing.assert_frame_equal(
        k_apps, applications_table(mesa_block, names, agencies, procedures)
    )
    assert (k_apps.procedure.isna()).sum() == kernel.applications.sum()
    # every procedure applied for (after one that never ends before the horizon, none)
    assert 0 < (k_apps.procedure.notna()).sum() <= kernel.procedures.sum()
    pd.testing.assert_frame_equal(
        series_table(kernel, agencies, names, arrays.step_days),
        series_table(mesa_block, agencies, names, arrays.step_days),
    )
    regions = [r.name for r in scenario.population.regions]
    k_smes = sme_table(kernel, arrays, names, regions)
    m_smes = sme_table(mesa_block, arrays, names, regions)
    if k_smes["exported"].any():
        logrank = stats.logrank(
            stats.CensoredData(
                uncensored=k_smes.loc[k_smes.exported, "ttfe_weeks"],
                right=k_smes.loc[~k_smes.exported, "ttfe_weeks"],
            ),
            stats.CensoredData(
                uncensored=m_smes.loc[m_smes.exported, "ttfe_weeks"],
                right=m_smes.loc[~m_smes.exported, "ttfe_weeks"],
            ),
        )
        assert logrank.statistic == pytest.approx(0.0, abs=1e-9)
    start = scenario.time.start_date.year
    k_reps = replication_table(kernel, arrays, start)
    m_reps = replication_table(mesa_block, arrays, start)
    columns = ["share_exported", "indirect_share", *[c for c in k_reps if c.startswith("uptake_")]]
    np.testing.assert_array_equal(k_reps[columns].to_numpy(), m_reps[columns].to_numpy())


def _stack(blocks):
    first = blocks[0]

    def join(name):
        parts = [getattr(b, name) for b in blocks]
        return sum(parts, []) if isinstance(parts[0], list) else np.concatenate(parts)

    return type(first)(**{f.name: join(f.name) for f in fields(first)})
