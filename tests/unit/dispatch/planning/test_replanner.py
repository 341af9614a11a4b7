"""Replanner triggers, degraded-plan guard, unpinned fallback (no database needed)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from dispatch.domain import GeoPoint
from dispatch.errors import PlanDegraded
from dispatch.events import OrderPlaced, OrderStatusChanged, PlanUpdated, RiderChanged
from dispatch.orders.order import OrderStatus
from dispatch.planning.plan import Plan, PlannedStop, ReleasedStop, RiderRoute
from dispatch.planning.problem import PINS_DROPPED, Translation, to_plan
from dispatch.planning.replanner import Replanner, _refuse_if_worse
from routing import (
    Job,
    NoSolutionFound,
    ReleasedLock,
    Route,
    RoutingProblem,
    RoutingSolution,
    Site,
    SolverParams,
    Vehicle,
    Visit,
    solve,
)
from tests.unit.dispatch.planning.test_problem import NOW as AT
from tests.unit.dispatch.planning.test_problem import SOLVER, order, snapshot

NOW = datetime(2026, 11, 21, 10, tzinfo=UTC)


def replanner(policy: str = "optimised") -> Replanner:
    db = SimpleNamespace(ctx=SimpleNamespace(dispatch_policy=policy))
    return Replanner(db=db, solver=None, debounce_s=0.0)  # type: ignore[arg-type]


def test_input_changes_trigger_but_the_planners_own_moves_do_not():
    """New orders and rider changes trigger; plan application does not loop."""
    r = replanner()
    r.publish(OrderPlaced("o1", "sourced"))
    r.publish(RiderChanged("r1", "position"))
    r.publish(OrderStatusChanged("o1", "sourced", "assigned", "planner", NOW))
    r.publish(PlanUpdated(1, 1, 1, 0, "feasible"))
    assert [reason for _, reason in r._pending] == ["order.placed", "rider.changed"]


def test_many_triggers_collapse_into_one_round():
    """Triggers queued before the loop runs are handled in a single round."""
    r = replanner()
    rounds: list[list[str]] = []

    async def fake_replan(batch):
        rounds.append(sorted(reason for _, reason in batch))

    r.replan = fake_replan  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(r.run())
        for i in range(10):
            r.trigger(f"t{i}")
        # the first round takes every queued trigger, so none is left for a second
        async with asyncio.timeout(60):
            while not rounds:
                await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(scenario())
    assert len(rounds) == 1
    assert len(rounds[0]) == 10


def _translation() -> Translation:
    import numpy as np

    problem = RoutingProblem(
        durations={"car": np.zeros((3, 3), dtype=np.int64)},
        vehicles=(Vehicle("r1", 0, profile="car"),),
        jobs=(Job("o1", Site(1)), Job("o2", Site(2))),
    )
    return Translation(problem, NOW, None, {}, {})


def _previous(*orders: str) -> Plan:
    stops = tuple(PlannedStop(o, "delivery", None, NOW) for o in orders)
    return Plan(1, NOW, "feasible", 0, 0.0, (RiderRoute("r1", stops, 0, 0),), ())


def _solution(*orders: str) -> RoutingSolution:
    visits = tuple(Visit(o, "delivery", 1, o, 0, 0, 0) for o in orders)
    return RoutingSolution((Route("r1", visits, 0, 0),), status="degraded")


def test_degraded_solution_serving_fewer_orders_is_refused():
    """A time-starved solve may not replace a plan that served more orders."""
    with pytest.raises(PlanDegraded):
        _refuse_if_worse(_translation(), _solution("o1"), _previous("o1", "o2"))
    _refuse_if_worse(_translation(), _solution("o1", "o2"), _previous("o1", "o2"))
    # orders gone from the problem (delivered, cancelled) do not count
    _refuse_if_worse(_translation(), _solution("o1"), _previous("o1", "gone"))


def test_no_rider_on_shift_skips_the_round_quietly(caplog):
    """Before the first shift: no solve, no error log, a skipped round counted."""
    import logging

    from dispatch.planning.problem import PlanningSnapshot

    r = replanner()
    snapshot = PlanningSnapshot(
        now=NOW, riders=(), orders=(), pharmacies={}, products={}, profiles={}
    )
    r._snapshot = lambda: snapshot  # type: ignore[method-assign]

    def no_solve(*_args):
        raise AssertionError("nothing to solve without riders")

    r._solve = no_solve  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG, logger="dispatch.planning.replanner"):
        assert asyncio.run(r.replan([(0.0, "timer")])) is None
    assert (r.stats.rounds, r.stats.skipped, r.stats.failed) == (1, 1, 0)
    assert [rec.levelno for rec in caplog.records] == [logging.DEBUG]
    assert "no rider on shift" in caplog.records[0].getMessage()


def test_greedy_policy_never_solves_and_ignores_its_own_moves():
    """Greedy rounds dispatch without the solver; greedy assignments do not
    re-trigger a round."""
    r = replanner("greedy")
    calls: list[str] = []

    def fake_greedy() -> list[Any]:
        calls.append("greedy")
        return []

    r._dispatch_greedy = fake_greedy  # type: ignore[method-assign]

    def no_solve(*_args):
        raise AssertionError("the greedy baseline never solves")

    r._solve = no_solve  # type: ignore[method-assign]
    assert asyncio.run(r.replan([(0.0, "order.placed")])) is None
    assert calls == ["greedy"]
    r.publish(OrderStatusChanged("o1", "sourced", "assigned", "greedy", NOW))
    assert r._pending == []


class _PinsFail:
    """Solver stand-in: no solution while any next stop is pinned, else the real
    ``routing.solve``. The failure is injected: the real trigger is rare, since
    ``routing.solve`` itself releases the pins their rider cannot serve even alone."""

    def __init__(self) -> None:
        self.pins: list[list[tuple[str, str] | None]] = []

    async def solve(
        self,
        problem: RoutingProblem,
        params: SolverParams,
        initial: RoutingSolution | None = None,
    ) -> RoutingSolution:
        self.pins.append([v.locked_next for v in problem.vehicles])
        if any(v.locked_next is not None for v in problem.vehicles):
            raise NoSolutionFound("injected: no plan keeps the pins")
        return solve(problem, params, initial)


def test_unpinned_fallback_reports_the_next_stop_it_dropped(caplog):
    """The pinned solve fails, so the round is re-solved without pins; the rider
    driving to o1 must now deliver o2 first (its window closes in minutes), so
    the pin on o1 is dropped and reported as a released stop, with ids only."""
    stops = (
        PlannedStop("o1", "delivery", None, AT),
        PlannedStop("o2", "delivery", None, AT),
    )
    previous = Plan(1, AT, "feasible", 0, 0.0, (RiderRoute("r1", stops, 0, 0),), ())
    far = order("o1", status=OrderStatus.PICKED_UP, rider_id="r1", picked=AT)
    near = order("o2", status=OrderStatus.PICKED_UP, rider_id="r1", picked=AT)
    orders = [
        replace(far, delivery_location=GeoPoint(35.95, 14.40)),
        replace(
            near,
            delivery_location=GeoPoint(35.90, 14.51),  # where the rider is
            window_start_at=AT - timedelta(minutes=30),
            window_end_at=AT + timedelta(minutes=5),
        ),
    ]
    solver = _PinsFail()
    r = replanner()
    r.solver = solver  # type: ignore[assignment]
    r.solver_params = SOLVER
    with caplog.at_level(logging.WARNING, logger="dispatch.planning.replanner"):
        translation, solution = asyncio.run(
            r._solve(snapshot(orders, previous=previous))
        )
    assert solver.pins == [[("o1", "delivery")], [None]]
    assert r.stats.unlocked == 1
    assert [v.job_id for v in solution.routes[0].visits] == ["o2", "o1"]
    assert solution.released_locks == (ReleasedLock("r1", "o1", PINS_DROPPED),)
    plan = to_plan(translation, solution, version=0, created_at=AT)
    assert plan.released_stops == (ReleasedStop("r1", "o1", PINS_DROPPED),)
    [warning] = [
        rec for rec in caplog.records if rec.name == "dispatch.planning.replanner"
    ]
    assert "1 of 1 pins dropped" in warning.getMessage()


def test_any_exception_in_a_round_is_reported_and_the_loop_goes_on(caplog):
    """Issue 20: a ZoneInfoNotFoundError (or any bug) in a round used to end the
    task silently for good. Now it is counted, logged, alerted once, shown as
    degraded, and the next round runs; a good round clears it."""
    from zoneinfo import ZoneInfoNotFoundError

    from dispatch.adapters.memory import RecordingPublisher
    from dispatch.events import WorkerFailed, WorkerRecovered
    from dispatch.planning.problem import PlanningSnapshot
    from dispatch.worker_health import WorkerHealth

    publisher = RecordingPublisher()
    r = replanner()
    r.health = WorkerHealth(publisher)
    rounds: list[str] = []
    failures = [ZoneInfoNotFoundError("No time zone found with key Mars/Olympus")] * 3
    empty = PlanningSnapshot(
        now=NOW, riders=(), orders=(), pharmacies={}, products={}, profiles={}
    )

    def snapshot_or_fail() -> PlanningSnapshot:
        rounds.append("round")
        if failures:
            raise failures.pop()
        return empty

    r._snapshot = snapshot_or_fail  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(r.run())
        for i in range(4):
            r.trigger(f"t{i}")
            for _ in range(500):
                if len(rounds) > i:
                    break
                await asyncio.sleep(0.01)
        task.cancel()

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    assert len(rounds) == 4
    assert (r.stats.failed, r.stats.skipped) == (3, 1)
    assert len(publisher.of_type(WorkerFailed)) == 1
    [failed] = publisher.of_type(WorkerFailed)
    assert isinstance(failed, WorkerFailed)
    assert (failed.worker, failed.stage) == ("replanner", "snapshot")
    assert failed.error.startswith("ZoneInfoNotFoundError")
    assert len(publisher.of_type(WorkerRecovered)) == 1
    assert r.health.state("replanner").status == "ok"
    assert r.health.state("replanner").failures_total == 3
    assert "Mars" not in caplog.text
