"""The closed loop with dispatch: holds and box quarantines on excursions,
temperature records on proofs.

Implements :class:`telemetry.notify.HoldPlacer` with ``dispatch.holds.place_hold``
(which holds every order the box's rider carries and emits ``HoldPlaced`` through
the dispatch ``Database``'s event publisher) and ``dispatch.fleet.
quarantine_cold_box`` (the box's rider gets no cold orders while the temperature
excursion is open; :func:`release_recovered_boxes` clears it once no temperature
excursion of the box is unresolved any more), and attaches a delivery's
temperature record (min, max, MKT, minutes out of range, span) to the proof of
delivery of every delivered cold-chain order.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from psycopg.rows import class_row, dict_row

from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.delivery.handoff import attach_temperature_record
from dispatch.errors import ColdBoxNotFound
from dispatch.fleet import clear_cold_box, list_quarantined_boxes, quarantine_cold_box
from dispatch.holds.commands import place_hold
from telemetry.excursions import (
    TemperatureProfile,
    TemperatureRecord,
    temperature_record,
)
from telemetry.notify import EXCURSION_REF_PREFIX, HOLDING_KINDS, PlacedHold
from telemetry.store import TelemetryStore

__all__ = [
    "DispatchHolds",
    "attach_pending_temperature_records",
    "release_recovered_boxes",
]

ACTOR = "telemetry"

log = logging.getLogger(__name__)

# Delivered orders with a cold product and no record yet; the box is the one
# assigned to the delivering rider (dispatch keeps no box-assignment history).
# read with class_row(_PendingProof)
_PENDING_PROOFS = """
SELECT p.order_id::text AS order_id, o.picked_up_at, p.delivered_at, cb.id AS box_id,
       tp.code, tp.min_c, tp.max_c
FROM dispatch.proof_of_delivery p
JOIN dispatch.customer_order o ON o.id = p.order_id
JOIN dispatch.cold_box cb ON cb.rider_id = p.rider_id
JOIN dispatch.temperature_profile tp ON tp.code = cb.profile_code
WHERE p.temperature_record IS NULL AND o.picked_up_at IS NOT NULL
  AND EXISTS (
      SELECT 1 FROM dispatch.order_line l JOIN dispatch.product pr ON pr.sku = l.sku
      WHERE l.order_id = o.id AND pr.storage_class <> 'ambient')
ORDER BY p.delivered_at
LIMIT %s
"""


@dataclass(frozen=True, slots=True)
class _PendingProof:
    """A delivered cold-chain order lacking its temperature record, and its box."""

    order_id: str
    picked_up_at: datetime
    delivered_at: datetime
    box_id: str
    code: str
    min_c: float
    max_c: float


class DispatchHolds:
    """Places dispatch holds for telemetry excursions."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def hold_box(
        self, *, box_id: str, reason: str, excursion_ref: str
    ) -> PlacedHold | None:
        """Hold every order in ``box_id``; None if dispatch does not know the box."""
        try:
            with self._db.transaction() as tx:
                hold = place_hold(
                    tx, reason=reason, actor="telemetry", box_id=box_id,
                    excursion_ref=excursion_ref,
                )  # fmt: skip
        except ColdBoxNotFound:
            return None
        return PlacedHold(hold.id, hold.order_ids)

    def quarantine_box(self, *, box_id: str, reason: str, excursion_ref: str) -> bool:
        """Take ``box_id`` out of cold service; False if unknown or already out."""
        try:
            with self._db.transaction() as tx:
                return quarantine_cold_box(
                    tx, box_id, reason=reason, ref=excursion_ref, actor=ACTOR
                )
        except ColdBoxNotFound:
            return False


def release_recovered_boxes(database: Database, store: TelemetryStore) -> int:
    """Clear telemetry's quarantines of boxes with no unresolved temperature
    excursion left (quarantines set by people are theirs to clear); how many."""
    with database.transaction() as tx:
        boxes = [
            b.id
            for b in list_quarantined_boxes(tx)
            if (b.quarantine_ref or "").startswith(EXCURSION_REF_PREFIX)
        ]
    if not boxes:
        return 0
    with store.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT DISTINCT box_id FROM telemetry.excursion WHERE box_id = ANY(%s)"
            " AND kind = ANY(%s) AND status <> 'resolved' AND retracted_at IS NULL",
            (boxes, [k.value for k in HOLDING_KINDS]),
        ).fetchall()
    in_doubt = {str(r["box_id"]) for r in rows}
    cleared = 0
    for box_id in boxes:
        if box_id in in_doubt:
            continue
        with database.transaction() as tx:
            cleared += clear_cold_box(
                tx, box_id, actor=ACTOR, note="temperature excursion resolved"
            )
    if cleared:
        log.info("cleared %d cold boxes after their excursions resolved", cleared)
    return cleared


def record_as_json(record: TemperatureRecord) -> dict[str, object]:
    """The proof-of-delivery shape of a temperature record (RFC 3339 times)."""
    data = asdict(record)
    for key in ("first_at", "last_at"):
        data[key] = data[key].isoformat() if data[key] else None
    data["mkt_delta_h_kj_per_mol"] = 83.144
    return data


def attach_pending_temperature_records(
    database: Database, store: TelemetryStore, *, limit: int = 100
) -> int:
    """Attach records to delivered cold-chain orders lacking one; how many."""
    with database.transaction() as tx:
        pending = tx.fetch_all(class_row(_PendingProof), _PENDING_PROOFS, (limit,))
    attached = 0
    for p in pending:
        profile = TemperatureProfile(p.code, p.min_c, p.max_c, hysteresis_c=0.0)
        record = temperature_record(
            store.samples(p.box_id, p.picked_up_at, p.delivered_at), profile
        )
        payload = record_as_json(record) | {"box_id": p.box_id}
        with database.transaction() as tx:
            attach_temperature_record(tx, p.order_id, payload)
        attached += 1
    if attached:
        log.info("attached %d temperature records", attached)
    return attached
