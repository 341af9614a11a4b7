"""Route quality on standard instances: ours vs plain OR-Tools vs PyVRP, same run.

    python -m benchmarks.routing_quality [--quick] [--json FILE] [--time-limit S]
        [--seeds 0 1 ...] [--instances C101 lc101 ...] [--families solomon ...]
        [--workers N] [--no-baseline] [--no-pyvrp]

Every solution is checked by ``routing.check``; the gap to the best-known solution
is printed per instance and averaged per class. Solomon/Homberger use the DIMACS
convention (distance only); Li & Lim rank vehicles first, so its distance gap is
averaged only over runs that match the BKS vehicle count. Ours runs ``--workers``
diversified searches in parallel (default 2, one per core; the count is printed and
stored per run); the baseline and PyVRP run one.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from benchmarks import _pyvrp_peer
from benchmarks._report import print_table, write_json
from routing import SolverParams, check, solve
from routing.instances import Instance, parse_instance

DATA = Path(__file__).parent / "data" / "routing"
FAMILIES = ("solomon", "homberger200", "lilim100")
QUICK = ("C101", "R103", "lc101")


@dataclass(frozen=True)
class Run:
    """One solver on one instance with one seed."""

    instance: str
    family: str
    cls: str
    solver: str
    seed: int
    time_limit_s: float
    cost: float
    vehicles: int
    bks: float
    bks_vehicles: int
    gap_pct: float
    feasible: bool
    time_s: float
    workers: int
    """Parallel search processes the solver used (ours: ``--workers``)."""


def _class(name: str) -> str:
    if "_" in name:  # Homberger: C1_2_1 -> C1_2
        return name.rsplit("_", 1)[0]
    match = re.match(r"([A-Za-z]+\d)", name)
    return match.group(1) if match else name


def _bks(family: str) -> dict[str, tuple[float, int]]:
    with (DATA / family / "bks.csv").open(encoding="utf-8") as handle:
        return {
            row["instance"]: (float(row["bks_distance"]), int(row["bks_vehicles"]))
            for row in csv.DictReader(handle)
        }


def _ours(
    instance: Instance, time_limit_s: float, seed: int, workers: int
) -> tuple[float, int, bool]:
    params = SolverParams(
        time_limit_s=time_limit_s,
        seed=seed,
        num_workers=workers,
        minimise_vehicles=instance.objective == "vehicles_then_distance",
    )
    return _run(instance, params)


def _baseline(
    instance: Instance, time_limit_s: float, seed: int
) -> tuple[float, int, bool]:
    return _run(
        instance, SolverParams(time_limit_s=time_limit_s, seed=seed, plain=True)
    )


def _run(instance: Instance, params: SolverParams) -> tuple[float, int, bool]:
    solution = solve(instance.problem, params)
    feasible = not check(instance.problem, solution) and not solution.unassigned
    return instance.true_cost(solution), solution.vehicles_used, feasible


def _gap(cost: float, bks: float) -> float:
    return 100.0 * (cost - bks) / bks


def run(args: argparse.Namespace) -> list[Run]:
    """Solve every selected instance with every solver and seed."""
    runs: list[Run] = []
    peer = not args.no_pyvrp and _pyvrp_peer.available()
    if not args.no_pyvrp and not peer:
        print("PyVRP not installed (pip install -e '.[bench]'): peer skipped")
    for family in args.families:
        bks = _bks(family)
        for path in sorted((DATA / family).glob("*.txt")):
            name = path.stem
            if args.instances and name not in args.instances:
                continue
            instance = parse_instance(path.read_text(encoding="utf-8"), str(path))
            best, best_vehicles = bks[name]
            for seed in args.seeds:
                solvers = _solvers(instance, args, seed, peer)
                for solver, call in solvers.items():
                    started = time.perf_counter()
                    cost, vehicles, feasible = call()
                    elapsed = time.perf_counter() - started
                    runs.append(
                        Run(
                            name,
                            family,
                            _class(name),
                            solver,
                            seed,
                            args.time_limit,
                            cost,
                            vehicles,
                            best,
                            best_vehicles,
                            _gap(cost, best),
                            feasible,
                            elapsed,
                            args.workers if solver == "ours" else 1,
                        )
                    )
                    print(
                        f"  {name:10s} {solver:8s} seed {seed}: {cost:10.2f} "
                        f"({vehicles} veh, gap {_gap(cost, best):6.2f} %, "
                        f"{'ok' if feasible else 'INFEASIBLE'}, {elapsed:.1f} s)",
                        flush=True,
                    )
    return runs


def _solvers(
    instance: Instance, args: argparse.Namespace, seed: int, peer: bool
) -> dict[str, Callable[[], tuple[float, int, bool]]]:
    limit = args.time_limit
    solvers: dict[str, Callable[[], tuple[float, int, bool]]] = {
        "ours": partial(_ours, instance, limit, seed, args.workers)
    }
    if not args.no_baseline:
        solvers["ortools"] = partial(_baseline, instance, limit, seed)
    if peer:
        solvers["pyvrp"] = partial(_peer, instance, limit, seed)
    return solvers


def _peer(
    instance: Instance, time_limit_s: float, seed: int
) -> tuple[float, int, bool]:
    result = _pyvrp_peer.solve_with_pyvrp(instance, time_limit_s, seed)
    return result.cost, result.vehicles, result.feasible


def summarise(runs: list[Run]) -> dict[str, dict[str, dict[str, float]]]:
    """Per solver and class: feasible share, mean gap, vehicle excess."""
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for r in runs:
        groups[(r.solver, r.cls)].append(r)
        groups[(r.solver, f"all {r.family}")].append(r)
    summary: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    for (solver, cls), items in sorted(groups.items()):
        hierarchical = items[0].family == "lilim100"
        gap_runs = [
            r for r in items if not hierarchical or r.vehicles == r.bks_vehicles
        ]
        summary[solver][cls] = {
            "runs": len(items),
            "feasible_pct": 100.0 * sum(r.feasible for r in items) / len(items),
            "mean_gap_pct": statistics.fmean(r.gap_pct for r in gap_runs)
            if gap_runs
            else float("nan"),
            "gap_runs": len(gap_runs),
            "mean_extra_vehicles": statistics.fmean(
                r.vehicles - r.bks_vehicles for r in items
            ),
            "max_extra_vehicles": max(r.vehicles - r.bks_vehicles for r in items),
        }
    return summary


def report(runs: list[Run], summary: dict[str, dict[str, dict[str, float]]]) -> None:
    """Print the per-instance table and the per-class means."""
    solvers = sorted(
        {r.solver for r in runs}, key=lambda s: ("ours", "ortools", "pyvrp").index(s)
    )
    by_instance: dict[str, dict[str, list[Run]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for r in runs:
        by_instance[r.instance][r.solver].append(r)
    rows = []
    for name, per_solver in by_instance.items():
        first = next(iter(per_solver.values()))[0]
        row: list[object] = [name, f"{first.bks:.2f}/{first.bks_vehicles}"]
        for solver in solvers:
            items = per_solver.get(solver, [])
            if not items:
                row += [None, None]
                continue
            row.append(f"{statistics.fmean(r.gap_pct for r in items):.2f}")
            row.append(
                f"{statistics.fmean(r.vehicles for r in items):.1f}"
                + ("" if all(r.feasible for r in items) else "!")
            )
        rows.append(row)
    headers = ["instance", "BKS/veh"]
    for solver in solvers:
        headers += [f"{solver} gap%", f"{solver} veh"]
    print()
    print_table(rows, headers)
    print(
        "\n(veh ending in '!': at least one run infeasible or with unassigned jobs)\n"
    )
    class_rows = []
    classes = sorted({cls for per in summary.values() for cls in per})
    for cls in classes:
        row = [cls]
        for solver in solvers:
            s = summary[solver].get(cls)
            row += (
                [None, None, None]
                if s is None
                else [
                    f"{s['mean_gap_pct']:.2f} ({int(s['gap_runs'])})",
                    f"{s['feasible_pct']:.0f}",
                    f"+{s['max_extra_vehicles']:.0f}",
                ]
            )
        class_rows.append(row)
    headers = ["class"]
    for solver in solvers:
        headers += [f"{solver} gap% (n)", "feas%", "max+veh"]
    print_table(class_rows, headers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 instances, 3 s each")
    parser.add_argument("--json", type=Path, help="write runs and summary here")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--instances", nargs="+", default=[])
    parser.add_argument(
        "--families", nargs="+", default=list(FAMILIES), choices=FAMILIES
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="our parallel diversified searches (default 2: one per core)",
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-pyvrp", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.instances = args.instances or list(QUICK)
        args.time_limit = min(args.time_limit, 3.0)
    started = time.perf_counter()
    print(f"ours: {args.workers} worker process(es); baseline and peer: 1")
    runs = run(args)
    summary = summarise(runs)
    report(runs, summary)
    if args.json:
        write_json(
            args.json,
            {
                "benchmark": "routing_quality",
                "args": {
                    k: (str(v) if isinstance(v, Path) else v)
                    for k, v in vars(args).items()
                },
                "wall_s": time.perf_counter() - started,
                "runs": [asdict(r) for r in runs],
                "summary": summary,
            },
            baseline="solver 'ortools': plain OR-Tools (SolverParams(plain=True):"
            " path cheapest arc + guided local search), same instances, seeds and"
            " time limit, one process; 'pyvrp' (if installed) is the peer",
        )


if __name__ == "__main__":
    main()
