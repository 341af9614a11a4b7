"""The patient's own channel (SMS): where their tracking link, and so their
delivery code, goes. Never the order's creator.

Whoever creates an order gets a *status* link (progress, ETA, the approaching
rider). The patient's link, the only one that reads ``/track/{token}/messages``
(the OTP), is sent to the phone number in the order through a
:class:`PatientChannel`: in production an SMS gateway behind a signed webhook
(:class:`WebhookSmsGateway`); in dev and test a :class:`FakeSmsGateway` that keeps
what it "sent" in memory, where tests, the browser stack and the simulator (as
the patient, through the admin-only ``GET /dev/patient-sms/{order_id}``) read it.
Production refuses the fake gateway.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from telemetry.webhooks import WebhookSender

__all__ = [
    "FakeSmsGateway",
    "PatientChannel",
    "PatientSms",
    "WebhookSmsGateway",
    "link_message",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PatientSms:
    """A text to the patient of an order; never logged (phone and link)."""

    order_id: str
    to: str
    body: str
    sent_at: datetime

    def __repr__(self) -> str:
        return f"PatientSms(order_id={self.order_id!r})"


class PatientChannel(Protocol):
    """Delivers a text to a patient's phone (after the order committed)."""

    def send(self, sms: PatientSms) -> bool:
        """Hand ``sms`` to the channel; whether it was accepted."""


def link_message(base_url: str, token: str) -> str:
    """The text carrying a patient's tracking link (the tracking page)."""
    return (
        "Your medicine delivery is on its way. Follow it and find your delivery "
        f"code here: {base_url.rstrip('/')}/ui/track/#{token}"
    )


class FakeSmsGateway:
    """Keeps the last ``max_messages`` texts in memory instead of sending them
    (dev and test only)."""

    def __init__(self, max_messages: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._sent: deque[PatientSms] = deque(maxlen=max_messages)

    def send(self, sms: PatientSms) -> bool:
        """Record ``sms`` as sent."""
        with self._lock:
            self._sent.append(sms)
        return True

    def sent(self, order_id: str) -> list[PatientSms]:
        """The texts sent for ``order_id``, oldest first."""
        with self._lock:
            return [m for m in self._sent if m.order_id == order_id]


class WebhookSmsGateway:
    """POSTs ``{"order_id", "to", "body"}`` to an SMS gateway's webhook, signed
    like every outgoing webhook (``X-Rxdispatch-Signature``)."""

    def __init__(self, sender: WebhookSender) -> None:
        self._sender = sender

    def send(self, sms: PatientSms) -> bool:
        """Deliver to the gateway (retried); False if it did not accept."""
        accepted = (
            self._sender.send(
                {"order_id": sms.order_id, "to": sms.to, "body": sms.body}
            )
            > 0
        )
        if not accepted:
            log.warning(
                "patient channel did not accept the text of order %s", sms.order_id
            )
        return accepted

    def close(self) -> None:
        """Release the HTTP client."""
        self._sender.close()
