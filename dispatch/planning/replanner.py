"""Continuous re-planning: debounced triggers -> one solve -> versioned plan.

The replanner is an :class:`~dispatch.ports.EventPublisher`: committed events that
change the plan's inputs (new or cancelled order, rider shift/status/position,
hold placed or released) trigger it, as does a timer. Triggers arriving within
``debounce_s`` of the first one collapse into one solve; triggers arriving during
a solve start the next round right after. Each round reads a snapshot, builds the
routing problem (warm-started from the current plan), solves it in the worker
process with a deadline, and applies it only if its basis is still current
(:func:`dispatch.planning.apply.apply_plan`: progress along the plan, such as a pickup
by its rider, does not make it stale); a stale plan is dropped and re-planned.

No exception ends the loop: a round that raises anything is reported to
:class:`~dispatch.worker_health.WorkerHealth` (logged without messages, counted,
one alert per spell, readiness degraded) and the next trigger or the timer starts
a new one; the first good round clears it. Orders and pharmacies whose data break
the translation are set aside by :func:`~dispatch.planning.problem.build_problem`
(the order stays unassigned with the reason) instead of failing the round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from dispatch.adapters.postgres.unit_of_work import Database, Tx
from dispatch.adapters.solver_pool import SolverPool
from dispatch.errors import (
    NotLeader,
    PlanDegraded,
    PlanVersionConflict,
    SolverTimedOut,
)
from dispatch.events import DispatchEvent
from dispatch.planning import apply as plans
from dispatch.planning.greedy import GREEDY, GreedyAssignment, dispatch_greedy
from dispatch.planning.problem import (
    PHARMACY_UNUSABLE,
    Plan,
    PlanningParams,
    PlanningSnapshot,
    Translation,
    build_problem,
    dropped_pins,
    to_plan,
    usable_riders,
)
from dispatch.worker_health import WorkerHealth
from routing import NoSolutionFound, RoutingSolution, SolverParams
from routing.matrix import HaversineProvider, MatrixProvider

log = logging.getLogger(__name__)

__all__ = ["WORKER", "ReplanStats", "Replanner"]

WORKER = "replanner"
"""The re-planner's name in :class:`~dispatch.worker_health.WorkerHealth`."""


@dataclass
class ReplanStats:
    """Counters and latencies (trigger -> applied plan, seconds)."""

    rounds: int = 0
    applied: int = 0
    stale: int = 0
    failed: int = 0
    unlocked: int = 0
    """Rounds re-solved without next-stop pins (the pinned model had no solution)."""
    skipped: int = 0
    """Rounds with nothing to solve (no rider on shift): no solve, no new plan."""
    greedy_assigned: int = 0
    """Orders given to idle riders by the greedy dispatcher (greedy policy)."""
    set_aside: int = 0
    """Orders the last planned round set aside (their or their pharmacies' data
    broke the translation)."""
    unusable_pharmacies: int = 0
    """Pharmacies the last planned round could not use."""
    latencies_s: list[float] = field(default_factory=list)


