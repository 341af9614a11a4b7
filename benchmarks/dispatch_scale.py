"""Dispatch-scale benchmark on the bundled city (Malta road network).

``python -m benchmarks.dispatch_scale [--quick] [--json FILE] [--seed N]``

300 open orders, 60 riders, 40 pharmacies, 3 candidate pharmacies per order (about
20 % urgent, 30 % cold). Reports, with every plan checked by ``routing.feasibility``:

- time to a feasible plan at a 2 s limit (target: all orders served, <= 2 s), with
  the plain OR-Tools baseline (``SolverParams(plain=True)``: its own first solution
  and guided local search, none of our phases) in the same run;
- a warm-started re-plan after 10 new orders at a 1 s limit, against a cold solve
  of the same grown problem at the same limit;
- how the objective improves from 2 s to 5 s and 10 s.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._report import print_table, write_json
from benchmarks.city_problem import (
    CityScenario,
    ScenarioParams,
    add_orders,
    generate,
    summarise,
)
from dispatch.city.loader import (
    DEFAULT_EXTRACT,
    City,
    build_city,
    file_sha256,
    load_city,
)
from routing import (
    NoSolutionFound,
    RoutingSolution,
    SolverParams,
    Unassigned,
    UnassignedReason,
    solve,
)
from routing.feasibility import check
from routing.matrix import HaversineProvider, RoadNetworkProvider


@dataclass
class Row:
    """One solve: what was asked, how long it took, what the plan is worth."""

    case: str
    orders: int
    limit_s: float
    wall_s: float
    served: int
    unassigned: int
    riders_used: int
    objective: int
    travel_s: int
    on_time_pct: float
    violations: int
    warm_started: bool
    status: str
    """"degraded": the time ran out before any search improved the first plan."""


def run_solve(
    case: str,
    scenario: CityScenario,
    params: SolverParams,
    initial: RoutingSolution | None = None,
) -> tuple[Row, RoutingSolution]:
    """Solve, check and summarise one case."""
    started = time.perf_counter()
    try:
        solution = solve(scenario.problem, params, initial)
    except NoSolutionFound:  # plain OR-Tools may find no first plan in time
        solution = RoutingSolution(
            routes=(),
            unassigned=tuple(
                Unassigned(job.id, UnassignedReason.NOT_PROFITABLE, "no plan found")
                for job in scenario.problem.jobs
            ),
            status="degraded",
        )
    wall_s = time.perf_counter() - started
    summary = summarise(scenario.problem, solution)
    row = Row(
        case=case,
        orders=summary.orders,
        limit_s=params.time_limit_s,
        wall_s=round(wall_s, 3),
        served=summary.served,
        unassigned=len(solution.unassigned),
        riders_used=summary.riders_used,
        objective=solution.cost,
        travel_s=summary.travel_s,
        on_time_pct=round(100 * summary.on_time_share, 1),
        violations=len(check(scenario.problem, solution)),
        warm_started=bool(solution.stats.get("warm_started", 0)),
        status=solution.status,
    )
    return row, solution


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="small and short (CI smoke)"
    )
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=Path("var"))
    args = parser.parse_args(argv)
    ladder: tuple[float, ...]

    if args.quick:
        shape = ScenarioParams(orders=60, riders=15, pharmacies=20, seed=args.seed)
        first_s, replan_s, ladder = 1.0, 0.5, (1.0, 2.0)
    else:
        shape = ScenarioParams(seed=args.seed)
        first_s, replan_s, ladder = 2.0, 1.0, (2.0, 5.0, 10.0)

    t0 = time.perf_counter()
    city = load_city(data_dir=args.data_dir)
    load_s = time.perf_counter() - t0
    provider = RoadNetworkProvider(city.roads)
    t0 = time.perf_counter()
    provider.preload([(p.lat, p.lon) for p in city.served_pharmacies])
    preload_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    scenario = generate(city, provider, shape)
    build_s = time.perf_counter() - t0

    figures = city_figures(city, args.data_dir, 200 if args.quick else 700)
    rows: list[Row] = []
    params = SolverParams(time_limit_s=first_s, seed=args.seed)
    firsts = [
        run_solve("first plan", scenario, params),
        run_solve("first plan, plain OR-Tools", scenario, replace(params, plain=True)),
    ]
    rows.extend(row for row, _ in firsts)
    # Warm-start from the best first plan (most served, then cheapest).
    seed_row, seed_plan = min(firsts, key=lambda f: (-f[0].served, f[0].objective))

    t0 = time.perf_counter()
    grown = add_orders(scenario, city, provider, 10, seed=args.seed + 1)
    rebuild_s = time.perf_counter() - t0
    replan = SolverParams(time_limit_s=replan_s, seed=args.seed)
    rows.append(run_solve("re-plan +10, warm", grown, replan, seed_plan)[0])
    rows.append(run_solve("re-plan +10, cold", grown, replan)[0])

    for limit in ladder[1:]:
        rows.append(
            run_solve(
                f"improve {limit:g} s",
                scenario,
                SolverParams(time_limit_s=limit, seed=args.seed),
            )[0]
        )

    result = {
        "benchmark": "dispatch_scale",
        "quick": args.quick,
        "scenario": asdict(shape),
        "city": {
            "graph_nodes": city.roads.num_nodes,
            "graph_edges": city.roads.num_edges,
            "load_s": round(load_s, 3),
            "from_cache": bool(city.stats.get("from_cache")),
            **figures,
        },
        "matrix": {
            "points": int(scenario.points.shape[0]),
            "preload_pharmacies_s": round(preload_s, 3),
            "build_s": round(build_s, 3),
            "rebuild_points": int(grown.points.shape[0]),
            "rebuild_s": round(rebuild_s, 3),
            "rows_from_cache": provider.stats["rows_from_cache"],
        },
        "warm_start_from": seed_row.case,
        "rows": [asdict(r) for r in rows],
        "ratios": _ratios(rows),
    }
    source = "cache" if city.stats.get("from_cache") else "parsed"
    print(
        f"city: {city.roads.num_nodes} nodes, {city.roads.num_edges} edges, "
        f"load {load_s:.2f} s ({source}); "
        f"pharmacy rows {preload_s:.2f} s; matrix {scenario.points.shape[0]} pts "
        f"{build_s:.2f} s; +10 orders (extend to {grown.points.shape[0]} pts) "
        f"{rebuild_s:.2f} s"
    )
    print(
        f"city parse (cold) {figures['cold_parse_s']:.2f} s, cached load "
        f"{figures['warm_load_s']:.3f} s; {figures['matrix_points']}x"
        f"{figures['matrix_points']} road matrix {figures['road_matrix_s']:.2f} s "
        f"(haversine {figures['haversine_matrix_s']:.3f} s)"
    )
    table = [asdict(r) for r in rows]
    print_table([list(r.values()) for r in table], list(table[0]))
    print(f"warm re-plan started from: {seed_row.case}")
    for name, value in result["ratios"].items():
        print(f"{name}: {value}")
    if args.json:
        write_json(
            args.json,
            result,
            baseline="row 'first plan, plain OR-Tools' (SolverParams(plain=True)) for"
            " the first plan; row 're-plan +10, cold' for the warm re-plan",
        )
    return result


def city_figures(city: City, data_dir: Path, points: int) -> dict[str, float]:
    """Parse (no cache) vs cached load; a points x points road matrix vs haversine."""
    t0 = time.perf_counter()
    build_city(DEFAULT_EXTRACT, file_sha256(DEFAULT_EXTRACT))
    parse_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    load_city(data_dir=data_dir)
    cached_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    pick = rng.choice(len(city.home_lat), points, replace=False)
    coords = np.column_stack([city.home_lat[pick], city.home_lon[pick]])
    t0 = time.perf_counter()
    HaversineProvider().matrices(coords)
    haversine_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    RoadNetworkProvider(city.roads).matrices(coords)
    road_s = time.perf_counter() - t0
    return {
        "cold_parse_s": round(parse_s, 3),
        "warm_load_s": round(cached_s, 3),
        "warm_vs_cold": round(cached_s / parse_s, 4),
        "matrix_points": points,
        "road_matrix_s": round(road_s, 3),
        "haversine_matrix_s": round(haversine_s, 3),
        "road_vs_haversine": round(road_s / haversine_s, 1),
    }


def _ratios(rows: list[Row]) -> dict[str, float | None]:
    """Served shares (in-run baselines) and the 2 s -> 10 s improvement."""
    by_case = {r.case: r for r in rows}
    first = by_case["first plan"]
    warm, cold = by_case["re-plan +10, warm"], by_case["re-plan +10, cold"]
    last = rows[-1]

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 3) if b else None

    out: dict[str, float | None] = {
        f"served_share[{r.case}]": ratio(r.served, r.orders) for r in rows
    }
    out["warm_vs_cold_replan_served"] = ratio(warm.served, cold.served)
    out["objective_last_vs_first"] = ratio(last.objective, first.objective)
    out["travel_last_vs_first"] = ratio(last.travel_s, first.travel_s)
    return out


if __name__ == "__main__":
    main()
