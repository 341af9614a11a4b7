"""Routing engine: a pure solver over plain data (OR-Tools inside).

Public surface: the problem and solution types of :mod:`routing.model`, the
parameters of :mod:`routing.params`, the error tree of :mod:`routing.errors`,
``solve`` (the façade) and ``check`` (the independent feasibility checker).
"""

from routing.errors import (
    InvalidInstance,
    InvalidParams,
    InvalidProblem,
    NoSolutionFound,
    RoutingError,
)
from routing.feasibility import Violation, check
from routing.model import (
    MAX_TIME_S,
    Job,
    ReleasedLock,
    Route,
    RoutingProblem,
    RoutingSolution,
    Site,
    TimeWindow,
    Unassigned,
    UnassignedReason,
    Vehicle,
    Visit,
)
from routing.params import FirstSolution, Metaheuristic, SolverParams
from routing.solver import solve

__all__ = [
    "MAX_TIME_S",
    "FirstSolution",
    "InvalidInstance",
    "InvalidParams",
    "InvalidProblem",
    "Job",
    "Metaheuristic",
    "NoSolutionFound",
    "ReleasedLock",
    "Route",
    "RoutingError",
    "RoutingProblem",
    "RoutingSolution",
    "Site",
    "SolverParams",
    "TimeWindow",
    "Unassigned",
    "UnassignedReason",
    "Vehicle",
    "Violation",
    "Visit",
    "check",
    "solve",
]
