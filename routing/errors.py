"""Errors raised by the routing package.

Solver outcomes (dropped jobs, time-outs) are data, not exceptions; these are raised
only for problems that cannot be solved as stated::

    RoutingError
    ├── InvalidProblem          # a field of the problem or of the parameters is wrong
    │   └── InvalidParams
    ├── InvalidInstance         # an instance text cannot be parsed (file, line)
    └── NoSolutionFound         # the engine failed to return any assignment
"""

from __future__ import annotations

from typing import ClassVar


class RoutingError(Exception):
    """Base class of every routing error; ``code`` is stable and snake_case."""

    code: ClassVar[str] = "routing_error"


class InvalidProblem(RoutingError, ValueError):  # noqa: N818
    """A field of the problem is invalid; ``field`` names it."""

    code: ClassVar[str] = "invalid_problem"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class InvalidParams(InvalidProblem):
    """A solver parameter is out of range."""

    code: ClassVar[str] = "invalid_params"


class InvalidInstance(RoutingError, ValueError):  # noqa: N818
    """An instance text is malformed; the message names the source and the line."""

    code: ClassVar[str] = "invalid_instance"

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {reason}")


class NoSolutionFound(RoutingError):  # noqa: N818
    """The engine returned no assignment at all (not even one dropping every job)."""

    code: ClassVar[str] = "no_solution_found"
