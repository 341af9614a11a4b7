"""Small shared schema pieces."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from dispatch.planning.legs import Leg

T = TypeVar("T")

#: Ids of pharmacies, riders, boxes (what the create schemas accept).
ENTITY_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class Point(BaseModel):
    """A WGS84 position in degrees."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, strict=True)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, strict=True)


LEGS_DESCRIPTION = (
    "Road geometry of the route, one leg per stop in visiting order (a leg into "
    "the first stop only when the route's start is known). Null when the server "
    "has no road graph loaded (API_CITY=none, or the city still loading): the API "
    "never draws straight lines instead."
)


class LegRead(BaseModel):
    """The road from the previous stop (or the route's start) to a stop."""

    to_stop_id: str = Field(description="The stop this leg ends at.")
    from_stop_id: str | None = Field(
        description="The stop it starts from; null: the route's start (where the "
        "rider was when the plan was computed)."
    )
    polyline: str | None = Field(
        description="Google encoded polyline, precision 5 (lat, lon), along the "
        "roads of the city's road graph, from the leg's start point to the stop's "
        "location; null only if the graph has no path between them."
    )
    distance_m: int | None = Field(description="Length of the polyline, metres.")

    @classmethod
    def of(cls, leg: Leg) -> LegRead:
        """From the dispatch leg."""
        return cls(
            to_stop_id=leg.to_stop,
            from_stop_id=leg.from_stop,
            polyline=leg.polyline,
            distance_m=leg.distance_m,
        )

    @classmethod
    def all_of(cls, legs: Iterable[Leg] | None) -> list[LegRead] | None:
        """Each of ``legs``; None stays None (no road graph)."""
        return None if legs is None else [cls.of(leg) for leg in legs]


class Page(BaseModel, Generic[T]):
    """One page of results."""

    items: list[T]
    total: int = Field(description="Items matching the filters (all pages).")
    limit: int
    offset: int
