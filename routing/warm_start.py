"""Map a previous plan onto the nodes of a new problem (pure, for warm starts).

Visits of jobs or vehicles that no longer exist are dropped, as are pickups of jobs
now on board, half pairs (a delivery whose pickup is missing) and visits to nodes the
engine may not use. A locked next stop is moved to the front of its route.
"""

from __future__ import annotations

from routing.layout import Layout
from routing.model import RoutingProblem, RoutingSolution, Visit


def initial_routes(
    problem: RoutingProblem,
    layout: Layout,
    previous: RoutingSolution,
    *,
    usable: frozenset[int] | None = None,
) -> list[list[int]]:
    """Node sequences (one per vehicle, in problem order) taken from ``previous``."""
    job_index = {job.id: j for j, job in enumerate(problem.jobs)}
    vehicle_index = {vehicle.id: v for v, vehicle in enumerate(problem.vehicles)}
    routes: list[list[int]] = [[] for _ in problem.vehicles]
    used: set[int] = set()
    for route in previous.routes:
        v = vehicle_index.get(route.vehicle_id)
        if v is None:
            continue
        sequence: list[int] = []
        chosen: dict[int, int] = {}
        for visit in route.visits:
            node = _node_of(layout, job_index, visit, chosen)
            if (
                node is None
                or node in used
                or (usable is not None and node not in usable)
            ):
                continue
            job = problem.jobs[layout.nodes[node].job]
            if job.on_board is not None and job.on_board != route.vehicle_id:
                continue
            sequence.append(node)
            used.add(node)
        routes[v] = _drop_half_pairs(layout, sequence)
    for v, vehicle in enumerate(problem.vehicles):
        if vehicle.locked_next is not None:
            routes[v] = _lock_first(problem, layout, job_index, routes, v)
    return routes


def _node_of(
    layout: Layout, job_index: dict[str, int], visit: Visit, chosen: dict[int, int]
) -> int | None:
    """Node of ``visit``; a delivery uses the copy paired with the chosen pickup."""
    j = job_index.get(visit.job_id)
    if j is None:
        return None
    group = layout.jobs[j]
    if visit.kind != "pickup":
        return group.deliveries[chosen.get(j, 0)]
    candidates = [
        i
        for i, p in enumerate(group.pickups)
        if layout.nodes[p].location == visit.location
    ]
    by_ref = [i for i in candidates if _ref(layout, group.pickups[i]) == visit.site_ref]
    picked = by_ref or candidates
    if not picked:
        return None
    chosen[j] = picked[0]
    return group.pickups[picked[0]]


def _ref(layout: Layout, node: int) -> str:
    site = layout.nodes[node].site
    return site.ref if site is not None else ""


def _drop_half_pairs(layout: Layout, sequence: list[int]) -> list[int]:
    kept: list[int] = []
    picked: set[int] = set()
    for node in sequence:
        info = layout.nodes[node]
        group = layout.jobs[info.job]
        if info.kind == "pickup":
            partner = group.deliveries[group.pickups.index(node)]
            if partner in sequence:
                picked.add(info.job)
                kept.append(node)
        elif info.kind == "delivery" and group.pickups:
            if info.job in picked:
                kept.append(node)
        else:
            kept.append(node)
    return kept


def _lock_first(
    problem: RoutingProblem,
    layout: Layout,
    job_index: dict[str, int],
    routes: list[list[int]],
    v: int,
) -> list[int]:
    lock = problem.vehicles[v].locked_next
    if lock is None:
        return routes[v]
    group = layout.jobs[job_index[lock[0]]]
    node = group.pickups[0] if lock[1] == "pickup" else group.delivery
    related = set(group.all_nodes())
    for other, route in enumerate(routes):
        if other != v:
            routes[other] = [n for n in route if n not in related]
    rest = [n for n in routes[v] if n != node]
    if lock[1] == "pickup" and group.delivery not in rest:
        rest.append(group.delivery)
    return [node, *rest]
