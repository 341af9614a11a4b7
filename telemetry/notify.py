"""Tell people about excursions, once per episode: hold the box's orders, publish
an event, POST a signed webhook.

New excursion rows have ``notified_at`` NULL (an outbox); :class:`ExcursionNotifier`
works them off on its own thread and stamps ``notified_at`` afterwards, so a crash
between detection and notification re-notifies at the next start instead of
never. Holds are idempotent per excursion (``excursion_ref``), so that retry
cannot double-hold. A notification that raises is reported to
:class:`~dispatch.worker_health.WorkerHealth` (worker ``notifier``) and retried
after ``retry_s``; the thread never dies of it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from psycopg.rows import dict_row

from dispatch.holds.reasons import HoldReason
from dispatch.ports import EventPublisher
from dispatch.worker_health import WorkerHealth
from telemetry import excursion_store
from telemetry.events import ExcursionOpened
from telemetry.excursion_store import StoredExcursion
from telemetry.excursions import ExcursionKind
from telemetry.store import TelemetryStore
from telemetry.webhooks import WebhookSender

__all__ = ["NOTIFIER", "ExcursionNotifier", "HoldPlacer", "PlacedHold"]

log = logging.getLogger(__name__)

NOTIFIER = "notifier"

#: ``excursion_ref`` of holds and box quarantines placed for an excursion
EXCURSION_REF_PREFIX = "telemetry.excursion:"

#: kinds that put goods in doubt; the others (battery, door, silence) only alert
HOLDING_KINDS = frozenset(
    {ExcursionKind.TEMPERATURE_HIGH, ExcursionKind.TEMPERATURE_LOW}
)


@dataclass(frozen=True, slots=True)
class PlacedHold:
    """What the dispatch side did."""

    hold_id: int
    order_ids: tuple[str, ...]


class HoldPlacer(Protocol):
    """Puts every order in a box on hold (``dispatch.holds.place_hold``)."""

    def hold_box(
        self, *, box_id: str, reason: str, excursion_ref: str
    ) -> PlacedHold | None:
        """Hold the box's orders; None when the box is unknown to dispatch."""

    def quarantine_box(self, *, box_id: str, reason: str, excursion_ref: str) -> bool:
        """Take the box out of cold service until the excursion resolves."""


class ExcursionNotifier:
    """Works off unnotified excursions on a background thread."""

    def __init__(
        self,
        store: TelemetryStore,
        *,
        holds: HoldPlacer | None = None,
        publisher: EventPublisher | None = None,
        webhooks: WebhookSender | None = None,
        health: WorkerHealth | None = None,
        retry_s: float = 30.0,
    ) -> None:
        self.health = health or WorkerHealth()
        self.retry_s = retry_s
        self._store = store
        self._holds = holds
        self._publisher = publisher
        self._webhooks = webhooks
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.notified = 0

    def submit(self, excursion_ids: list[int]) -> None:
        """Queue newly created excursions (the ingest worker's hook)."""
        for excursion_id in excursion_ids:
            self._queue.put(excursion_id)

    def start(self) -> ExcursionNotifier:
        """Start the thread and re-queue anything a previous run left unnotified."""
        with (
            self._store.transaction() as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            rows = cur.execute(
                "SELECT id FROM telemetry.excursion WHERE notified_at IS NULL"
                " AND retracted_at IS NULL ORDER BY id"
            ).fetchall()
        self.submit([int(r["id"]) for r in rows])
        self.health.register(NOTIFIER)
        self._thread = threading.Thread(
            target=self._run, name="telemetry-notify", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        retry: dict[int, float] = {}  # excursion id -> when to try it again
        while True:
            now = time.monotonic()
            for excursion_id in [i for i, at in retry.items() if at <= now]:
                del retry[excursion_id]
                self._attempt(excursion_id, retry)
            wait = max(0.0, min(retry.values()) - now) if retry else None
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                continue
            if item is None:
                return
            retry.pop(item, None)
            self._attempt(item, retry)

    def _attempt(self, excursion_id: int, retry: dict[int, float]) -> None:
        try:
            self.notify(excursion_id)
        except Exception as exc:  # retried later here, and at the next start
            self.health.failed(NOTIFIER, exc, stage="notify")
            retry[excursion_id] = time.monotonic() + self.retry_s
        else:
            if not retry:
                self.health.ok(NOTIFIER)

    def notify(self, excursion_id: int) -> bool:
        """Hold, publish, POST, then stamp ``notified_at``; False if already done."""
        with self._store.transaction() as conn:
            with conn.cursor(row_factory=dict_row) as cur:
                row = cur.execute(
                    "SELECT notified_at IS NOT NULL AS notified"
                    " FROM telemetry.excursion WHERE id = %s",
                    (excursion_id,),
                ).fetchone()
            excursion = excursion_store.get(conn, excursion_id)
        if row is None or row["notified"]:
            return False
        self._quarantine(excursion)
        hold = self._hold(excursion)
        event = ExcursionOpened(
            excursion.id,
            excursion.box_id,
            excursion.kind.value,
            excursion.rule.value,
            excursion.started_at,
            excursion.alarmed_at,
            excursion.peak_c,
            hold.hold_id if hold else None,
            hold.order_ids if hold else (),
        )
        if self._publisher is not None:
            self._publisher.publish(event)
        if self._webhooks is not None:
            self._webhooks.send(event.to_dict())
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE telemetry.excursion SET notified_at = %s WHERE id = %s",
                (self._store.clock.now(), excursion_id),
            )
        self.notified += 1
        log.info("excursion %d on box %s notified", excursion.id, excursion.box_id)
        return True

    def _quarantine(self, excursion: StoredExcursion) -> None:
        # first, so no cold order is loaded into the box between hold and quarantine
        if (
            self._holds is None
            or excursion.kind not in HOLDING_KINDS
            or excursion.status == "resolved"
        ):
            return
        self._holds.quarantine_box(
            box_id=excursion.box_id,
            reason=_reason(excursion),
            excursion_ref=_ref(excursion),
        )

    def _hold(self, excursion: StoredExcursion) -> PlacedHold | None:
        if self._holds is None or excursion.kind not in HOLDING_KINDS:
            return None
        return self._holds.hold_box(
            box_id=excursion.box_id,
            reason=HoldReason.TEMPERATURE_EXCURSION,
            excursion_ref=_ref(excursion),
        )


def _reason(excursion: StoredExcursion) -> str:
    return f"cold-chain excursion: {excursion.kind.value} ({excursion.rule.value})"


def _ref(excursion: StoredExcursion) -> str:
    return f"{EXCURSION_REF_PREFIX}{excursion.id}"
