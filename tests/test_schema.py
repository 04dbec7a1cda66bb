"""Scenario files: every class of bad input gets one clear message (file, field, value, expected)
and exit code 2 from the CLI, with no traceback and no results folder."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from simsme.cli import main
from simsme.errors import ScenarioError
from simsme.scenario import load_scenario, validate_scenario
from simsme.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message  # every message names the file
    return message


def test_defaults_are_a_valid_baseline():
    scenario = validate_scenario({})
    assert scenario.population.n_smes == 1000
    assert scenario.time.horizon_years == 15
    assert scenario.time.step_days == 7
    assert {a.focus for a in scenario.agencies} == {
        "human_capital",
        "financing",
        "market_access",
        "innovation_technology",
        "infrastructure",
    }
    assert scenario.n_steps == 783


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_validate(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem


def test_malformed_yaml(tmp_path):
    message = problems_of(tmp_path, "population: {n_smes: 10\n")
    assert "YAML" in message or "yaml" in message


def test_unknown_key_suggests_the_right_one(tmp_path):
    message = problems_of(tmp_path, "population:\n  n_sme: 100\n")
    assert "population.n_sme" in message
    assert "did you mean 'n_smes'" in message


def test_wrong_type(tmp_path):
    message = problems_of(tmp_path, "population:\n  n_smes: many\n")
    assert "population.n_smes" in message and "'many'" in message
    assert "expected" in message


@pytest.mark.parametrize(
    "text, field",
    [
        ("population:\n  n_smes: -5\n", "population.n_smes"),
        ("channels:\n  whatsapp:\n    bureaucracy: -1\n", "channels.whatsapp.bureaucracy"),
        ("agencies:\n  - {name: a, focus: financing, selection_rate: 1.5}\n", "selection_rate"),
    ],
)
def test_out_of_range(tmp_path, text, field):
    message = problems_of(tmp_path, text)
    assert field in message and "expected" in message


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_values(tmp_path, value):
    message = problems_of(
        tmp_path, f"channels:\n  email:\n    latency:\n      median_days: {value}\n"
    )
    assert "channels.email.latency.median_days" in message
    assert "finite" in message


def test_empty_population_and_zero_horizon(tmp_path):
    message = problems_of(tmp_path, "population:\n  n_smes: 0\ntime:\n  horizon_years: 0\n")
    assert "population.n_smes" in message and "time.horizon_years" in message
    assert "2 problems" in message  # all problems at once, not one per attempt


def test_unknown_channel_referenced_by_an_agency(tmp_path):
    text = yaml.safe_dump(
        {
            "agencies": [
                {
                    "name": "a",
                    "focus": "financing",
                    "channels": {"application": ["web_portal", "whatsap"]},
                }
            ]
        }
    )
    message = problems_of(tmp_path, text)
    assert "agencies[0].channels.application" in message
    assert "'whatsap'" in message and "did you mean 'whatsapp'" in message


def test_unknown_channel_in_event_and_population(tmp_path):
    text = (
        "population:\n  initial_channels: {telegram: 0.5}\n"
        "events:\n  - {type: movement_control, start: 2020-03-18, blocked_channels: [meeting]}\n"
    )
    message = problems_of(tmp_path, text)
    assert "telegram" in message and "meeting" in message


def test_unknown_agency_in_event(tmp_path):
    text = "events:\n  - {type: agency_digitalisation, start: 2018-01-01, agencies: [nobody]}\n"
    message = problems_of(tmp_path, text)
    assert "events[0].agencies" in message and "'nobody'" in message


def test_unknown_event_type(tmp_path):
    message = problems_of(tmp_path, "events:\n  - {type: earthquake, start: 2020-01-01}\n")
    assert "events[0]" in message and "earthquake" in message


def test_yaml_is_read_with_a_safe_loader(tmp_path):
    message = problems_of(tmp_path, "name: !!python/object/apply:os.system ['echo hacked']\n")
    assert "YAML" in message or "yaml" in message


def test_overrides_apply_and_are_validated(tmp_path):
    path = write(tmp_path, "name: ok\n", "ok.yaml")
    scenario = load_scenario(path, ["population.n_smes=250", "channels.whatsapp.bureaucracy=0.3"])
    assert scenario.population.n_smes == 250
    assert scenario.channels["whatsapp"].bureaucracy == 0.3
    scenario = load_scenario(path, ["agencies.financing_agency.capacity_per_week_per_1000_smes=9"])
    assert scenario.agencies[1].capacity_per_week_per_1000_smes == 9
    with pytest.raises(ScenarioError, match="did you mean 'n_smes'"):
        load_scenario(path, ["population.n_sme=3"])
    with pytest.raises(ScenarioError, match="population.n_smes"):
        load_scenario(path, ["population.n_smes=0"])


def _cli(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_cli_validate_reports_problems_with_exit_code_2(tmp_path, capsys):
    bad = write(tmp_path, "population:\n  n_sme: 100\n")
    code, output = _cli(["validate", str(bad)], capsys)
    assert code == 2
    assert "did you mean" in output and "Traceback" not in output
    code, output = _cli(["validate", str(SCENARIOS[0])], capsys)
    assert code == 0 and "ok" in output


def test_cli_run_with_bad_input_leaves_no_results_folder(tmp_path, capsys):
    bad = write(tmp_path, "time:\n  horizon_years: 0\n")
    out = tmp_path / "results"
    code, output = _cli(["run", str(bad), "--out", str(out)], capsys)
    assert code == 2 and "time.horizon_years" in output and "Traceback" not in output
    assert not out.exists()
    good = write(tmp_path, "name: fine\n", "fine.yaml")
    code, output = _cli(["run", str(good), "--out", str(out), "--set", "nonsense=1"], capsys)
    assert code == 2 and "nonsense" in output and not out.exists()
    code, output = _cli(["run", str(tmp_path / "missing.yaml"), "--out", str(out)], capsys)
    assert code == 2 and "missing.yaml" in output and not out.exists()


def test_cli_schema_prints_a_json_schema(capsys):
    code, output = _cli(["schema"], capsys)
    assert code == 0
    schema = json.loads(output)
    assert set(Scenario.model_fields) <= set(schema["properties"])
    # every field documents a default so editors can show it
    assert schema["properties"]["seed"]["default"] == 20221116


@pytest.mark.parametrize(
    "text, field, shown",
    [
        ("population:\n  n_smes: true\n", "population.n_smes", "True"),
        ("population:\n  n_smes: '200'\n", "population.n_smes", "'200'"),
        ("population:\n  n_smes: 200.5\n", "population.n_smes", "200.5"),
        ("time:\n  horizon_years: yes\n", "time.horizon_years", "True"),
        ("channels:\n  email:\n    carries_documents: 'no'\n", "carries_documents", "'no'"),
    ],
)
def test_values_are_not_coerced_between_types(tmp_path, text, field, shown):
    """YAML booleans and quoted numbers are type errors, not 1, 0 or 200 read silently."""
    message = problems_of(tmp_path, text)
    assert field in message and shown in message and "expected" in message


def test_lists_and_iso_dates_are_still_read(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "time: {start_date: '2012-01-01', horizon_years: 3}\n"
        "population:\n  resources:\n    financial: {mean: [0.2, 0.3, 0.4]}\n"
        "events:\n  - {type: movement_control, start: '2020-03-18', end: 2020-06-09}\n"
    )
    scenario = load_scenario(path)
    assert scenario.time.start_date == dt.date(2012, 1, 1)
    assert scenario.population.resources.financial.mean == (0.2, 0.3, 0.4)
    assert scenario.events[0].end == dt.date(2020, 6, 9)


def test_a_key_given_twice_is_an_error(tmp_path):
    message = problems_of(tmp_path, "population:\n  n_smes: 100\n  n_smes: 200\n")
    assert "duplicate key 'n_smes'" in message and "line 2" in message and "line 3" in message


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    """``<<: *anchor`` then a key of its own is YAML's override idiom, not a duplicate."""
    path = tmp_path / "s.yaml"
    path.write_text(
        "channels:\n"
        "  whatsapp: &chat {kind: digital, latency: {median_days: 0.5}}\n"
        "  telegram:\n    <<: *chat\n    latency: {median_days: 0.2}\n"
    )
    channels = load_scenario(path).channels
    assert channels["telegram"].kind == "digital"
    assert channels["telegram"].latency.median_days == 0.2


