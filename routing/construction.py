"""Fast greedy first plan for large problems (pure Python, no solver).

OR-Tools' own construction heuristics re-schedule every partial route through its
cumul optimisers, which is slow with soft windows and hold-time limits on thousands of
nodes. This builds a feasible start instead: on-board deliveries first (earliest
deadline), then repeatedly the cheapest (vehicle, job, pickup site) extension that
appends pickup then delivery to a route end and keeps every hard rule (windows,
hold time, capacity, skills, shift end). The engine then improves it (warm start).
"""

from __future__ import annotations

from routing.layout import Layout
from routing.model import MAX_TIME_S, Job, RoutingProblem, Site, Vehicle


def _window(site: Site) -> tuple[int, int]:
    if site.window is None:
        return 0, MAX_TIME_S
    return site.window.start_s, site.window.end_s if site.window.hard else MAX_TIME_S


class _State:
    """End of one route being built."""

    def __init__(self, problem: RoutingProblem, vehicle: Vehicle) -> None:
        self.vehicle = vehicle
        self.location = vehicle.start
        self.time_s = vehicle.start_s
        self.nodes: list[int] = []
        self.load = list(problem.start_load(vehicle))

    def finish_ok(self, problem: RoutingProblem, location: int, time_s: int) -> bool:
        end = self.vehicle.end if self.vehicle.end is not None else location
        return (
            time_s + problem.travel_s(self.vehicle, location, end) <= self.vehicle.end_s
        )


def greedy_routes(
    problem: RoutingProblem, layout: Layout, seed: list[list[int]] | None = None
) -> list[list[int]]:
    """Node sequences per vehicle; jobs that fit nowhere are left out.

    ``seed`` routes (e.g. a mapped previous plan) are kept as route prefixes and
    only the jobs they do not contain are appended.
    """
    states = [_State(problem, vehicle) for vehicle in problem.vehicles]
    index = {vehicle.id: v for v, vehicle in enumerate(problem.vehicles)}
    placed: set[int] = set()
    for state, nodes in zip(states, seed or [], strict=False):
        for node in nodes:
            info = layout.nodes[node]
            job = problem.jobs[info.job]
            if info.site is None:
                continue
            _append(problem, state, node, info.site, job)
            sign = -1 if info.kind == "delivery" else 1
            amounts = job.demand or (0,) * len(state.load)
            state.load = [
                a + sign * b for a, b in zip(state.load, amounts, strict=True)
            ]
            placed.add(info.job)
    on_board = sorted(
        (
            j
            for j, job in enumerate(problem.jobs)
            if job.on_board is not None and j not in placed
        ),
        key=lambda j: _window(problem.jobs[j].delivery)[1],
    )
    for j in on_board:
        job = problem.jobs[j]
        state = states[index[job.on_board or ""]]
        _append(problem, state, layout.jobs[j].delivery, job.delivery, job)
        amounts = job.demand or (0,) * len(state.load)
        state.load = [a - b for a, b in zip(state.load, amounts, strict=True)]
    # Earliest deadline first, each job to its cheapest feasible (vehicle, pickup).
    pending = sorted(
        (
            j
            for j, job in enumerate(problem.jobs)
            if job.on_board is None and j not in placed
        ),
        key=lambda j: (-problem.jobs[j].priority, _window(problem.jobs[j].delivery)[1]),
    )
    for j in pending:
        job, group = problem.jobs[j], layout.jobs[j]
        best: tuple[int, int, int] | None = None
        for v, state in enumerate(states):
            option = _best_extension(problem, state, job)
            if option is not None and (best is None or option[0] < best[0]):
                best = (option[0], v, option[1])
        if best is None:
            continue
        _, v, pickup_index = best
        state = states[v]
        if group.pickups:
            _append(
                problem,
                state,
                group.pickups[pickup_index],
                job.pickups[pickup_index],
                job,
            )
            _append(problem, state, group.deliveries[pickup_index], job.delivery, job)
        else:
            _append(problem, state, group.delivery, job.delivery, job)
            state.load = [
                a + b
                for a, b in zip(
                    state.load, job.demand or [0] * len(state.load), strict=True
                )
            ]
    return [state.nodes for state in states]


