"""The Mesa reference engine (simsme.model): reproducibility, equivalence with the kernel, and
each mechanism in isolation.

Populations are small (60-150 SMEs) and horizons short (2-6 years) so the module stays fast.
Statistical tests use fixed seeds; each tolerance is written next to its reason.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import subprocess
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from mesa.agent import AgentSet
from mesa.discrete_space import Network

import simsme.model as mesa_engine
from simsme import rules as compiled_rules
from simsme.errors import ScenarioError
from simsme.kernel import engine as kernel_engine
from simsme.kernel import phases
from simsme.mechanisms.python import as_python, python_function
from simsme.model import (
    PHASES,
    SME,
    Application,
    ServiceProvider,
    SimsmeModel,
    apply_levers,
    lever_values,
    run_blocks,
    run_replication,
)
from simsme.model import mechanisms as model_mechanisms
from simsme.model.runner import release
from simsme.outputs import RunBlock, replication_table, sme_table
from simsme.scenario import FOCUS_AREAS, RESOURCES, load_scenario, validate_scenario
from simsme.scenario.lowering import (
    P_DOCUMENTS,
    P_NOTIFICATION,
    STAGE_DELIVERY,
    ScenarioArrays,
    lower,
)

HUMAN_CAPITAL = FOCUS_AREAS.index("human_capital")
MANAGERIAL = RESOURCES.index("managerial")


def small(n_smes: int = 100, years: float = 4.0, **raw: object) -> dict:
    """A small scenario (raw mapping) with the given top-level sections added."""
    out: dict = {"population": {"n_smes": n_smes}, "time": {"horizon_years": years}}
    for key, value in raw.items():
        if key == "population":
            out["population"] = {**out["population"], **value}  # type: ignore[dict-item]
        else:
            out[key] = value
    return out


def agencies(**fields: object) -> list[dict]:
    """One agency per focus area, with ``fields`` (schema names) set on each."""
    return [{"name": f"{focus}_agency", "focus": focus, **fields} for focus in FOCUS_AREAS]


def runs(raw: dict, seeds: tuple[int, ...] = (1, 2, 3)) -> list[RunBlock]:
    scenario = validate_scenario(raw)
    return [run_replication(scenario, seed, 0) for seed in seeds]


def assert_blocks_equal(a: RunBlock, b: RunBlock) -> None:
    for name in RunBlock.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def blocks_equal(a: RunBlock, b: RunBlock) -> bool:
    return all(
        np.array_equal(getattr(a, name), getattr(b, name)) for name in RunBlock.__dataclass_fields__
    )


def channel_index(name: str) -> int:
    return list(validate_scenario({}).channels).index(name)


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------
def test_a_step_runs_the_phases_in_the_kernels_order() -> None:
    """Mesa's step calls the nine phase methods in the order of PHASES, the names of the
    kernel's phase functions."""
    model = SimsmeModel(lower(validate_scenario(small(20, 1.0))), 3)
    calls: list[str] = []
    for name in PHASES:
        method = getattr(model, name)
        setattr(model, name, lambda method=method, name=name: (calls.append(name), method())[1])
    model.step()
    assert calls == list(PHASES)
    assert len(PHASES) == 9
    for name in PHASES:
        assert callable(getattr(phases, name))


def test_agents_are_mesa_agents_registered_with_the_model() -> None:
    arrays = lower(validate_scenario(small(60, 1.0, population={"entrants_per_year": 0.1})))
    model = SimsmeModel(arrays, 5)
    assert len(model.agents_by_type[SME]) == arrays.n_total == len(model.smes) > 60
    assert len(model.agents_by_type[ServiceProvider]) == arrays.n_agencies == 5
    assert [s.index for s in model.smes] == list(range(arrays.n_total))


