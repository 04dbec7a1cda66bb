"""What makes the kernel fast without changing a single draw, each with why it is exact.

The phases (:mod:`simsme.kernel.phases`) call the model's mechanisms (:mod:`simsme.mechanisms`)
exactly as the Mesa engine does; this module holds what lets them skip work whose outcome is
already known: cached probabilities and their validity stamps, upper bounds of probabilities,
and the compile options.

Stamps and epochs. A cached value of SME ``i`` (``State.sf[F_AWARE_P]``, ``F_ADOPT_PBAR`` with
``State.si[I_ADOPT_CLASS]``, ``F_EXPORT_PBAR``) is valid while its stamp (``I_*_STAMP``) equals
the phase's epoch counter in ``State.c``. A change that concerns every SME (the channels'
awareness hazards, the adoption push, the export demand) bumps the epoch; a change that
concerns one SME or its neighbours (news from a neighbour, a programme, a new channel) sets its
stamp to ``STALE``.

The kernel makes exactly the draws of the per-phase reference (the Mesa engine makes the same
draws, and the equivalence tests compare the two draw for draw); it only avoids work whose
outcome is already known, and does the rest with less overhead:

* Only SMEs that act are visited: ``s.active`` lists the founded non-exporters in index order
  (kept up to date by :func:`simsme.kernel.phases.observe`).
* Awareness (phase 2): an unaware SME's probability depends on the per-channel hazards, its
  channels and its aware neighbours. It is cached per SME and recomputed (by the same formula,
  so to the same bits) only when one of those changed.
* Adoption (phase 3): the uniform draw is compared with a cached upper bound of the step's
  adoption probability first; only when the draw falls below the bound is the probability
  computed exactly (as before) and the draw compared with it, so the outcome is the same. The
  bound holds until the SME's missing channels, its neighbours' channels, its technology (by a
  programme) or the event push change: between programmes technology drifts monotonically toward
  its fixed point (or oscillates with shrinking amplitude), so it stays in a window known in
  advance, and the hazard rises with technology. The same window tells whether the total hazard
  is surely positive (the reference then draws) or surely zero (it does not draw); an SME whose
  window straddles a channel's intention threshold is evaluated exactly every step.
* Export entry (phase 8): likewise, the draw is compared with a cached upper bound of the export
  probability, valid until the SME's listing channels, exporting neighbours, programme or the
  export demand change (a market-access programme's opportunity only ends, which lowers the rate).
* Seeking support (phase 4): an SME that is unaware or has an open application is skipped before
  its other attributes are read; :func:`simsme.mechanisms.support.wants_support` is false for it
  anyway (it requires both), and no draw depends on it.
* Capabilities (phase 7) are updated in contiguous loops the compiler vectorises (exporters'
  capabilities are updated too; nothing reads them again).
* Uniform draws are computed inline (:func:`simsme.mechanisms.draws.uniform`, the same numbers
  as ``rng.random()``), the mechanisms are inlined into the phases, and the phases are compiled
  without reference counting (:data:`KERNEL`).
"""

from __future__ import annotations

from numba import njit

from simsme import rules


def _nrt_option() -> bool:
    """Whether this numba takes the (private) ``_nrt`` compile option."""
    try:
        njit(_nrt=False)(lambda: 0).compile(())
    except Exception:  # pragma: no cover - depends on the numba version
        return False
    return True


# Compile options of every kernel function (phases and fast paths). The phases never allocate:
# without numba's reference counting (NRT) a call that passes the state and the parameters costs a few nanoseconds instead
# of a microsecond (an atomic increment and decrement of each of their ~25 arrays). Should a
# numba version not know the option, the kernel is only slower. Functions they call inherit the
# setting unless they set it (``WITH_NRT``).
_HAS_NRT_OPTION = _nrt_option()
KERNEL = {"cache": True, "_nrt": False} if _HAS_NRT_OPTION else {"cache": True}
WITH_NRT = {"cache": True, "_nrt": True} if _HAS_NRT_OPTION else {"cache": True}

# Adoption classes of an SME while its cached bound holds (State.si[I_ADOPT_CLASS]).
ADOPT_NONE = 0  # total hazard surely zero: the reference makes no draw
ADOPT_SOME = 1  # total hazard surely positive: the reference draws; F_ADOPT_PBAR bounds it
ADOPT_UNSURE = 2  # may cross zero: evaluate exactly every step

# Slack on cached bounds, far above rounding (an ulp of exp, a drift of 1e-16 per step) and far
# below anything that matters for speed.
PROBABILITY_SLACK = 1e-9
TECHNOLOGY_SLACK = 1e-9


@njit(**KERNEL, inline="always")
def probability_bound(rate, dt_years):
    """An upper bound, with slack for rounding, of ``step_probability(r)`` for every r <= rate."""
    return min(1.0, rules.step_probability(rate, dt_years) * (1.0 + PROBABILITY_SLACK) + 1e-300)


@njit(**KERNEL)
def technology_window(technology, endowment, growth, decay, dt_years):
    """Bounds of an SME's technology competence from now until its next programme.

    ``rules.resource_drift`` moves a resource r to r* + f (r - r*), with fixed point
    r* = (growth + decay x endowment) / (growth + decay) and f = 1 - dt (growth + decay): for
    0 <= f <= 1 it stays between r and r*; for -1 <= f < 0 it oscillates within r* +- |r - r*|.
    """
    rate = growth + decay
    if rate > 0.0:
        star = (growth + decay * endowment) / rate
        factor = 1.0 - dt_years * rate
        if factor >= 0.0:
            lo, hi = min(technology, star), max(technology, star)
        elif factor >= -1.0:
            deviation = abs(technology - star)
            lo, hi = star - deviation, star + deviation
        else:  # unreachable within the schema's bounds; no usable window
            lo, hi = -1e300, 1e300
    else:
        lo, hi = technology, technology
    return lo - TECHNOLOGY_SLACK, hi + TECHNOLOGY_SLACK


@njit(**KERNEL)
def classify_adoption(
    missing,
    technology,
    endowment,
    neighbour_counts,
    degree,
    usefulness,
    ease,
    push,
    w_useful,
    w_ease,
    w_social,
    threshold,
    rate,
    growth,
    decay,
    dt_years,
):
    """Adoption class of an SME and an upper bound of its adoption probability, valid until its
    missing channels, its neighbours' channels, its technology (a programme) or the push change.

    The hazard of each channel rises with technology, so the totals at the ends of the technology
    window bound the total (summed in the same order, :func:`adoption_hazards`) at every step
    until then.
    """
    lo, hi = technology_window(technology, endowment, growth, decay, dt_years)
    low = 0.0
    high = 0.0
    for c in range(usefulness.shape[0]):
        if (missing >> c) & 1:
            norm = neighbour_counts[c] / degree if degree > 0 else 0.0
            low += rules.adoption_hazard(
                usefulness[c], ease[c], lo, norm, push, w_useful, w_ease, w_social, threshold, rate
            )
            high += rules.adoption_hazard(
                usefulness[c], ease[c], hi, norm, push, w_useful, w_ease, w_social, threshold, rate
            )
    if high <= 0.0:
        return ADOPT_NONE, 0.0
    if low > 0.0:
        return ADOPT_SOME, probability_bound(high, dt_years)
    return ADOPT_UNSURE, probability_bound(high, dt_years)
