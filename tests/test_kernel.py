"""The numba kernel: determinism, memory refusal, index types at the schema's largest sizes,
and the speed-ups that must not change a single draw.

The kernel skips work whose outcome is known (cached probabilities and bounds, see
``simsme.kernel.phases``) and draws uniforms with an inlined PCG64 step
(``simsme.kernel.pcg64``); both are exact, so these tests compare outputs for equality, not
within a tolerance. Populations are small and horizons short so the module stays fast once the
kernel is compiled.
"""

from __future__ import annotations

import os
import types

import numpy as np
import pytest

from simsme.errors import SimsmeError
from simsme.kernel import engine
from simsme.kernel.cache import STAMP_NAME, clear_stale_caches, sources_digest
from simsme.kernel.fastpath import (
    ADOPT_NONE,
    ADOPT_SOME,
    ADOPT_UNSURE,
    classify_adoption,
    probability_bound,
    technology_window,
)
from simsme.kernel.params import CH_EASE, CH_USEFULNESS, kernel_params
from simsme.kernel.pcg64 import check_uniform, uniform
from simsme.kernel.state import (
    C_N_ACTIVE,
    C_N_FOUNDED,
    I_FOUND_STEP,
    init_state,
    state_bytes_per_sme,
)
from simsme.mechanisms.adoption import adoption_hazards
from simsme.outputs import RunBlock
from simsme.scenario import FOCUS_AREAS, validate_scenario
from simsme.scenario.lowering import lower

FIELDS = list(RunBlock.__dataclass_fields__)
EVENTS = [
    {"type": "movement_control", "start": "2011-03-18", "end": "2012-10-01"},
    {"type": "regulation_change", "start": "2010-06-01", "end": "2012-01-01"},
    {"type": "tax_change", "start": "2011-04-01"},
    {"type": "free_trade_agreement", "start": "2012-01-01"},
    {"type": "agency_digitalisation", "start": "2010-09-01", "level": 0.5},
]


def small(n_smes: int = 120, years: float = 3.0, **raw: object) -> dict:
    out: dict = {"population": {"n_smes": n_smes}, "time": {"horizon_years": years}}
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def run(raw: dict, replications, seed: int = 5, **kw) -> RunBlock:
    """All blocks of a kernel run, concatenated into one block."""
    arrays = lower(validate_scenario(raw))
    blocks = list(engine.run_blocks(arrays, replications, seed, **kw))
    return RunBlock(
        **{f: np.concatenate([getattr(b, f) for b in blocks]) for f in FIELDS}  # type: ignore[arg-type]
    )


def assert_same(a: RunBlock, b: RunBlock) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------
def test_same_seed_same_outputs_whatever_the_threads_and_blocks() -> None:
    raw = small(
        100,
        3.0,
        population={"entrants_per_year": 0.1},
        behaviour={"export_entry": {"entry_cost": 0.3}},  # a low sunk cost: many export
        events=EVENTS,
    )
    reference = run(raw, 6, threads=1, block_size=6)
    assert (reference.export_step >= 0).sum() > 20  # a run where things happen
    assert_same(reference, run(raw, 6, threads=2))
    assert_same(reference, run(raw, 6, threads=2, block_size=4))
    assert_same(reference, run(raw, 6, threads=1, block_size=1))
    # a replication depends on (seed, index) only
    only = run(raw, np.array([4, 1]), threads=2)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(only, name), getattr(reference, name)[[4, 1]])
    other = run(raw, 6, seed=6, threads=2)
    assert not np.array_equal(other.export_step, reference.export_step)


def test_seed_sequence_children_are_the_replications() -> None:
    raw = small(60, 2.0)
    seq = np.random.SeedSequence(11, spawn_key=(3,))
    a = run(raw, 3, seed=seq)  # type: ignore[arg-type]
    b = run(raw, 3, seed=seq)  # type: ignore[arg-type]
    assert_same(a, b)
    rng = engine.replication_rng(seq, 2)
    assert rng.bit_generator.seed_seq.spawn_key == (3, 2)