def test_python_rules_equal_the_compiled_rules() -> None:
    """The Mesa engine runs each rule's Python definition (the same code object numba
    compiles); it must give the compiled rule's numbers."""
    shared_rules = as_python(compiled_rules)
    assert model_mechanisms.rules is shared_rules
    rng = np.random.default_rng(0)
    order = np.array([2, 0, 1], dtype=np.int64)
    needs = np.array([True, False, True])
    for _ in range(50):
        x = rng.random(10)
        for name, args in (
            ("adoption_hazard", (*x[:4], 0.1, 0.4, 0.3, 0.3, 0.2, 0.8)),
            ("missing_document_probability", tuple(x[:3])),
            ("approval_probability", tuple(x[:3])),
            ("next_committee_day", (x[0] * 100, x[1] * 30)),
            ("cocreation_probability", (bool(x[0] > 0.5), *x[1:4])),
            ("programme_gain", (x[0], x[1], x[2], bool(x[3] > 0.5), x[4])),
            ("external_sourcing", (x[0], int(x[1] * 5), x[2])),
            ("internal_innovation", tuple(x[:3])),
            ("coinnovation_target", (*x[:2], 0.25, 0.56)),
            ("value_target", (x[0], x[1], 0.72)),
            ("export_propensity_target", (*x[:3], 0.75)),
            ("resource_drift", (x[0], x[1], 0.02, 0.1, 7 / 365.25)),
            ("opportunity_rate", (x[0], x[1], x[2], 0.3, int(x[3] * 5), x[5], x[4])),
            ("resource_index", tuple(x[:3])),
            ("direct_export_probability", (x[0], 0.6, 0.05)),
            ("step_probability", (x[0] * 3, 7 / 365.25)),
            ("focus_choice_weight", (x[0], x[1], 2.0)),
        ):
            expected = getattr(compiled_rules, name)(*args)
            assert getattr(shared_rules, name)(*args) == pytest.approx(expected, rel=1e-12), name
        # rules that draw: same generator state -> same value and same state afterwards
        seed = int(rng.integers(1 << 30))
        g1, g2 = np.random.default_rng(seed), np.random.default_rng(seed)
        args = (x[0], x[1], x[2] + 0.5, x[3] + 0.5, 1.0)
        assert shared_rules.exchange_days(g1, *args) == pytest.approx(
            compiled_rules.exchange_days(g2, *args), rel=1e-12
        )
        args = (np.int64(7), np.int64(5), np.int64(0), order, needs, float(x[4]))
        assert shared_rules.choose_channel(g1, *args) == compiled_rules.choose_channel(g2, *args)
        assert g1.random() == g2.random()


