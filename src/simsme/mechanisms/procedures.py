"""Procedures on the path to a first export: licences, certificates and permits.

A first export needs what its product and market require: a business licence, halal
certification (JAKIM; both case firms held it before exporting, 003_9e0cb3511f01b6dc.txt
section 4.1), food-safety and product certificates (MeSTI, SIRIM), and export documents and
permits. Each is an application to an agency (a regulator) that moves over channels with latency
and bureaucracy, like a support programme's (003 Table 4 and section 4.2): a submission, document
rounds while something is missing, the regulator's assessment (its own working time, shorter
when it works on a digital platform), an audit or inspection on site for some, and the issue of
the certificate. Every exchange is :func:`simsme.mechanisms.exchange.exchange`, so a
movement-control order blocks paper and site visits and slows what it slows, and remote
processing allows video audits for procedures handled digitally.

An SME that has committed to exporting (:mod:`simsme.mechanisms.entry`) obtains the procedures it
still lacks one after another (a licence before the certificates that need it, and export
documents last: docs/evidence.md section 1, MeSTI prerequisites); its first export is the day the
last is issued. Durations and their sources are in the scenario's ``procedures`` section
(docs/evidence.md section 1).
"""

from __future__ import annotations

from numba import njit

from simsme.mechanisms import records
from simsme.mechanisms.draws import occurs
from simsme.mechanisms.exchange import INF, SITE_VISIT, exchange
from simsme.scenario.lowering import (
    P_APPLICATION,
    P_DOCUMENTS,
    P_NOTIFICATION,
    STAGE_ASSESSMENT,
    STAGE_DOCUMENTS,
    STAGE_NOTIFICATION,
    STAGE_SITE_VISIT,
    STAGE_SUBMISSION,
)

MAX_DOCUMENT_ROUNDS = 20
"""A procedure gives up asking for missing documents after this many rounds (a safeguard: with
the scenario's probabilities below 1 the chance of reaching it is negligible)."""