# ---------------------------------------------------------------------------------------------
# Exactness of the speed-ups
# ---------------------------------------------------------------------------------------------
def test_inlined_uniform_reproduces_numpys_pcg64_stream() -> None:
    check_uniform()
    from numba import njit

    @njit
    def draws(rng, n):
        out = np.empty(2 * n)
        for k in range(n):
            out[2 * k] = uniform(rng)
            out[2 * k + 1] = rng.standard_normal()  # numpy's code on the same state
        return out

    rng = np.random.Generator(np.random.PCG64(123))
    got = draws(rng, 500)
    expected_rng = np.random.Generator(np.random.PCG64(123))
    expected = np.empty(1000)
    for k in range(500):
        expected[2 * k] = expected_rng.random()
        expected[2 * k + 1] = expected_rng.standard_normal()
    np.testing.assert_array_equal(got, expected)
    assert rng.random() == expected_rng.random()  # the generator is left where numpy leaves it


@pytest.mark.parametrize(
    ("growth", "decay", "dt_years"),
    [
        (0.02, 0.1, 7 / 365.25),
        (1.0, 5.0, 91 / 365.25),
        (0.0, 0.0, 7 / 365.25),
        (1.0, 0.0, 1 / 365.25),
    ],
)
def test_technology_stays_in_its_window_until_the_next_programme(growth, decay, dt_years) -> None:
    """The drift (rules.resource_drift) never leaves the window computed at its start, whether
    it approaches its fixed point monotonically or, with dt (growth + decay) > 1, oscillates."""
    from simsme import rules

    rng = np.random.default_rng(0)
    for _ in range(200):
        level, endowment = rng.random(2)
        lo, hi = technology_window(level, endowment, growth, decay, dt_years)
        x = level
        for _ in range(300):
            assert lo <= x <= hi
            x = rules.resource_drift(x, endowment, growth, decay, dt_years)


def test_adoption_classes_and_bound_hold_over_the_whole_window() -> None:
    """NONE: every channel's hazard is zero anywhere in the technology window (no draw); SOME:
    the total is positive everywhere (a draw); the bound is at least the step probability
    everywhere, so comparing a draw with it first never changes the outcome."""
    from simsme import rules

    arrays = lower(validate_scenario({}))
    kp = kernel_params(arrays)
    usefulness, ease = kp.ch[CH_USEFULNESS], kp.ch[CH_EASE]
    rng = np.random.default_rng(1)
    hazards = np.zeros(kp.n_channels)
    seen = set()
    for _ in range(3000):
        missing = int(rng.integers(1, 2**kp.n_channels)) & kp.digital_mask
        if missing == 0:
            continue
        degree = int(rng.integers(0, 8))
        counts = rng.integers(0, degree + 1, kp.n_channels).astype(np.int32)
        technology, endowment = rng.random(2)
        push = float(rng.choice([0.0, 0.2]))
        threshold = float(rng.choice([0.3, 0.5, 0.62]))
        args = (kp.w_useful, kp.w_ease, kp.w_social, threshold, kp.adopt_rate)
        kind, bound = classify_adoption(
            missing, technology, endowment, counts, degree, usefulness, ease, push,
            *args, kp.growth_rate, kp.decay_rate, kp.dt_years,
        )  # fmt: skip
        seen.add(kind)
        lo, hi = technology_window(
            technology, endowment, kp.growth_rate, kp.decay_rate, kp.dt_years
        )
        for tech in np.linspace(lo, hi, 7):
            total = adoption_hazards(
                hazards, missing, tech, counts, degree, usefulness, ease, push, *args
            )
            if kind == ADOPT_NONE:
                assert total == 0.0
            else:
                assert rules.step_probability(total, kp.dt_years) <= bound
                if kind == ADOPT_SOME:
                    assert total > 0.0
    assert seen == {ADOPT_NONE, ADOPT_SOME, ADOPT_UNSURE}


def test_probability_bound_is_an_upper_bound() -> None:
    from simsme import rules

    for rate in np.concatenate([[0.0, 1e-12], np.geomspace(1e-9, 60.0, 500)]):
        for dt in (1 / 365.25, 7 / 365.25, 91 / 365.25):
            assert probability_bound(rate, dt) >= rules.step_probability(rate, dt)
            assert probability_bound(rate, dt) <= 1.0