def test_events_outside_the_run_are_warned_about(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "time: {horizon_years: 2}\n"
        "events:\n"
        "  - {type: movement_control, start: 2015-03-18, end: 2015-06-01}\n"
        "  - {type: tax_change, start: 2011-01-01, financial_loss: 0.1}\n"
    )
    assert main(["validate", str(path)]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "events[0].start" in err and "never happens" in err
    assert "events[1]" not in err


@pytest.mark.parametrize(
    "text", ["time: {start_date: 2010-02-30}\n", "time: {start_date: 2010-13-01}\n"]
)
def test_a_date_that_does_not_exist_is_a_clear_error(tmp_path, text):
    message = problems_of(tmp_path, text)
    assert "not a valid date" in message and "line 1" in message


def test_a_date_that_does_not_exist_in_set_is_a_clear_error():
    with pytest.raises(ScenarioError, match="time.start_date.*2010-02-30.*valid date"):
        load_scenario(ROOT / "scenarios" / "baseline.yaml", ["time.start_date=2010-02-30"])
    # Text that merely looks like a date stays text where text is expected.
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml", ["description=2010-02-30"])
    assert scenario.description == "2010-02-30"


def test_a_horizon_shorter_than_one_step_is_refused(tmp_path):
    message = problems_of(tmp_path, "time: {horizon_years: 0.001}\n")
    assert "field 'time'" in message and "at least one step" in message


def test_messages_for_names_lists_and_event_types_read_plainly(tmp_path):
    assert "no spaces" in problems_of(tmp_path, "name: 'a b'\n")
    assert "at least 1 item" in problems_of(tmp_path, "agencies: []\n")
    message = problems_of(tmp_path, "events: [{type: nope, start: 2012-01-01}]\n")
    assert "events[0].type" in message and "'movement_control'" in message
    with pytest.raises(ScenarioError, match="the list is empty"):
        load_scenario(ROOT / "scenarios" / "baseline.yaml", ["events.0.start=2012-01-01"])
    with pytest.raises(ScenarioError, match="no item '-1'"):
        load_scenario(
            ROOT / "scenarios" / "baseline.yaml", ["agencies.-1.capacity_per_week_per_1000_smes=3"]
        )


# ---------------------------------------------------------------------------------------------
# Hostile inputs and bounded resources (issue 14, items 3, 4 and 7; docs/robustness.md)
# ---------------------------------------------------------------------------------------------
def test_files_that_are_not_small_regular_files_are_refused_before_reading(tmp_path, capsys):
    import os

    from simsme.scenario.loading import MAX_FILE_BYTES

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it would block forever
    big = write(tmp_path, "description: x\n" + "#" * MAX_FILE_BYTES, "big.yaml")
    cases = {
        "/dev/zero": "not a regular file",
        str(fifo): "not a regular file",
        str(tmp_path): "is a folder",
        str(big): f"expected a scenario file of at most {MAX_FILE_BYTES:,} bytes",
    }
    for path, expected in cases.items():
        code, output = _cli(["validate", path], capsys)
        assert code == 2 and expected in output and "Traceback" not in output, output
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: café\n".encode("latin-1"))
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        load_scenario(latin1)


def test_an_empty_scenario_file_is_an_error_that_says_how_to_run_the_defaults(tmp_path):
    for text in ("", "\n\n", "# only a comment\n", "---\n", "~\n"):
        message = problems_of(tmp_path, text)
        assert "the file is empty" in message and "name: baseline" in message


def test_yaml_alias_bombs_deep_nesting_and_huge_integers_are_refused(tmp_path):
    lols = ", ".join(['"lol"'] * 9)
    bomb = f"a: &a [{lols}]\n" + "".join(
        f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert "alias bomb" in problems_of(tmp_path, bomb + "description: *i\n")
    assert "nested more than 40 levels" in problems_of(tmp_path, "a: " + "[" * 100_000)
    assert "a cycle" in problems_of(tmp_path, "description: &x [*x]\n")
    message = problems_of(tmp_path, "population: {n_smes: " + "9" * 5000 + "}\n")
    assert "an integer of 5,000 digits: expected at most 1,000" in message
    message = problems_of(tmp_path, "population: {n_smes: " + "9" * 500 + "}\n")
    assert "population.n_smes" in message and "less than or equal to 1000000" in message


def test_names_texts_and_lists_are_bounded(tmp_path):
    message = problems_of(tmp_path, "name: " + "a" * 250 + "\n")
    assert "field 'name': value of 250 characters: expected at most 64 characters" in message
    message = problems_of(tmp_path, "description: " + "d" * 20_000 + "\n")
    assert "field 'description'" in message and "at most 10,000 characters" in message
    regions = [{"name": f"r{i}", "share": 1 / 101, "downtime_prob": 0.1} for i in range(101)]
    message = problems_of(tmp_path, yaml.safe_dump({"population": {"regions": regions}}))
    assert "field 'population.regions'" in message and "at most 100 item(s)" in message


def test_a_run_that_ends_past_year_9999_is_refused_naming_the_field(tmp_path, capsys):
    message = problems_of(tmp_path, "time: {start_date: 9990-01-01, horizon_years: 15}\n")
    assert "field 'time'" in message and "horizon_years 15 ends past year 9999" in message
    code, output = _cli(
        ["run", str(SCENARIOS[0]), "--set", "time.start_date=9999-12-31", "--out", "unused"],
        capsys,
    )
    assert code == 2 and "ends past year 9999" in output and not Path("unused").exists()
    assert load_scenario(SCENARIOS[0], ["time.start_date=9980-01-01"]).time.horizon_years == 15


def test_a_long_name_does_not_slow_validate(tmp_path, capsys):
    # a 100,000-character name took 70 s (rich wrapping the echoed value): now refused, cut
    code, output = _cli(["validate", str(write(tmp_path, "name: " + "n" * 100_000))], capsys)
    assert code == 2 and "value of 100,000 characters" in output and len(output) < 2_000


@pytest.mark.parametrize(
    "override",
    [
        "agencies.².capacity_per_week_per_1000_smes=1",
        "agencies." + "9" * 5000 + ".capacity_per_week_per_1000_smes=1",
        "description=" + "[" * 5000,
        "population.n_smes=" + "9" * 5000,
        "population.n_smes=.inf",
        "time.start_date=9999-12-31",
        "name=" + "a" * 250,
    ],
    ids=["superscript", "huge-index", "deep", "digits", "inf", "date", "long-name"],
)
def test_hostile_set_options_are_messages(tmp_path, capsys, override):
    out = tmp_path / "out"
    code, output = _cli(["run", str(SCENARIOS[0]), "--set", override, "--out", str(out)], capsys)
    assert code == 2 and "--set" in output and "Traceback" not in output, output
    assert not out.exists()


def test_file_names_with_brackets_are_printed_as_they_are(tmp_path, capsys):
    folder = tmp_path / "x["
    folder.mkdir()
    path = write(folder, "name: fine\n", "bold] [x].yaml")  # x[/bold] [x]: rich markup
    code, output = _cli(["validate", str(path)], capsys)
    assert code == 0 and "x[/bold] [x].yaml: ok" in " ".join(output.split())