def test_python_mechanisms_make_the_compiled_mechanisms_draws() -> None:
    """Each mechanism that draws, run by the interpreter (the Mesa engine) and compiled (the
    kernel) from the same generator state, returns the same values and leaves the generator in
    the same place (the inline PCG64 uniform is ``rng.random()`` in Python)."""
    from simsme.mechanisms import entry, exchange, export, population, procedures, process, support
    from simsme.mechanisms.exchange import SITE_VISIT
    from simsme.mechanisms.records import RF_ROWS, RI_ROWS

    mco = [{"type": "movement_control", "start": "2010-03-01", "end": "2010-09-01"}]
    arrays = lower(validate_scenario(small(20, 2.0, events=mco)))
    p = arrays
    conv, docs = np.int64(p.conventional_mask), np.int64(p.documents_mask)
    blocked = np.asarray(p.tl_blocked, dtype=np.int64)
    remote = np.asarray(p.tl_remote, dtype=np.float64)
    checked = 0
    for seed in range(60):
        x = np.random.default_rng(seed).random(12)
        purpose = (P_DOCUMENTS, P_NOTIFICATION, SITE_VISIT)[seed % 3]
        calls = [
            (
                exchange.exchange,
                (
                    purpose, x[0] * p.n_steps * p.step_days, np.int64(seed * 37 % 1024),
                    np.int64(1023), bool(x[1] > 0.5), bool(x[2] > 0.5), x[3], 1.0 + x[4],
                    int(p.face_to_face), p.ch_order, p.ch_needs_connectivity, p.ch_log_median,
                    p.ch_sigma, p.ch_bureaucracy, blocked, p.tl_slow, remote, conv, docs,
                    float(p.step_days),
                ),
            ),
            (
                process.advance,
                (
                    1 + seed % 6, x[0] * 300, bool(x[1] > 0.5), bool(x[2] > 0.3), x[3] * 10,
                    x[4], x[5] * 300, True, 0.5, x[6], x[7], 0.5, 3.0, 1.5, 0.4, 28.0, 0.2,
                    x[8], 90.0,
                ),
            ),
            (
                support.choose_focus,
                (
                    x[:6], x[6] * (seed % 2), np.asarray(p.prog_raise).T.copy(),
                    np.asarray(p.prog_clears, dtype=np.float64), p.focus_weight,
                    np.asarray(p.n_agencies_by_focus, dtype=np.int64), 2.0, np.zeros(5),
                ),
            ),
            (
                export.first_export,
                (x[0], x[1], x[2], 0.6, 0.05, 3.0, 2 * x[3], x[4], 0.0, 0.5, 1.0),
            ),
            (
                entry.draw_history,
                (0.5 + x[0], 0.75, x[1], 1.5, np.asarray(p.pc_outstanding, dtype=np.float64)),
            ),
            (entry.commits_to_export, (2 * x[0], x[1], 0.1 * x[2], 0.5, 1.0)),
            (
                procedures.obtain_procedures,
                (
                    np.int64(31), x[0] * 100, np.int64(seed % 512), 0.3 * x[1], bool(seed % 2),
                    x[2], np.asarray(p.pc_accept, dtype=np.int64), p.tl_procedure_level,
                    p.pc_missing, p.pc_desk_digital, p.pc_desk_conventional,
                    np.asarray(p.pc_site_visit, dtype=np.float64), p.face_to_face, p.ch_order,
                    np.asarray(p.ch_needs_connectivity, dtype=np.float64), p.ch_log_median,
                    p.ch_sigma, p.ch_bureaucracy, blocked, p.tl_slow, remote, conv, docs,
                    np.int64(p.digital_mask), float(p.step_days),
                    np.zeros((len(p.pc_outstanding), RF_ROWS)),
                    np.zeros((len(p.pc_outstanding), RI_ROWS), np.int32),
                ),
            ),
            (
                population.draw_profile,
                (
                    bool(seed % 2), p.size_cum, p.region_cum, 10.0, p.n_steps, p.step_days,
                    p.res_mean, p.res_conc, p.initial_channel_share, np.zeros(6),
                ),
            ),
        ]  # fmt: skip
        for mechanism, args in calls:
            g1 = np.random.Generator(np.random.PCG64(seed))
            g2 = np.random.Generator(np.random.PCG64(seed))
            compiled = mechanism(g1, *args)
            python = python_function(mechanism)(g2, *args)
            assert np.array_equal(np.asarray(compiled, float), np.asarray(python, float)), (
                mechanism.__name__
            )
            assert g1.random() == g2.random(), mechanism.__name__
            checked += 1
    assert checked == 60 * 8


# ---------------------------------------------------------------------------------------------
# Reproducibility
# ---------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_outputs_and_different_seeds_differ() -> None:
    scenario = validate_scenario(small(100, 4.0, population={"entrants_per_year": 0.05}))
    a = run_replication(scenario, 11, 0)
    b = run_replication(scenario, 11, 0)
    assert_blocks_equal(a, b)
    assert (a.export_step >= 0).any() and a.applications.sum() > 0  # a run that did something
    assert not blocks_equal(a, run_replication(scenario, 12, 0))
    assert not blocks_equal(a, run_replication(scenario, 11, 1))


def test_model_uses_only_its_numpy_generator() -> None:
    model = SimsmeModel(lower(validate_scenario(small(60, 1.0))), 3)
    before = model.random.getstate()
    state = random.getstate()
    model.run()
    assert model.random.getstate() == before  # Mesa's stdlib generator is never drawn from
    assert random.getstate() == state
    assert model.steps == model.p.n_steps and not model.running


