"""The kernel's per-step series: the counts the Mesa model's DataCollector records.

:func:`census_row` makes, from the kernel's state after a step (or the initial state), the row
that :func:`simsme.model.census.take_census` makes from the agents; the columns are
:func:`simsme.outputs.series_names`, in that order, and a test checks both engines give equal
series on the same seed. SMEs by stage (MODEL.md section 2), new exporters, open applications by
stage of the agency process and per agency (003 section 4.1), the agencies' capacity queues,
applications by channel and the digital share of all exchanges with agencies in the step (003
Table 4, section 4.2).
"""

from __future__ import annotations

import math

from numba import njit

from simsme.kernel.fastpath import KERNEL
from simsme.kernel.params import AG_DESK_DAYS, AG_STAGE_FACTOR, CH_DIGITAL
from simsme.kernel.state import (
    F_APP_DUE,
    F_FOUNDED_DAY,
    G_EXCHANGES,
    G_STEP_APPLICATIONS,
    I_APP_AGENCY,
    I_APP_STAGE,
    I_AWARE,
    I_COMMITTED_STEP,
    I_EXPORT_STEP,
    I_EXPORTED,
)
from simsme.mechanisms import process
from simsme.scenario.lowering import STAGE_ASSESSMENT, STAGE_DELIVERY, STAGE_NONE

N_STAGE_COLUMNS = 6  # Not founded, Unaware, Aware, Ready, Exporting, New exporters
N_OPEN_STAGES = STAGE_DELIVERY - STAGE_NONE  # submission ... delivery


@njit(**KERNEL)
def census_row(p, s, t, initial, out):
    """Write into ``out`` the series after step ``t`` (the initial state if ``initial``)."""
    for k in range(len(out)):
        out[k] = 0.0
    day = t * p.step_days
    end = 0.0 if initial else day + p.step_days
    sf, si = s.sf, s.si
    founded_day, due, committed = sf[F_FOUNDED_DAY], sf[F_APP_DUE], si[I_COMMITTED_STEP]
    aware, exported, export_step, stage, agency = (
        si[I_AWARE],
        si[I_EXPORTED],
        si[I_EXPORT_STEP],
        si[I_APP_STAGE],
        si[I_APP_AGENCY],
    )
    desk, factor = p.ag[AG_DESK_DAYS], p.ag[AG_STAGE_FACTOR]
    n_agencies = p.n_agencies
    open_at = N_STAGE_COLUMNS + N_OPEN_STAGES
    for i in range(p.n_total):
        if exported[i]:
            out[4] += 1.0
            if not initial and export_step[i] == t:
                out[5] += 1.0
            continue
        if founded_day[i] > day:
            out[0] += 1.0
        elif committed[i] >= 0:  # committed to exporting, obtaining its procedures
            out[3] += 1.0
        elif aware[i]:
            out[2] += 1.0
        else:
            out[1] += 1.0
        g = stage[i]
        if g == STAGE_NONE:
            continue
        out[N_STAGE_COLUMNS + g - 1] += 1.0
        a = agency[i]
        if process.in_process(g):
            out[open_at + 2 * a] += 1.0
        if g == STAGE_ASSESSMENT and due[i] - desk[a] * factor[a] > end:
            out[open_at + 2 * a + 1] += 1.0
    k = open_at + 2 * n_agencies
    applications, exchanges, digital = s.g[G_STEP_APPLICATIONS], s.g[G_EXCHANGES], p.ch[CH_DIGITAL]
    total = 0.0
    on_digital = 0.0
    for c in range(p.n_channels):
        out[k + c] = 0.0 if initial else applications[c]
        if not initial:
            total += exchanges[c]
            if digital[c] != 0.0:
                on_digital += exchanges[c]
    out[k + p.n_channels] = total
    out[k + p.n_channels + 1] = on_digital / total if total > 0.0 else math.nan
