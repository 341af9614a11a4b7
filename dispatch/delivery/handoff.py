"""Proof of delivery: issue the OTP, complete the hand-off, keep the proof record.

Only the keyed hash of an OTP is stored; the code itself reaches the patient through
``ctx.notifier`` (by default the encrypted outbox their tracking link reads). A
wrong code counts as an attempt even though the command raises (those errors are
``keeps_changes``); the 5th wrong code locks the OTP and tells the dispatcher
(:class:`~dispatch.events.OtpLockedOut`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres import proofs as pod_repo
from dispatch.adapters.postgres import stock
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.delivery.proof_rules import (
    IdCheck,
    OtpState,
    OtpVerdict,
    check_proof_inputs,
    generate_otp,
    hash_otp,
    verify_otp,
)
from dispatch.domain import GeoPoint
from dispatch.errors import (
    IllegalTransition,
    InvalidInput,
    OrderNotFound,
    OtpAlreadyUsed,
    OtpAttemptsExceeded,
    OtpMismatch,
    OtpNotIssued,
    OtpStillValid,
    ProofOutsideRadius,
)
from dispatch.events import OtpLockedOut, ProofFlagged
from dispatch.geo import haversine_m
from dispatch.orders.order import Order, OrderStatus, ProofLevel
from dispatch.orders.transitions import move
from dispatch.ports import PatientMessage

__all__ = [
    "attach_temperature_record",
    "complete_delivery",
    "get_proof",
    "issue_otp",
    "reissue_otp",
]


def reissue_otp(tx: Tx, order_id: str, *, actor: str) -> datetime:
    """Replace a locked or expired OTP of a picked-up order with a fresh one, sent
    to the patient's channel only (never returned); audited as ``otp.reissued``
    with why. Returns the new expiry. ``OtpNotIssued`` without an OTP,
    ``OtpAlreadyUsed`` once delivered, ``OtpStillValid`` while the patient's code
    still works (a re-issue would only help someone who does not have it)."""
    order = orders_repo.get_order(tx, order_id, for_update=True)
    if order.status is not OrderStatus.PICKED_UP:
        raise IllegalTransition(order.id, order.status, OrderStatus.DELIVERED)
    state = pod_repo.load_otp_for_update(tx, order.id)
    if state is None:
        raise OtpNotIssued(order.id)
    if state.used_at is not None:
        raise OtpAlreadyUsed(f"the code for order {order.id!r} was already used")
    if state.locked_at is not None:
        why = "locked"
    elif tx.now >= state.expires_at:
        why = "expired"
    else:
        raise OtpStillValid(
            f"the code for order {order.id!r} is neither locked nor expired"
        )
    expires_at = _new_otp(tx, order)
    tx.audit(
        actor=actor,
        action="otp.reissued",
        subject_type="order",
        subject_id=order.id,
        details={
            "reason": why,
            "attempts": state.attempts,
            "expires_at": expires_at.isoformat(),
        },
    )
    return expires_at


def issue_otp(tx: Tx, order_id: str, *, actor: str) -> None:
    """Create (or replace) the order's OTP and send it to the patient.

    The code is never returned or logged; it leaves only through the notifier.
    """
    order = orders_repo.get_order(tx, order_id, for_update=True)
    if not order.is_open:
        raise IllegalTransition(order.id, order.status, OrderStatus.DELIVERED)
    expires_at = _new_otp(tx, order)
    tx.audit(
        actor=actor,
        action="otp.issued",
        subject_type="order",
        subject_id=order.id,
        details={"expires_at": expires_at.isoformat()},
    )


def _new_otp(tx: Tx, order: Order) -> datetime:
    """Store a fresh OTP's hash (attempts reset) and send the code to the patient."""
    otp = generate_otp()
    expires_at = tx.now + timedelta(seconds=tx.ctx.otp_ttl_s)
    state = OtpState(
        code_hash=hash_otp(otp, order_id=order.id, pepper=tx.ctx.otp_pepper),
        issued_at=tx.now,
        expires_at=expires_at,
    )
    pod_repo.store_otp(tx, order.id, state)
    tx.ctx.notifier.send(
        tx,
        PatientMessage(
            order_id=order.id,
            kind="otp",
            body=f"Your delivery code is {otp}",
            expires_at=expires_at,
        ),
    )
    return expires_at


def _check_position(tx: Tx, order: Order, position: GeoPoint) -> tuple[float, bool]:
    distance_m = haversine_m(position, order.delivery_location)
    policy = tx.ctx.proof_policy
    if distance_m <= policy.radius_m:
        return distance_m, False
    if policy.outside_radius == "refuse":
        raise ProofOutsideRadius(distance_m, policy.radius_m)
    return distance_m, True