def test_mesa_engine_matches_the_kernel_draw_for_draw() -> None:
    """Both engines make the same draws in the same order (same rules, same SME order, news
    applied after each phase), so from the same replication stream they give the same outputs,
    exactly. Events of every kind and firms founded during the run are included."""
    raw = small(
        120,
        14.0,
        population={"entrants_per_year": 0.05},
        events=[
            {"type": "movement_control", "start": "2020-03-18", "end": "2021-10-01"},
            {"type": "regulation_change", "start": "2012-01-01", "end": "2016-01-01"},
            {"type": "tax_change", "start": "2015-04-01"},
            {"type": "free_trade_agreement", "start": "2019-01-01"},
            {"type": "agency_digitalisation", "start": "2014-01-01", "level": 0.5},
        ],
    )
    arrays = lower(validate_scenario(raw))
    (kernel,) = kernel_engine.run_blocks(arrays, np.array([4]), 99, threads=1)
    mesa = run_replication(arrays, 99, 4)
    assert (mesa.export_step >= 0).sum() > 20 and mesa.cocreated.sum() > 0
    assert_blocks_equal(kernel, mesa)


# ---------------------------------------------------------------------------------------------
# Mechanisms in isolation
# ---------------------------------------------------------------------------------------------
def fallback_scenario(downtime: float, block_whatsapp: bool) -> dict:
    """Every SME uses paper, face to face, WhatsApp and email; agencies take applications over
    WhatsApp, email or paper and are fully digital from the start."""
    events = []
    if block_whatsapp:
        events = [
            {
                "type": "movement_control",
                "start": "2010-01-01",
                "blocked_channels": ["whatsapp"],
                "slowed_channels": {},
                "export_demand": 1.0,
                "adoption_push": 0.0,
            }
        ]
    return small(
        80,
        3.0,
        population={
            "initial_channels": {"paper": 1.0, "face_to_face": 1.0, "whatsapp": 1.0, "email": 1.0},
            "regions": [{"name": "everywhere", "share": 1.0, "downtime_prob": downtime}],
        },
        agencies=agencies(
            channels={"application": ["whatsapp", "email", "paper"]},
            digitalisation={"level": 1.0},
        ),
        events=events,
    )


@pytest.mark.parametrize("failure", ["down", "blocked"])
def test_a_channel_that_never_works_forces_the_fallback_channel(failure: str) -> None:
    """WhatsApp is everyone's first choice (quickest); when it is always down (downtime 1 where
    every SME is) or blocked by an event for the whole run, exchanges fall back to the next
    shared channel and never use WhatsApp."""
    whatsapp, email, paper = (channel_index(c) for c in ("whatsapp", "email", "paper"))
    (working,) = runs(fallback_scenario(0.0, block_whatsapp=False), (7,))
    apps = working.year_channel_applications.sum(axis=(0, 1))
    assert apps[whatsapp] == apps.sum() > 50  # first in preference and never down

    if failure == "down":
        failed_raw = fallback_scenario(1.0, block_whatsapp=False)
        fallback = paper  # email needs connectivity too, so it is down as well
    else:
        failed_raw = fallback_scenario(0.0, block_whatsapp=True)
        fallback = email  # the next channel in preference
    (failed,) = runs(failed_raw, (7,))
    apps = failed.year_channel_applications.sum(axis=(0, 1))
    assert apps[whatsapp] == 0 and not np.any(failed.channels_used & (1 << whatsapp))
    assert apps[fallback] == apps.sum() > 50  # the SMEs still apply, over the fallback
    assert failed.digital_applications.sum() == (apps.sum() if fallback == email else 0)


def test_committee_sitting_every_8_weeks_delays_decisions_against_every_week() -> None:
    """Waiting for the next sitting adds on average half the interval to each application:
    (8 - 1) / 2 = 3.5 weeks more per application with sittings every 8 weeks than every week
    (capacity is ample so no queue interferes). Tolerance 1 week: the stage ends are not
    exactly uniform over the sitting grid and about 450 applications per run over 3 seeds give a
    standard error near 0.3 weeks."""

    def mean_wait_per_application(weeks: float) -> float:
        raw = small(
            150,
            6.0,
            agencies=agencies(
                capacity_per_week_per_1000_smes=100.0,
                bureaucracy={"committee_interval_weeks": weeks},
            ),
        )
        blocks = runs(raw)
        return float(np.mean([b.wait_days.sum() / 7.0 / b.applications.sum() for b in blocks]))

    weekly, eight_weekly = mean_wait_per_application(1.0), mean_wait_per_application(8.0)
    assert eight_weekly - weekly == pytest.approx(3.5, abs=1.0)