@pytest.mark.parametrize(
    "raw",
    [
        # events of every kind (agencies process remotely under the order), entrants
        small(90, 4.0, population={"entrants_per_year": 0.1}, events=EVENTS),
        # adoption thresholds near the intentions (SMEs whose class is unsure), daily steps,
        # a push from an order, many ties
        small(
            60,
            2.0,
            time={"step_days": 1.0},
            population={"network": {"mean_degree": 12}},
            behaviour={
                "adoption": {"rate_per_year": 20.0, "threshold": 0.5},
                "export_entry": {"entry_cost": 0.3},  # a low sunk cost: many export
            },
            events=[{"type": "movement_control", "start": "2010-04-01", "end": "2010-09-01"}],
        ),
        # public Q&A on social media reaching SMEs (awareness hazard changing every step),
        # oscillating capability drift, quarterly steps
        small(
            80,
            12.0,
            time={"step_days": 91.0},
            population={"initial_channels": {"social_media": 0.6, "paper": 0.9}},
            behaviour={"capability": {"organic_growth_per_year": 1.0, "decay_per_year": 5.0}},
            agencies=[
                {
                    "name": f"{f}_agency",
                    "focus": f,
                    "channels": {"application": ["social_media", "paper"]},
                    "digitalisation": {"level": 0.8},
                }
                for f in FOCUS_AREAS
            ],
        ),
    ],
    ids=["events-entrants", "unsure-adoption-daily", "public-qa-quarterly"],
)
def test_kernel_equals_the_mesa_engine_draw_for_draw(raw: dict) -> None:
    """The per-phase reference (the Mesa engine makes the reference's draws in the reference's
    order) and the optimised kernel give the same outputs, exactly."""
    from simsme.model import run_replication

    arrays = lower(validate_scenario(raw))
    (kernel,) = engine.run_blocks(arrays, np.array([2]), 17, threads=1)
    mesa = run_replication(arrays, 17, 2)
    assert (mesa.export_step >= 0).sum() > 2 and mesa.applications.sum() > 5  # things happen
    assert_same(kernel, mesa)


# ---------------------------------------------------------------------------------------------
# Memory and index types
# ---------------------------------------------------------------------------------------------
LARGEST = {
    "population": {"n_smes": 1_000_000, "entrants_per_year": 0.5, "network": {"mean_degree": 50}},
    "time": {"horizon_years": 100.0, "step_days": 1.0},
}


@pytest.fixture(scope="module")
def largest():
    return lower(validate_scenario(LARGEST))


def test_largest_scenario_fits_the_index_types(largest) -> None:
    n_total, n_steps = largest.n_total, largest.n_steps
    assert n_total == 51_000_000 and n_steps == 36_525
    int32 = np.iinfo(np.int32).max
    assert n_total < int32  # SME indices (State.neighbours is int32)
    assert n_steps < int32  # steps in export_step, aware_step (int32)
    ties = round(n_total * largest.mean_degree / 2)
    assert 2 * ties > int32  # so the CSR offsets must be (and are) 64-bit:
    arrays = lower(validate_scenario(small(30, 1.0)))
    state = init_state(engine.replication_rng(1, 0), arrays)
    assert state.indptr.dtype == np.int64 and state.active.dtype == np.int64
    assert state.changed.dtype == np.int64  # adoption news is encoded as i * 64 + channel
    assert (n_total - 1) * 64 + 63 < np.iinfo(np.int64).max
    # the memory estimate is exact Python-integer arithmetic, no wrap-around
    need = engine.memory_needed(largest, 1, 2)
    per_sme = state_bytes_per_sme(largest.n_channels, largest.mean_degree)
    assert isinstance(need, int) and need > 2 * n_total * per_sme > 2**36


