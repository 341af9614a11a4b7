"""OTP proof of delivery against PostgreSQL: hash only, expiry, single use, lockout,
radius, controlled-substance ID check and signature, temperature record."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.delivery.handoff import (
    attach_temperature_record,
    complete_delivery,
    get_proof,
)
from dispatch.delivery.proof_rules import IdCheck, ProofPolicy
from dispatch.domain import GeoPoint
from dispatch.errors import (
    OtpAlreadyUsed,
    OtpAttemptsExceeded,
    OtpExpired,
    OtpLocked,
    OtpMismatch,
    ProofIncomplete,
    ProofOutsideRadius,
)
from dispatch.events import OtpLockedOut, ProofFlagged
from dispatch.orders.fulfilment import assign_order, mark_picked_up
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from dispatch.orders.patient_data import read_patient_messages
from tests.integration.dispatch.conftest import (
    AMOX,
    MORPHINE,
    NEAR_VALLETTA,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_ctx,
    make_request,
    seed_catalogue,
)

AT_DOOR = GeoPoint(NEAR_VALLETTA.lat + 0.0003, NEAR_VALLETTA.lon)  # ~33 m away
FAR_AWAY = GeoPoint(35.9122, 14.5042)  # Sliema, ~2 km


def _carried(db: Database, product=AMOX) -> tuple[str, str, str]:
    """(order id, rider id, OTP the patient received) for a picked-up order."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, product, 10, TODAY + timedelta(days=365))
    rider = add_rider(db)
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(product, 1)]), actor="api")
        assign_order(tx, order.id, rider, actor="d")
        mark_picked_up(tx, order.id, rider_id=rider, position=None, actor="r")
    with db.transaction() as tx:
        body = read_patient_messages(tx, order.id, actor="patient")[-1].body
    return order.id, rider, body.rsplit(" ", 1)[1]


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_correct_otp_delivers_and_keeps_a_proof_record(db, clock):
    """The right code at the door delivers; proof has method, time, position, rider."""
    order_id, rider, otp = _carried(db)
    with db.transaction() as tx:
        complete_delivery(
            tx,
            order_id,
            otp=otp,
            rider_id=rider,
            position=AT_DOOR,
            actor=f"rider:{rider}",
        )
    with db.transaction() as tx:
        proof = get_proof(tx, order_id)
        status = orders_repo.get_order(tx, order_id).status
    assert status is OrderStatus.DELIVERED
    assert proof.method == "otp"
    assert proof.rider_id == rider
    assert proof.position == AT_DOOR
    assert proof.delivered_at == clock.now()
    assert proof.distance_m is not None
    assert 20 < proof.distance_m < 50
    assert not proof.flagged


def test_otp_replay_is_refused(db):
    """A used code cannot deliver twice."""
    order_id, rider, otp = _carried(db)
    with db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )
    with db.transaction() as tx:
        tx.conn.execute(
            "UPDATE dispatch.customer_order SET status = 'picked_up' WHERE id = %s",
            (order_id,),
        )
    with pytest.raises(OtpAlreadyUsed), db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )


def test_expired_otp_is_refused(db, clock):
    """Past its lifetime the code no longer works."""
    order_id, rider, otp = _carried(db)
    clock.advance(db.ctx.otp_ttl_s + 1)
    with pytest.raises(OtpExpired), db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )


def test_five_wrong_codes_lock_the_otp_and_tell_the_dispatcher(db, publisher):
    """Wrong codes are counted across commands; the 5th locks and emits an event."""
    order_id, rider, otp = _carried(db)
    for attempt in range(1, 5):
        with pytest.raises(OtpMismatch) as info, db.transaction() as tx:
            complete_delivery(
                tx,
                order_id,
                otp=_wrong(otp),
                rider_id=rider,
                position=AT_DOOR,
                actor="r",
            )
        assert info.value.attempts_left == 5 - attempt
    with pytest.raises(OtpAttemptsExceeded), db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=_wrong(otp), rider_id=rider, position=AT_DOOR, actor="r"
        )
    assert [e.order_id for e in publisher.of_type(OtpLockedOut)] == [order_id]
    with pytest.raises(OtpLocked), db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )
    with db.transaction() as tx:
        assert orders_repo.get_order(tx, order_id).status is OrderStatus.PICKED_UP


def test_hand_off_far_from_the_door_is_refused_without_using_an_attempt(db):
    """Beyond the radius the hand-off is refused and the code stays usable."""
    order_id, rider, otp = _carried(db)
    with pytest.raises(ProofOutsideRadius), db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=FAR_AWAY, actor="r"
        )
    with db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )


def test_flag_mode_accepts_far_hand_off_but_flags_it(fresh_db, clock, publisher):
    """With outside_radius='flag' the delivery completes, flagged, with its distance."""
    from dispatch.adapters.postgres.database import open_pool

    pool = open_pool(fresh_db, max_size=4)
    try:
        ctx = make_ctx(proof_policy=ProofPolicy("default", outside_radius="flag"))
        db = Database(pool, ctx, publisher=publisher, clock=clock)
        order_id, rider, otp = _carried(db)
        with db.transaction() as tx:
            complete_delivery(
                tx, order_id, otp=otp, rider_id=rider, position=FAR_AWAY, actor="r"
            )
            proof = get_proof(tx, order_id)
    finally:
        pool.close()
    assert proof.flagged
    assert proof.distance_m is not None
    assert proof.distance_m > 1000
    assert publisher.of_type(ProofFlagged)


def test_controlled_substance_needs_id_check_and_signature(db):
    """A CII order is refused without the ID attestation and signature."""
    order_id, rider, otp = _carried(db, MORPHINE)
    with pytest.raises(ProofIncomplete), db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )
    with pytest.raises(ProofIncomplete), db.transaction() as tx:
        complete_delivery(
            tx,
            order_id,
            otp=otp,
            rider_id=rider,
            position=AT_DOOR,
            actor="r",
            id_check=IdCheck("national_id", "123"),
        )
    with db.transaction() as tx:
        complete_delivery(
            tx,
            order_id,
            otp=otp,
            rider_id=rider,
            position=AT_DOOR,
            actor="r",
            id_check=IdCheck("national_id", "123"),
            signature="M 10 10 L 20 20",
        )
        proof = get_proof(tx, order_id)
    assert proof.method == "otp+id+signature"
    assert (proof.id_document_type, proof.id_last_digits, proof.signed) == (
        "national_id",
        "123",
        True,
    )


def test_temperature_record_is_attached_to_the_proof(db):
    """Telemetry attaches the cold-chain record to the delivered order's proof."""
    order_id, rider, otp = _carried(db)
    with db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )
        attach_temperature_record(
            tx, order_id, {"min_c": 3.1, "max_c": 6.8, "excursions": 0}
        )
        proof = get_proof(tx, order_id)
    assert proof.temperature_record == {"min_c": 3.1, "max_c": 6.8, "excursions": 0}


def test_otp_and_patient_name_never_reach_the_logs(db, caplog):
    """Issuing and verifying an OTP logs neither the code nor the patient's name."""
    caplog.set_level(logging.DEBUG)
    order_id, rider, otp = _carried(db)
    with pytest.raises(OtpMismatch), db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=_wrong(otp), rider_id=rider, position=AT_DOOR, actor="r"
        )
    with db.transaction() as tx:
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=AT_DOOR, actor="r"
        )
    assert otp not in caplog.text
    assert "Maria Borg" not in caplog.text