def _deliver_once(bonus: float) -> tuple[float, float, SME, ServiceProvider]:
    """Deliver a human-capital programme to SME 0 over DIP at an agency with perfect dialogue and
    access; return the managerial resource before and after."""
    raw = small(
        60,
        1.0,
        cocreation={"bonus": bonus},
        agencies=agencies(dart={"dialogue": 1.0, "access": 1.0}, initial_fit=0.7),
    )
    model = SimsmeModel(lower(validate_scenario(raw)), 21)
    sme = model.smes[0]
    sme.channels |= 1 << channel_index("face_to_face")  # richness 1 for follow-up
    agency = model.agencies_by_focus[HUMAN_CAPITAL][0]
    application = Application(
        sme=sme, agency=agency, focus=HUMAN_CAPITAL, offer_digital=True, digital=True
    )
    application.stage, application.approved = STAGE_DELIVERY, True
    sme.application = application
    before = sme.resources[MANAGERIAL]
    agency.deliver_programme(application)
    return before, sme.resources[MANAGERIAL], sme, agency


def test_cocreation_bonus_raises_the_programme_effect() -> None:
    """Same SME, same agency, same programme; only the co-creation bonus differs. With dialogue
    = access = richness = 1 every DIP programme is co-created, and the gain in the raised
    resource scales by (1 + bonus) (rules.programme_gain; 003 sections 4.2 and 5)."""
    before0, after0, sme0, agency0 = _deliver_once(0.0)
    before1, after1, sme1, agency1 = _deliver_once(1.0)
    assert before0 == before1
    gain0, gain1 = after0 - before0, after1 - before1
    assert gain0 > 0.0
    assert gain1 == pytest.approx(2.0 * gain0, rel=1e-12)
    for sme, agency in ((sme0, agency0), (sme1, agency1)):
        assert sme.cocreations == 1 and sme.approvals[HUMAN_CAPITAL] == 1
        assert sme.application is None
        assert agency.fit > 0.7  # the agency learned


def test_conventional_programmes_are_never_cocreated() -> None:
    """Co-creation needs DIP (003 section 4.2): every co-created programme came from a digital
    application, and with agencies that never digitalise there is none."""
    (block,) = runs(small(120, 12.0), (5,))  # default agencies digitalise in 2018
    assert block.cocreated.sum() > 0
    assert np.all(block.cocreated <= block.digital_applications)
    raw = small(120, 12.0, agencies=agencies(digitalisation={"level": 0.0}))
    (conventional,) = runs(raw, (5,))
    assert conventional.approvals.sum() > 0 and conventional.cocreated.sum() == 0


def test_referrals_from_exporting_neighbours_raise_export_entry() -> None:
    """Each exporting neighbour adds the referral rate to an aware SME's order rate (000,
    Company B). 150 SMEs with 6 ties each over 10 years, 3 seeds: the exporter share (about 0.2
    without referrals) rises by 0.13-0.21 with 2 referrals per year per exporting neighbour
    (measured); the test asks for 0.08 (the standard error of a share over 150 SMEs is about
    0.03, less for a difference of runs from the same seeds)."""

    def shares(referral: float, degree: float) -> np.ndarray:
        raw = small(
            150,
            10.0,
            population={"network": {"mean_degree": degree}},
            export_market={"referral_rate_per_year": referral},
        )
        return np.array([(b.export_step >= 0).mean() for b in runs(raw)])

    gain = shares(2.0, 6.0) - shares(0.0, 6.0)
    assert gain.mean() > 0.08 and np.all(gain > 0.0)


def test_without_ties_the_referral_rate_changes_nothing() -> None:
    """Referrals act only through exporting neighbours: with no network the runs are identical."""

    def run(referral: float) -> RunBlock:
        raw = small(
            80,
            4.0,
            population={"network": {"mean_degree": 0.0}},
            export_market={"referral_rate_per_year": referral},
        )
        return runs(raw, (2,))[0]

    assert_blocks_equal(run(0.0), run(5.0))


