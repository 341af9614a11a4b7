"""Hold repository: holds placed on orders and the pharmacist's decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import dict_row, kwargs_row

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.errors import HoldNotFound
from dispatch.holds.reasons import HoldReason

INSERT_HOLD = """
INSERT INTO dispatch.hold (reason, reason_note, box_id, excursion_ref, placed_by,
    placed_at)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (excursion_ref) WHERE excursion_ref IS NOT NULL DO NOTHING
RETURNING id
"""
SELECT_HOLD = """
SELECT h.id, h.reason, h.box_id, h.excursion_ref, h.placed_by, h.placed_at, h.decision,
    h.decided_by, h.decided_at, h.reason_note,
    coalesce(array_agg(ho.order_id::text ORDER BY ho.order_id)
             FILTER (WHERE ho.order_id IS NOT NULL), ARRAY[]::text[]) AS order_ids
FROM dispatch.hold h LEFT JOIN dispatch.hold_order ho ON ho.hold_id = h.id
WHERE {where}
GROUP BY h.id
"""


@dataclass(frozen=True, slots=True)
class Hold:
    """Orders held pending a pharmacist's decision."""

    id: int
    reason: HoldReason
    box_id: str | None
    excursion_ref: str | None
    placed_by: str
    placed_at: datetime
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    order_ids: tuple[str, ...]
    reason_note: str = ""


def insert_hold(
    tx: Tx,
    *,
    reason: HoldReason,
    note: str,
    box_id: str | None,
    excursion_ref: str | None,
    actor: str,
) -> int | None:
    """A new hold's id, or None if ``excursion_ref`` already has one."""
    row = tx.fetch_one(
        dict_row,
        INSERT_HOLD,
        (reason.value, note, box_id, excursion_ref, actor, tx.now),
    )
    return int(row["id"]) if row else None


def add_orders(tx: Tx, hold_id: int, order_ids: list[str]) -> None:
    """Attach orders to a hold."""
    with tx.conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO dispatch.hold_order (hold_id, order_id) VALUES (%s, %s)",
            [(hold_id, oid) for oid in order_ids],
        )


def _hold(
    *,
    id: int,
    reason: str,
    box_id: str | None,
    excursion_ref: str | None,
    placed_by: str,
    placed_at: datetime,
    decision: str | None,
    decided_by: str | None,
    decided_at: datetime | None,
    reason_note: str,
    order_ids: list[str],
) -> Hold:
    """A :class:`Hold` from a row of ``SELECT_HOLD`` (``kwargs_row``)."""
    return Hold(
        id=id,
        reason=HoldReason(reason),
        box_id=box_id,
        excursion_ref=excursion_ref,
        placed_by=placed_by,
        placed_at=placed_at,
        decision=decision,
        decided_by=decided_by,
        decided_at=decided_at,
        reason_note=reason_note,
        order_ids=tuple(order_ids),
    )


def get_hold(tx: Tx, hold_id: int, *, for_update: bool = False) -> Hold:
    """One hold or :class:`HoldNotFound`."""
    if for_update:
        tx.conn.execute(
            "SELECT 1 FROM dispatch.hold WHERE id = %s FOR UPDATE", (hold_id,)
        )
    hold = tx.fetch_one(
        kwargs_row(_hold), SELECT_HOLD.format(where="h.id = %s"), (hold_id,)
    )
    if hold is None:
        raise HoldNotFound(str(hold_id))
    return hold


def find_by_excursion(tx: Tx, excursion_ref: str) -> Hold | None:
    """The hold placed for an excursion, if any."""
    return tx.fetch_one(
        kwargs_row(_hold),
        SELECT_HOLD.format(where="h.excursion_ref = %s"),
        (excursion_ref,),
    )


def list_open_holds(tx: Tx) -> list[Hold]:
    """Holds still waiting for a decision, oldest first."""
    return tx.fetch_all(
        kwargs_row(_hold),
        SELECT_HOLD.format(where="h.decision IS NULL") + " ORDER BY h.id",
    )


def decide(tx: Tx, hold_id: int, decision: str, actor: str, note: str) -> None:
    """Record the pharmacist's decision."""
    tx.conn.execute(
        "UPDATE dispatch.hold SET decision = %s, decided_by = %s, decided_at = %s,"
        " note = %s WHERE id = %s",
        (decision, actor, tx.now, note, hold_id),
    )


def link_replacement(tx: Tx, hold_id: int, order_id: str, replacement_id: str) -> None:
    """Remember which order replaced a rejected one."""
    tx.conn.execute(
        "UPDATE dispatch.hold_order SET replacement_order_id = %s"
        " WHERE hold_id = %s AND order_id = %s",
        (replacement_id, hold_id, order_id),
    )


def orders_carried_by(tx: Tx, rider_id: str) -> list[str]:
    """Ids of picked-up orders a rider is carrying."""
    rows = tx.fetch_all(
        dict_row,
        "SELECT id::text AS id FROM dispatch.customer_order"
        " WHERE rider_id = %s AND status = 'picked_up' ORDER BY id",
        (rider_id,),
    )
    return [r["id"] for r in rows]
