"""What every agent of a run shares: clock, client, tokens, world and the run log.

``server_offset`` maps simulated time to the system's clock: zero when the system
runs on the same warped clock, ``server_start - scenario start`` when the system
runs on real time (then only ``speed == 1`` keeps the two in step).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from simulator.client import ApiClient
from simulator.clock import WarpClock
from simulator.demand import OrderRequest
from simulator.runlog import DetectedExcursion, OrderOutcome, RunLog
from simulator.sensors import MqttPublisher
from simulator.watch_file import write_watch_file
from simulator.wire import TOPIC_PREFIX
from simulator.world import World

__all__ = ["PlacedOrder", "RunContext"]


@dataclass
class PlacedOrder:
    """An order the system accepted: its request, API id, the creator's status
    link and (once read from the patient's texts) the patient's own link."""

    request: OrderRequest
    order_id: str
    tracking_token: str
    outcome: OrderOutcome
    patient_token: str | None = None


@dataclass
class RunContext:
    """Shared state of one run (single event loop: no locking needed)."""

    world: World
    clock: WarpClock
    client: ApiClient
    staff_token: str
    publisher: MqttPublisher
    log: RunLog
    end_at: datetime
    server_offset: timedelta = timedelta(0)
    topic_prefix: str = TOPIC_PREFIX  # of the boxes' MQTT topics
    placed: dict[str, PlacedOrder] = field(default_factory=dict)  # by API order id
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    box_of_rider: dict[str, str] = field(default_factory=dict)  # rider ref -> box ref
    # Reserved lot ids of an order, as the pharmacist hands them over (the
    # API's pick list, read by the staff user).
    pick_list: Callable[[str], Awaitable[list[str]]] | None = None
    # Where to name the first routed order and its rider (None: nowhere).
    watch_file: Path | None = None
    watched: bool = False

    def to_server(self, at: datetime) -> datetime:
        """A simulated time on the system's clock."""
        return at + self.server_offset

    def from_server(self, at: datetime) -> datetime:
        """A time from the system, in simulated time."""
        return at - self.server_offset

    def now(self) -> datetime:
        """Simulated now."""
        return self.clock.now()

    def outcome_of(self, order_id: str) -> OrderOutcome | None:
        """The run-log record of an order placed by this run."""
        placed = self.placed.get(order_id)
        return placed.outcome if placed else None

    def on_route(self, order_id: str, rider_ref: str, at: datetime) -> None:
        """``order_id`` is on ``rider_ref``'s route at ``at``: record the first
        time, and name the run's first routed order in the watch file."""
        placed = self.placed.get(order_id)
        if placed is None or placed.outcome.assigned_at is not None:
            return
        placed.outcome.assigned_at = at
        if self.watch_file is not None and not self.watched:
            self.watched = True
            write_watch_file(
                self.watch_file,
                order_id=order_id,
                tracking_token=placed.tracking_token,
                rider_ref=rider_ref,
            )

    def detected(self, box: str, at: datetime) -> None:
        """Record an excursion alert for ``box`` (simulated time)."""
        self.log.detected.append(DetectedExcursion(box, at))