# ---------------------------------------------------------------------------------------------
# Running many replications; outputs
# ---------------------------------------------------------------------------------------------
def test_run_blocks_is_independent_of_workers_and_in_replication_order() -> None:
    scenario = validate_scenario(small(60, 2.0))
    reps = np.array([3, 0, 5])
    calls: list[int] = []
    serial = list(run_blocks(scenario, reps, 8, workers=1, progress=calls.append, block_size=2))
    parallel = list(run_blocks(lower(scenario), reps, 8, workers=2))
    assert calls == [1, 1, 1]
    assert [list(b.replication) for b in serial] == [[3, 0], [5]]
    assert [list(b.replication) for b in parallel] == [[3, 0, 5]]
    one = run_replication(scenario, 8, 5)
    for name in RunBlock.__dataclass_fields__:
        joined = np.concatenate([getattr(b, name) for b in serial])
        np.testing.assert_array_equal(joined, getattr(parallel[0], name), err_msg=name)
        np.testing.assert_array_equal(joined[2:], getattr(one, name), err_msg=name)


def test_output_tables_are_made_from_mesa_blocks() -> None:
    scenario = validate_scenario(small(60, 3.0))
    arrays = lower(scenario)
    block = run_replication(scenario, 4, 0)
    names = list(scenario.channels)
    smes = sme_table(block, arrays, names, [r.name for r in scenario.population.regions])
    assert len(smes) == 60 and smes["exported"].sum() == (block.export_step >= 0).sum()
    table = replication_table(block, arrays, scenario.time.start_date.year)
    assert table["applications"].iloc[0] == block.applications.sum()
    assert 0.0 <= table["share_exported"].iloc[0] <= 1.0


def test_public_api() -> None:
    for name in ("SimsmeModel", "SME", "ServiceProvider", "run_blocks", "run_replication"):
        assert name in mesa_engine.__all__


def test_a_released_model_is_garbage_collected() -> None:
    """Mesa 3.3.1 keeps every model alive through ``Agent._ids`` (mesa issue 3179);
    ``release`` drops that reference so in-process loops of replications do not grow."""
    model = SimsmeModel(lower(validate_scenario(small(60, 0.5))), 1)
    model.run()
    ref = weakref.ref(model)
    release(model)
    del model
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------------------------
# Mesa as Mesa users know it: construction, seeds, agent sets, data collector, space
# ---------------------------------------------------------------------------------------------
BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


def arrays_equal(a: ScenarioArrays, b: ScenarioArrays) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))


def test_model_is_built_from_a_scenario_a_file_a_mapping_or_keyword_levers() -> None:
    from_file = SimsmeModel(str(BASELINE), n_smes=80)
    scenario = load_scenario(BASELINE, ["population.n_smes=80"])
    from_scenario = SimsmeModel(scenario)
    from_mapping = SimsmeModel(scenario.model_dump(mode="json"))
    from_overrides = SimsmeModel(BASELINE, overrides={"population.n_smes": 80})
    from_strings = SimsmeModel(BASELINE, overrides=["population.n_smes=80"])
    for model in (from_scenario, from_mapping, from_overrides, from_strings):
        assert arrays_equal(model.p, from_file.p)
        assert model.seed == scenario.seed == 20221116 and model.replication == 0
    assert len(from_file.smes) == from_file.p.n_total >= 80
    assert SimsmeModel(n_smes=60).scenario.name == "baseline"  # built-in defaults
    with pytest.raises(ScenarioError, match="n_smes"):
        SimsmeModel(BASELINE, n_smes=-5)  # the validated field is named
    with pytest.raises(ScenarioError, match="population.n_smez"):
        SimsmeModel(BASELINE, overrides={"population.n_smez": 5})
    with pytest.raises(ValueError, match="lowered arrays"):
        SimsmeModel(from_file.p, n_smes=10)