class Replanner:
    """Debounced, single-flight re-planning loop (run it with :meth:`run`)."""

    def __init__(
        self,
        db: Database,
        solver: SolverPool,
        *,
        provider: MatrixProvider | None = None,
        solver_params: SolverParams | None = None,
        planning_params: PlanningParams | None = None,
        debounce_s: float = 0.5,
        timer_s: float = 60.0,
        on_plan: Callable[[Plan], None] | None = None,
        warm_start: bool = True,
        health: WorkerHealth | None = None,
        fence: Callable[[Tx], None] | None = None,
    ) -> None:
        self.db = db
        self.fence = fence
        """Run inside every transaction that writes a plan or an assignment,
        before it commits; raises :class:`~dispatch.errors.NotLeader` when this
        planner lost its lease (several API instances)."""
        self.solver = solver
        self.provider: MatrixProvider = provider or HaversineProvider()
        self.solver_params = solver_params or SolverParams(time_limit_s=2.0)
        self.planning_params = planning_params or PlanningParams()
        self.debounce_s = debounce_s
        self.timer_s = timer_s
        self.on_plan = on_plan
        self.warm_start = warm_start
        self.stats = ReplanStats()
        self.health = health or WorkerHealth()
        self.health.register(WORKER)
        self._stage = "round"
        self._reported: frozenset[tuple[str, str]] = frozenset()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._pending: list[tuple[float, str]] = []

    # -- triggers ---------------------------------------------------------------
    def publish(self, event: DispatchEvent) -> None:
        """EventPublisher: events that change plan inputs trigger a re-plan."""
        if self.wants(event):
            self.trigger(event.type)

    @staticmethod
    def wants(event: DispatchEvent) -> bool:
        """Whether ``event`` changes the plan's inputs. Moves made by the
        planner itself (applying a plan) do not re-trigger."""
        own = getattr(event, "actor", None) in (plans.PLANNER, GREEDY)
        return event.triggers_replan and not own

    def trigger(self, reason: str) -> None:
        """Ask for a re-plan (thread-safe, non-blocking)."""
        stamped = (time.monotonic(), reason)
        loop = self._loop
        if loop is None or loop.is_closed():
            self._pending.append(stamped)
            return
        loop.call_soon_threadsafe(self._enqueue, stamped)

    def _enqueue(self, stamped: tuple[float, str]) -> None:
        self._pending.append(stamped)
        if self._wake is not None:
            self._wake.set()

    # -- loop --------------------------------------------------------------------
    async def run(self) -> None:
        """Re-plan forever (cancel the task to stop); no round's error ends it."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self._pending:
            self._wake.set()
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.timer_s)
            except TimeoutError:
                self._pending.append((time.monotonic(), "timer"))
            await asyncio.sleep(self.debounce_s)
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                try:
                    await self.replan(batch)
                except Exception as exc:  # replan reports its own; this is a bug
                    self.health.failed(WORKER, exc, stage="round")

    async def replan(self, batch: list[tuple[float, str]]) -> Plan | None:
        """One round for a batch of ``(monotonic time, reason)`` triggers."""
        self.stats.rounds += 1
        first = min(t for t, _ in batch)
        reasons = sorted({r for _, r in batch})
        self._stage = "round"
        try:
            if self.db.ctx.dispatch_policy == "greedy":
                await self._greedy_round()
                return None
            plan = await self._round(reasons)
            if plan is None:
                self.stats.skipped += 1
                self.health.ok(WORKER)
                return None
        except NotLeader:
            log.warning("plan not applied: this planner lost the leader lease")
            return None
        except PlanVersionConflict as exc:
            self.stats.stale += 1
            log.info("plan was stale (%s); re-planning", exc)
            self.health.ok(WORKER)  # the round worked; the world moved on
            self.trigger("stale_plan")
            return None
        except Exception as exc:  # anything: the next round must still run
            self.stats.failed += 1
            self.health.failed(WORKER, exc, stage=self._stage)
            return None
        self.stats.applied += 1
        self.stats.latencies_s.append(time.monotonic() - first)
        self.health.ok(WORKER)
        if self.on_plan is not None:
            try:
                self.on_plan(plan)
            except Exception:
                log.exception("on_plan hook failed")
        return plan

    async def _round(self, reasons: list[str]) -> Plan | None:
        self._stage = "snapshot"
        snapshot = await asyncio.to_thread(self._snapshot)
        if not usable_riders(snapshot):
            # before the first shift or after the last: nothing can be planned;
            # orders keep their state and the next rider's shift start triggers
            log.debug(
                "no rider on shift; skipping re-plan (%d open orders)",
                len(snapshot.orders),
            )
            return None
        based_on = snapshot.previous.version if snapshot.previous else None
        seed: tuple[Translation, RoutingSolution] | None = None
        if snapshot.previous is None and snapshot.sourcing_policy == "joint":
            snapshot, seed = await self._bootstrap(snapshot)
        try:
            translation, solution = await self._solve(snapshot)
        except (SolverTimedOut, NoSolutionFound):
            if seed is None:
                raise
            log.warning("joint first plan missed its deadline; applying the seed plan")
            translation, solution = seed
        if solution.status == "degraded" and snapshot.previous is not None:
            try:
                _refuse_if_worse(translation, solution, snapshot.previous)
            except PlanDegraded:
                if seed is None:
                    raise
                translation, solution = seed
        self._stage = "plan"
        self._report_set_aside(translation)
        plan = to_plan(
            translation,
            solution,
            version=0,
            created_at=snapshot.now,
            trigger_reasons=reasons,
        )
        self._stage = "apply"
        return await asyncio.to_thread(self._apply, plan, based_on)

    def _report_set_aside(self, translation: Translation) -> None:
        """Count what the translation set aside; log each pharmacy, rider or order
        once while it stays set aside (ids and error types only). The orders reach
        the dispatchers with the applied plan (unassigned, with the reason)."""
        aside = translation.set_aside
        self.stats.set_aside = len(aside)
        self.stats.unusable_pharmacies = len(translation.unusable_pharmacies)
        current = frozenset(
            [("pharmacy", p) for p in translation.unusable_pharmacies]
            + [("rider", r) for r in translation.unusable_riders]
            + [("order", u.order_id) for u in aside if u.reason != PHARMACY_UNUSABLE]
        )
        for kind, key in sorted(current - self._reported):
            why = {
                "pharmacy": translation.unusable_pharmacies,
                "rider": translation.unusable_riders,
            }.get(kind, {})
            log.warning(
                "planning without %s %s: its data cannot be used (%s)",
                kind,
                key,
                why.get(key) or next(u.detail for u in aside if u.order_id == key),
                extra={f"{kind}_id": key, "worker": WORKER},
            )
        self._reported = current

    async def _solve(
        self, snapshot: PlanningSnapshot
    ) -> tuple[Translation, RoutingSolution]:
        self._stage = "problem"
        translation = await asyncio.to_thread(
            build_problem, snapshot, self.provider, self.planning_params
        )
        initial = translation.initial if self.warm_start else None
        self._stage = "solve"
        try:
            solution = await self.solver.solve(
                translation.problem, self.solver_params, initial
            )
        except NoSolutionFound:
            # a pinned next stop became infeasible (rider moved, time passed):
            # a rider cannot be forced, so plan again without the pins, and report
            # each pin the new plan does not keep as a released stop (dispatchers'
            # alert and audit entry when the plan is applied)
            self.stats.unlocked += 1
            pinned = translation.problem
            unpinned = replace(self.planning_params, lock_next_stop=False)
            self._stage = "problem"
            translation = await asyncio.to_thread(
                build_problem, snapshot, self.provider, unpinned
            )
            self._stage = "solve"
            solution = await self.solver.solve(
                translation.problem, self.solver_params, translation.initial
            )
            dropped = dropped_pins(pinned, solution)
            solution = replace(
                solution, released_locks=solution.released_locks + dropped
            )
            pins = sum(1 for v in pinned.vehicles if v.locked_next is not None)
            log.warning(
                "pinned solve found no plan; re-planned without next-stop pins "
                "(%d of %d pins dropped)",
                len(dropped),
                pins,
                extra={"pins": pins, "pins_dropped": len(dropped)},
            )
        return translation, solution

    async def _bootstrap(
        self, snapshot: PlanningSnapshot
    ) -> tuple[PlanningSnapshot, tuple[Translation, RoutingSolution]]:
        """First plan of a joint day: solve with the nearest pharmacies only (easy
        for the engine), then use that as the warm start of the joint solve, which
        can then only improve on it. The seed is also the fallback plan."""
        half = replace(
            self.solver_params, time_limit_s=self.solver_params.time_limit_s / 2
        )
        nearest = replace(snapshot, sourcing_policy="nearest")
        self._stage = "problem"
        translation = await asyncio.to_thread(
            build_problem, nearest, self.provider, self.planning_params
        )
        self._stage = "solve"
        solution = await self.solver.solve(translation.problem, half, None)
        self._stage = "plan"
        seed = to_plan(translation, solution, version=0, created_at=snapshot.now)
        return replace(snapshot, previous=seed), (translation, solution)

    async def _greedy_round(self) -> None:
        """The baseline: idle riders get the oldest waiting orders; no solve."""
        self._stage = "greedy"
        done = await asyncio.to_thread(self._dispatch_greedy)
        self.health.ok(WORKER)
        self.stats.greedy_assigned += len(done)
        if done:
            log.debug("greedy dispatch assigned %d order(s)", len(done))

    def _dispatch_greedy(self) -> list[GreedyAssignment]:
        with self.db.transaction() as tx:
            snapshot = plans.take_snapshot(tx, include_greedy=True)
            done = dispatch_greedy(tx, snapshot, self.planning_params)
            if self.fence is not None:
                self.fence(tx)
            return done

    def _snapshot(self) -> PlanningSnapshot:
        with self.db.transaction() as tx:
            return plans.take_snapshot(tx)

    def _apply(self, plan: Plan, based_on: int | None) -> Plan:
        with self.db.transaction() as tx:
            applied = plans.apply_plan(tx, plan, based_on_version=based_on)
            if self.fence is not None:
                self.fence(tx)
            return applied


def _refuse_if_worse(
    translation: Translation, solution: RoutingSolution, previous: Plan
) -> None:
    """A time-starved solve must not tear down a better plan: keep the current one."""
    jobs = {job.id for job in translation.problem.jobs}
    before = {s.order_id for r in previous.routes for s in r.stops} & jobs
    after = {
        v.job_id for r in solution.routes for v in r.visits if v.kind == "delivery"
    }
    if len(after) < len(before):
        raise PlanDegraded(
            f"degraded solve serves {len(after)} orders, the current plan {len(before)}"
        )