def _append(
    problem: RoutingProblem, state: _State, node: int, site: Site, job: Job
) -> None:
    arrival = state.time_s + problem.travel_s(
        state.vehicle, state.location, site.location
    )
    state.time_s = max(arrival, _window(site)[0]) + site.service_s
    state.location = site.location
    state.nodes.append(node)


def _best_extension(
    problem: RoutingProblem, state: _State, job: Job
) -> tuple[int, int, int] | None:
    """(added cost, pickup index, 0) of the cheapest feasible append, if any."""
    vehicle = state.vehicle
    if not problem.may_serve(vehicle, job):
        return None
    if job.demand and any(
        load + amount > cap
        for load, amount, cap in zip(
            state.load, job.demand, vehicle.capacity, strict=True
        )
    ):
        return None
    sites: tuple[Site | None, ...] = job.pickups or (None,)
    best: tuple[int, int, int] | None = None
    for i, pickup in enumerate(sites):
        here, now, cost = state.location, state.time_s, 0
        picked_at = None
        if pickup is not None:
            opens, closes = _window(pickup)
            begin = max(now + problem.travel_s(vehicle, here, pickup.location), opens)
            if begin > closes:
                continue
            cost += problem.cost_of_arc(vehicle, here, pickup.location)
            picked_at, here, now = begin, pickup.location, begin + pickup.service_s
        delivery = job.delivery
        opens, closes = _window(delivery)
        begin = max(now + problem.travel_s(vehicle, here, delivery.location), opens)
        if begin > closes:
            continue
        held = begin - picked_at if picked_at is not None else 0
        if job.max_transit_s is not None and held > job.max_transit_s:
            continue
        cost += problem.cost_of_arc(vehicle, here, delivery.location)
        if not state.finish_ok(problem, delivery.location, begin + delivery.service_s):
            continue
        if not state.nodes:
            cost += vehicle.fixed_cost
        if best is None or cost < best[0]:
            best = (cost, i, 0)
    return best


def earliest_starts(
    problem: RoutingProblem, layout: Layout, routes: list[list[int]]
) -> tuple[dict[int, int], tuple[int, ...]]:
    """Earliest service start per node of ``routes`` and each route's end time.

    A pickup is delayed when its job's delivery would otherwise exceed the hold
    time (the least schedule meeting every lower bound and hold-time limit: all
    visits as early as possible, so lateness is minimal too).
    """
    starts: dict[int, int] = {}
    ends: list[int] = []
    for vehicle, nodes in zip(problem.vehicles, routes, strict=True):
        floor: dict[int, int] = {}
        for _ in range(len(nodes) + 1):
            begins, end = _forward(problem, layout, vehicle, nodes, floor)
            if not _delay_pickups(problem, layout, nodes, begins, floor):
                break
        starts.update(begins)
        ends.append(end)
    return starts, tuple(ends)


def _forward(
    problem: RoutingProblem,
    layout: Layout,
    vehicle: Vehicle,
    nodes: list[int],
    floor: dict[int, int],
) -> tuple[dict[int, int], int]:
    begins: dict[int, int] = {}
    here, now = vehicle.start, vehicle.start_s
    for node in nodes:
        site = layout.nodes[node].site
        if site is None:
            continue
        arrival = now + problem.travel_s(vehicle, here, site.location)
        begin = max(arrival, _window(site)[0], floor.get(node, 0))
        begins[node] = begin
        here, now = site.location, begin + site.service_s
    end = vehicle.end if vehicle.end is not None else here
    return begins, now + problem.travel_s(vehicle, here, end)


def _delay_pickups(
    problem: RoutingProblem,
    layout: Layout,
    nodes: list[int],
    begins: dict[int, int],
    floor: dict[int, int],
) -> bool:
    """Raise the floor of pickups held too long; True if any was raised."""
    raised = False
    picked: dict[int, int] = {}
    for node in nodes:
        info = layout.nodes[node]
        if info.kind == "pickup":
            picked[info.job] = node
        elif info.kind == "delivery" and info.job in picked:
            limit = problem.jobs[info.job].max_transit_s
            pickup = picked[info.job]
            if limit is not None and begins[node] - begins[pickup] > limit:
                floor[pickup] = begins[node] - limit
                raised = True
    return raised
