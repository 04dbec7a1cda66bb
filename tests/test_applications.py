"""Application records (``applications.parquet``), the per-step series (``series.parquet``) and
the waiting time charged at a first export (issue 12, items 8 and 9).

Both engines record through :mod:`simsme.mechanisms.records`; ``tests/test_equivalence.py``
checks on every shipped scenario that the two engines give equal tables. Here: what the rows
mean, that nothing is dropped when the records' first capacity is too small, and that every day
an SME waits on an agency is charged to ``weeks_waiting``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from simsme.cli import main
from simsme.kernel import engine
from simsme.mechanisms import process
from simsme.model import SimsmeModel
from simsme.outputs import applications_table, series_names, series_table, sme_table
from simsme.scenario import load_scenario
from simsme.scenario.lowering import STAGE_DELIVERY, STAGE_DOCUMENTS, STAGE_NONE, lower

from helpers import small_scenario

REPS = np.array([0, 1, 2])


@pytest.fixture(scope="module")
def baseline():
    """The baseline at 200 SMEs: many exporters leave an application open behind them."""
    scenario = load_scenario("scenarios/baseline.yaml", ["population.n_smes=200"])
    arrays = lower(scenario)
    (block,) = engine.run_blocks(
        arrays, REPS, scenario.seed, threads=1, block_size=3, applications=True, series=True
    )
    return scenario, arrays, block


def _names(scenario):
    return list(scenario.channels), [a.name for a in scenario.agencies]


def _tables(scenario, block):
    """The applications table split into support applications and procedures."""
    channels, agencies = _names(scenario)
    procedures = [p.name for p in scenario.procedures]
    rows = applications_table(block, channels, agencies, procedures)
    is_procedure = rows.procedure.notna()
    return rows[~is_procedure], rows[is_procedure]


def test_wait_at_end_charges_only_applications_still_with_the_agency() -> None:
    wait = process.wait_at_end.py_func
    assert wait(STAGE_DOCUMENTS, 70.0, 100.0) == 30.0
    assert wait(STAGE_NONE, 70.0, 100.0) == 0.0  # rejected: charged at its notification
    assert wait(STAGE_DELIVERY, 70.0, 100.0) == 0.0  # approved: charged at its notification


def test_every_day_waited_is_charged_exports_with_open_applications_included(baseline) -> None:
    """weeks_waiting of each SME equals the days from submission to notification of its
    applications, plus, for one still open, the days to the end of its observation (its first
    export or the horizon). Before the fix, applications open at a first export were left out
    (about 1.6% of baseline exporters)."""
    scenario, arrays, block = baseline
    channels, agencies = _names(scenario)
    apps, _ = _tables(scenario, block)
    smes = sme_table(block, arrays, channels, [r.name for r in scenario.population.regions])
    open_at_export = apps[apps.decision == "open at export"]
    assert len(open_at_export) >= 3  # the case the fix is about occurs in this run
    waited = apps.groupby(["replication", "sme"]).days_to_decision.sum() / 7.0
    charged = smes.set_index(["replication", "sme"]).weeks_waiting
    np.testing.assert_allclose(charged.reindex(waited.index), waited, rtol=1e-12, atol=1e-9)
    assert (charged.drop(waited.index) == 0.0).all()  # never applied: never waited
    # an application open at export ends in the SME's export step
    exporters = smes.set_index(["replication", "sme"])
    keys = list(zip(open_at_export.replication, open_at_export.sme, strict=True))
    end_week = (open_at_export.submitted_week + open_at_export.days_to_decision / 7.0).to_numpy()
    np.testing.assert_allclose(
        end_week,
        exporters.loc[keys].ttfe_weeks.to_numpy()
        + np.maximum(exporters.loc[keys].founded_week.to_numpy(), 0.0),
    )


def test_application_rows_add_up(baseline) -> None:
    """One row per application; stage days add up to the days to the decision; decisions and
    co-creation agree with the per-SME counts."""
    scenario, arrays, block = baseline
    channels, agencies = _names(scenario)
    apps, _ = _tables(scenario, block)
    assert len(apps) == block.applications.sum()
    stages = [c for c in apps if c.startswith("days_") and c != "days_to_decision"]
    np.testing.assert_allclose(apps[stages].sum(axis=1), apps.days_to_decision, atol=1e-6)
    assert (apps[stages] >= -1e-9).all().all()
    approved = apps.decision == "approved"
    assert approved.sum() >= block.approvals.sum()  # some approved are still being delivered
    assert apps.cocreated.sum() == block.cocreated.sum()
    assert (apps.document_rounds >= 1).sum() > 0.9 * len(apps)
    assert set(apps.channel_submission.astype(str)) <= set(channels)
    focus = apps.groupby("focus", observed=False).size().to_numpy()
    np.testing.assert_array_equal(focus, block.applications.sum(axis=(0, 1)))


def test_no_record_is_dropped_when_the_first_capacity_is_too_small(baseline, monkeypatch):
    """A replication that makes more applications than its records hold is run again with
    room for all of them: the same table as with ample room."""
    scenario, arrays, block = baseline
    monkeypatch.setattr(engine, "record_capacity", lambda *args: 5)
    (small,) = engine.run_blocks(
        arrays, REPS, scenario.seed, threads=1, block_size=3, applications=True
    )
    pd.testing.assert_frame_equal(
        pd.concat(_tables(scenario, small)), pd.concat(_tables(scenario, block))
    )


def test_procedure_rows_add_up(baseline) -> None:
    """One row per procedure an SME applied for after committing to export: as many as the
    per-SME counts; stage days add up to the days to the issue; an exporter's procedures were all
    issued, and their days add up to its weeks on procedures."""
    scenario, arrays, block = baseline
    channels, _ = _names(scenario)
    _, procs = _tables(scenario, block)
    smes = sme_table(block, arrays, channels, [r.name for r in scenario.population.regions])
    assert len(procs) > 0 and procs.agency.isna().all() and procs.focus.isna().all()
    assert procs.groupby(["replication", "sme"]).size().sum() <= smes.procedures.sum()
    issued = procs[procs.decision == "approved"]
    stages = [c for c in procs if c.startswith("days_") and c != "days_to_decision"]
    np.testing.assert_allclose(issued[stages].sum(axis=1), issued.days_to_decision, atol=1e-6)
    assert (procs[stages] >= -1e-9).all().all()
    # no stage is charged past the horizon, open procedures included
    ends = procs.submitted_week * 7.0 + procs[stages].sum(axis=1)
    assert (ends <= arrays.n_steps * arrays.step_days + 1e-6).all()
    exporters = smes[smes.exported & (smes.procedures > 0)].set_index(["replication", "sme"])
    by_sme = issued.groupby(["replication", "sme"]).days_to_decision.sum() / 7.0
    np.testing.assert_allclose(
        by_sme.reindex(exporters.index).to_numpy(), exporters.weeks_on_procedures, rtol=1e-9
    )
    counted = procs.groupby(["replication", "sme"]).size()
    np.testing.assert_array_equal(
        counted.reindex(exporters.index).to_numpy(), exporters.procedures.to_numpy()
    )


def test_kernel_series_equal_the_mesa_data_collector() -> None:
    """The kernel's per-step series are the Mesa DataCollector's values, step by step, on the
    same seed; the digital share counts every exchange with an agency, not only submissions."""
    scenario = small_scenario({"population.n_smes": 80, "time.horizon_years": 4})
    arrays = lower(scenario)
    (block,) = engine.run_blocks(arrays, [1], scenario.seed, threads=1, series=True)
    channels, agencies = _names(scenario)
    kernel = series_table(block, agencies, channels, arrays.step_days)
    model = SimsmeModel(scenario, seed=scenario.seed, replication=1)
    model.run_model()
    mesa = model.datacollector.get_model_vars_dataframe()
    names = series_names(agencies, channels)
    assert list(mesa.columns) == names
    np.testing.assert_array_equal(kernel[names].to_numpy(), mesa[names].to_numpy())
    applied = kernel[[f"Applications via {c}" for c in channels]].sum(axis=1)
    assert (kernel.Exchanges >= applied).all() and kernel.Exchanges.sum() > 2 * applied.sum()
    share = kernel["Digital share"]
    assert share.isna().equals(kernel.Exchanges == 0)


def test_cli_writes_applications_by_default_and_series_on_request(tmp_path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: tiny\npopulation: {n_smes: 60}\ntime: {horizon_years: 3}\n")
    out = tmp_path / "out"
    assert main(["run", str(scenario), "-n", "2", "-q", "--series", "--out", str(out)]) == 0
    apps = pd.read_parquet(out / "applications.parquet")
    series = pd.read_parquet(out / "series.parquet")
    assert len(apps) > 0 and set(apps.replication) == {0, 1}
    assert len(series) == 2 * (round(3 * 365.25 / 7) + 1) and series.step.max() > 100
    plain = tmp_path / "plain"
    assert (
        main(["run", str(scenario), "-n", "2", "-q", "--no-applications", "--out", str(plain)]) == 0
    )
    assert not (plain / "applications.parquet").exists()
    assert not (plain / "series.parquet").exists()
    assert not math.isnan(series["Digital share"].dropna().iloc[0])
