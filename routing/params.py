"""Solver parameters: a frozen, self-validating dataclass (PyVRP ``Params`` shape)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from routing.errors import InvalidParams


class FirstSolution(StrEnum):
    """Construction heuristic of the first solution (OR-Tools names, lower case)."""

    AUTOMATIC = "automatic"
    PATH_CHEAPEST_ARC = "path_cheapest_arc"
    PARALLEL_CHEAPEST_INSERTION = "parallel_cheapest_insertion"
    LOCAL_CHEAPEST_INSERTION = "local_cheapest_insertion"
    SAVINGS = "savings"
    SWEEP = "sweep"
    CHRISTOFIDES = "christofides"


class Metaheuristic(StrEnum):
    """Improvement metaheuristic run until the time limit."""

    AUTOMATIC = "automatic"
    GREEDY_DESCENT = "greedy_descent"
    GUIDED_LOCAL_SEARCH = "guided_local_search"
    SIMULATED_ANNEALING = "simulated_annealing"
    TABU_SEARCH = "tabu_search"
    ITERATED_LOCAL_SEARCH = "iterated_local_search"
    """Ruin (SISR string removals) and recreate, with simulated-annealing acceptance;
    warm-started runs fall back to guided local search."""


@dataclass(frozen=True, slots=True)
class SolverParams:
    """How long and how to search; validated on construction (``InvalidParams``).

    The search is deterministic for a given ``seed`` when it is bounded by
    ``solution_limit`` rather than only by wall time (a wall-clock limit stops the
    search wherever the CPU got to).
    """

    time_limit_s: float = 5.0
    seed: int = 0
    first_solution: FirstSolution = FirstSolution.PATH_CHEAPEST_ARC
    metaheuristic: Metaheuristic = Metaheuristic.ITERATED_LOCAL_SEARCH
    num_workers: int = 1
    """Independent diversified searches run in parallel processes (best one wins)."""
    minimise_vehicles: bool = False
    """Run a route-elimination phase (fewest vehicles first, then cost)."""
    gls_lambda: float = 0.1
    """Guided-local-search penalty coefficient."""
    ruin_visits: int = 20
    """Average number of visits removed per ruin step (iterated local search)."""
    solution_limit: int | None = None
    """Stop after this many improving solutions (makes runs repeatable)."""
    lateness_cost_per_s: int = 10
    """Cost of one second of lateness at a soft window, for a priority-0 job."""
    urgent_factor: int = 10
    """Lateness and drop costs are multiplied by ``1 + urgent_factor * priority``."""
    drop_penalty: int | None = None
    """Cost of dropping a priority-0 job; None derives it from the matrices."""
    plain: bool = False
    """Plain OR-Tools (no own phases, default operators): the benchmark baseline."""

    def __post_init__(self) -> None:
        if not math.isfinite(self.time_limit_s) or self.time_limit_s <= 0:
            raise InvalidParams("time_limit_s", "must be a positive number of seconds")
        if self.seed < 0:
            raise InvalidParams("seed", "must be >= 0")
        if not 1 <= self.num_workers <= 64:
            raise InvalidParams("num_workers", "must be between 1 and 64")
        if not math.isfinite(self.gls_lambda) or self.gls_lambda <= 0:
            raise InvalidParams("gls_lambda", "must be positive")
        if self.ruin_visits < 1:
            raise InvalidParams("ruin_visits", "must be >= 1")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise InvalidParams("solution_limit", "must be >= 1")
        for name in ("lateness_cost_per_s", "urgent_factor"):
            if getattr(self, name) < 0:
                raise InvalidParams(name, "must be >= 0")
        if self.drop_penalty is not None and self.drop_penalty < 1:
            raise InvalidParams("drop_penalty", "must be >= 1")
        try:
            first = FirstSolution(self.first_solution)
            meta = Metaheuristic(self.metaheuristic)
        except ValueError as exc:
            raise InvalidParams("first_solution/metaheuristic", str(exc)) from exc
        object.__setattr__(self, "first_solution", first)
        object.__setattr__(self, "metaheuristic", meta)
