"""Worker health: a failed round is logged without its message, counted, alerted
once per spell, shown as degraded, and cleared by the next good round."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dispatch.adapters.memory import RecordingPublisher
from dispatch.events import WorkerFailed, WorkerRecovered
from dispatch.worker_health import WorkerHealth, describe_error, supervise

SECRET = "Maria Camilleri +35699123456"  # what an exception's text might carry


def _raise(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:
        return caught


def test_failures_degrade_alert_once_per_spell_and_recover(caplog) -> None:
    publisher = RecordingPublisher()
    health = WorkerHealth(publisher)
    health.register("replanner")
    assert health.healthy
    with caplog.at_level(logging.ERROR, logger="dispatch.worker_health"):
        for _ in range(3):
            health.failed("replanner", _raise(KeyError(SECRET)), stage="solve")
    state = health.state("replanner")
    assert (state.status, state.stage, state.consecutive_failures) == (
        "degraded",
        "solve",
        3,
    )
    assert state.error is not None
    assert state.error.startswith("KeyError at test_worker_health.py:")
    assert not health.healthy
    [alert] = publisher.of_type(WorkerFailed)
    assert alert.to_dict()["worker"] == "replanner"
    # another error is another alert; the same again is not
    health.failed("replanner", _raise(ValueError(SECRET)), stage="apply")
    health.failed("replanner", _raise(ValueError(SECRET)), stage="apply")
    assert len(publisher.of_type(WorkerFailed)) == 2
    assert health.metrics() == {
        "worker_replanner_failures_total": 5.0,
        "worker_replanner_degraded": 1.0,
    }
    health.ok("replanner")
    assert health.state("replanner").status == "ok"
    [recovered] = publisher.of_type(WorkerRecovered)
    assert recovered.failed_rounds == 5
    health.ok("replanner")
    assert len(publisher.of_type(WorkerRecovered)) == 1
    assert health.metrics()["worker_replanner_degraded"] == 0.0
    # nothing an exception said reaches the log, the alerts or the state
    everything = " ".join(
        [r.getMessage() for r in caplog.records]
        + [str(e.to_dict()) for e in publisher.events]
        + [str(health.states())]
    )
    assert "Maria" not in everything
    assert "3569" not in everything
    assert all(r.exc_info is None for r in caplog.records)
    assert caplog.records[0].worker == "replanner"  # structured


def test_describe_error_names_type_and_place_only() -> None:
    assert describe_error(RuntimeError(SECRET)) == "RuntimeError"
    described = describe_error(_raise(RuntimeError(SECRET)))
    assert described.startswith("RuntimeError at test_worker_health.py:")
    assert "Maria" not in described


def test_a_publisher_that_raises_does_not_break_reporting() -> None:
    class Broken:
        def publish(self, event: object) -> None:
            raise RuntimeError("hub gone")

    health = WorkerHealth(Broken())
    health.failed("ingest", _raise(OSError()), stage="commit")
    assert health.state("ingest").status == "degraded"


def test_supervise_restarts_a_loop_that_raises_or_returns() -> None:
    health = WorkerHealth()
    runs: list[int] = []

    async def flaky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run dies")
        if len(runs) == 2:
            return  # a loop that ends is restarted too
        health.ok("w")
        await asyncio.Event().wait()  # third run: healthy forever

    async def scenario() -> None:
        task = asyncio.create_task(supervise("w", flaky, health, backoff_s=0.01))
        for _ in range(1000):
            if len(runs) >= 3 and health.state("w").status == "ok":
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert len(runs) == 3
    assert health.state("w").failures_total == 2
    assert health.state("w").status == "ok"


def test_a_worker_failing_every_round_does_not_flood_the_log(caplog) -> None:
    health = WorkerHealth()
    with caplog.at_level(logging.WARNING, logger="dispatch.worker_health"):
        for _ in range(16):
            health.failed("ingest", _raise(OSError()), stage="commit")
    assert [r.levelname for r in caplog.records] == ["ERROR"] + ["WARNING"] * 4
    assert health.state("ingest").failures_total == 16
