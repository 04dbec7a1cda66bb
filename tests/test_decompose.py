"""``simsme decompose``: the digital-agency effect switched off pathway by pathway.

Runs the baseline with 500 SMEs and 30 replications per arm (about 15 seconds once the kernel is
compiled); every arm shares the scenario's seed, so arms are paired replication by replication
(common random numbers). Arms diverge quickly even with common random numbers (their
replications correlate about 0.5): co-creation's share of the effect (about 8 weeks at 1,000
SMEs, measured) has a paired standard deviation of about 12 weeks over replications at 250
SMEs, so 250 SMEs x 20 replications left its interval reaching below 0; 500 x 30 halves the
standard error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simsme.cli import main
from simsme.experiments import decompose as dec
from simsme.scenario import load_scenario
from simsme.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
MCO = ROOT / "scenarios" / "pandemic-mco.yaml"
SMALL = ["population.n_smes=500"]
REPLICATIONS = 30
TTFE = "restricted_mean_ttfe_weeks"


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def baseline() -> Scenario:
    return load_scenario(BASELINE, SMALL)


@pytest.fixture(scope="module")
def result(baseline: Scenario) -> dec.Decomposition:
    return dec.decompose(baseline, REPLICATIONS)


def row(table: pd.DataFrame, pathway: str, statistic: str = TTFE) -> pd.Series:
    found = table[(table["pathway"] == pathway) & (table["statistic"] == statistic)]
    assert len(found) == 1, (pathway, statistic)
    return found.iloc[0]


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------
def expected_unavailable() -> set[str]:
    """In the baseline: remote processing needs a movement-control order; procedures need the
    scenario's procedures (a schema without them reports the pathway unavailable)."""
    missing = {"remote_processing"}
    if "procedures" not in Scenario.model_fields:
        missing.add("procedures")
    return missing


def test_every_pathway_switches_off_on_both_arms_of_the_baseline_or_says_why(baseline):
    conventional, digital = dec.arms_of(baseline)
    unavailable = set()
    for name, pathway in dec.PATHWAYS.items():
        assert pathway.description and pathway.switch and pathway.source and pathway.size
        assert ".txt" in pathway.source or "evidence.md" in pathway.source, name
        try:
            for arm in (conventional, digital):
                off = dec.switch_off(arm, pathway)
                assert isinstance(off, Scenario)
        except dec.Unavailable:
            unavailable.add(name)
    assert unavailable == expected_unavailable()
    planned = dec.plan(baseline)
    for name in unavailable:
        status, note, _, _ = planned.pathways[name]
        assert status == dec.UNAVAILABLE and note.startswith("not available in this scenario")


def test_the_switches_set_what_the_registry_says(baseline):
    _, digital = dec.arms_of(baseline)
    paper = baseline.channels["paper"]
    off = dec.switch_off(digital, "latency")
    for name, channel in off.channels.items():
        if channel.kind == "digital":
            assert channel.latency.median_days == paper.latency.median_days, name
            assert channel.latency.sigma == paper.latency.sigma, name
        else:  # conventional channels are left as they were
            assert channel == digital.channels[name], name
    off = dec.switch_off(digital, "bureaucracy")
    assert {c.bureaucracy for c in off.channels.values() if c.kind == "digital"} == {
        paper.bureaucracy
    }
    off = dec.switch_off(digital, "e_marketplace")
    assert all(c.export_reach_per_year == 0 for c in off.channels.values() if c.kind == "digital")
    assert any(c.export_reach_per_year > 0 for c in digital.channels.values())
    off = dec.switch_off(digital, "cocreation")
    assert off.cocreation.bonus == 0 and off.cocreation.agency_learning_rate == 0
    assert off.behaviour.capability.cocreation_sourcing_gain == 0
    if "procedures" in Scenario.model_fields and digital.procedures:
        off = dec.switch_off(digital, "procedures")
        last = off.events[-1]
        assert last.type == "agency_digitalisation" and last.level == 0
        assert last.agencies == [p.name for p in digital.procedures]


def test_remote_processing_is_switched_off_in_a_scenario_with_an_order():
    mco = load_scenario(MCO, SMALL)
    assert any(e.type == "movement_control" and e.remote_processing for e in mco.events)
    off = dec.switch_off(mco, "remote_processing")
    orders = [e for e in off.events if e.type == "movement_control"]
    assert orders and not any(e.remote_processing for e in orders)
    # events of other types are left alone (they have no remote_processing field)
    assert [e.type for e in off.events] == [e.type for e in mco.events]


def test_filtered_paths_expand_to_matching_items_only():
    data = {
        "channels": {"a": {"kind": "digital"}, "b": {"kind": "conventional"}},
        "events": [{"type": "x"}, {"type": "y", "flag": True}],
    }
    assert dec.expand_filtered(data, "channels.[kind=digital].latency") == ["channels.a.latency"]
    assert dec.expand_filtered(data, "events.[type=y].flag") == ["events.1.flag"]
    assert dec.expand_filtered(data, "channels.*.kind") == ["channels.*.kind"]
    with pytest.raises(dec.Unavailable, match="type z"):
        dec.expand_filtered(data, "events.[type=z].flag")
    with pytest.raises(dec.Unavailable, match="no 'agencies'"):
        dec.expand_filtered(data, "agencies.[kind=digital].x")


def test_every_range_applies_to_the_baseline(baseline):
    for name, pathway in dec.PATHWAYS.items():
        if name in expected_unavailable():
            continue
        assert len(pathway.ranges) >= 1, name  # every pathway's assumption has a range
        for end in pathway.ranges:
            changed = dec.apply_changes(baseline, end.overrides)
            assert changed != baseline, (name, end.label)
    # "x 2" doubles the digital channels' reach and leaves the conventional ones alone
    double = dec.PATHWAYS["dissemination"].ranges[-1]
    changed = dec.apply_changes(baseline, double.overrides)
    for channel, before in baseline.channels.items():
        after = changed.channels[channel].dissemination_reach_per_year
        factor = 2.0 if before.kind == "digital" else 1.0
        assert after == pytest.approx(factor * before.dissemination_reach_per_year), channel


