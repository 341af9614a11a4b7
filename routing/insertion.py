"""Route costing and cheapest feasible insertion over node sequences (pure Python).

Used to complete a warm start: the previous plan mapped onto the new problem gets
its missing jobs (new orders, jobs dropped by the mapping) inserted at the cheapest
feasible position of any route, pickup and delivery anywhere (not only appended).
Routes are scheduled as early as possible; a route passes when that schedule keeps
every hard rule (windows, hold time, capacity, shift end), which is conservative.
The cost is the engine's objective: arc costs, fixed costs, lateness, drops.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from routing.layout import Layout
from routing.model import RoutingProblem, apply_load
from routing.params import SolverParams
from routing.penalties import base_drop_penalty, drop_penalty, lateness_cost_per_s

_SHORTLIST = 6
"""Cheapest positions kept per (vehicle, pickup site) before exact evaluation."""
_MAX_EXACT = 400
"""Exact route evaluations per inserted job (bounds the time on crowded plans)."""


_NEVER = 2**60


@functools.cache
def _below_diagonal(size: int) -> np.ndarray:
    """Mask of (pickup slot, delivery slot) pairs with the delivery first."""
    return np.tri(size, size, -1, dtype=bool)


@dataclass(frozen=True)
class _Candidate:
    bound: int
    vehicle: int
    nodes: tuple[int, ...]
    slots: tuple[int, ...]


class Planner:
    """Evaluates and extends node sequences of one problem layout."""

    def __init__(
        self, problem: RoutingProblem, layout: Layout, params: SolverParams
    ) -> None:
        self.problem = problem
        self.layout = layout
        self.durations = {p: m.tolist() for p, m in problem.durations.items()}
        self.distances = (
            problem.distances.tolist() if problem.distances is not None else None
        )
        self.arrays = {
            p: (problem.distances if problem.distances is not None else m)
            for p, m in problem.durations.items()
        }
        base = base_drop_penalty(problem, params)
        self.drop = [drop_penalty(job, base, params) for job in problem.jobs]
        self.late = [lateness_cost_per_s(job, params) for job in problem.jobs]
        job_index = {job.id: j for j, job in enumerate(problem.jobs)}
        self.locked: dict[int, tuple[int, ...]] = {}
        """Per vehicle with a locked next stop: that node (then its delivery)."""
        for v, vehicle in enumerate(problem.vehicles):
            if vehicle.locked_next is not None:
                group = layout.jobs[job_index[vehicle.locked_next[0]]]
                if vehicle.locked_next[1] == "pickup":
                    self.locked[v] = (group.pickups[0], group.deliveries[0])
                else:
                    self.locked[v] = (group.delivery,)

    def route_cost(self, v: int, nodes: list[int]) -> int | None:
        """Objective of one route scheduled early, or None when a hard rule breaks."""
        problem, layout = self.problem, self.layout
        lock = self.locked.get(v)
        if lock is not None and (not nodes or nodes[0] != lock[0]):
            return None
        vehicle = problem.vehicles[v]
        dur = self.durations[vehicle.profile]
        arc = self.distances if self.distances is not None else dur
        here, now = vehicle.start, vehicle.start_s
        load = list(problem.start_load(vehicle))
        closed = not problem.takes_new_jobs(vehicle)
        picked: dict[int, int] = {}
        cost = vehicle.fixed_cost if nodes else 0
        for node in nodes:
            info = layout.nodes[node]
            site = info.site
            if site is None:
                continue
            j = info.job
            job = problem.jobs[j]
            if closed and job.on_board is None:
                return None
            loc = site.location
            begin = now + dur[here][loc]
            window = site.window
            if window is not None:
                begin = max(begin, window.start_s)
                if begin > window.end_s:
                    if window.hard:
                        return None
                    cost += (begin - window.end_s) * self.late[j]
            sign = 1
            if info.kind == "pickup":
                picked[j] = begin
            elif info.kind == "delivery":
                sign = -1
                began = job.picked_up_s
                if job.candidate_pickups:
                    if j not in picked:
                        return None
                    began = picked.pop(j)
                limit = job.max_transit_s
                if limit is not None and began is not None and begin - began > limit:
                    return None
            if job.demand and not apply_load(load, sign, job.demand, vehicle.capacity):
                return None
            cost += arc[here][loc]
            here, now = loc, begin + site.service_s
        if picked:
            return None
        if vehicle.end is not None:
            now += dur[here][vehicle.end]
            cost += arc[here][vehicle.end]
        return cost if now <= vehicle.end_s else None

    def plan_cost(self, routes: list[list[int]]) -> int | None:
        """Objective of a whole plan (drops included), None if a route is infeasible."""
        total = 0
        served: set[int] = set()
        for v, nodes in enumerate(routes):
            cost = self.route_cost(v, nodes)
            if cost is None:
                return None
            total += cost
            served.update(self.layout.nodes[n].job for n in nodes)
        return total + sum(
            penalty for j, penalty in enumerate(self.drop) if j not in served
        )

    def allowed(self, j: int) -> list[int]:
        """Vehicles that may serve job ``j`` (locked to it, else ``may_serve``)."""
        problem = self.problem
        job = problem.jobs[j]
        if job.on_board is None:
            locked = [
                v
                for v, veh in enumerate(problem.vehicles)
                if veh.locked_next is not None and veh.locked_next[0] == job.id
            ]
            if locked:
                return locked
        return [
            v for v, veh in enumerate(problem.vehicles) if problem.may_serve(veh, job)
        ]

    def repair(self, routes: list[list[int]]) -> list[list[int]]:
        """Empty-out routes the early schedule rejects, re-inserting their jobs."""
        out = [list(r) for r in routes]
        broken = [v for v, r in enumerate(out) if self.route_cost(v, r) is None]
        for v in broken:
            jobs = list(dict.fromkeys(self.layout.nodes[n].job for n in out[v]))
            out[v] = list(self.locked.get(v, ()))
            kept = {self.layout.nodes[n].job for n in out[v]}
            self.insert(out, [j for j in jobs if j not in kept])
        return out

    def insert(self, routes: list[list[int]], jobs: list[int]) -> list[int]:
        """Insert ``jobs`` (urgent, then tightest first) in place; return misfits."""
        problem = self.problem

        def urgency(j: int) -> tuple[int, int]:
            window = problem.jobs[j].delivery.window
            return (-problem.jobs[j].priority, window.end_s if window else 2**62)

        misfits = []
        for j in sorted(jobs, key=urgency):
            if not self.insert_one(routes, j):
                misfits.append(j)
        return misfits

    def insert_one(self, routes: list[list[int]], j: int) -> bool:
        """Insert job ``j`` at its cheapest feasible position; False if none."""
        candidates = self._candidates(routes, j)
        candidates.sort(key=lambda c: c.bound)
        current: dict[int, int | None] = {}
        best: tuple[int, int, list[int]] | None = None
        for evaluated, cand in enumerate(candidates):
            if evaluated >= _MAX_EXACT or (best is not None and cand.bound >= best[0]):
                break
            v = cand.vehicle
            if v not in current:
                current[v] = self.route_cost(v, routes[v])
            before = current[v]
            if before is None:
                continue
            trial = list(routes[v])
            # Delivery first (its slot is >= the pickup's), then the pickup before it.
            for node, slot in reversed(list(zip(cand.nodes, cand.slots, strict=True))):
                trial.insert(slot, node)
            after = self.route_cost(v, trial)
            if after is not None and (best is None or after - before < best[0]):
                best = (after - before, v, trial)
        if best is None:
            return False
        routes[best[1]] = best[2]
        return True

    def _candidates(self, routes: list[list[int]], j: int) -> list[_Candidate]:
        """Positions with a lower bound of the added cost (arc detours only)."""
        group = self.layout.jobs[j]
        nodes = self.layout.nodes
        out: list[_Candidate] = []
        pairs: list[tuple[int | None, int]]
        if group.pickups:
            pairs = list(zip(group.pickups, group.deliveries, strict=True))
        else:
            pairs = [(None, group.delivery)]
        for v in self.allowed(j):
            vehicle = self.problem.vehicles[v]
            cost = self.arrays[vehicle.profile]
            route = routes[v]
            locs = np.array(
                [vehicle.start, *(nodes[n].location for n in route)], dtype=np.int64
            )
            first = 1 if vehicle.locked_next is not None and route else 0
            fixed = vehicle.fixed_cost if not route else 0
            for pickup, delivery in pairs:
                d_loc = nodes[delivery].location
                add_d = self._detour(cost, locs, d_loc, vehicle.end)
                if pickup is None:
                    order = np.argsort(add_d[first:])[:_SHORTLIST] + first
                    out.extend(
                        _Candidate(int(add_d[i]) + fixed, v, (delivery,), (int(i),))
                        for i in order
                    )
                    continue
                p_loc = nodes[pickup].location
                add_p = self._detour(cost, locs, p_loc, vehicle.end)
                # bound[i, k]: pickup after position i, delivery after position k.
                bound = add_p[:, None] + add_d[None, :]
                after = locs[1:]
                tail = cost[d_loc, after] - cost[p_loc, after]
                last = 0
                if vehicle.end is not None:
                    last = int(cost[d_loc, vehicle.end] - cost[p_loc, vehicle.end])
                same = add_p + int(cost[p_loc, d_loc]) + np.append(tail, last)
                np.fill_diagonal(bound, same)
                bound[_below_diagonal(len(locs))] = _NEVER
                bound[:first, :] = _NEVER
                flat = np.argsort(bound, axis=None)[:_SHORTLIST]
                for f in flat:
                    i, k = divmod(int(f), len(locs))
                    out.append(
                        _Candidate(
                            int(bound[i, k]) + fixed,
                            v,
                            (pickup, delivery),
                            (i, k),
                        )
                    )
        return out

    @staticmethod
    def _detour(
        cost: np.ndarray, locs: np.ndarray, site: int, end: int | None
    ) -> np.ndarray:
        """Added arc cost of visiting ``site`` right after each position of a route."""
        to_site = cost[locs, site].astype(np.int64)
        if len(locs) > 1:
            nxt = locs[1:]
            between = cost[site, nxt] - cost[locs[:-1], nxt]
        else:
            between = np.zeros(0, dtype=np.int64)
        last = int(cost[site, end]) - int(cost[locs[-1], end]) if end is not None else 0
        result: np.ndarray = to_site + np.append(between, last)
        return result