@njit(inline="always")
def procedure_days(
    rng,
    k,
    day,
    experienced,
    physical,
    accept,
    level,
    missing,
    desk_days_digital,
    desk_days_conventional,
    site_visit,
    digital_mask,
    ctx,
    rf,
    ri,
):
    """Days from ``day`` until procedure ``k`` is issued, whether it went over the regulator's
    digital platform, and the channels its exchanges used (a bit mask); its record
    (:mod:`simsme.mechanisms.records`, for ``applications.parquet``) is written into the rows
    ``rf`` and ``ri``. ``ctx``: the SME's channels and location and the channels' tables, as
    :func:`obtain_procedures` packs them for :func:`_exchange`.

    The regulator handles it digitally with probability ``level[step, k]`` (its digitalisation
    timeline; one draw). Exchanges: the submission, a document round repeated while something
    is missing (probability ``missing[k]``, halved for a founder with international
    experience, who knows the requirements: docs/evidence.md section 5 item 7), the desk
    assessment (its days from the regulator's charter, digital or conventional), a site audit
    if ``site_visit[k]`` (face to face; by video only under remote processing and on the digital
    platform, 003 section 4.2), and the issue. An audit finds a non-conformity in the premises
    or equipment with probability ``missing[k]`` x (1 - ``physical``), the SME's physical
    resources (002_6798e086be6a8ea8.txt Table 4); the SME answers it with one document exchange
    (JAKIM asks for an answer within 5 working days, docs/evidence.md s1.3; longer corrective
    work, such as MeSTI's up to 3 months, is not modelled) and the audit is repeated. Returns
    ``(inf, ...)`` if a channel never works before the horizon (the record then charges its
    stage the days to the horizon).
    """
    tl_blocked, step_days = ctx[8], ctx[13]
    horizon = len(tl_blocked) * step_days
    step = min(int(day // step_days), len(level) - 1)
    offer_digital = occurs(rng, level[step, k])
    records.open_procedure_record(rf, ri, k, offer_digital, day)
    mask = accept[k]
    start = day
    days, c = _exchange(rng, P_APPLICATION, STAGE_SUBMISSION, day, mask, offer_digital, ctx, rf, ri)
    day += days
    used = 0 if c < 0 else 1 << c
    if c >= 0:
        records.note_submitted_digitally(ri, (digital_mask >> c) & 1)
    p_missing = missing[k] * (0.5 if experienced else 1.0)
    for _ in range(MAX_DOCUMENT_ROUNDS if c >= 0 else 0):
        days, c = _exchange(
            rng, P_DOCUMENTS, STAGE_DOCUMENTS, day, mask, offer_digital, ctx, rf, ri
        )
        day += days
        if c < 0 or not occurs(rng, p_missing):
            break
        used |= 1 << c
    if c < 0:
        records.close_procedure(rf, ri, day, False)
        return day - start, offer_digital, used
    used |= 1 << c
    desk = desk_days_digital[k] if offer_digital else desk_days_conventional[k]
    records.procedure_stage(rf, ri, STAGE_ASSESSMENT, min(desk, max(horizon - day, 0.0)), -1)
    day += desk
    p_nonconformity = missing[k] * (1.0 - physical)
    audit_mask = mask & digital_mask  # a video audit goes over the digital channels it accepts
    for _ in range(MAX_DOCUMENT_ROUNDS if site_visit[k] else 0):
        days, c = _exchange(
            rng, SITE_VISIT, STAGE_SITE_VISIT, day, audit_mask, offer_digital, ctx, rf, ri
        )
        day += days
        if c < 0:
            records.close_procedure(rf, ri, day, False)
            return day - start, offer_digital, used
        used |= 1 << c
        if not occurs(rng, p_nonconformity):
            break
        # the non-conformity answered: a document round (the record counts it with them)
        days, c = _exchange(
            rng, P_DOCUMENTS, STAGE_DOCUMENTS, day, mask, offer_digital, ctx, rf, ri
        )
        day += days
        if c < 0:
            records.close_procedure(rf, ri, day, False)
            return day - start, offer_digital, used
        used |= 1 << c
    days, c = _exchange(
        rng, P_NOTIFICATION, STAGE_NOTIFICATION, day, mask, offer_digital, ctx, rf, ri
    )
    day += days
    if c >= 0:
        used |= 1 << c
    records.close_procedure(rf, ri, day, c >= 0 and day <= horizon)
    return day - start, offer_digital, used


@njit(inline="always")
def _exchange(rng, purpose, stage, day, mask, offer_digital, ctx, rf, ri):
    """One exchange of a procedure with its regulator (:func:`simsme.mechanisms.exchange.
    exchange` over the channels ``mask`` both sides share), charged to ``stage`` of its record
    up to the horizon; ``ctx``: the SME's channels and location and the channels' tables.
    Returns ``(days, channel)``."""
    (
        sme_channels, downtime, face_to_face, order, needs_connectivity, log_median, sigma,
        bureaucracy, tl_blocked, tl_slow, tl_remote, conventional_mask, documents_mask, step_days,
    ) = ctx  # fmt: skip
    days, c = exchange(
        rng, purpose, day, sme_channels, mask, False, offer_digital, downtime, 1.0,
        face_to_face, order, needs_connectivity, log_median, sigma, bureaucracy, tl_blocked,
        tl_slow, tl_remote, conventional_mask, documents_mask, step_days,
    )  # fmt: skip
    horizon = len(tl_blocked) * step_days
    records.procedure_stage(rf, ri, stage, min(days, max(horizon - day, 0.0)), c)
    return days, c


@njit(inline="always")
def obtain_procedures(
    rng,
    outstanding,
    day,
    sme_channels,
    downtime,
    experienced,
    physical,
    accept,
    level,
    missing,
    desk_days_digital,
    desk_days_conventional,
    site_visit,
    face_to_face,
    order,
    needs_connectivity,
    log_median,
    sigma,
    bureaucracy,
    tl_blocked,
    tl_slow,
    tl_remote,
    conventional_mask,
    documents_mask,
    digital_mask,
    step_days,
    rec_f,
    rec_i,
):
    """Days from ``day`` until every procedure in ``outstanding`` (bit ``k`` = procedure ``k``)
    is issued, one after another in the scenario's order (:func:`procedure_days`); the number
    handled over a digital platform; the channels used; and the procedures applied for (a mask:
    after one that never ends, the rest are not). ``inf`` days if one never ends. Row ``k`` of
    ``rec_f`` / ``rec_i`` receives procedure ``k``'s record, for every procedure applied for (the
    engines keep them with the applications' records)."""
    # the order _exchange unpacks (procedure_days reads items 8 and 13)
    ctx = (
        sme_channels,
        downtime,
        face_to_face,
        order,
        needs_connectivity,
        log_median,
        sigma,
        bureaucracy,
        tl_blocked,
        tl_slow,
        tl_remote,
        conventional_mask,
        documents_mask,
        step_days,
    )
    total = 0.0
    n_digital = 0
    used = 0
    applied = 0
    for k in range(len(missing)):
        if not (outstanding >> k) & 1:
            continue
        days, digital, channels = procedure_days(
            rng, k, day + total, experienced, physical, accept, level, missing,
            desk_days_digital, desk_days_conventional, site_visit, digital_mask, ctx,
            rec_f[k], rec_i[k],
        )  # fmt: skip
        total += days
        used |= channels
        applied |= 1 << k
        if digital:
            n_digital += 1
        if total == INF:
            break
    return total, n_digital, used, applied


@njit(inline="always")
def count_procedures(outstanding):
    """Number of procedures in a mask of outstanding ones."""
    n = 0
    while outstanding:
        n += outstanding & 1
        outstanding >>= 1
    return n
