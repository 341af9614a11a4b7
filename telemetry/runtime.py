"""Everything telemetry runs in a process: ingest worker, notifier, proof records
and clearing cold boxes whose excursions resolved.

Built by ``rxdispatch ingest`` and by the API's lifespan (``serve``), which passes
its dispatch ``Database`` (holds, proofs) and websocket ``EventPublisher``.
"""

from __future__ import annotations

import logging
import threading

from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.dev_secrets import reveal
from dispatch.ports import Clock, EventPublisher
from dispatch.worker_health import WorkerHealth
from telemetry.dispatch_link import (
    DispatchHolds,
    attach_pending_temperature_records,
    release_recovered_boxes,
)
from telemetry.ingest import IngestParams
from telemetry.notify import ExcursionNotifier
from telemetry.seq_auditor import SeqAuditParams
from telemetry.service import IngestService
from telemetry.settings import TelemetrySettings
from telemetry.store import TelemetryStore
from telemetry.webhooks import WebhookSender

__all__ = ["PROOFS", "TelemetryRuntime"]

log = logging.getLogger(__name__)

PROOFS = "telemetry_proofs"
"""Worker name of the loop attaching temperature records and clearing boxes."""


class TelemetryRuntime:
    """Starts and stops the ingest worker and its companions together."""

    def __init__(
        self,
        settings: TelemetrySettings,
        *,
        database_url: str,
        mqtt_url: str,
        shared_subscriptions: bool = True,
        dispatch_db: Database | None = None,
        publisher: EventPublisher | None = None,
        proof_interval_s: float = 10.0,
        proofs: bool = True,
        clock: Clock | None = None,
        health: WorkerHealth | None = None,
    ) -> None:
        self.health = health or WorkerHealth()
        self._dispatch_db = dispatch_db
        self._run_proofs = proofs and dispatch_db is not None
        self._proof_interval_s = proof_interval_s
        self._store = TelemetryStore(database_url, clock=clock)
        webhooks = (
            WebhookSender(
                settings.webhook_urls,
                reveal(settings.webhook_secret, "TELEMETRY_WEBHOOK_SECRET").encode(),
            )
            if settings.webhook_urls
            else None
        )
        self.notifier = ExcursionNotifier(
            self._store,
            holds=DispatchHolds(dispatch_db) if dispatch_db is not None else None,
            publisher=publisher,
            webhooks=webhooks,
            health=self.health,
        )
        params = IngestParams(
            batch_max_messages=settings.batch_max_messages,
            batch_window_s=settings.batch_window_ms / 1000,
            silence_check_s=settings.silence_check_s,
            topic_prefix=settings.topic_prefix,
            seq_audit=SeqAuditParams(
                grace_s=settings.seq_grace_s,
                retry_s=settings.seq_resend_retry_s,
                max_requests=settings.seq_resend_max_requests,
                alert_after_s=settings.seq_gap_alert_after_s,
                check_s=settings.seq_check_s,
            ),
        )
        self.ingest = IngestService(
            database_url=database_url,
            mqtt_url=mqtt_url,
            client_id=settings.effective_client_id(),
            share_group=(settings.share_group or None)
            if shared_subscriptions
            else None,
            params=params,
            ca_file=settings.amqp_ca_file
            if settings.transport == "amqp"
            else settings.mqtt_ca_file,
            amqp_url=settings.amqp_url if settings.transport == "amqp" else None,
            amqp_prefetch=settings.amqp_prefetch,
            amqp_delivery_limit=settings.amqp_delivery_limit,
            on_excursions=self.notifier.submit,
            clock=self._store.clock,
            health=self.health,
        )
        self._stop = threading.Event()
        self._proofs: threading.Thread | None = None

    def start(self) -> TelemetryRuntime:
        if self._run_proofs:
            self.health.register(PROOFS)
        self.notifier.start()
        self.ingest.start()
        if self._run_proofs:
            self._proofs = threading.Thread(
                target=self._attach_proofs, name="telemetry-proofs", daemon=True
            )
            self._proofs.start()
        return self

    def _attach_proofs(self) -> None:
        assert self._dispatch_db is not None  # noqa: S101
        while not self._stop.wait(self._proof_interval_s):
            try:
                attach_pending_temperature_records(self._dispatch_db, self._store)
                release_recovered_boxes(self._dispatch_db, self._store)
            except Exception as exc:  # the next interval tries again
                self.health.failed(PROOFS, exc, stage="proofs")
            else:
                self.health.ok(PROOFS)

    def stop(self) -> None:
        """Stop every part; one failing to stop does not keep the others running."""
        self._stop.set()
        steps = [("ingest", self.ingest.stop), ("notifier", self.notifier.stop)]
        steps.append(("proofs", self._join_proofs))
        steps.append(("store", self._store.close))
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("stopping telemetry %s failed", name)

    def _join_proofs(self) -> None:
        if self._proofs is not None:
            self._proofs.join(timeout=30)
