"""Angular sectors of a depot-based problem's jobs (a first plan by parts).

The matrices carry no coordinates, so the depot and the job locations are laid out
in the plane by classical multidimensional scaling of the symmetrised arc costs:
exact up to rotation and reflection on Euclidean instances, a fair map otherwise.
Jobs are ordered by their angle around the depot and cut into contiguous sectors of
about equal size; each cut sits at the widest angular gap within ``SLACK`` of its
nominal place, so that a cluster of customers is rarely cut in two.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from routing.model import RoutingProblem

SLACK = 0.1
"""How far (share of a sector's size) a cut may move to find a wider gap."""


def sectors(problem: RoutingProblem, parts: int) -> list[list[int]]:
    """Job indices in ``parts`` angular sectors around the first vehicle's start.

    Every job is in exactly one sector; each cut lies within ``SLACK`` of a
    sector's nominal size of its nominal place. Fewer than two jobs per part
    gives one sector.
    """
    count = len(problem.jobs)
    if parts < 2 or count < 2 * parts:
        return [list(range(count))]
    angles = _angles(problem)
    order = np.argsort(angles, kind="stable")
    ordered = angles[order]
    # gaps[i]: the angle between the i-th and the next job in angular order
    gaps = np.diff(np.append(ordered, ordered[0] + 2 * math.pi))
    size = count / parts
    slack = max(1, int(size * SLACK))
    best_score, best_cuts = -1.0, [0]
    for first in range(count):
        cuts, score = [first], float(gaps[first - 1])
        for m in range(1, parts):
            nominal = first + round(m * size)
            cut = max(
                range(nominal - slack, nominal + slack + 1),
                key=lambda c: float(gaps[(c - 1) % count]),
            )
            cuts.append(cut)
            score += float(gaps[(cut - 1) % count])
        if score > best_score:
            best_score, best_cuts = score, cuts
    bounds = [*best_cuts, best_cuts[0] + count]
    return [
        sorted(int(order[i % count]) for i in range(a, b))
        for a, b in itertools.pairwise(bounds)
    ]


def _angles(problem: RoutingProblem) -> np.ndarray:
    """Each job's angle (radians) around the depot in the scaled plane."""
    first = problem.vehicles[0]
    matrix = (
        problem.distances
        if problem.distances is not None
        else problem.durations[first.profile]
    )
    places = [first.start, *(job.delivery.location for job in problem.jobs)]
    arcs = np.asarray(matrix, dtype=float)[np.ix_(places, places)]
    squared = ((arcs + arcs.T) / 2) ** 2
    n = len(places)
    centring = np.eye(n) - 1.0 / n
    gram = -0.5 * centring @ squared @ centring
    values, vectors = np.linalg.eigh(gram)  # ascending: the last two span the plane
    plane = vectors[:, -2:] * np.sqrt(np.maximum(values[-2:], 0.0))
    relative = plane[1:] - plane[0]
    angles: np.ndarray = np.arctan2(relative[:, 1], relative[:, 0])
    return angles
