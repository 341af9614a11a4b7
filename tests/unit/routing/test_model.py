"""Validation of problems and parameters: clear typed errors naming the field."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from routing import (
    InvalidParams,
    InvalidProblem,
    Job,
    RoutingError,
    RoutingProblem,
    Site,
    SolverParams,
    TimeWindow,
    Vehicle,
)

from .builders import line_matrix, line_problem, service

MATRIX = line_matrix([0.0, 1.0, 2.0])
NAN: Any = float("nan")


def _problem(**overrides: object) -> RoutingProblem:
    fields: dict[str, object] = {
        "durations": {"default": MATRIX},
        "vehicles": (Vehicle("v", 0, 0, capacity=(3,)),),
        "jobs": (Job("a", Site(1), demand=(1,)),),
    }
    fields.update(overrides)
    return RoutingProblem(**fields)  # type: ignore[arg-type]


def test_window_closing_before_opening_is_rejected() -> None:
    """An inverted window names the window and both bounds."""
    with pytest.raises(
        InvalidProblem, match=r"window: closes \(5\) before it opens \(9\)"
    ):
        TimeWindow(9, 5)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Site(1, service_s=-5), "site.service_s"),
        (lambda: TimeWindow(-1, 5), "window.start_s"),
        (lambda: Vehicle("v", 0, start_s=10, end_s=5), "vehicle 'v'.end_s"),
        (lambda: Job("a", Site(1), demand=(-1,)), "job 'a'.demand[0]"),
        (lambda: Job("a", Site(1), max_transit_s=NAN), "job 'a'.max_transit_s"),
    ],
)
def test_negative_or_nan_values_are_rejected(build: object, field: str) -> None:
    """Negative times, negative demand and NaN are refused with the field's name."""
    with pytest.raises(InvalidProblem) as info:
        build()  # type: ignore[operator]
    assert info.value.field == field


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"durations": {"default": np.array([[0, np.nan], [1, 0]])}},
            "durations['default']",
        ),
        ({"durations": {"default": np.zeros((2, 3))}}, "durations['default']"),
        ({"durations": {"default": -MATRIX}}, "durations['default']"),
        ({"durations": {"car": MATRIX}}, "vehicle 'v'.profile"),
        ({"distances": np.zeros((2, 2))}, "distances"),
        ({"jobs": (Job("a", Site(7)),)}, "job 'a'.delivery.location"),
        ({"jobs": (Job("a", Site(1), demand=(1, 2)),)}, "job 'a'.demand"),
        ({"jobs": (Job("a", Site(1)), Job("a", Site(2)))}, "jobs"),
        ({"jobs": (Job("a", Site(1), on_board="ghost"),)}, "job 'a'.on_board"),
        (
            {
                "vehicles": (
                    Vehicle("v", 0, locked_next=("zz", "delivery"), capacity=(1,)),
                )
            },
            "vehicle 'v'.locked_next",
        ),
        ({"vehicles": ()}, "vehicles"),
    ],
)
def test_inconsistent_problems_are_rejected(
    overrides: dict[str, object], field: str
) -> None:
    """Shape, NaN, unknown profile/vehicle/job, bad index: InvalidProblem(field)."""
    with pytest.raises(InvalidProblem) as info:
        _problem(**overrides)
    assert info.value.field == field
    assert isinstance(info.value, RoutingError)
    assert info.value.code == "invalid_problem"


def test_locking_a_pickup_with_several_candidates_is_ambiguous() -> None:
    """A locked pickup must name one pharmacy."""
    job = Job("a", Site(2), pickups=(Site(1), Site(0)))
    with pytest.raises(InvalidProblem, match="exactly one candidate"):
        line_problem([Vehicle("v", 0, locked_next=("a", "pickup"))], [job])


def test_problem_pickles_and_matrices_are_read_only() -> None:
    """Problems cross process boundaries; their matrices cannot be mutated."""
    problem = line_problem([Vehicle("v", 0, 0)], [service("a", 1)])
    copy = pickle.loads(pickle.dumps(problem))  # noqa: S301 - our own bytes
    assert copy.jobs == problem.jobs
    with pytest.raises(ValueError, match="read-only"):
        problem.durations["default"][0, 1] = 3


@pytest.mark.parametrize(
    "overrides",
    [
        {"time_limit_s": 0},
        {"time_limit_s": float("nan")},
        {"seed": -1},
        {"num_workers": 0},
        {"first_solution": "fastest"},
        {"solution_limit": 0},
    ],
)
def test_invalid_solver_params_are_rejected(overrides: dict[str, object]) -> None:
    """SolverParams validates itself on construction."""
    with pytest.raises(InvalidParams):
        SolverParams(**overrides)  # type: ignore[arg-type]
