"""One single-process search run (``Run``) and what its phases share.

A run is a problem, its parameters, its node layout and a deadline. Its phases hand
each other engine results (layout job nodes per vehicle), keep a new plan only when
it is no worse (``served``, ``versus_start``) and read the last one back as a
``RoutingSolution``, with a reason for every job left out (``to_solution``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from routing.diagnosis import diagnose
from routing.extract import build_routes
from routing.layout import Layout
from routing.model import RoutingProblem, RoutingSolution
from routing.ortools_backend import EngineRequest, EngineResult, run_engine
from routing.params import SolverParams

READ_BACK_S_PER_NODE = 1.4e-4
"""Time kept after the search to read the plan back and free the model (about
0.27 s at 2,000 nodes: the engine overshoots its limit by ~0.1 s under load and
tearing down a 1,920-node model takes ~0.05 s)."""


@dataclass
class Run:
    """Mutable state of one single-process run."""

    problem: RoutingProblem
    params: SolverParams
    layout: Layout
    deadline: float

    def remaining_s(self) -> float:
        return self.deadline - time.monotonic()

    def engine(self, request: EngineRequest) -> EngineResult:
        return run_engine(self.problem, self.layout, self.params, request)


def served(result: EngineResult) -> int:
    """Job nodes the plan visits (a pickup and its delivery count two): plans are
    compared on this first, then on their objective."""
    return sum(len(s) for s in result.sequences)


def versus_start(start: EngineResult, result: EngineResult) -> EngineResult:
    """Keep the search's plan only if it is no worse; say whether it improved."""
    if (served(result), -result.objective) < (served(start), -start.objective):
        return start
    status = result.status
    if result.objective < start.objective:
        status = "optimal" if status == "optimal" else "feasible"
    return replace(result, status=status, warm_started=start.warm_started)


def to_solution(run: Run, result: EngineResult, eliminated: int) -> RoutingSolution:
    """``result`` as routes with visit times, every job it leaves out explained."""
    problem, layout = run.problem, run.layout
    routes = build_routes(
        problem, layout, result.sequences, result.start_s, result.route_start_s
    )
    served_jobs = {layout.nodes[n].job for s in result.sequences for n in s}
    unassigned = []
    for j, job in enumerate(problem.jobs):
        if j not in served_jobs:
            unassigned.append(diagnose(problem, job))
    status = result.status
    return RoutingSolution(
        routes=routes,
        unassigned=tuple(unassigned),
        cost=result.objective,
        status=status,  # type: ignore[arg-type]
        stats={
            "warm_started": float(result.warm_started),
            "routes_eliminated": float(eliminated),
        },
    )
