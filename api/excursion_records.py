"""Assemble excursion records from telemetry (the episode, its readings) and
dispatch (the hold placed for it), for the holds, boxes and excursions routes."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.schemas.cold_boxes import TemperatureBand
from api.schemas.excursions import (
    ExcursionRecord,
    ExcursionSummary,
    HeldOrders,
    MktWindow,
)
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.holds import queries as holds_queries
from dispatch.holds.queries import Hold
from telemetry import excursion_store
from telemetry import store as telemetry_store
from telemetry.excursion_store import ExcursionDetail
from telemetry.excursions import assess_excursion, mkt_window_s
from telemetry.notify import EXCURSION_REF_PREFIX

#: readings loaded for one record reach back at most this far before its end
#: (the longest MKT window, 30 days, plus the codec's 31 days of late readings)
MAX_LOOKBACK_S = 61 * 86_400.0


def excursion_ref(excursion_id: int) -> str:
    """The ``excursion_ref`` of holds and quarantines placed for an excursion."""
    return f"{EXCURSION_REF_PREFIX}{excursion_id}"


def excursion_id_of(ref: str | None) -> int | None:
    """The excursion id in a hold's ``excursion_ref``, or None."""
    if ref is None or not ref.startswith(EXCURSION_REF_PREFIX):
        return None
    tail = ref[len(EXCURSION_REF_PREFIX) :]
    return int(tail) if tail.isdigit() else None


def _held(hold: Hold | None) -> HeldOrders | None:
    if hold is None:
        return None
    return HeldOrders(
        hold_id=hold.id,
        href=f"/holds/{hold.id}",
        decision=hold.decision,
        order_ids=list(hold.order_ids),
    )


def _summary_fields(detail: ExcursionDetail, hold: Hold | None) -> dict[str, object]:
    ex = detail.excursion
    return {
        "id": ex.id,
        "ref": excursion_ref(ex.id),
        "href": f"/excursions/{ex.id}",
        "box_id": ex.box_id,
        "kind": ex.kind.value,
        "rule": ex.rule.value,
        "status": ex.status,
        "started_at": ex.started_at,
        "alarmed_at": ex.alarmed_at,
        "ended_at": ex.ended_at,
        "open": ex.ended_at is None,
        "peak_c": ex.peak_c,
        "retracted_at": detail.retracted_at,
        "hold_id": hold.id if hold else None,
    }


def box_excursions(
    tx: Tx, box_id: str, *, limit: int, include_retracted: bool = False
) -> list[ExcursionSummary]:
    """A box's excursions, newest first, each with the hold placed for it."""
    details = excursion_store.list_for_box(
        tx.conn, box_id, limit=limit, include_retracted=include_retracted
    )
    holds = holds_queries.holds_for_excursions(
        tx, [excursion_ref(d.excursion.id) for d in details]
    )
    return [
        ExcursionSummary.model_validate(
            _summary_fields(d, holds.get(excursion_ref(d.excursion.id)))
        )
        for d in details
    ]


def excursion_record(tx: Tx, excursion_id: int, *, now: datetime) -> ExcursionRecord:
    """The full record of one excursion (``ExcursionNotFound`` if unknown);
    an open one is measured up to ``now`` (business time)."""
    detail = excursion_store.get_detail(tx.conn, excursion_id)
    ex = detail.excursion
    ref = excursion_ref(ex.id)
    hold = holds_queries.holds_for_excursions(tx, [ref]).get(ref)
    until = ex.ended_at or max(now, ex.started_at)
    band = telemetry_store.box_band(tx.conn, ex.box_id, ex.profile_code)
    fields = _summary_fields(detail, hold) | {
        "range": None,
        "detected_at": ex.detected_at,
        "acknowledged_at": detail.acknowledged_at,
        "acknowledged_by": detail.acknowledged_by,
        "resolved_at": detail.resolved_at,
        "until": until,
        "duration_minutes": (until - ex.started_at).total_seconds() / 60.0,
        "readings": 0,
        "minutes_out_of_range": None,
        "min_c": None,
        "max_c": None,
        "mkt_c": None,
        "mkt_window": None,
        "hold": _held(hold),
        "order_ids": list(hold.order_ids) if hold else [],
    }
    if band is not None:
        window_s = mkt_window_s(band.high_c)
        lookback_s = min(
            max(window_s, (until - ex.started_at).total_seconds()), MAX_LOOKBACK_S
        )
        samples = telemetry_store.read_samples(
            tx.conn, ex.box_id, until - _seconds(lookback_s), until
        )
        assessed = assess_excursion(
            samples,
            low_c=band.low_c,
            high_c=band.high_c,
            profile_code=band.profile_code,
            started_at=ex.started_at,
            until=until,
        )
        span, window = assessed.span, assessed.window
        fields |= {
            "range": TemperatureBand(
                profile_code=band.profile_code, low_c=band.low_c, high_c=band.high_c
            ),
            "readings": span.readings,
            "minutes_out_of_range": span.minutes_out_of_range,
            "min_c": span.min_c,
            "max_c": span.max_c,
            "mkt_c": span.mkt_c,
            "mkt_window": MktWindow(
                from_=assessed.window_start,
                to=assessed.window_end,
                hours=window_s / 3600.0,
                readings=window.readings,
                mkt_c=window.mkt_c,
                minutes_out_of_range=window.minutes_out_of_range,
                min_c=window.min_c,
                max_c=window.max_c,
            ),
        }
    return ExcursionRecord.model_validate(fields)


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
