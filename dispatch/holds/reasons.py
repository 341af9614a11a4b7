"""Why goods are held: a fixed list of codes, plus an optional short note.

The code is what is stored, audited and sent to dispatchers in ``hold.placed``;
the note adds context for the pharmacist (a box or sensor detail) and must never
carry patient data: it is not sent in events.
"""

from __future__ import annotations

from enum import StrEnum

from dispatch.errors import InvalidInput

__all__ = ["NOTE_MAX_LENGTH", "HoldReason", "hold_note", "hold_reason"]

NOTE_MAX_LENGTH = 200


class HoldReason(StrEnum):
    """Reason codes of a hold (the ``dispatch.hold.reason`` check lists them)."""

    TEMPERATURE_EXCURSION = "temperature_excursion"
    """A cold box left its temperature range (telemetry)."""
    BOX_QUARANTINED = "box_quarantined"
    """Cold goods were loaded into a box already in quarantine."""
    BOX_OFFLINE = "box_offline"
    """The box's sensor went silent: its temperature is unknown."""
    DAMAGED = "damaged"
    """Packaging or goods found damaged."""
    PHARMACIST_REQUEST = "pharmacist_request"
    """A pharmacist wants to look at the goods before they go on."""


def hold_reason(value: str) -> HoldReason:
    """The code ``value`` names, or :class:`InvalidInput` listing the codes."""
    try:
        return HoldReason(value)
    except ValueError:
        codes = ", ".join(r.value for r in HoldReason)
        raise InvalidInput(f"unknown hold reason; use one of: {codes}") from None


def hold_note(value: str) -> str:
    """A stripped note of at most :data:`NOTE_MAX_LENGTH` characters."""
    note = value.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidInput(f"a hold note has at most {NOTE_MAX_LENGTH} characters")
    return note