def complete_delivery(
    tx: Tx,
    order_id: str,
    *,
    otp: str,
    rider_id: str,
    position: GeoPoint,
    actor: str,
    id_check: IdCheck | None = None,
    signature: str | None = None,
) -> None:
    """Verify the hand-off and mark the order delivered, keeping its proof record.

    Checked in this order: the order is picked up by ``rider_id``; the proof level's
    ID check and signature are present; the rider is within the radius (refused,
    or accepted and flagged); then the OTP (expired, used, locked, wrong: typed
    errors; a wrong code counts an attempt).
    """
    order = orders_repo.get_order(tx, order_id, for_update=True)
    if order.status is not OrderStatus.PICKED_UP:
        raise IllegalTransition(order.id, order.status, OrderStatus.DELIVERED)
    if order.rider_id != rider_id:
        raise InvalidInput(f"order {order.id!r} is not carried by rider {rider_id!r}")
    check_proof_inputs(order.proof_level, id_check, signature)
    distance_m, flagged = _check_position(tx, order, position)
    state = pod_repo.load_otp_for_update(tx, order.id)
    if state is None:
        raise OtpNotIssued(order.id)
    new_state, verdict = verify_otp(
        state,
        otp,
        order_id=order.id,
        pepper=tx.ctx.otp_pepper,
        now=tx.now,
        max_attempts=tx.ctx.otp_max_attempts,
    )
    pod_repo.save_otp_attempt(tx, order.id, new_state)
    if verdict is not OtpVerdict.ACCEPTED:
        _refuse(tx, order, new_state, verdict, actor=actor, position=position)
    method = "otp" if order.proof_level is ProofLevel.OTP else "otp+id+signature"
    pod_repo.insert_proof(
        tx,
        order_id=order.id,
        method=method,
        rider_id=rider_id,
        position=position,
        distance_m=round(distance_m, 1),
        flagged=flagged,
        id_check=id_check,
        signature=signature,
    )
    stock.close_reservations(tx, order.id, "picked", "consumed")
    move(
        tx,
        order,
        OrderStatus.DELIVERED,
        actor=actor,
        position=position,
        reason="flagged: outside radius" if flagged else "",
    )
    if flagged:
        tx.emit(ProofFlagged(order.id, round(distance_m, 1)))


def otp_attempts_left(tx: Tx, order_ids: list[str]) -> dict[str, int]:
    """Order id -> how many codes the rider may still try, for the orders among
    ``order_ids`` with an issued, unused OTP (0 once locked)."""
    most = tx.ctx.otp_max_attempts
    return {
        order_id: 0 if locked else max(0, most - attempts)
        for order_id, (attempts, locked) in pod_repo.otp_attempts(tx, order_ids).items()
    }


def _refuse(
    tx: Tx,
    order: Order,
    state: OtpState,
    verdict: OtpVerdict,
    *,
    actor: str,
    position: GeoPoint,
) -> None:
    tx.audit(
        actor=actor,
        action="otp.failed_attempt",
        subject_type="order",
        subject_id=order.id,
        details={"attempts": state.attempts, "lat": position.lat, "lon": position.lon},
    )
    if verdict is OtpVerdict.LOCKED_NOW:
        tx.audit(
            actor="system",
            action="otp.locked",
            subject_type="order",
            subject_id=order.id,
            details={"attempts": state.attempts},
        )
        tx.emit(OtpLockedOut(order.id, order.rider_id, state.attempts))
        raise OtpAttemptsExceeded(
            f"too many wrong codes for order {order.id!r}; the dispatcher was told"
        )
    raise OtpMismatch(tx.ctx.otp_max_attempts - state.attempts)


def attach_temperature_record(
    tx: Tx, order_id: str, record: Mapping[str, Any], *, actor: str = "telemetry"
) -> None:
    """Attach the cold-chain temperature record to a delivered order's proof."""
    orders_repo.require_order_id(order_id)
    if not pod_repo.attach_temperature(tx, order_id, record):
        raise OrderNotFound(order_id)
    tx.audit(
        actor=actor,
        action="proof.temperature_attached",
        subject_type="order",
        subject_id=order_id,
        details={"keys": sorted(record)},
    )


def get_proof(tx: Tx, order_id: str) -> pod_repo.ProofRecord:
    """The proof record of a delivered order (``OrderNotFound`` if none)."""
    orders_repo.require_order_id(order_id)
    proof = pod_repo.get_proof(tx, order_id)
    if proof is None:
        raise OrderNotFound(order_id)
    return proof