def test_seed_and_rng_follow_mesa_and_reproduce_the_kernel_stream() -> None:
    """``seed`` = the scenario seed, drawn from as replication ``replication`` (the kernel's
    stream); ``rng`` = a generator used as it is; both at once is Mesa's error."""
    scenario = validate_scenario(small(60, 2.0))
    by_seed = SimsmeModel(scenario, seed=8, replication=3, collect=False).run()
    by_rng = SimsmeModel(scenario, rng=kernel_engine.replication_rng(8, 3), collect=False).run()
    by_text = SimsmeModel(scenario, seed="8", replication=3, collect=False).run()
    blocks = []
    for model in (by_seed, by_rng, by_text):
        block = RunBlock.empty(model.p, np.array([3]))
        model.write_outputs(block, 0)
        blocks.append(block)
    assert_blocks_equal(blocks[0], run_replication(scenario, 8, 3))
    assert_blocks_equal(blocks[0], blocks[1])
    assert_blocks_equal(blocks[0], blocks[2])
    # Mesa's stdlib generator is seeded from the stream, reproducibly
    again = SimsmeModel(scenario, seed=8, replication=3, collect=False)
    assert again.random.random() == by_seed.random.random()
    assert SimsmeModel(scenario).seed == scenario.seed
    assert (by_rng.seed, by_rng.replication) == (None, None)  # a generator says neither
    with pytest.raises(ValueError, match="either rng or seed"):
        SimsmeModel(scenario, seed=1, rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match="whole number"):
        SimsmeModel(scenario, seed="abc")


def test_agents_live_in_agent_sets_and_in_a_network_space() -> None:
    model = SimsmeModel(small(80, 1.0, population={"network": {"mean_degree": 4.0}}), seed=2)
    assert isinstance(model.smes, AgentSet) and isinstance(model.agencies, AgentSet)
    assert set(model.smes) == set(model.agents_by_type[SME])
    assert set(model.agencies) == set(model.agents_by_type[ServiceProvider])
    assert len(model.agencies) == 5
    assert len(model.smes.select(lambda s: s.founded_day <= 0)) == 80
    space = model.grid
    assert isinstance(space, Network) and len(space.all_cells) == model.p.n_total
    for sme in model.smes:
        assert sme.cell is space[sme.index] and list(sme.cell.agents) == [sme]
        assert set(model.network.neighbors(sme.index)) == {n.index for n in sme.neighbours}
    ties = sum(d["ties"] for _, _, d in model.network.edges(data=True))
    assert ties == sum(len(s.neighbours) for s in model.smes) // 2 == round(80 * 4.0 / 2)


def test_run_model_stops_at_the_horizon() -> None:
    model = SimsmeModel(small(60, 1.0), seed=4)
    model.run_model()
    assert model.steps == model.p.n_steps == 52 and not model.running
    before = model.census()
    model.step()  # past the horizon: nothing happens
    assert not model.running and model.census() == before


def test_data_collector_records_consistent_series_every_step() -> None:
    """One row per step plus the initial state; the four stages add up to the SMEs founded so
    far; exporters only accumulate, by the new exporters of each step; applications by channel
    add up to the raw outputs' counts."""
    raw = small(150, 8.0, population={"entrants_per_year": 0.1})  # 25 export (a minority)
    model = SimsmeModel(raw, seed=6)
    model.run_model()
    df = model.datacollector.get_model_vars_dataframe()
    p = model.p
    assert len(df) == p.n_steps + 1
    founded_day = np.array([s.founded_day for s in model.smes])
    founded = np.array([(founded_day <= t * p.step_days).sum() for t in range(p.n_steps)])
    stages = df[["Unaware", "Aware", "Ready", "Exporting"]].sum(axis=1).to_numpy()
    assert stages[0] == 150 and np.array_equal(stages[1:], founded)
    assert np.array_equal(stages + df["Not founded"].to_numpy(), np.full(len(df), p.n_total))
    exporting = df["Exporting"].to_numpy()
    assert np.all(np.diff(exporting) >= 0) and exporting[-1] > 10
    assert np.array_equal(np.diff(exporting), df["New exporters"].to_numpy()[1:])
    assert exporting[-1] == sum(s.exported for s in model.smes)
    assert df["Aware"].max() > 0 and df["Ready"].max() > 0 and df.loc[0, "Unaware"] == 150
    channels = df[[f"Applications via {c}" for c in model.channel_names]].to_numpy()
    assert np.array_equal(channels.sum(axis=0), model.year_channel_applications.sum(axis=0))
    share = df["Digital share"].dropna()
    assert len(share) > 10 and share.between(0.0, 1.0).all()
    open_stages = df[[c for c in df if c.startswith("Open: ")]]
    open_agencies = df[[c for c in df if c.startswith("Open at ")]]
    in_process = open_stages.drop(columns="Open: delivery").sum(axis=1)
    assert np.array_equal(in_process.to_numpy(), open_agencies.sum(axis=1).to_numpy())
    assert in_process.max() > 0
    queues = df[[c for c in df if c.startswith("Queue at ")]]
    assert (queues.to_numpy() <= open_agencies.to_numpy()).all()


