"""The simulator's exception tree (each class has a stable snake_case ``code``).

::

    SimulatorError
    ├── ScenarioError          a scenario file is missing, not TOML, or invalid
    ├── CityDataError          the OSM extract cannot be read or has nothing usable
    ├── NoRoute                two road-graph nodes are not connected
    └── ApiError               the system under test answered with an error
        └── ApiUnavailable     the system under test cannot be reached

Messages name the offending field or file, never patient data or tokens.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ApiError",
    "ApiUnavailable",
    "CityDataError",
    "NoRoute",
    "ScenarioError",
    "SimulatorError",
]


class SimulatorError(Exception):
    """Base class of every error the simulator raises on purpose."""

    code: ClassVar[str] = "simulator_error"


class ScenarioError(SimulatorError):
    """A scenario file is missing, is not valid TOML, or breaks a rule.

    ``field`` is the dotted path of the offending value (empty for file errors).
    """

    code: ClassVar[str] = "scenario_invalid"

    def __init__(self, message: str, *, field: str = "", source: str = "") -> None:
        self.field = field
        self.source = source
        where = f"{source}: " if source else ""
        what = f"{field}: " if field else ""
        super().__init__(f"{where}{what}{message}")


class CityDataError(SimulatorError):
    """The OSM extract or its cache cannot be read, or holds no usable data."""

    code: ClassVar[str] = "city_data_invalid"


class NoRoute(SimulatorError):  # noqa: N818
    """Two nodes of the simulator's road graph are not connected."""

    code: ClassVar[str] = "no_route"

    def __init__(self, source_node: int, target_node: int) -> None:
        self.source_node = source_node
        self.target_node = target_node
        super().__init__(f"no road route from node {source_node} to {target_node}")


class ApiError(SimulatorError):
    """The system under test answered a request with an error status."""

    code: ClassVar[str] = "api_error"

    def __init__(
        self, message: str, *, status: int = 0, problem_code: str = ""
    ) -> None:
        self.status = status
        self.problem_code = problem_code
        super().__init__(message)


class ApiUnavailable(ApiError):  # noqa: N818
    """The system under test cannot be reached (connection refused, timeout)."""

    code: ClassVar[str] = "api_unavailable"
