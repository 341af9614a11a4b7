"""Ports of the dispatch core: what it needs from the outside, as Protocols.

The API implements :class:`EventPublisher` with its websocket broadcaster; an SMS
gateway would implement :class:`Notifier`. Built-in adapters live in
:mod:`dispatch.adapters` (outbox notifier, recording publisher); clocks in
:mod:`dispatch.clock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from dispatch.clock import SystemClock

if TYPE_CHECKING:
    from dispatch.adapters.postgres.unit_of_work import Tx
    from dispatch.events import DispatchEvent

__all__ = ["Clock", "EventPublisher", "Notifier", "PatientMessage", "SystemClock"]


class EventPublisher(Protocol):
    """Receives committed domain events; must not block (queue and return)."""

    def publish(self, event: DispatchEvent) -> None:
        """Deliver ``event`` to subscribers."""


@dataclass(frozen=True, slots=True)
class PatientMessage:
    """A message for a patient (e.g. their OTP); never logged."""

    order_id: str
    kind: str
    body: str
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        return f"PatientMessage(order_id={self.order_id!r}, kind={self.kind!r})"


class Notifier(Protocol):
    """Sends a message to the patient of an order, inside the command's transaction.

    The built-in :class:`dispatch.adapters.outbox.OutboxNotifier` writes it
    (encrypted) to an outbox the patient's tracking link reads; an SMS gateway
    would record its own delivery in ``tx`` and send after commit.
    """

    def send(self, tx: Tx, message: PatientMessage) -> None:
        """Queue ``message`` for delivery."""


class Clock(Protocol):
    """Source of "now" (tz-aware UTC), injectable for tests."""

    def now(self) -> datetime:
        """The current time."""
