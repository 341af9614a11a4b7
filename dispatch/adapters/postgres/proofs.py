"""Proof-of-delivery persistence: OTP state and proof records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row, dict_row, kwargs_row
from psycopg.types.json import Jsonb

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.delivery.proof_rules import IdCheck, OtpState
from dispatch.domain import GeoPoint

UPSERT_OTP = """
INSERT INTO dispatch.otp (order_id, code_hash, issued_at, expires_at)
VALUES (%s, %s, %s, %s)
ON CONFLICT (order_id) DO UPDATE SET code_hash = EXCLUDED.code_hash,
    issued_at = EXCLUDED.issued_at, expires_at = EXCLUDED.expires_at,
    attempts = 0, used_at = NULL, locked_at = NULL
"""
# the fields of OtpState: read with class_row(OtpState)
SELECT_OTP = """
SELECT code_hash, issued_at, expires_at, attempts, used_at, locked_at
FROM dispatch.otp WHERE order_id = %s FOR UPDATE
"""
UPDATE_OTP = """
UPDATE dispatch.otp SET attempts = %s, used_at = %s, locked_at = %s WHERE order_id = %s
"""
SELECT_OTP_ATTEMPTS = """
SELECT order_id::text AS order_id, attempts, locked_at IS NOT NULL AS locked
FROM dispatch.otp WHERE order_id = ANY(%s::uuid[]) AND used_at IS NULL
"""
INSERT_PROOF = """
INSERT INTO dispatch.proof_of_delivery (order_id, method, delivered_at, rider_id,
    lat, lon, distance_m, flagged, id_document_type, id_last_digits, signature)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
ATTACH_TEMPERATURE = """
UPDATE dispatch.proof_of_delivery
SET temperature_record = %s, temperature_attached_at = %s WHERE order_id = %s
"""
SELECT_PROOF = """
SELECT order_id::text AS order_id, method, delivered_at, rider_id, lat, lon,
    distance_m, flagged, id_document_type, id_last_digits,
    signature IS NOT NULL AS signed, temperature_record, temperature_attached_at
FROM dispatch.proof_of_delivery WHERE order_id = %s
"""


@dataclass(frozen=True, slots=True)
class ProofRecord:
    """What was proven at hand-off (the signature itself is not echoed back)."""

    order_id: str
    method: str
    delivered_at: datetime
    rider_id: str | None
    position: GeoPoint | None
    distance_m: float | None
    flagged: bool
    id_document_type: str | None
    id_last_digits: str | None
    signed: bool
    temperature_record: Mapping[str, Any] | None
    temperature_attached_at: datetime | None


def store_otp(tx: Tx, order_id: str, state: OtpState) -> None:
    """Create or replace the OTP of an order (resets attempts)."""
    tx.conn.execute(
        UPSERT_OTP, (order_id, state.code_hash, state.issued_at, state.expires_at)
    )


def load_otp_for_update(tx: Tx, order_id: str) -> OtpState | None:
    """The OTP state of an order, row-locked, or None."""
    return tx.fetch_one(class_row(OtpState), SELECT_OTP, (order_id,))


def otp_attempts(tx: Tx, order_ids: list[str]) -> dict[str, tuple[int, bool]]:
    """Order id -> (wrong attempts so far, locked) of the unused OTPs of
    ``order_ids``."""
    if not order_ids:
        return {}
    rows = tx.fetch_all(dict_row, SELECT_OTP_ATTEMPTS, (order_ids,))
    return {
        str(row["order_id"]): (int(row["attempts"]), bool(row["locked"]))
        for row in rows
    }


def save_otp_attempt(tx: Tx, order_id: str, state: OtpState) -> None:
    """Persist attempts, use and lock of an OTP."""
    tx.conn.execute(
        UPDATE_OTP, (state.attempts, state.used_at, state.locked_at, order_id)
    )


def insert_proof(
    tx: Tx,
    *,
    order_id: str,
    method: str,
    rider_id: str | None,
    position: GeoPoint | None,
    distance_m: float | None,
    flagged: bool,
    id_check: IdCheck | None,
    signature: str | None,
) -> None:
    """Store the proof record of a delivered order."""
    tx.conn.execute(
        INSERT_PROOF,
        (
            order_id,
            method,
            tx.now,
            rider_id,
            position.lat if position else None,
            position.lon if position else None,
            distance_m,
            flagged,
            id_check.document_type if id_check else None,
            id_check.last_digits if id_check else None,
            signature,
        ),
    )


def attach_temperature(tx: Tx, order_id: str, record: Mapping[str, Any]) -> bool:
    """Attach the cold-chain record; False if the order has no proof record."""
    cur = tx.conn.execute(ATTACH_TEMPERATURE, (Jsonb(dict(record)), tx.now, order_id))
    return cur.rowcount == 1


def get_proof(tx: Tx, order_id: str) -> ProofRecord | None:
    """The proof record of an order, if delivered."""
    return tx.fetch_one(kwargs_row(_proof), SELECT_PROOF, (order_id,))


def _proof(
    *,
    order_id: str,
    method: str,
    delivered_at: datetime,
    rider_id: str | None,
    lat: float | None,
    lon: float | None,
    distance_m: float | None,
    flagged: bool,
    id_document_type: str | None,
    id_last_digits: str | None,
    signed: bool,
    temperature_record: Mapping[str, Any] | None,
    temperature_attached_at: datetime | None,
) -> ProofRecord:
    """A :class:`ProofRecord` from a row of ``SELECT_PROOF`` (``kwargs_row``)."""
    return ProofRecord(
        order_id=order_id,
        method=method,
        delivered_at=delivered_at,
        rider_id=rider_id,
        position=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        distance_m=distance_m,
        flagged=flagged,
        id_document_type=id_document_type,
        id_last_digits=id_last_digits,
        signed=signed,
        temperature_record=temperature_record,
        temperature_attached_at=temperature_attached_at,
    )
