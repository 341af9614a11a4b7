"""Replanner triggers and the degraded-plan guard (no database needed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dispatch.errors import PlanDegraded
from dispatch.events import OrderPlaced, OrderStatusChanged, PlanUpdated, RiderChanged
from dispatch.plan import Plan, PlannedStop, RiderRoute
from dispatch.planning import Translation
from dispatch.replanner import Replanner, _refuse_if_worse
from routing import Job, Route, RoutingProblem, RoutingSolution, Site, Vehicle, Visit

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
        await asyncio.sleep(0.2)
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

    from dispatch.planning import PlanningSnapshot

    r = replanner()
    snapshot = PlanningSnapshot(
        now=NOW, riders=(), orders=(), pharmacies={}, products={}, profiles={}
    )
    r._snapshot = lambda: snapshot  # type: ignore[method-assign]

    def no_solve(*_args):
        raise AssertionError("nothing to solve without riders")

    r._solve = no_solve  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG, logger="dispatch.replanner"):
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
