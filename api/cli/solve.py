"""``rxdispatch solve``: solve a Solomon/Homberger or Li & Lim instance file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from routing import RoutingError, SolverParams, check, solve
from routing.instances import parse_instance
from routing.solution_files import format_solution


def solve_command(
    instance: Annotated[
        Path, typer.Argument(help="Instance file (Solomon, Homberger or Li & Lim).")
    ],
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Search time in seconds.")
    ] = 10.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed (diversifies the search).")
    ] = 0,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Parallel diversified searches (default: two, one per core here).",
        ),
    ] = 2,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the solution here instead of stdout."),
    ] = None,
) -> None:
    """Solve a standard instance and write a VRPLIB-style solution."""
    try:
        text = instance.read_text(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"error: cannot read {instance}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    try:
        parsed = parse_instance(text, str(instance))
        params = SolverParams(
            time_limit_s=time_limit,
            seed=seed,
            num_workers=workers,
            minimise_vehicles=parsed.objective == "vehicles_then_distance",
        )
        solution = solve(parsed.problem, params)
    except RoutingError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    result = format_solution(parsed, solution)
    violations = check(parsed.problem, solution)
    if out is None:
        typer.echo(result, nl=False)
    else:
        out.write_text(result, encoding="utf-8")
    typer.echo(
        f"{parsed.name}: {solution.vehicles_used} routes, cost "
        f"{parsed.true_cost(solution):.4f}, {len(solution.unassigned)} unassigned, "
        f"{len(violations)} violations, {solution.solve_time_s:.1f} s",
        err=True,
    )
    if violations:
        raise typer.Exit(3)
