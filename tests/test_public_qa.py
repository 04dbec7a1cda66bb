"""Public Q&A (003_9e0cb3511f01b6dc.txt section 4.2; issue 12 item 4): when an agency answers an
SME on social media, other SMEs on social media see it and become aware of the programmes.

Public Q&A counts the application, document and notification exchanges made over a channel with
public visibility (in the shipped channels only social media, which carries no documents). The
baseline's agencies take social media for dissemination only, so there
``behaviour.awareness.public_qa_reach`` moves nothing; scenarios/digital-agencies.yaml has every
agency also take it for the inquiry that opens an application, follow-up and notification (003
section 4.2, the comment column, and Table 4: "Interaction", "Updates"), and there the reach makes
SMEs aware sooner.

Runs: 300 SMEs, 4 years (awareness comes in the first two), kernel engine, common random numbers
(the scenario's seed in both arms, so replication r uses the same child stream r).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from simsme.experiments.run import block_tables
from simsme.kernel.engine import run_blocks
from simsme.scenario import load_scenario
from simsme.scenario.lowering import lower
from simsme.scenario.schema import default_agencies

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
N_SMES = 300
HORIZON_YEARS = 4.0
REACH = "behaviour.awareness.public_qa_reach"


def _tables(name: str, reach: float, replications: int) -> dict[str, pd.DataFrame]:
    scenario = load_scenario(
        SCENARIOS / name,
        [
            f"population.n_smes={N_SMES}",
            f"time.horizon_years={HORIZON_YEARS}",
            f"replications={replications}",
            f"{REACH}={reach}",
        ],
    )
    arrays = lower(scenario)
    parts: dict[str, list[pd.DataFrame]] = {"smes": [], "replications": []}
    for block in run_blocks(arrays, scenario.replications, scenario.seed, threads=1):
        got = block_tables(block, scenario, arrays)
        for key in parts:
            parts[key].append(got[key])
    return {key: pd.concat(value, ignore_index=True) for key, value in parts.items()}


def _mean_aware_week(smes: pd.DataFrame) -> np.ndarray:
    """Per replication, the mean week at which SMEs became aware (never: the horizon)."""
    horizon_weeks = HORIZON_YEARS * 365.25 / 7.0
    aware = smes["aware_week"].fillna(horizon_weeks)
    return aware.groupby(smes["replication"]).mean().to_numpy()


def _uses_social_media(smes: pd.DataFrame) -> pd.Series:
    return smes["channels_used"].astype(str).str.split("|").apply(lambda c: "social_media" in c)


def test_digital_agencies_are_the_baselines_but_for_channels_and_dip_level() -> None:
    """The file writes out the baseline's agencies to change their channel lists; everything else
    must stay the baseline's (the DIP level is the file's event's)."""
    scenario = load_scenario(SCENARIOS / "digital-agencies.yaml")
    ignore = {"channels", "digitalisation"}
    got = [a.model_dump(exclude=ignore) for a in scenario.agencies]
    assert got == [a.model_dump(exclude=ignore) for a in default_agencies()]
    for agency in scenario.agencies:
        for purpose in ("application", "follow_up", "notification"):
            assert "social_media" in getattr(agency.channels, purpose)


def test_agencies_answer_on_social_media_only_in_digital_agencies() -> None:
    """Why the reach acts in one scenario and not the other: exchanges over social media."""
    baseline = _tables("baseline.yaml", 0.5, 2)["smes"]
    digital = _tables("digital-agencies.yaml", 0.5, 2)["smes"]
    assert not _uses_social_media(baseline).any()
    # measured: about a third of SMEs have an exchange over social media (300 SMEs, 4 years)
    assert _uses_social_media(digital).mean() > 0.05


def test_public_qa_reach_makes_smes_aware_sooner_where_agencies_answer_on_social_media() -> None:
    """Paired runs, reach 0 against 5, of digital-agencies.yaml: SMEs become aware sooner.

    The effect is small (measured: about 1.5 weeks earlier on a mean of about 38 weeks, with a
    paired replication-to-replication spread of about 2 weeks), because only SMEs on social media
    see public answers, and they also get its dissemination, the strongest, so most are aware
    before public answers pile up; so 80 replications (all of them about a second), one-sided
    paired t-test at alpha 0.001 (expected t about 6). Time to first export moves too little to
    test at this size (awareness a week or two sooner, against TTFEs of years).
    """
    replications = 80
    off = _tables("digital-agencies.yaml", 0.0, replications)
    on = _tables("digital-agencies.yaml", 5.0, replications)
    without, with_qa = _mean_aware_week(off["smes"]), _mean_aware_week(on["smes"])
    test = stats.ttest_rel(with_qa, without, alternative="less")
    assert test.pvalue < 0.001, (without.mean(), with_qa.mean(), test.pvalue)


def test_public_qa_reach_is_inert_in_the_baseline() -> None:
    """No baseline agency takes social media for an exchange: reach 0 and 5 give identical
    outputs (same seed), SME by SME."""
    off = _tables("baseline.yaml", 0.0, 2)
    on = _tables("baseline.yaml", 5.0, 2)
    for key in off:
        pd.testing.assert_frame_equal(off[key], on[key])
