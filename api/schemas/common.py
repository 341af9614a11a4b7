"""Small shared schema pieces."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

#: Ids of pharmacies, riders, boxes (what the create schemas accept).
ENTITY_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"


class Point(BaseModel):
    """A WGS84 position in degrees."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class Page(BaseModel, Generic[T]):
    """One page of results."""

    items: list[T]
    total: int = Field(description="Items matching the filters (all pages).")
    limit: int
    offset: int
