"""VRPLIB-style solution text: write ours, read published ones (pure).

Written form: one ``Route #k: id id ...`` line per non-empty route (the file's node
ids, depot omitted), an ``Unassigned: id ...`` line if any job is left out, then
``Cost X``. ``read_routes`` also accepts the SINTEF ``Route k : ids`` lines.
``schedule_routes`` turns such id sequences into a timed ``RoutingSolution`` (earliest
service starts) so a published solution can be checked by the feasibility checker.
"""

from __future__ import annotations

import re

from routing.errors import InvalidInstance
from routing.instances import Instance
from routing.model import (
    Job,
    Route,
    RoutingSolution,
    Unassigned,
    UnassignedReason,
    Visit,
    VisitKind,
)

_ROUTE = re.compile(r"^\s*Route\s*#?\s*(\d+)\s*:(.*)$", re.IGNORECASE)


def format_solution(instance: Instance, solution: RoutingSolution) -> str:
    """The solution as VRPLIB text, with the instance's true cost."""
    lines = []
    for k, route in enumerate((r for r in solution.routes if r.visits), start=1):
        ids = " ".join(str(visit.location) for visit in route.visits)
        lines.append(f"Route #{k}: {ids}")
    if solution.unassigned:
        lines.append("Unassigned: " + " ".join(u.job_id for u in solution.unassigned))
    cost = instance.true_cost(solution)
    decimals = 1 if instance.family == "vrptw" else 4
    lines.append(f"Cost {cost:.{decimals}f}")
    return "\n".join(lines) + "\n"


def read_routes(text: str, source: str = "<text>") -> list[list[int]]:
    """Node-id sequences of every ``Route`` line (other lines are ignored)."""
    routes: list[list[int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _ROUTE.match(line)
        if match is None:
            continue
        try:
            routes.append([int(token) for token in match.group(2).split()])
        except ValueError:
            raise InvalidInstance(
                source, number, "route ids must be integers"
            ) from None
    return routes


def schedule_routes(instance: Instance, routes: list[list[int]]) -> RoutingSolution:
    """Timed solution for node-id routes (route k on vehicle k, earliest starts).

    Jobs not visited are reported unassigned (``not_profitable``) so the checker can
    still tell a missing job from a duplicated one.
    """
    problem = instance.problem
    owner: dict[int, tuple[Job, VisitKind]] = {}
    for job in problem.jobs:
        for site in job.candidate_pickups:
            owner[site.location] = (job, "pickup")
        kind: VisitKind = "delivery" if job.candidate_pickups else "service"
        owner[job.delivery.location] = (job, kind)
    if len(routes) > len(problem.vehicles):
        raise InvalidInstance(
            instance.name, None, f"{len(routes)} routes, fleet is smaller"
        )
    timed: list[Route] = []
    seen: set[str] = set()
    for vehicle, ids in zip(problem.vehicles, routes, strict=False):
        here, now, distance, visits = vehicle.start, vehicle.start_s, 0, []
        for node in ids:
            if node not in owner:
                raise InvalidInstance(instance.name, None, f"unknown node id {node}")
            job, kind = owner[node]
            site = job.delivery if kind != "pickup" else job.candidate_pickups[0]
            arrival = now + problem.travel_s(vehicle, here, node)
            start = max(arrival, site.window.start_s if site.window else 0)
            distance += problem.cost_of_arc(vehicle, here, node)
            visits.append(
                Visit(
                    job.id, kind, node, site.ref, arrival, start, start + site.service_s
                )
            )
            seen.add(job.id)
            here, now = node, start + site.service_s
        end = vehicle.end if vehicle.end is not None else here
        finish = now + problem.travel_s(vehicle, here, end)
        distance += problem.cost_of_arc(vehicle, here, end)
        timed.append(
            Route(
                vehicle.id,
                tuple(visits),
                finish - vehicle.start_s,
                distance,
                vehicle.start_s,
                finish,
            )
        )
    missing = tuple(
        Unassigned(job.id, UnassignedReason.NOT_PROFITABLE, "not in the given routes")
        for job in problem.jobs
        if job.id not in seen
    )
    return RoutingSolution(routes=tuple(timed), unassigned=missing)
