"""Health of the long-running workers: the re-planner, the MQTT ingest, the
excursion notifier and monitor, the silence monitor.

A worker never dies of a failed round: it reports the failure here and goes on
with the next round. :meth:`WorkerHealth.failed` logs it (structured: the worker,
the stage, the exception's type and where it was raised, never its message, which
may carry data; an error when it is new, then a warning on the 2nd, 4th, 8th ...
failure in a row, so a worker failing every round does not flood the log), counts
it, marks the worker ``degraded`` (readiness shows which
and why) and tells the dispatchers once per spell (:class:`WorkerFailed` on the
dispatch feed: again only when the error changes, not every round). The next good
round (:meth:`WorkerHealth.ok`) clears it and says so (:class:`WorkerRecovered`).

:func:`supervise` keeps an asyncio worker running: if its loop ever ends or
raises, it is reported ``stopped`` and restarted after a back-off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import PurePath
from typing import Literal

from dispatch.events import WorkerFailed, WorkerRecovered
from dispatch.ports import Clock, EventPublisher

__all__ = ["WorkerHealth", "WorkerState", "describe_error", "supervise"]

log = logging.getLogger(__name__)

Status = Literal["ok", "degraded", "stopped"]


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What readiness shows of one worker."""

    name: str
    status: Status = "ok"
    failures_total: int = 0
    consecutive_failures: int = 0
    stage: str | None = None
    """Where the last failure happened (e.g. ``snapshot``, ``solve``, ``commit``)."""
    error: str | None = None
    """The last failure's exception type and code location (no message, no data)."""
    since: datetime | None = None
    """When the current degraded spell started."""
    last_ok_at: datetime | None = None


def describe_error(exc: BaseException) -> str:
    """``Type at file.py:line in function``: the innermost frame of ``exc``, never
    its message (an exception's text may quote patient or other data)."""
    name = type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if not frames:
        return name
    last = frames[-1]
    return f"{name} at {PurePath(last.filename).name}:{last.lineno} in {last.name}"


def _where(exc: BaseException, depth: int = 4) -> str:
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    return " <- ".join(
        f"{PurePath(f.filename).name}:{f.lineno} {f.name}"
        for f in reversed(frames[-depth:])
    )


class WorkerHealth:
    """Thread-safe registry of worker states (see module docstring)."""

    def __init__(
        self,
        publisher: EventPublisher | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.publisher = publisher
        self._clock = clock
        self._lock = threading.Lock()
        self._states: dict[str, WorkerState] = {}

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def register(self, name: str) -> None:
        """Make ``name`` known (``ok``) before its first round."""
        with self._lock:
            self._states.setdefault(name, WorkerState(name))

    def ok(self, name: str) -> None:
        """A round of ``name`` succeeded: clear a degraded or stopped state."""
        now = self._now()
        with self._lock:
            state = self._states.get(name, WorkerState(name))
            recovered = state.status != "ok"
            self._states[name] = replace(
                state,
                status="ok",
                consecutive_failures=0,
                stage=None,
                error=None,
                since=None,
                last_ok_at=now,
            )
        if recovered:
            log.warning(
                "worker %s recovered after %d failed round(s)",
                name,
                state.consecutive_failures,
                extra={"worker": name},
            )
            self._publish(WorkerRecovered(name, state.consecutive_failures))

    def failed(
        self, name: str, exc: BaseException, *, stage: str, stopped: bool = False
    ) -> None:
        """A round of ``name`` raised ``exc`` in ``stage``: log, count, degrade,
        alert (once per spell and error)."""
        error = describe_error(exc)
        now = self._now()
        status: Status = "stopped" if stopped else "degraded"
        with self._lock:
            state = self._states.get(name, WorkerState(name))
            alert = state.status == "ok" or (
                state.status,
                state.stage,
                state.error,
            ) != (status, stage, error)
            state = replace(
                state,
                status=status,
                failures_total=state.failures_total + 1,
                consecutive_failures=state.consecutive_failures + 1,
                stage=stage,
                error=error,
                since=state.since or now,
            )
            self._states[name] = state
        n = state.consecutive_failures
        if alert or n & (n - 1) == 0:  # a new error, then the 2nd, 4th, 8th ... time
            log.log(
                logging.ERROR if alert else logging.WARNING,
                "worker %s failed in %s: %s (%d in a row); trace: %s",
                name,
                stage,
                error,
                n,
                _where(exc),
                extra={
                    "worker": name,
                    "stage": stage,
                    "error_type": type(exc).__name__,
                },
            )
        if alert:
            self._publish(
                WorkerFailed(name, stage, error, state.consecutive_failures, status)
            )

    def _publish(self, event: WorkerFailed | WorkerRecovered) -> None:
        publisher = self.publisher
        if publisher is None:
            return
        try:
            publisher.publish(event)
        except Exception:  # an alert must never take the worker down
            log.exception("publishing a worker alert failed")

    def states(self) -> dict[str, WorkerState]:
        """Every known worker's state, by name."""
        with self._lock:
            return dict(sorted(self._states.items()))

    def state(self, name: str) -> WorkerState:
        """One worker's state (``ok`` if it never reported)."""
        with self._lock:
            return self._states.get(name, WorkerState(name))

    @property
    def healthy(self) -> bool:
        """Whether every worker's last round succeeded."""
        return all(s.status == "ok" for s in self.states().values())

    def metrics(self) -> dict[str, float]:
        """``worker_<name>_failures_total`` and ``worker_<name>_degraded`` (0/1)."""
        out: dict[str, float] = {}
        for name, state in self.states().items():
            out[f"worker_{name}_failures_total"] = float(state.failures_total)
            out[f"worker_{name}_degraded"] = float(state.status != "ok")
        return out


async def supervise(
    name: str,
    run: Callable[[], Awaitable[object]],
    health: WorkerHealth,
    *,
    backoff_s: float = 1.0,
    max_backoff_s: float = 30.0,
) -> None:
    """Run ``run()`` forever: whenever it returns or raises (anything but
    cancellation), report the worker ``stopped`` and start it again after a
    doubling back-off. Cancel the task to stop it."""
    delay = backoff_s
    health.register(name)
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        try:
            await run()
            raise RuntimeError(f"worker {name} returned")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            health.failed(name, exc, stage="loop", stopped=True)
        if loop.time() - started > max_backoff_s:
            delay = backoff_s  # it ran a while: a new failure, not a crash loop
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_backoff_s)
