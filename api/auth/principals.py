"""Who is calling: roles, principals, and the credential formats."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Every audience of the API."""

    admin = "admin"
    dispatcher = "dispatcher"
    pharmacist = "pharmacist"
    rider = "rider"
    patient = "patient"


#: Roles held by people who log in with a password.
USER_ROLES = frozenset({Role.admin, Role.dispatcher, Role.pharmacist})
#: Roles that may act on behalf of the operation (see everything operational).
STAFF = (Role.admin, Role.dispatcher)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``subject_id`` is the user id, the rider id, or the tracking link id;
    ``order_id`` is set only for a patient (the one order their link covers), and
    ``reads_messages`` only for a patient's own link (not the creator's status
    link): the delivery code is in the messages.
    """

    role: Role
    subject_id: str
    display_name: str = ""
    order_id: str | None = None
    reads_messages: bool = False

    @property
    def rider_id(self) -> str | None:
        """The rider id when the caller is a rider."""
        return self.subject_id if self.role is Role.rider else None
