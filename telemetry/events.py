"""Telemetry's domain events, published through ``dispatch.ports.EventPublisher``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from dispatch.events import DispatchEvent

__all__ = ["ExcursionOpened"]


@dataclass(frozen=True, slots=True)
class ExcursionOpened(DispatchEvent):
    """A cold-box excursion episode opened (one event per episode)."""

    type: ClassVar[str] = "excursion.opened"
    excursion_id: int
    box_id: str
    kind: str
    rule: str
    started_at: datetime
    alarmed_at: datetime
    peak_c: float | None
    hold_id: int | None
    order_ids: tuple[str, ...]
