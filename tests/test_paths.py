"""One path module and one error formatter for --set, sweeps and calibration (issue 11, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simsme.errors import ScenarioError, shorten
from simsme.scenario import Scenario, load_scenario
from simsme.scenario.loading import apply_overrides
from simsme.scenario.paths import (
    MISSING,
    canonical,
    expand,
    get_value,
    set_value,
    set_values,
    split_path,
)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture
def data() -> dict:
    return Scenario().model_dump(mode="json")


def test_get_and_set_by_index_and_by_name(data: dict) -> None:
    assert get_value(data, "agencies.trade_agency.capacity_per_week_per_1000_smes") == 1.0
    assert get_value(data, "agencies.2.capacity_per_week_per_1000_smes") == 1.0
    assert get_value(data, "agencies.9.capacity_per_week_per_1000_smes") is MISSING
    assert get_value(data, "population.nothing") is MISSING
    set_value(data, "agencies.trade_agency.capacity_per_week_per_1000_smes", 7.5)
    assert data["agencies"][2]["capacity_per_week_per_1000_smes"] == 7.5
    set_value(data, "channels.telegram", {"kind": "digital"})  # free keys: a new channel
    assert data["channels"]["telegram"] == {"kind": "digital"}
    assert canonical(data, "agencies.trade_agency.dart.access") == "agencies.2.dart.access"


def test_wildcards_expand_over_lists_and_mappings(data: dict) -> None:
    assert expand(data, "agencies.*.dart.dialogue") == [
        f"agencies.{i}.dart.dialogue" for i in range(5)
    ]
    assert len(expand(data, "channels.*.latency.median_days")) == 10
    assert expand(data, "population.n_smes") == ["population.n_smes"]
    assert set_values(data, "agencies.*.dart.dialogue", 0.9) == expand(
        data, "agencies.*.dart.dialogue"
    )
    assert {a["dart"]["dialogue"] for a in data["agencies"]} == {0.9}
    with pytest.raises(ScenarioError, match="matches nothing"):
        expand(data, "events.*.start")
    with pytest.raises(ScenarioError, match="is a value, not a list or section"):
        expand(data, "seed.*")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # a digit for isdigit(), not for int()
        ("agencies.².capacity_per_week_per_1000_smes", "no item '²'"),
        ("agencies.٣.capacity_per_week_per_1000_smes", "no item '٣'"),  # an Arabic-Indic digit
        ("agencies.99999999999999999999.capacity_per_week_per_1000_smes", "no item '9999"),
        ("agencies." + "9" * 5000 + ".x", "expected at most 1,000 characters"),
        ("agencies.-1.capacity_per_week_per_1000_smes", "no item '-1'"),
        ("a..b", "an empty part"),
        ("population.n_sme", "did you mean 'n_smes'"),
        ("seed.x", "'seed' is a value, not a section"),
        (".".join(["a"] * 40), "expected at most 32"),
    ],
)
def test_bad_paths_are_messages(data: dict, path: str, expected: str) -> None:
    with pytest.raises(ScenarioError, match=expected):
        set_value(data, path, 1)
    with pytest.raises(ScenarioError):  # the command line says the same
        load_scenario(BASELINE, [f"{path}=1"])


def test_set_accepts_wildcards_as_sweeps_do() -> None:
    scenario = load_scenario(BASELINE, ["agencies.*.dart.dialogue=0.9"])
    assert [a.dart.dialogue for a in scenario.agencies] == [0.9] * 5
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASELINE, ["agencies.*.dart.dialogue=2"])
    problems = err.value.problems
    assert len(problems) == 5 and "agencies[4].dart.dialogue" in problems[4]
    assert "value 2: expected less than or equal to 1" in problems[0]


def test_one_formatter_for_scenarios_and_sweeps(tmp_path: Path) -> None:
    from simsme.experiments.sweep_spec import read_sweep_file

    (tmp_path / "base.yaml").write_text("name: b\n")
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        "base: base.yaml\ndesign: {kind: lhs, samples: 0}\n"
        "parameters: {channels.fax.cost: {bounds: [0.1, 0.2], lgo: true}}\n"
    )
    with pytest.raises(ScenarioError) as err:
        read_sweep_file(sweep)
    assert err.value.problems == [
        "field 'design.samples': value 0: expected greater than or equal to 2",
        "field 'parameters['channels.fax.cost'].lgo': unknown key 'lgo' (did you mean 'log'?)",
    ]
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASELINE, ["events=[{type: movement_control, start: 2012-01-01, x: 1}]"])
    assert err.value.problems == ["field 'events[0].x': unknown key 'x'"]


def test_hostile_values_in_messages_are_cut() -> None:
    with pytest.raises(ScenarioError) as err:
        load_scenario(BASELINE, ["population.n_smes=" + "'" + "z" * 50_000 + "'"])
    (problem,) = err.value.problems
    assert "(50,002 characters)" in problem and len(problem) < 300
    assert shorten("abc") == "abc" and len(shorten("q" * 10**6)) < 100


def test_split_path_refuses_non_text() -> None:
    with pytest.raises(ScenarioError, match="expected text"):
        split_path(3)  # type: ignore[arg-type]


def test_calibration_overrides_use_the_same_paths() -> None:
    scenario = apply_overrides(Scenario(), [("agencies.*.capacity_per_week_per_1000_smes", 3.0)])
    assert {a.capacity_per_week_per_1000_smes for a in scenario.agencies} == {3.0}
