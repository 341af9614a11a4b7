"""Turn engine node sequences into routes with visit times (pure)."""

from __future__ import annotations

from routing.layout import Layout
from routing.model import Route, RoutingProblem, Visit, VisitKind


def build_routes(
    problem: RoutingProblem,
    layout: Layout,
    sequences: tuple[tuple[int, ...], ...],
    start_s: dict[int, int],
    route_start_s: tuple[int, ...],
) -> tuple[Route, ...]:
    """One ``Route`` per vehicle with at least one visit, in vehicle order."""
    routes: list[Route] = []
    for v, sequence in enumerate(sequences):
        if not sequence:
            continue
        vehicle = problem.vehicles[v]
        visits: list[Visit] = []
        location = vehicle.start
        departure = route_start_s[v]
        distance = 0
        for node in sequence:
            info = layout.nodes[node]
            site = info.site
            if site is None:
                continue
            arrival = departure + problem.travel_s(vehicle, location, site.location)
            distance += problem.cost_of_arc(vehicle, location, site.location)
            begin = max(start_s[node], arrival)
            late = 0
            if site.window is not None and not site.window.hard:
                late = max(0, begin - site.window.end_s)
            kind: VisitKind = (
                "pickup"
                if info.kind == "pickup"
                else "delivery"
                if info.kind == "delivery"
                else "service"
            )
            visits.append(
                Visit(
                    job_id=problem.jobs[info.job].id,
                    kind=kind,
                    location=site.location,
                    site_ref=site.ref,
                    arrival_s=arrival,
                    start_s=begin,
                    departure_s=begin + site.service_s,
                    late_s=late,
                )
            )
            location = site.location
            departure = begin + site.service_s
        end_s = departure
        if vehicle.end is not None:
            end_s = departure + problem.travel_s(vehicle, location, vehicle.end)
            distance += problem.cost_of_arc(vehicle, location, vehicle.end)
        routes.append(
            Route(
                vehicle_id=vehicle.id,
                visits=tuple(visits),
                duration_s=end_s - route_start_s[v],
                distance_m=distance,
                start_s=route_start_s[v],
                end_s=end_s,
            )
        )
    return tuple(routes)
