"""What a :class:`~simsme.model.SimsmeModel` records each step: its ``mesa.DataCollector``.

One pass over the SMEs after each step (and once at construction, for the initial state) counts:

- SMEs by stage (MODEL.md section 2: domestic -> aware -> ready -> exporter): ``Unaware``,
  ``Aware`` (aware, not committed), ``Ready`` (committed to exporting after an order covered the
  sunk cost, obtaining its procedures: licences, certificates, permits),
  ``Exporting`` (first export made); ``Not founded`` counts entrants that do not exist yet, so the
  four stages add up to the SMEs founded so far. ``New exporters``: first exports in the step.
- open applications by stage of the agency process (003 section 4.1; MODEL.md section 3,
  phase 5): ``Open: submission`` ... ``Open: delivery`` (programmes being delivered);
- per agency, ``Open at <agency>`` (applications submitted and not yet notified: the agency's
  caseload) and ``Queue at <agency>`` (documents complete, waiting for the agency's capacity to
  start the assessment);
- applications submitted in the step by channel, ``Applications via <channel>`` (the channels
  recorded in the raw outputs, ``year_channel_applications``, MODEL.md section 6); all
  ``Exchanges`` with agencies in the step (submissions, document rounds, site visits,
  notifications: 003 Table 4) and the ``Digital share`` of them (NaN in a step without any).

The numba kernel computes the same row from its state (:func:`simsme.kernel.census.census_row`),
which ``simsme run --series`` writes as ``series.parquet`` for either engine.

Every series is a model reporter, so ``model.datacollector.get_model_vars_dataframe()`` has one
row per step (row 0: the initial state).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from simsme.outputs import OPEN_STAGES, STAGES, series_names
from simsme.scenario.lowering import STAGE_ASSESSMENT, STAGE_NAMES, STAGE_NONE

if TYPE_CHECKING:  # pragma: no cover
    from simsme.model.model import SimsmeModel

__all__ = ["OPEN_STAGES", "STAGES", "make_datacollector", "stage_of", "take_census"]


def stage_of(sme: Any, day: float) -> str:
    """The SME's stage on ``day``: 'Not founded', or one of :data:`STAGES`."""
    if sme.exported:
        return "Exporting"
    if sme.founded_day > day:
        return "Not founded"
    if sme.is_ready():
        return "Ready"
    return "Aware" if sme.aware else "Unaware"


def take_census(model: SimsmeModel) -> dict[str, float]:
    """Every series of the data collector, for the state after the current step."""
    p = model.p
    day = model.today()
    end = day + p.step_days if model.steps else 0.0
    counts = dict.fromkeys(("Not founded", *STAGES), 0)
    new_exporters = 0
    open_by_stage = [0] * len(STAGE_NAMES)
    open_at = [0] * p.n_agencies
    queue_at = [0] * p.n_agencies
    for sme in model.smes:
        counts[stage_of(sme, day)] += 1
        if sme.exported:
            if model.steps and sme.export_step == model.t:
                new_exporters += 1
            continue
        application = sme.application
        if application is None or application.stage == STAGE_NONE:
            continue
        open_by_stage[application.stage] += 1
        agency = application.agency
        if application.in_process:
            open_at[agency.index] += 1
        if application.stage == STAGE_ASSESSMENT:
            start = application.due_day - agency.desk_review_days * agency.stage_factor
            queue_at[agency.index] += start > end
    out: dict[str, float] = {**counts, "New exporters": new_exporters}
    for s in range(STAGE_NONE + 1, len(STAGE_NAMES)):
        out[f"Open: {STAGE_NAMES[s]}"] = open_by_stage[s]
    for a, name in enumerate(model.agency_names):
        out[f"Open at {name}"] = open_at[a]
        out[f"Queue at {name}"] = queue_at[a]
    new = model.year_channel_applications.sum(axis=0) - model.applications_before_step
    for c, name in enumerate(model.channel_names):
        out[f"Applications via {name}"] = int(new[c])
    exchanges = model.exchanges if model.steps else [0] * p.n_channels
    total = sum(exchanges)
    digital = sum(n for n, d in zip(exchanges, p.ch_digital, strict=True) if d)
    out["Exchanges"] = total
    out["Digital share"] = digital / total if total else math.nan
    return out


def make_datacollector(model: SimsmeModel) -> mesa.DataCollector:
    """A data collector with one model reporter per series of :func:`take_census`."""
    names = list(_series_names(model))

    def reporter(name: str) -> Any:
        return lambda m: m.census()[name]

    return mesa.DataCollector(model_reporters={name: reporter(name) for name in names})


def _series_names(model: SimsmeModel) -> list[str]:
    return series_names(model.agency_names, model.channel_names)


def ttfe_so_far(model: SimsmeModel) -> tuple[np.ndarray, np.ndarray]:
    """Time to first export (weeks) of the SMEs founded so far, and whether they exported.

    Exporters: from the start of the run (or founding) to the end of the step of their first
    export; the others are censored at the end of the current step (:mod:`simsme.outputs`
    defines TTFE the same way for finished runs).
    """
    p = model.p
    now = (model.t + 1) * p.step_days if model.steps else 0.0
    day = model.today()
    founded = [s for s in model.smes if s.founded_day <= day]
    exported = np.array([s.exported for s in founded], dtype=bool)
    end = np.array(
        [(s.export_step + 1) * p.step_days if s.exported else now for s in founded], dtype=float
    )
    start = np.array([max(s.founded_day, 0.0) for s in founded], dtype=float)
    return np.maximum(end - start, 0.0) / 7.0, exported
