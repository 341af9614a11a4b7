"""Objective weights derived from priorities: lateness and drop penalties."""

from __future__ import annotations

from routing.model import Job, RoutingProblem
from routing.params import SolverParams


def priority_factor(job: Job, params: SolverParams) -> int:
    """Multiplier of lateness and drop costs: ``1 + urgent_factor * priority``."""
    return 1 + params.urgent_factor * job.priority


def lateness_cost_per_s(job: Job, params: SolverParams) -> int:
    """Cost of one second past a soft window's end for ``job``."""
    return params.lateness_cost_per_s * priority_factor(job, params)


def base_drop_penalty(problem: RoutingProblem, params: SolverParams) -> int:
    """Cost of dropping a priority-0 job.

    Derived from the data so that serving a job always beats dropping it when it
    fits: far above any detour (arc costs) and any vehicle's fixed cost.
    """
    if params.drop_penalty is not None:
        return params.drop_penalty
    if problem.distances is not None:
        longest_arc = int(problem.distances.max())
    else:
        longest_arc = max(int(m.max()) for m in problem.durations.values())
    longest_fixed = max((v.fixed_cost for v in problem.vehicles), default=0)
    return 100 * max(longest_arc, 1) + 10 * longest_fixed + 1000


def drop_penalty(job: Job, base: int, params: SolverParams) -> int:
    """Cost of leaving ``job`` unassigned (on-board jobs cost ten times more)."""
    if job.drop_penalty is not None:
        return job.drop_penalty
    penalty = base * priority_factor(job, params)
    return penalty * 10 if job.on_board is not None else penalty
