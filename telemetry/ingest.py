"""The ingest worker: inbox -> decode -> batch -> store + detect -> ack -> notify.

Three threads, none waiting on another's I/O: paho's network thread only turns
packets into inbox entries (``telemetry.mqtt``); a decode thread collects a batch
(``batch_max_messages``, or ``batch_window_s`` after its first message) and
decodes it while the commit thread writes the previous one. A batch is
acknowledged only after its readings and dead letters are committed; while
PostgreSQL is unreachable the worker keeps the batch and retries with backoff,
acknowledging nothing, so a restart or crash loses nothing (the broker redelivers
on the persistent session and the insert ignores duplicates). Excursion
detection runs for the batch's boxes inside its transaction (a savepoint: alerts
commit with their readings; a detector failure is logged and recomputed from
history on the box's next batch, never blocking readings); new excursions go to
the notifier right after the commit.

No exception ends the worker: a failed stage is reported to
:class:`~dispatch.worker_health.WorkerHealth` (``ingest``: collect, decode, store,
commit; ``excursion_monitor``: detection; ``silence_monitor``: the silence check)
and retried, and :meth:`IngestWorker.run_supervised` restarts the loop itself
should it ever raise.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from dispatch.worker_health import WorkerHealth
from telemetry.codec import (
    NOT_HELD_MARKER,
    CodecLimits,
    decode_not_held,
    decode_payload,
)
from telemetry.downlink import Downlink
from telemetry.errors import (
    PayloadRejected,
    RejectReason,
    StoreUnavailable,
    UnknownBox,
)
from telemetry.excursions import BoxRules, SampleLike
from telemetry.model import BoxId, DeadLetter, InboundMessage, Reading
from telemetry.monitor import ExcursionMonitor
from telemetry.seq_auditor import SeqAuditor, SeqAuditParams
from telemetry.store import TelemetryStore, WriteResult
from telemetry.topics import box_id_from_topic

__all__ = [
    "EXCURSION_MONITOR",
    "INGEST",
    "SEQ_AUDIT",
    "SILENCE_MONITOR",
    "Acknowledger",
    "IngestMetrics",
    "IngestParams",
    "IngestWorker",
]

log = logging.getLogger(__name__)

INGEST = "ingest"
EXCURSION_MONITOR = "excursion_monitor"
SILENCE_MONITOR = "silence_monitor"
SEQ_AUDIT = "seq_audit"

Acknowledger = Callable[[Sequence[InboundMessage]], object]
CommitHook = Callable[[Sequence[InboundMessage], WriteResult, float], None]


@dataclass(frozen=True, slots=True)
class IngestParams:
    """Batching, retry and housekeeping knobs of the worker."""

    batch_max_messages: int = 1000
    batch_window_s: float = 0.02
    retry_initial_s: float = 0.1
    retry_max_s: float = 2.0
    rules_refresh_s: float = 5.0
    silence_check_s: float = 5.0
    dead_letter_payload_bytes: int = 4096
    topic_prefix: str = "rxdispatch/v1"
    codec: CodecLimits = field(default_factory=CodecLimits)
    seq_audit: SeqAuditParams = field(default_factory=SeqAuditParams)

    def __post_init__(self) -> None:
        if self.batch_max_messages < 1 or self.batch_window_s <= 0:
            raise ValueError("batches need a positive size and window")


@dataclass
class IngestMetrics:
    """Counters of one worker (read by stats and benchmarks)."""

    messages: int = 0
    readings_stored: int = 0
    duplicates: int = 0
    batches: int = 0
    store_retries: int = 0
    stage_failures: int = 0
    excursions_opened: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    last_commit_at: datetime | None = None


class _Either:
    """Set when any of its events is (the decoder stops with the worker's stop
    or with the end of the run that started it)."""

    def __init__(self, *events: threading.Event) -> None:
        self._events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self._events)

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._events[0].wait(min(left, 0.1))
        return True


@dataclass(slots=True)
class _Batch:
    messages: list[InboundMessage]
    readings: list[Reading]
    dead: list[DeadLetter]
    decoded_with_registry: bool
    not_held: list[tuple[BoxId, int, int]]


class IngestWorker:
    """Drains the inbox in batches (see :meth:`run`)."""

    def __init__(
        self,
        store: TelemetryStore,
        inbox: queue.SimpleQueue[InboundMessage] | queue.Queue[InboundMessage],
        ack: Acknowledger,
        *,
        params: IngestParams | None = None,
        on_excursions: Callable[[list[int]], None] | None = None,
        on_commit: CommitHook | None = None,
        health: WorkerHealth | None = None,
        downlink: Downlink | None = None,
    ) -> None:
        self.params = params or IngestParams()
        self.metrics = IngestMetrics()
        self.health = health or WorkerHealth()
        for name in (INGEST, EXCURSION_MONITOR, SILENCE_MONITOR, SEQ_AUDIT):
            self.health.register(name)
        self._store = store
        self._inbox = inbox
        self._ack = ack
        self._on_excursions = on_excursions
        self._on_commit = on_commit
        self._rules: dict[BoxId, BoxRules] = {}
        self._rules_at = float("-inf")
        self.monitor = ExcursionMonitor(store, lambda box: self._rules.get(box))
        self.seq_audit = SeqAuditor(store, self.params.seq_audit, downlink)
        self._silence_at = time.monotonic()
        self._seq_check_at = time.monotonic()
        self._topic_boxes: dict[str, BoxId] = {}

    # -- loop -----------------------------------------------------------------
    def run_supervised(
        self, stop: threading.Event, *, backoff_s: float = 1.0, max_s: float = 30.0
    ) -> None:
        """:meth:`run`, restarted after a doubling back-off whenever it raises."""
        delay = backoff_s
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.run(stop)
            except Exception as exc:
                self.health.failed(INGEST, exc, stage="loop", stopped=True)
                if time.monotonic() - started > max_s:
                    delay = backoff_s
                stop.wait(delay)
                delay = min(delay * 2, max_s)

    def run(self, stop: threading.Event) -> None:
        """Process batches until ``stop`` is set; unacked work is left to the broker."""
        decoded: queue.Queue[_Batch] = queue.Queue(maxsize=2)
        ended = threading.Event()  # this run's decoder stops with it, however
        decoder = threading.Thread(
            target=self._decode_loop,
            args=(_Either(stop, ended), decoded),
            name="telemetry-decode",
            daemon=True,
        )
        decoder.start()
        pending: _Batch | None = None
        try:
            while not stop.is_set():
                batch = pending
                if batch is None:
                    try:
                        batch = decoded.get(timeout=0.2)
                    except queue.Empty:
                        self._housekeeping()
                        continue
                pending = None
                try:
                    self._commit(batch, stop)
                except Exception as exc:  # keep the unacked batch and try again
                    self.health.failed(INGEST, exc, stage="commit")
                    pending = batch
                    stop.wait(1.0)
                self._housekeeping()
        finally:
            ended.set()
            decoder.join(timeout=5)

    def _decode_loop(self, stop: _Either, out: queue.Queue[_Batch]) -> None:
        while not stop.is_set():
            try:
                messages = self._collect(stop)
            except Exception as exc:
                self.health.failed(INGEST, exc, stage="collect")
                stop.wait(1.0)
                continue
            if not messages:
                continue
            batch: _Batch | None = None
            while batch is None and not stop.is_set():
                try:  # the messages stay unacked until decoded and committed
                    batch = self._decode_batch(messages)
                except Exception as exc:
                    self.health.failed(INGEST, exc, stage="decode")
                    stop.wait(1.0)
            while batch is not None and not stop.is_set():
                try:
                    out.put(batch, timeout=0.2)
                    break
                except queue.Full:
                    continue

    def _collect(self, stop: _Either) -> list[InboundMessage]:
        inbox = self._inbox
        try:
            first = inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        size = self.params.batch_max_messages
        deadline = time.monotonic() + self.params.batch_window_s
        while len(batch) < size:
            try:  # take what is already there without waiting (C-level queue)
                batch.append(inbox.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or stop.is_set():
                break
            try:
                batch.append(inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def process_batch(
        self, messages: Sequence[InboundMessage], stop: threading.Event | None = None
    ) -> WriteResult | None:
        """Decode and commit one batch on this thread; None if stopped first."""
        return self._commit(self._decode_batch(list(messages)), stop)

    def _decode_batch(self, messages: list[InboundMessage]) -> _Batch:
        try:
            self._refresh_rules()
            have_registry = True
        except StoreUnavailable:
            have_registry = False  # decoded again once the registry is readable
        readings, dead, not_held = self._decode(messages)
        return _Batch(messages, readings, dead, have_registry, not_held)

    def _commit(
        self, batch: _Batch, stop: threading.Event | None
    ) -> WriteResult | None:
        written = self._write_retrying(batch, stop)
        if written is None:
            return None
        result, dead, created = written
        committed = time.time()
        self._ack(batch.messages)
        m = self.metrics
        m.messages += len(batch.messages)
        m.readings_stored += len(result.inserted)
        m.duplicates += result.duplicates
        m.batches += 1
        m.last_commit_at = datetime.now(UTC)
        for letter in dead:
            m.dead_letters[letter.reason] += 1
        if dead:
            log.warning(
                "dead-lettered %d of %d messages", len(dead), len(batch.messages)
            )
        self.health.ok(INGEST)
        if self._on_commit is not None:
            self._on_commit(batch.messages, result, committed)
        self._notify(created)
        return result

    # -- stages ---------------------------------------------------------------
    def _refresh_rules(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._rules_at < self.params.rules_refresh_s:
            return
        try:
            fresh = self._store.box_rules()
        except StoreUnavailable:
            if self._rules_at == float("-inf"):
                raise  # no registry yet: every box would look unknown
            return  # keep the cached registry; the write will retry
        self._rules = fresh  # one assignment: the other thread sees old or new
        self._rules_at = now

    def _decode(
        self, messages: Sequence[InboundMessage]
    ) -> tuple[list[Reading], list[DeadLetter], list[tuple[BoxId, int, int]]]:
        """Readings, dead letters, and loggers' "not held" answers."""
        readings: list[Reading] = []
        dead: list[DeadLetter] = []
        not_held: list[tuple[BoxId, int, int]] = []
        p = self.params
        boxes = self._topic_boxes
        if len(boxes) > 100_000:  # bound the cache (topics are per box)
            boxes.clear()
        for message in messages:
            try:
                box = boxes.get(message.topic)
                if box is None:
                    box = box_id_from_topic(message.topic, p.topic_prefix)
                    boxes[message.topic] = box
                if box not in self._rules:
                    self._refresh_rules(force=time.monotonic() - self._rules_at > 1.0)
                    if box not in self._rules:
                        raise UnknownBox(box)
                payload = message.payload
                if NOT_HELD_MARKER in payload and b'"seq"' not in payload:
                    not_held.append((box, *decode_not_held(payload, p.codec)))
                    continue
                readings += decode_payload(
                    message.payload,
                    box_id=box,
                    received_at=message.received_at,
                    limits=p.codec,
                )
            except PayloadRejected as exc:
                dead.append(self._dead_letter(message, exc.reason.value, exc.detail))
            except Exception:  # a decoder bug must not stop the worker
                log.exception("decoder failed on a message")
                dead.append(
                    self._dead_letter(message, RejectReason.DECODE_FAILED.value, "")
                )
        return readings, dead, not_held

    def _dead_letter(
        self, message: InboundMessage, reason: str, detail: str
    ) -> DeadLetter:
        cap = self.params.dead_letter_payload_bytes
        return DeadLetter(
            message.topic[:512],
            message.payload[:cap],
            len(message.payload),
            reason,
            detail[:200],
            message.received_at,
        )

    def _write_retrying(
        self, batch: _Batch, stop: threading.Event | None
    ) -> tuple[WriteResult, list[DeadLetter], list[int]] | None:
        delay = self.params.retry_initial_s
        readings, dead = batch.readings, batch.dead
        not_held = batch.not_held
        fresh = batch.decoded_with_registry
        while True:
            try:
                if not fresh:
                    self._refresh_rules(force=True)
                    readings, dead, not_held = self._decode(batch.messages)
                    fresh = True
                self._prime(readings)
                created: list[int] = []
                result = self._store.write_batch(
                    readings,
                    dead,
                    after_insert=functools.partial(self._detect, created),
                )
                self._record_not_held(not_held)
                return result, dead, created
            except StoreUnavailable as exc:
                self.seq_audit.forget()
                self.metrics.store_retries += 1
                fresh = False  # the registry may have changed meanwhile
                log.warning("store unavailable; retrying batch in %.1f s", delay)
                if delay == self.params.retry_initial_s:  # once per batch
                    self.health.failed(INGEST, exc, stage="store")
            except psycopg.DatabaseError:
                self.seq_audit.forget()
                log.exception("store refused a batch; isolating the bad message")
                return (*self._write_one_by_one(batch.messages), [])
            if stop is not None and stop.wait(delay):
                return None
            if stop is None:
                time.sleep(delay)
            delay = min(delay * 2, self.params.retry_max_s)

    def _write_one_by_one(
        self, messages: Sequence[InboundMessage]
    ) -> tuple[WriteResult, list[DeadLetter]]:
        """Poison-batch fallback: store messages singly, dead-letter what PG refuses."""
        total = WriteResult([], 0, 0)
        all_dead: list[DeadLetter] = []
        for message in messages:
            readings, dead, not_held = self._decode([message])
            try:
                result = self._store.write_batch(
                    readings, dead, after_insert=self._audit_seq
                )
                self._record_not_held(not_held)
            except psycopg.DatabaseError as exc:
                if isinstance(exc, psycopg.OperationalError):
                    raise
                letter = self._dead_letter(
                    message, RejectReason.STORE_REJECTED.value, type(exc).__name__
                )
                result, dead = self._store.write_batch([], [letter]), [letter]
            all_dead += dead
            total = WriteResult(
                total.inserted + result.inserted,
                total.staged + result.staged,
                total.dead_letters + result.dead_letters,
            )
        return total, all_dead

    def _prime(self, readings: Sequence[Reading]) -> None:
        """Warm the detector for boxes new to this worker before the write
        transaction opens (after a restart, every box is new)."""
        first: dict[BoxId, datetime] = {}
        for reading in readings:
            seen = first.get(reading.box_id)
            if seen is None or reading.recorded_at < seen:
                first[reading.box_id] = reading.recorded_at
        try:
            self.monitor.prime(first)
        except StoreUnavailable:
            raise  # the whole batch is retried
        except Exception as exc:  # process() recomputes those boxes instead
            self.metrics.stage_failures += 1
            self.health.failed(EXCURSION_MONITOR, exc, stage="prime")

    def _audit_seq(self, inserted: list[tuple[BoxId, SampleLike]]) -> None:
        """Sequence gaps of the new readings, in the write transaction (its own
        savepoint: a failure leaves the readings and excursions alone)."""
        try:
            self.seq_audit.process(inserted)
        except StoreUnavailable:
            raise
        except Exception as exc:  # the cursors are reloaded from the database
            self.seq_audit.forget()
            self.metrics.stage_failures += 1
            self.health.failed(SEQ_AUDIT, exc, stage="process")

    def _record_not_held(self, answers: list[tuple[BoxId, int, int]]) -> None:
        """Loggers' "not held" answers, committed before their messages are acked."""
        if not answers:
            return
        try:
            self.seq_audit.not_held(answers, now=self._store.clock.now())
        except StoreUnavailable:
            raise  # the whole batch is retried
        except Exception as exc:  # the gap stays open: asked again, answered again
            self.metrics.stage_failures += 1
            self.health.failed(SEQ_AUDIT, exc, stage="not_held")

    def _detect(
        self, created: list[int], inserted: list[tuple[BoxId, SampleLike]]
    ) -> None:
        """Runs inside the write transaction (savepoint); appends new excursion ids
        and audits the sequence."""
        self._audit_seq(inserted)
        try:
            created.extend(self.monitor.process(inserted))
        except StoreUnavailable:
            raise  # the connection is gone: the whole batch is retried
        except Exception as exc:  # recomputed from history on the box's next batch
            self.metrics.stage_failures += 1
            self.health.failed(EXCURSION_MONITOR, exc, stage="detect")
        else:
            self.health.ok(EXCURSION_MONITOR)

    def _notify(self, created: list[int]) -> None:
        if not created:
            return
        self.metrics.excursions_opened += len(created)
        if self._on_excursions is not None:
            try:
                self._on_excursions(created)
            except Exception:
                self.metrics.stage_failures += 1
                log.exception("excursion notification hook failed")

    def _housekeeping(self) -> None:
        self._check_seq()
        now = time.monotonic()
        if now - self._silence_at < self.params.silence_check_s:
            return
        self._silence_at = now
        try:
            created = self.monitor.check_silence()
        except Exception as exc:  # checked again at the next interval
            self.metrics.stage_failures += 1
            self.health.failed(SILENCE_MONITOR, exc, stage="check_silence")
            return
        self.health.ok(SILENCE_MONITOR)
        self._notify(created)

    def _check_seq(self) -> None:
        now = time.monotonic()
        if now - self._seq_check_at < self.params.seq_audit.check_s:
            return
        self._seq_check_at = now
        try:
            created = self.seq_audit.check()
        except Exception as exc:  # checked again at the next interval
            self.metrics.stage_failures += 1
            self.health.failed(SEQ_AUDIT, exc, stage="check")
            return
        self.health.ok(SEQ_AUDIT)
        self._notify(created)
