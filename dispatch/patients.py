"""Reading patient data: always explicit, always audited.

Patient name, phone and address are stored encrypted; this module is the only way
to read them back, and every read leaves an audit entry naming who read what and
why. The caller (the API) decides which roles may call it.
"""

from __future__ import annotations

from dispatch.adapters import postgres_orders as orders_repo
from dispatch.adapters.outbox import read_messages
from dispatch.adapters.postgres import Tx
from dispatch.errors import InvalidInput
from dispatch.orders import PatientContact
from dispatch.ports import PatientMessage

__all__ = ["read_access_notes", "read_patient_messages", "reveal_contact"]


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