def test_an_unknown_pathway_is_refused_with_a_hint():
    with pytest.raises(
        dec.SimsmeError, match=r"--pathway: 'cocreaton' .*did you mean 'cocreation'"
    ):
        dec.select_pathways(["cocreaton"])
    assert [p.name for p in dec.select_pathways(None)] == list(dec.PATHWAYS)


# --------------------------------------------------------------------------------------------
# The decomposition
# --------------------------------------------------------------------------------------------
def test_digital_agencies_bring_first_exports_sooner(result):
    full = row(result.table, dec.FULL)
    # the whole 95% interval of the paired difference above 0 (30 replications)
    assert full["effect_low"] > 0, full.to_dict()
    assert set(result.table["statistic"]) == set(dec.STATISTICS)


def test_switching_cocreation_off_shrinks_the_effect(result):
    stats = result.statistics
    full = stats[dec.CONVENTIONAL][TTFE] - stats[dec.DIGITAL][TTFE]
    without = (
        stats[f"{dec.CONVENTIONAL}-no-cocreation"][TTFE]
        - stats[f"{dec.DIGITAL}-no-cocreation"][TTFE]
    )
    share = full - without
    # paired: the 95% interval of the share over replications lies above 0
    cocreation = row(result.table, "cocreation")
    assert cocreation["share_low"] > 0, cocreation.to_dict()
    assert cocreation["share"] == pytest.approx(share.mean())
    assert cocreation["effect"] < row(result.table, dec.FULL)["effect"]
    # co-creation happens only over DIP, so the conventional arm does not change at all
    assert not cocreation["conventional_changed"]
    assert stats[dec.CONVENTIONAL][TTFE].equals(stats[f"{dec.CONVENTIONAL}-no-cocreation"][TTFE])


def test_inactive_and_unavailable_pathways(result):
    # every baseline agency already needs physical documents: nothing to switch, share exactly 0
    physical = row(result.table, "physical_documents")
    assert physical["status"] == dec.INACTIVE
    assert physical["share"] == 0 and physical["share_low"] == 0 and physical["share_high"] == 0
    for name in expected_unavailable():
        missing = row(result.table, name)
        assert missing["status"] == dec.UNAVAILABLE and np.isnan(missing["share"])


def test_the_interaction_is_what_the_shares_leave(result):
    for statistic in dec.STATISTICS:
        table = result.table[result.table["statistic"] == statistic]
        singles = table[~table["pathway"].isin([dec.FULL, dec.INTERACTION])]
        rest = row(result.table, dec.INTERACTION, statistic)["share"]
        full = row(result.table, dec.FULL, statistic)["effect"]
        # means of paired per-replication differences: the identity holds up to rounding
        assert rest == pytest.approx(full - singles["share"].fillna(0).sum(), abs=1e-9)
        ok = singles[singles["status"] == dec.OK]
        assert (ok["share_low"] <= ok["share"]).all() and (ok["share"] <= ok["share_high"]).all()


def test_e_marketplace_is_switched_off_in_both_arms(result):
    # the listing is the SMEs' own: the conventional arm changes too
    assert row(result.table, "e_marketplace")["conventional_changed"]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def test_the_command_prints_the_table_and_writes_the_csv(tmp_path, capsys):
    out = tmp_path / "decomposition.csv"
    args = ["decompose", str(BASELINE), "-n", "3", "--set", "population.n_smes=200"]
    code, text = cli([*args, "--pathway", "cocreation", "--out", str(out), "-q"], capsys)
    assert code == 0, text
    assert "cocreation" in text and "interaction" in text and "restricted_mean_ttfe_weeks" in text
    table = pd.read_csv(out)
    assert list(table.columns) == dec.COLUMNS
    assert set(table["pathway"]) == {dec.FULL, "cocreation", dec.INTERACTION}
    assert (table["replications"] == 3).all()
    assert out.with_suffix(".json").is_file()


def test_the_range_check_writes_its_table_next_to_the_csv(tmp_path, capsys):
    out = tmp_path / "decomposition.csv"
    args = ["decompose", str(BASELINE), "-n", "2", "--set", "population.n_smes=200"]
    code, text = cli(
        [*args, "--pathway", "cocreation", "--ranges", "--out", str(out), "-q"], capsys
    )
    assert code == 0, text
    assert "range check" in text and "bonus 1.5" in text
    ranges = pd.read_csv(out.with_suffix(dec.RANGES_SUFFIX))
    assert list(ranges.columns) == dec.RANGE_COLUMNS
    labels = [r.label for r in dec.PATHWAYS["cocreation"].ranges]
    assert list(ranges["setting"].unique()) == labels
    assert (ranges["status"] == dec.OK).all()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--pathway", "latencies"], "--pathway: 'latencies' is not a pathway"),
        (["--replications", "1"], "--replications"),
        (["--set", "population.n_smez=200"], "n_smez"),
    ],
)
def test_bad_input_exits_2_naming_the_option(args, expected, capsys):
    code, text = cli(["decompose", str(BASELINE), *args], capsys)
    assert code == 2 and expected in text and "Traceback" not in text


def test_a_missing_scenario_exits_2_naming_it(tmp_path, capsys):
    missing = tmp_path / "nowhere.yaml"
    code, text = cli(["decompose", str(missing)], capsys)
    assert code == 2 and "nowhere.yaml" in text and "Traceback" not in text