def test_refuses_before_any_work_a_run_that_does_not_fit(largest, monkeypatch) -> None:
    import psutil

    available = 16 * 2**30
    monkeypatch.setattr(
        psutil, "virtual_memory", lambda: types.SimpleNamespace(available=available)
    )
    blocks = engine.run_blocks(largest, 10, 1, threads=2)
    with pytest.raises(SimsmeError) as info:
        next(blocks)
    assert info.value.exit_code == 2
    message = str(info.value)
    need = engine.memory_needed(largest, engine.block_size_for(largest, 10, 2), 2)
    assert f"{need / 2**30:.1f} GiB" in message and "51,000,000 SMEs" in message
    assert "population.n_smes" in message
    # more SMEs than 32-bit indices can address is refused too (not reachable from the schema)
    with pytest.raises(SimsmeError, match="32-bit"):
        engine.check_memory(largest._replace(n_total=2**31), 1, 1)


def test_a_million_smes_run() -> None:
    """The schema's largest population (one step, sparse network): indices, network and
    outputs are consistent at that size."""
    raw = small(1_000_000, 7 / 365.25)
    block = run(raw, 1, threads=1)
    assert block.export_step.shape == (1, 1_000_000)
    assert block.size_class.min() >= 0 and block.size_class.max() <= 2
    assert np.all(block.founded_day <= 0.0)
    assert block.aware_step.max() <= 0 and (block.aware_step == 0).sum() > 0


# ---------------------------------------------------------------------------------------------
# Stale numba caches
# ---------------------------------------------------------------------------------------------
def test_stale_caches_are_cleared_when_any_kernel_source_changes(tmp_path) -> None:
    src = tmp_path / "src"
    cache = tmp_path / "cache"
    src.mkdir()
    cache.mkdir()
    rules_py, phases_py = src / "rules.py", src / "phases.py"
    rules_py.write_text("A = 1\n")
    phases_py.write_text("B = 1\n")
    sources = [rules_py, phases_py]
    directories = {cache: {"phases", "rules"}}

    def fill() -> list:
        names = ["phases.step-10.py311.nbi", "phases.step-10.py311.1.nbc", "rules.x-3.py311.nbi"]
        for name in names:
            (cache / name).write_bytes(b"x")
        (cache / "other.f-1.py311.nbi").write_bytes(b"x")  # another module's cache: kept
        return sorted(cache / name for name in names)

    expected = fill()
    assert sorted(clear_stale_caches(sources, directories)) == expected  # no stamp yet
    assert (cache / STAMP_NAME).read_text().strip() == sources_digest(sources)
    assert (cache / "other.f-1.py311.nbi").exists()
    fill()
    assert clear_stale_caches(sources, directories) == []  # sources unchanged: cache kept
    rules_py.write_text("A = 2\n")  # an edit in another file than the cached function's
    assert sorted(clear_stale_caches(sources, directories)) == expected
    # never raises: missing folders, read-only folders
    assert clear_stale_caches(sources, {tmp_path / "missing": {"rules"}}) == []
    if os.geteuid() != 0:  # root ignores permissions
        fill()
        rules_py.write_text("A = 3\n")
        cache.chmod(0o500)
        try:
            assert clear_stale_caches(sources, directories) == []
        finally:
            cache.chmod(0o700)


def test_the_cache_guard_covers_the_mechanisms_the_kernel_inlines() -> None:
    """The kernel inlines the mechanisms: editing one must clear the kernel's cached code."""
    from simsme.kernel import KERNEL_SOURCES

    names = {(p.parent.name, p.name) for p in KERNEL_SOURCES}
    for module in ("adoption", "exchange", "process", "support", "draws", "population"):
        assert ("mechanisms", f"{module}.py") in names
    assert ("kernel", "phases.py") in names and ("kernel", "fastpath.py") in names


def test_init_lists_the_founded_smes() -> None:
    arrays = lower(validate_scenario(small(200, 2.0, population={"entrants_per_year": 0.5})))
    assert arrays.n_total == 400
    state = init_state(engine.replication_rng(3, 0), arrays)
    founded = state.si[I_FOUND_STEP] <= 0
    assert state.c[C_N_FOUNDED] == founded.sum() == state.c[C_N_ACTIVE] >= 200
    np.testing.assert_array_equal(
        state.active[: state.c[C_N_ACTIVE]], np.flatnonzero(founded)
    )  # in index order
