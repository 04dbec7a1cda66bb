"""Population size is a sample size (issue 12, item 5).

Agency capacities are declared per 1,000 SMEs (``agencies[].capacity_per_week_per_1000_smes``)
and the lowering scales them with ``population.n_smes``, as it does the agencies' learning per
co-created programme (``cocreation.agency_learning_rate``); everything else that depends on how
many SMEs there are is already per SME (entrants as a share of n_smes, network ties per SME, public
Q&A per 100 founded SMEs, hazards per SME). So 5,000 SMEs must give the shares and waits of
1,000, only more precisely, and 200 SMEs the same regime, less precisely.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simsme.errors import ScenarioError
from simsme.scenario.loading import load_scenario
from simsme.scenario.lowering import lower
from simsme.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
STATISTICS = ("share_exported", "restricted_mean_ttfe_weeks", "mean_weeks_waiting")


def _scenario(n_smes: int) -> Scenario:
    return load_scenario(BASELINE, [f"population.n_smes={n_smes}"])


# --------------------------------------------------------------------------------------------
# lowering
# --------------------------------------------------------------------------------------------
def test_capacity_scales_with_the_population_and_keeps_fractions() -> None:
    """1,000 SMEs get the declared capacity exactly (per day: value / 7, as before the change,
    so the baseline's draws are unchanged); 100 SMEs a tenth, not rounded to zero; 5,000 five
    times."""
    declared = np.array([a.capacity_per_week_per_1000_smes for a in Scenario().agencies])
    per_day = {n: lower(_scenario(n)).ag_capacity_per_day for n in (100, 1000, 5000)}
    assert np.array_equal(per_day[1000], declared / 7.0)
    np.testing.assert_allclose(per_day[100], declared / 7.0 / 10.0, rtol=1e-12)
    np.testing.assert_allclose(per_day[5000], declared / 7.0 * 5.0, rtol=1e-12)
    assert (per_day[100] > 0).all() and per_day[100].min() == pytest.approx(0.1 / 7.0)


def test_a_catchment_keeps_the_case_replicas_in_the_baseline_ecosystem() -> None:
    """The case scenarios' 100 replicas queue at agencies sized for 1,000 SMEs (exactly the
    capacities of the baseline), and the CLI's warnings say that this count does not scale."""
    from simsme.scenario.loading import scenario_warnings

    case = load_scenario(ROOT / "scenarios" / "company-a.yaml")
    assert case.population.n_smes == 100 and case.population.agency_catchment_smes == 1000
    assert np.array_equal(lower(case).ag_capacity_per_day, lower(Scenario()).ag_capacity_per_day)
    (warning,) = scenario_warnings(case, "company-a.yaml")
    assert "agency_catchment_smes" in warning and "does not scale" in warning
    assert scenario_warnings(_scenario(5000)) == []


def test_the_old_absolute_capacity_is_refused_with_its_replacement(tmp_path: Path) -> None:
    """A file written for absolute capacities must not run silently with another meaning."""
    path = tmp_path / "old.yaml"
    path.write_text(
        "name: old\nagencies:\n  - {name: a, focus: human_capital, capacity_per_week: 3}\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert "capacity_per_week_per_1000_smes" in text and "per 1,000 SMEs" in text
    with pytest.raises(ScenarioError, match="did you mean 'capacity_per_week_per_1000_smes'"):
        load_scenario(BASELINE, ["agencies.trade_agency.capacity_per_week=3"])


# --------------------------------------------------------------------------------------------
# the regime does not depend on n_smes (kernel)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stats() -> dict[int, dict[str, np.ndarray]]:
    """Per-replication statistics of the baseline (15 years, kernel, the baseline's seed) with
    200, 1,000 and 5,000 SMEs: about 10 s once the kernel is compiled."""
    from simsme.calibration.check import run_statistics

    reps = {200: 20, 1000: 20, 5000: 4}
    out = {}
    for n, r in reps.items():
        table = run_statistics(_scenario(n), r)
        out[n] = {s: table[s].to_numpy(dtype=float) for s in STATISTICS}
    return out


def _scaled_sd(values: np.ndarray, n_smes: int, to_n: int) -> float:
    """Between-replication standard deviation of ``values`` (runs of ``n_smes`` SMEs), carried
    to runs of ``to_n`` SMEs: a replication's mean over SMEs has a variance proportional to
    1 / n_smes when the SMEs of a run are a sample (what this file tests)."""
    return float(np.std(values, ddof=1) * np.sqrt(n_smes / to_n))


@pytest.mark.parametrize("statistic", STATISTICS)
def test_five_thousand_smes_give_the_regime_of_one_thousand(stats, statistic: str) -> None:
    """Same share exported, restricted mean TTFE and weeks waiting with 5,000 SMEs as with 1,000.

    Tolerance: 4 standard errors of the difference of the two means (20 replications of 1,000,
    4 of 5,000; each SE from the 1,000-SME spread, scaled by 1/sqrt(SMEs per run), since four
    replications estimate a spread poorly), plus 2% of the 1,000-SME mean for finite-size
    effects (a five times faster assessor with five times the applicants is not exactly the same
    queue: measured with seed 777, 60 and 12 replications, waits were 78.05 and 78.76 weeks,
    share exported 0.881 and 0.880). With absolute capacities and learning per programme the
    5,000-SME run left this band by far (share exported 0.88 -> 0.43, waits 78 -> 421 weeks).
    """
    small, large = stats[1000][statistic], stats[5000][statistic]
    sd_1000 = float(np.std(small, ddof=1))
    se = np.hypot(
        sd_1000 / np.sqrt(len(small)), _scaled_sd(small, 1000, 5000) / np.sqrt(len(large))
    )
    diff = float(large.mean() - small.mean())
    assert abs(diff) <= 4.0 * se + 0.02 * abs(small.mean()), (statistic, small.mean(), large.mean())


@pytest.mark.parametrize("statistic", STATISTICS)
def test_two_hundred_smes_keep_the_regime(stats, statistic: str) -> None:
    """200 SMEs (capacities a fifth, fractional: 0.2 applications a week for three agencies)
    stay in the regime of 1,000: the means differ by less than 4 standard errors of their
    difference (20 replications each, spreads measured) plus 2% of the 1,000-SME mean, as above.
    Measured: share exported 0.877 and 0.882, waits 78.5 and 78.0 weeks."""
    small, ref = stats[200][statistic], stats[1000][statistic]
    se = np.hypot(
        np.std(small, ddof=1) / np.sqrt(len(small)), np.std(ref, ddof=1) / np.sqrt(len(ref))
    )
    diff = float(small.mean() - ref.mean())
    assert abs(diff) <= 4.0 * se + 0.02 * abs(ref.mean()), (statistic, small.mean(), ref.mean())