def test_capacity_queues_appear_when_agencies_are_slow() -> None:
    """With a capacity of 0.05 applications a week, assessments wait in the agency's queue."""
    raw = small(120, 3.0, agencies=agencies(capacity_per_week_per_1000_smes=0.05))
    df = SimsmeModel(raw, seed=1).run().datacollector.get_model_vars_dataframe()
    queues = df[[c for c in df if c.startswith("Queue at ")]].sum(axis=1)
    assert queues.max() > 5


def test_ttfe_so_far_feeds_the_kaplan_meier_estimate() -> None:
    model = SimsmeModel(small(100, 3.0), seed=3)
    durations, exported = model.ttfe_weeks()
    assert len(durations) == 100 and not exported.any() and np.all(durations == 0.0)
    model.run_model()
    durations, exported = model.ttfe_weeks()
    block = RunBlock.empty(model.p, np.array([0]))
    model.write_outputs(block, 0)
    regions = [r.name for r in model.scenario.population.regions]
    table = sme_table(block, model.p, model.channel_names, regions)
    np.testing.assert_allclose(durations, table["ttfe_weeks"].to_numpy())
    assert np.array_equal(exported, table["exported"].to_numpy())


def test_levers_at_the_scenario_values_change_nothing() -> None:
    """The view's sliders start at :func:`lever_values`; applying them keeps the model."""
    for path in sorted(BASELINE.parent.glob("*.yaml")):
        scenario = load_scenario(path, ["population.n_smes=50"])
        again = apply_levers(scenario, **lever_values(scenario))
        assert lever_values(again) == lever_values(scenario), path.name
        assert arrays_equal(lower(again), lower(scenario)), path.name


def test_each_lever_moves_its_parameter() -> None:
    base = load_scenario(BASELINE, ["population.n_smes=50"])
    p = lower(base)
    committee = lower(apply_levers(base, committee_interval_weeks=12))
    default_weeks = base.agencies[0].bureaucracy.committee_interval_weeks
    assert np.all(committee.ag_committee_days == 12 * 7)
    assert np.all(p.ag_committee_days == default_weeks * 7) and default_weeks != 12
    paperless = lower(apply_levers(base, physical_documents=False))
    assert not paperless.ag_physical.any() and p.ag_physical.all()
    mco = apply_levers(base, movement_control=True)
    assert [e.type for e in mco.events] == ["movement_control"]
    assert lower(mco).tl_blocked.any() and not p.tl_blocked.any()
    assert apply_levers(mco, movement_control=False).events == []
    early = apply_levers(base, digitalisation_level=0.6, digitalisation_start=2012)
    plan = early.events[-1]
    assert (plan.type, plan.level, plan.start.isoformat()) == (
        "agency_digitalisation",
        0.6,
        "2012-01-01",
    )
    assert lever_values(early)["digitalisation_start"] == dt.date(2012, 1, 1)
    assert apply_levers(base, digitalisation_start=2012.0).events[-1].start.year == 2012
    with pytest.raises(ScenarioError, match="digitalisation_start"):
        apply_levers(base, digitalisation_start="next spring")
    with pytest.raises(ScenarioError, match="unknown lever"):
        apply_levers(base, committee_weeks=3)


def test_importing_the_mesa_engine_does_not_import_the_kernel() -> None:
    """``import simsme.model`` must not import (and so compile or purge caches of) the kernel."""
    code = (
        "import sys, simsme.model; "
        "bad = sorted(m for m in sys.modules if m.startswith('simsme.kernel')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_released_model_with_its_space_is_garbage_collected() -> None:
    model = SimsmeModel(small(60, 0.5), seed=1)
    model.run_model()
    assert len(model.grid.all_cells) == 60
    ref = weakref.ref(model)
    release(model)
    del model
    gc.collect()
    assert ref() is None
