"""The directions of MODEL.md section 7, each as a statistical test on the kernel.

Each comparison runs both arms with the same seed and ``REPS`` replications of a 300-SME
population over the 15-year baseline horizon. The statistic is the *restricted mean TTFE* of a
replication: the mean over all SMEs of TTFE, with never-exporting SMEs counted at the horizon
(censoring-aware, unlike the mean over exporters alone). Replication r of both arms starts from
the same random stream (common random numbers), so the arms are compared replication by
replication with a one-sided paired t-test at alpha = 0.001 (pairs are independent across r).
With 20 pairs and a between-replication standard deviation of the *difference* at most 10-13
weeks (the unpaired spread, measured; pairing only lowers it), the test detects a true difference
of about 15 weeks with power above 0.9; a false alarm has probability 0.001 per test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from simsme.kernel.engine import run_blocks
from simsme.outputs import sme_table
from simsme.scenario import load_scenario
from simsme.scenario.lowering import lower

from helpers import small_scenario

ROOT = Path(__file__).resolve().parents[1]
REPS = 20
MECHANISM_REPS = 100  # co-creation's effect is a few weeks (its test)
MCO_REPS = 400  # the order's difference in differences is small against its noise (its test)
ALPHA = 0.001
N_SMES = 300

DIP = ("email", "whatsapp", "web_portal", "social_media")


def restricted_mean_ttfe(scenario, reps: int = REPS) -> np.ndarray:
    """Per replication: mean TTFE in weeks over all SMEs, censored ones at the horizon."""
    arrays = lower(scenario)
    names = list(scenario.channels)
    regions = [r.name for r in scenario.population.regions]
    means = []
    for block in run_blocks(arrays, reps, scenario.seed):
        table = sme_table(block, arrays, names, regions)
        means.append(table.groupby("replication")["ttfe_weeks"].mean().to_numpy())
    return np.concatenate(means)


def assert_sooner(faster: np.ndarray, slower: np.ndarray) -> None:
    result = stats.ttest_rel(faster, slower, alternative="less")
    assert result.pvalue < ALPHA, (faster.mean(), slower.mean(), result.pvalue)


def test_digital_agencies_bring_first_export_sooner():
    overrides = [f"population.n_smes={N_SMES}"]
    digital = restricted_mean_ttfe(
        load_scenario(ROOT / "scenarios/digital-agencies.yaml", overrides)
    )
    conventional = restricted_mean_ttfe(
        load_scenario(ROOT / "scenarios/conventional-agencies.yaml", overrides)
    )
    assert_sooner(digital, conventional)


def test_movement_control_delays_conventional_smes_more_than_dip_users():
    """The MCO's delay (with minus without) is larger for SMEs on conventional channels only.

    Both groups deal with the same digitalised agencies; only the SMEs' own channels differ.
    The four arms run with the same seed, so replication r of each starts from the same
    population (common random numbers) and the calm and shock arms of a group are identical
    until the order: the difference in differences is taken replication by replication and
    tested with a one-sided t-test at alpha = 0.001 (pairs independent across r). Measured at
    150 replications: +9.2 weeks for conventional SMEs, +4.9 for DIP users (few SMEs are
    obtaining procedures or waiting on agencies during any two years), the difference's standard
    deviation over replications about 19 weeks; 400 replications (about ten seconds of kernel
    time) give a t of about 4.5 for a 4.3-week difference.
    """
    agencies_digital = [{"type": "agency_digitalisation", "start": "2010-01-01", "level": 1.0}]
    mco = {"type": "movement_control", "start": "2012-01-01", "end": "2013-12-31"}
    conventional = {
        "population.n_smes": N_SMES,
        "behaviour.adoption.rate_per_year": 0.0,
        **{f"population.initial_channels.{c}": 0.0 for c in (*DIP, "sms", "open_innovation")},
    }
    dip = {"population.n_smes": N_SMES, **{f"population.initial_channels.{c}": 1.0 for c in DIP}}
    delays = {}
    for group, overrides in (("conventional", conventional), ("dip", dip)):
        calm = restricted_mean_ttfe(small_scenario(overrides, events=agencies_digital), MCO_REPS)
        shock = restricted_mean_ttfe(
            small_scenario(overrides, events=[*agencies_digital, mco]), MCO_REPS
        )
        delays[group] = shock - calm
    assert delays["conventional"].mean() > 0
    result = stats.ttest_1samp(delays["conventional"] - delays["dip"], 0.0, alternative="greater")
    assert result.pvalue < ALPHA, ({k: v.mean() for k, v in delays.items()}, result.pvalue)


@pytest.mark.parametrize(
    "with_mechanism, without",
    [
        # co-creation shortens TTFE (003 sections 4.2, 5); it happens over DIP only, so both arms
        # deal with agencies that are digital from the start
        # (without it: no larger programme effect, no added sourcing network, no agency learning)
        (
            {},
            {
                "cocreation.bonus": 0.0,
                "cocreation.agency_learning_rate": 0.0,
                "behaviour.capability.cocreation_sourcing_gain": 0.0,
            },
        ),
        # network ties shorten TTFE: external sourcing (004 Figure 4), referrals (000 Company B)
        ({}, {"population.network.mean_degree": 0.0}),
    ],
    ids=["cocreation", "network_ties"],
)
def test_cocreation_and_network_ties_shorten_ttfe(with_mechanism, without):
    base = {"population.n_smes": N_SMES}
    digital = [{"type": "agency_digitalisation", "start": "2010-01-01", "level": 1.0}]
    # 100 pairs: co-creation now shortens the restricted mean by 3-7 weeks (docs/model.md s9.4)
    # against a paired spread of about 12 weeks, so 20 pairs left the test near alpha
    faster = restricted_mean_ttfe(
        small_scenario({**base, **with_mechanism}, events=digital), MECHANISM_REPS
    )
    slower = restricted_mean_ttfe(
        small_scenario({**base, **without}, events=digital), MECHANISM_REPS
    )
    assert_sooner(faster, slower)
