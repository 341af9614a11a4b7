"""Reading patient data: always explicit, always audited.

Patient name, phone and address are stored encrypted; this module is the only way
to read them back, and every read leaves an audit entry naming who read what and
why. The caller (the API) decides which roles may call it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from dispatch.adapters.outbox import read_messages
from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres import patients as patients_repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.errors import InvalidInput
from dispatch.orders.order import OrderStatus, PatientContact
from dispatch.ports import PatientMessage

__all__ = [
    "PatientData",
    "RiderDisclosure",
    "copy_patient_data",
    "disclose_to_rider",
    "read_access_notes",
    "read_patient_messages",
    "reveal_contact",
]

#: an order's patient data reaches its rider only while the rider has the order
RIDER_VISIBLE = (OrderStatus.ASSIGNED, OrderStatus.PICKED_UP)


@dataclass(frozen=True, slots=True)
class PatientData:
    """Everything an order holds about its patient, to carry into another order."""

    contact: PatientContact
    access_notes: str
    """"" when the order has none."""

    def __repr__(self) -> str:  # patient data never reaches logs
        return "PatientData(...)"


@dataclass(frozen=True, slots=True)
class RiderDisclosure:
    """The minimum a rider's route shows of a patient (never the bag's contents)."""

    first_name: str
    access_notes: str
    """"" when the order has none."""

    def __repr__(self) -> str:  # patient data never reaches logs
        return "RiderDisclosure(...)"


def reveal_contact(
    tx: Tx, order_id: str, *, actor: str, purpose: str
) -> PatientContact:
    """Decrypt an order's patient contact, recording the read in the audit trail."""
    if not purpose.strip():
        raise InvalidInput("reading patient data needs a purpose")
    blob = orders_repo.get_contact_enc(tx, order_id)
    contact = tx.ctx.cipher.decrypt_contact(blob, owner=order_id)
    tx.audit(
        actor=actor,
        action="patient.contact_read",
        subject_type="order",
        subject_id=order_id,
        details={"purpose": purpose, "fields": ["name", "phone", "address"]},
    )
    return contact


def copy_patient_data(tx: Tx, order_id: str, *, actor: str, reason: str) -> PatientData:
    """Decrypt an order's contact and access notes to carry into another order
    (e.g. a replacement), with one ``patient.data_copied`` audit entry naming the
    actor, the reason and the fields copied. ``reason`` must not hold patient data.
    """
    if not reason.strip():
        raise InvalidInput("copying patient data needs a reason")
    contact = tx.ctx.cipher.decrypt_contact(
        orders_repo.get_contact_enc(tx, order_id), owner=order_id
    )
    notes = _notes(tx, order_id, orders_repo.get_access_notes_enc(tx, order_id))
    fields = ["name", "phone", "address"] + (["access_notes"] if notes else [])
    tx.audit(
        actor=actor,
        action="patient.data_copied",
        subject_type="order",
        subject_id=order_id,
        details={"reason": reason, "fields": fields},
    )
    return PatientData(contact, notes)


def _notes(tx: Tx, order_id: str, blob: bytes | None) -> str:
    """Decrypted access notes ("" when the order has none); not audited."""
    return "" if blob is None else tx.ctx.cipher.decrypt(blob, owner=order_id).decode()


def read_access_notes(tx: Tx, order_id: str, *, actor: str) -> str:
    """The order's access notes (gate code, floor; "" if none); reads are audited."""
    blob = orders_repo.get_access_notes_enc(tx, order_id)
    if blob is None:
        return ""
    notes = tx.ctx.cipher.decrypt(blob, owner=order_id).decode()
    tx.audit(
        actor=actor,
        action="patient.access_notes_read",
        subject_type="order",
        subject_id=order_id,
        details={},
    )
    return notes


def disclose_to_rider(
    tx: Tx, rider_id: str, order_ids: Collection[str]
) -> dict[str, RiderDisclosure]:
    """First name and access notes of those ``order_ids`` the rider holds
    (assigned or picked up); other ids are left out.

    Audited once per (rider, order): the first disclosure writes one
    ``patient.rider_disclosure`` entry naming the fields shown; later calls (a
    rebuilt route, another process, a restart) find it in the disclosure ledger
    and add none.
    """
    statuses = [s.value for s in RIDER_VISIBLE]
    blobs = patients_repo.rider_order_blobs(tx, rider_id, order_ids, statuses)
    shown: dict[str, RiderDisclosure] = {}
    for order_id, (contact_enc, notes_enc) in blobs.items():
        name = tx.ctx.cipher.decrypt_contact(contact_enc, owner=order_id).name
        first = name.split()
        shown[order_id] = RiderDisclosure(
            first[0] if first else "", _notes(tx, order_id, notes_enc)
        )
    first_time = (
        patients_repo.record_disclosures(tx, rider_id, shown) if shown else set()
    )
    for order_id in sorted(first_time):
        fields = ["first_name"] + (
            ["access_notes"] if shown[order_id].access_notes else []
        )
        tx.audit(
            actor=f"rider:{rider_id}",
            action="patient.rider_disclosure",
            subject_type="order",
            subject_id=order_id,
            details={"purpose": "rider_route", "fields": fields},
        )
    return shown


def read_patient_messages(tx: Tx, order_id: str, *, actor: str) -> list[PatientMessage]:
    """The patient's messages (e.g. their OTP) for the tracking link; audited."""
    orders_repo.get_order(tx, order_id)
    messages = read_messages(tx, order_id)
    tx.audit(
        actor=actor,
        action="patient.messages_read",
        subject_type="order",
        subject_id=order_id,
        details={"count": len(messages)},
    )
    return messages
