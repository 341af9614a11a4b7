"""Patient-data repository: encrypted blobs of a rider's orders and the ledger of
what each rider's route has disclosed."""

from __future__ import annotations

from collections.abc import Collection

from psycopg.rows import dict_row

from dispatch.adapters.postgres.unit_of_work import Tx

SELECT_RIDER_BLOBS = """
SELECT id::text AS id, contact_enc, access_notes_enc FROM dispatch.customer_order
WHERE id = ANY(%s::uuid[]) AND rider_id = %s AND status = ANY(%s::text[])
"""
RECORD_DISCLOSURES = """
INSERT INTO dispatch.rider_disclosure (rider_id, order_id, disclosed_at)
SELECT %s, unnest(%s::uuid[]), %s
ON CONFLICT (rider_id, order_id) DO NOTHING
RETURNING order_id::text AS order_id
"""


def rider_order_blobs(
    tx: Tx, rider_id: str, order_ids: Collection[str], statuses: Collection[str]
) -> dict[str, tuple[bytes, bytes | None]]:
    """Order id -> (encrypted contact, encrypted notes or None), for those of
    ``order_ids`` that ``rider_id`` holds in one of ``statuses``."""
    rows = tx.fetch_all(
        dict_row, SELECT_RIDER_BLOBS, (list(order_ids), rider_id, list(statuses))
    )
    return {
        str(r["id"]): (
            bytes(r["contact_enc"]),
            bytes(r["access_notes_enc"]) if r["access_notes_enc"] is not None else None,
        )
        for r in rows
    }


def record_disclosures(tx: Tx, rider_id: str, order_ids: Collection[str]) -> set[str]:
    """Record that ``rider_id`` was shown these orders' patient data; returns the
    ids recorded now (not before). A concurrent recorder of the same pair waits
    for this transaction, then finds it recorded."""
    rows = tx.fetch_all(
        dict_row, RECORD_DISCLOSURES, (rider_id, sorted(order_ids), tx.now)
    )
    return {str(r["order_id"]) for r in rows}
