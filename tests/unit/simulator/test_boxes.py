"""A box over the run: faults applied on time, truth recorded, backlog after outages."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson

from simulator.boxes import BoxUnit
from simulator.scenario import BoxFailureMode
from simulator.scenario_fields import Fields, parse_cold_chain, parse_thermal
from simulator.world import Outage

PARAMS = parse_thermal(Fields({}, "thermal", ""))
RULE = parse_cold_chain(Fields({}, "cold_chain", ""))  # 2-8 °C, 15 min delay
T0 = datetime(2026, 6, 15, 8, tzinfo=UTC)


def _run(box: BoxUnit, minutes: int) -> list[list[bytes]]:
    sent = []
    for i in range(minutes * 2 + 1):
        at = T0 + timedelta(seconds=30 * i)
        sent.append([m.payload for m in box.tick(at, 30.0, (35.9, 14.5))])
    return sent


def _run_from(box: BoxUnit, first_minute: int, last_minute: int) -> None:
    for i in range(first_minute * 2, last_minute * 2 + 1):
        box.tick(T0 + timedelta(seconds=30 * i), 30.0, None)


def test_healthy_box_keeps_its_orders_safe() -> None:
    """A healthy box with lid openings never exposes the orders on board."""
    box = BoxUnit.create("box-1", PARAMS, RULE, rng=random.Random(1))
    box.load("o1")
    box.open_lid(T0 + timedelta(minutes=5), 45)
    _run(box, 60)
    assert box.unload("o1") is False
    assert box.truth.excursions == []
    assert box.injected() is None
    assert box.natural() == []


def test_excursion_without_a_failure_is_natural_truth() -> None:
    """A healthy box held open too long (no injected failure) has a true
    excursion of its own: the report counts it as natural, not injected."""
    box = BoxUnit.create("box-3", PARAMS, RULE, rng=random.Random(1))
    box.open_lid(T0, 45 * 60)
    _run(box, 60)
    assert box.injected() is None
    ((exit_at, tripped_at),) = [
        (t.true_exit_at, t.true_excursion_at) for t in box.natural()
    ]
    assert (box.natural()[0].box, box.natural()[0].mode) == ("box-3", "natural")
    assert exit_at is not None
    assert tripped_at == exit_at + timedelta(seconds=RULE.single_event_delay_s)


def test_failure_exposes_orders_and_is_recorded_as_truth() -> None:
    """A lid left open at 08:10 trips an excursion 30 min after leaving the range;
    orders on board then are exposed, orders delivered before are not."""
    fail_at = T0 + timedelta(minutes=10)
    box = BoxUnit.create(
        "box-2",
        PARAMS,
        RULE,
        rng=random.Random(1),
        failure=(fail_at, BoxFailureMode.LID_LEFT_OPEN),
    )
    box.load("cold-1")
    box.load("early")
    sent = 0
    for i in range(50 * 2 + 1):
        at = T0 + timedelta(seconds=30 * i)
        sent += len(box.tick(at, 30.0, (35.9, 14.5)))
        if at == T0 + timedelta(minutes=20):
            assert box.unload("early") is False
    truth = box.injected()
    assert truth is not None
    assert truth.failed_at == fail_at
    assert truth.true_exit_at is not None
    assert truth.true_excursion_at is not None
    assert fail_at < truth.true_exit_at < fail_at + timedelta(minutes=5)
    assert truth.true_excursion_at - truth.true_exit_at == timedelta(minutes=15)
    assert box.was_exposed("cold-1") is True
    assert box.was_exposed("early") is False
    assert box.unload("cold-1") is True
    assert box.door_open_at(T0 + timedelta(minutes=29)) is True
    assert sent == 101


def test_order_loaded_after_the_failure_is_exposed_only_by_time_on_board() -> None:
    """An order loaded into a failing box is exposed once the rule trips."""
    box = BoxUnit.create(
        "box-3",
        PARAMS,
        RULE,
        rng=random.Random(1),
        failure=(T0 + timedelta(minutes=1), BoxFailureMode.SEAL),
    )
    _run(box, 20)
    box.load("late")
    assert box.unload("late") is False
    box.load("later")
    _run_from(box, 20, 60)
    assert box.unload("later") is True


def test_outage_buffers_and_then_sends_backlog() -> None:
    """Offline 08:05-08:10 the logger sends nothing, then the backlog as one array."""
    outage = Outage(0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=10))
    box = BoxUnit.create("box-4", PARAMS, RULE, rng=random.Random(1), outages=(outage,))
    sent = _run(box, 12)
    silent = [i for i, messages in enumerate(sent) if not messages]
    assert silent == list(range(10, 20))
    (backlog,) = sent[20]
    assert [r["seq"] for r in orjson.loads(backlog)] == list(range(11, 22))
