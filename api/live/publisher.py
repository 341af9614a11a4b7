"""The hub as dispatch's :class:`~dispatch.ports.EventPublisher`.

Dispatch events (ids and codes only) go to the dispatch feed; alerts (holds,
OTP lock-outs, flagged proofs, unassignable orders, riders' dropped next stops,
write-offs, background workers failing and recovering) are wrapped as ``alert``
with a stable ``alert_id`` (the id ``GET /dashboard/snapshot`` lists open alerts
under); order status changes also reach that order's patient feed, mapped to the
patient's vocabulary. Side effects that touch the database (closing tracking links,
refreshing routes) run on a worker thread: ``publish`` never blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from api.live.hub import DISPATCH_TOPIC, Hub, order_topic
from api.schemas.orders import PATIENT_STATUS
from dispatch.events import (
    DispatchEvent,
    HoldPlaced,
    HoldRejected,
    OrderStatusChanged,
    OrderUnassignable,
    OtpLockedOut,
    ProofFlagged,
    RiderChanged,
    RiderStopReleased,
    StockWrittenOff,
    WorkerFailed,
    WorkerRecovered,
)
from dispatch.orders.order import OrderStatus
from telemetry.events import ExcursionOpened

log = logging.getLogger(__name__)

ALERT_EVENTS = (
    ExcursionOpened,
    HoldPlaced,
    OtpLockedOut,
    ProofFlagged,
    RiderChanged,
    RiderStopReleased,
    OrderUnassignable,
    StockWrittenOff,
    WorkerFailed,
    WorkerRecovered,
)


def alert_id(event: DispatchEvent) -> str:
    """The stable id of the alert ``event`` raises: ``<type>:<subject>``."""
    subject: object
    match event:
        case HoldPlaced():
            subject = event.hold_id
        case ExcursionOpened():
            subject = event.excursion_id
        case RiderChanged():
            subject = f"{event.rider_id}:{event.what}"
        case RiderStopReleased():
            subject = f"{event.rider_id}:{event.order_id}"
        case StockWrittenOff():
            subject = f"{event.order_id}:{event.lot_id}"
        case OtpLockedOut() | ProofFlagged() | OrderUnassignable():
            subject = event.order_id
        case _:
            subject = ""
    return f"{event.type}:{subject}"


def feed_frame(event: DispatchEvent) -> tuple[str, dict[str, object]] | None:
    """The dispatch-feed frame of ``event`` as (type, data); None for a rider's
    position (the live ``positions`` frame carries it)."""
    if isinstance(event, RiderChanged) and event.what == "position":
        return None
    data = event.to_dict()
    if isinstance(event, ALERT_EVENTS):
        return "alert", {"kind": event.type, **data, "alert_id": alert_id(event)}
    return event.type, data


TERMINAL = frozenset({OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.CANCELLED})


class HubEventPublisher:
    """Implements ``EventPublisher`` on top of :class:`~api.live.hub.Hub`."""

    def __init__(
        self,
        hub: Hub,
        *,
        on_terminal: Callable[[str, datetime], None] | None = None,
        on_change: Callable[[DispatchEvent], None] | None = None,
    ) -> None:
        self._hub = hub
        self._on_terminal = on_terminal
        self.on_change = on_change
        self.journaled: Callable[[DispatchEvent], bool] | None = None
        """Whether the event's feed frame was already written with its
        transaction (several instances); then only its other effects remain."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-pub")

    def publish(self, event: DispatchEvent) -> None:
        """Fan ``event`` out to the live feeds (thread-safe, non-blocking)."""
        if self.on_change is not None:
            self._submit(self.on_change, event)
        frame = feed_frame(event)
        if frame is None:
            return  # the live positions frame already carries it
        if self.journaled is None or not self.journaled(event):
            self._hub.publish(DISPATCH_TOPIC, *frame)
        if isinstance(event, HoldRejected):
            # the patient's link now opens the replacement: tell open feeds
            for original, _ in event.replacements:
                self._hub.publish(
                    order_topic(original), "tracking.updated", {"status": "replaced"}
                )
        if isinstance(event, OrderStatusChanged):
            status = PATIENT_STATUS.get(OrderStatus(event.to_status))
            self._hub.publish(
                order_topic(event.order_id), "tracking.updated", {"status": status}
            )
            if OrderStatus(event.to_status) in TERMINAL and self._on_terminal:
                self._submit(self._on_terminal, event.order_id, event.at)

    def _submit(self, fn: Callable[..., None], *args: object) -> None:
        try:
            future = self._worker.submit(fn, *args)
        except RuntimeError:  # shut down: the app is stopping
            return
        future.add_done_callback(_log_failure)

    def close(self) -> None:
        """Finish queued side effects and stop the worker."""
        self._worker.shutdown(wait=True)


def _log_failure(future: Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("event side effect failed", exc_info=exc)
