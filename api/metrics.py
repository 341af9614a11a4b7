"""A tiny in-process counter registry behind ``/health/metrics``."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Metrics:
    """Monotonic counters plus gauges read on demand."""

    def __init__(self) -> None:
        self._counters: dict[str, float] = {}
        self._gauges: dict[str, Callable[[], float]] = {}
        self._sources: list[Callable[[], dict[str, float]]] = []
        self._lock = threading.Lock()

    def inc(self, name: str, value: float = 1) -> None:
        """Add ``value`` to counter ``name``."""
        with self._lock:
            self._counters[name] = self._counters.get(name, 0.0) + value

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        """Register a gauge read when metrics are collected."""
        self._gauges[name] = read

    def source(self, read: Callable[[], dict[str, float]]) -> None:
        """Register a reader of several gauges at once (names it chooses)."""
        self._sources.append(read)

    def snapshot(self) -> dict[str, float]:
        """Every counter and gauge, by name."""
        with self._lock:
            values = {k: float(v) for k, v in self._counters.items()}
        for name, read in self._gauges.items():
            values[name] = float(read())
        for source in self._sources:
            values.update({k: float(v) for k, v in source().items()})
        return dict(sorted(values.items()))
