"""``rxdispatch demo``: plan a generated dispatch problem on the bundled city.

Interim demo until the city simulator runs end to end: it loads the Malta road
network (cached after the first run), generates a seeded problem (orders picked up
at one of three pharmacies and delivered to homes, urgent and cold orders, riders
where they are), solves it, checks the plan independently and prints a summary.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from dispatch.city import ATTRIBUTION, City, load_city
from dispatch.errors import DispatchError
from dispatch.settings import DatabaseSettings
from routing import (
    RoutingError,
    RoutingProblem,
    RoutingSolution,
    SolverParams,
    Visit,
    check,
    solve,
)
from routing.matrix import RoadNetworkProvider

_MAX_LISTED = 8


def demo_command(
    orders: Annotated[int, typer.Option("--orders", min=1, help="Open orders.")] = 120,
    riders: Annotated[
        int, typer.Option("--riders", min=1, help="Riders on shift.")
    ] = 25,
    pharmacies: Annotated[
        int, typer.Option("--pharmacies", min=3, help="Pharmacies taking part.")
    ] = 30,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Scenario and solver seed.")
    ] = 0,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Solver time limit in seconds.")
    ] = 5.0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir", help="Cache folder (default: RXDISPATCH_DATA_DIR or var/)."
        ),
    ] = None,
) -> None:
    """Plan a generated dispatch problem on Malta and print the plan summary."""
    # The generator lives with the benchmarks (shared by both); imported lazily.
    from benchmarks.city_problem import ScenarioParams, generate

    folder = data_dir if data_dir is not None else DatabaseSettings().data_dir
    try:
        city = load_city(data_dir=folder)
        provider = RoadNetworkProvider(city.roads)
        started = time.perf_counter()
        shape = ScenarioParams(
            orders=orders, riders=riders, pharmacies=pharmacies, seed=seed
        )
        scenario = generate(city, provider, shape)
        matrix_s = time.perf_counter() - started
        params = SolverParams(time_limit_s=time_limit, seed=seed)
        solution = solve(scenario.problem, params)
    except (RoutingError, DispatchError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    violations = check(scenario.problem, solution)
    names = {p.osm_id: p.name for p in scenario.pharmacies}
    _print_header(city, scenario.problem, len(scenario.pharmacies), matrix_s)
    _print_plan(scenario.problem, solution, len(violations), names)
    for violation in violations[:_MAX_LISTED]:
        typer.echo(f"  VIOLATION {violation.code}: {violation.message}")
    if violations:
        raise typer.Exit(3)


def _print_header(
    city: City, problem: RoutingProblem, pharmacies: int, matrix_s: float
) -> None:
    urgent = sum(1 for job in problem.jobs if job.priority > 0)
    cold = sum(1 for job in problem.jobs if job.max_transit_s is not None)
    fleet: dict[str, int] = {}
    for vehicle in problem.vehicles:
        fleet[vehicle.profile] = fleet.get(vehicle.profile, 0) + 1
    source = "cache" if city.stats.get("from_cache") else "OpenStreetMap extract"
    typer.echo(f"rxdispatch demo - Malta. {ATTRIBUTION}")
    typer.echo(
        f"city: {city.roads.num_nodes:,} road nodes, {city.roads.num_edges:,} edges "
        f"(from {source} in {city.stats.get('load_s', 0):.2f} s), "
        f"{len(city.served_pharmacies)} pharmacies on the main island"
    )
    typer.echo(
        f"problem: {len(problem.jobs)} orders ({urgent} urgent, {cold} cold), "
        f"{pharmacies} pharmacies (3 candidates per order), {len(problem.vehicles)} "
        f"riders ({', '.join(f'{n} {p}' for p, n in sorted(fleet.items()))}); "
        f"road matrices for {problem.num_locations} points in {matrix_s:.2f} s"
    )


def _print_plan(
    problem: RoutingProblem,
    solution: RoutingSolution,
    violations: int,
    pharmacy_names: dict[str, str],
) -> None:
    from benchmarks.city_problem import summarise

    summary = summarise(problem, solution)
    typer.echo(
        f"plan: {solution.status} after {solution.solve_time_s:.1f} s, "
        f"{violations} violations (independent check)"
    )
    typer.echo(
        f"  served {summary.served}/{summary.orders} orders "
        f"(urgent {summary.urgent_served}/{summary.urgent}, "
        f"cold {summary.cold_served}/{summary.cold}); "
        f"riders used {summary.riders_used}/{summary.riders}"
    )
    typer.echo(
        f"  total travel {_clock(summary.travel_s)}, "
        f"on time {100 * summary.on_time_share:.1f} % of deliveries"
    )
    if solution.unassigned:
        reasons = ", ".join(
            f"{n} {r}" for r, n in sorted(summary.unassigned_by_reason.items())
        )
        typer.echo(f"  unassigned {len(solution.unassigned)}: {reasons}")
        for item in solution.unassigned[:_MAX_LISTED]:
            typer.echo(f"    {item.job_id}: {item.reason} - {item.detail}")
    typer.echo("  first stops per rider (minutes from now):")
    vehicles = {v.id: v for v in problem.vehicles}
    for route in sorted(solution.routes, key=lambda r: r.vehicle_id):
        if not route.visits:
            continue
        profile = vehicles[route.vehicle_id].profile
        stops = " -> ".join(_stop(v, pharmacy_names) for v in route.visits[:3])
        more = f" (+{len(route.visits) - 3} more)" if len(route.visits) > 3 else ""
        typer.echo(f"    {route.vehicle_id} ({profile}): {stops}{more}")


def _stop(visit: Visit, pharmacy_names: dict[str, str]) -> str:
    at = f"@{visit.start_s // 60}"
    if visit.kind == "pickup":
        where = pharmacy_names.get(visit.site_ref, visit.site_ref)
        return f"pick {visit.job_id} at {where} {at}"
    late = f" late {visit.late_s // 60} min" if visit.late_s else ""
    return f"deliver {visit.job_id} {at}{late}"


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min"
