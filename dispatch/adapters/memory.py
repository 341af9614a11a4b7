"""In-process adapters for tests and tools: a recording publisher and a fixed clock."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from dispatch.domain import require_utc
from dispatch.events import DispatchEvent
from dispatch.ports import EventPublisher

__all__ = ["FanoutPublisher", "FixedClock", "RecordingPublisher"]


class RecordingPublisher:
    """Keeps every published event in order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[DispatchEvent] = []

    def publish(self, event: DispatchEvent) -> None:
        """Record ``event``."""
        with self._lock:
            self.events.append(event)

    def of_type(self, kind: type[DispatchEvent]) -> list[DispatchEvent]:
        """Recorded events of one class."""
        with self._lock:
            return [e for e in self.events if isinstance(e, kind)]


class FanoutPublisher:
    """Publishes each event to several publishers in turn."""

    def __init__(self, *publishers: EventPublisher) -> None:
        self.publishers = list(publishers)

    def publish(self, event: DispatchEvent) -> None:
        """Hand ``event`` to every publisher."""
        for publisher in self.publishers:
            publisher.publish(event)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self._now = require_utc(now, "now")

    def now(self) -> datetime:
        """The set time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += timedelta(seconds=seconds)

    def set(self, now: datetime) -> None:
        """Jump to ``now``."""
        self._now = require_utc(now, "now")
