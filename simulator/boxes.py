"""One rider's cold box over the run: physics, logger, injected faults, ground truth.

:meth:`BoxUnit.tick` is called every 30 simulated seconds: it applies a due
failure, steps the thermal model (lid open at stops, or for good after a
``lid_left_open`` failure), records the true temperature, marks the orders on
board as exposed while the box is in an excursion (its cold-chain rule tripped),
and returns the MQTT messages the logger sends now (none while its uplink is
down; the backlog later).
No I/O: the caller publishes the messages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulator.runlog import InjectedExcursion
from simulator.scenario import BoxFailureMode, ColdChainRule, ThermalParams
from simulator.sensors import BoxSensor, Outgoing
from simulator.thermal import ColdBoxThermal, ExcursionTruth
from simulator.wire import TOPIC_PREFIX
from simulator.world import Outage

__all__ = ["BoxUnit"]


@dataclass
class BoxUnit:
    """A cold box with its logger, its fault schedule and what really happened."""

    box_ref: str
    thermal: ColdBoxThermal
    sensor: BoxSensor
    truth: ExcursionTruth
    failure: tuple[datetime, BoxFailureMode] | None = None
    outages: tuple[Outage, ...] = ()
    on_board: set[str] = field(default_factory=set)
    exposed: set[str] = field(default_factory=set)
    failed_at: datetime | None = None
    _door_open: tuple[datetime, datetime] | None = None
    _last_at: datetime | None = None

    @classmethod
    def create(
        cls,
        box_ref: str,
        params: ThermalParams,
        rule: ColdChainRule,
        *,
        rng: random.Random,
        failure: tuple[datetime, BoxFailureMode] | None = None,
        outages: tuple[Outage, ...] = (),
        topic_prefix: str = TOPIC_PREFIX,
        clock_offset: timedelta = timedelta(0),
    ) -> BoxUnit:
        """A healthy box at its initial temperature, with its fault schedule.

        ``clock_offset`` is added to the logger's timestamps (the system's
        clock minus simulated time).
        """
        return cls(
            box_ref=box_ref,
            thermal=ColdBoxThermal(params),
            truth=ExcursionTruth(rule),
            sensor=BoxSensor(
                box_ref, rng, topic_prefix=topic_prefix, clock_offset=clock_offset
            ),
            failure=failure,
            outages=outages,
        )

    def open_lid(self, at: datetime, seconds: float) -> None:
        """The rider opens the box at a stop for ``seconds``."""
        self._door_open = (at, at + timedelta(seconds=seconds))

    def load(self, order_ref: str) -> None:
        """An order goes into the box (pickup)."""
        self.on_board.add(order_ref)

    def unload(self, order_ref: str) -> bool:
        """An order leaves the box; True if it was ever out of range on board."""
        self.on_board.discard(order_ref)
        return self.was_exposed(order_ref)

    def was_exposed(self, order_ref: str) -> bool:
        """True if the order has been on board while the box was out of range."""
        return order_ref in self.exposed

    def swap_packs(self) -> None:
        """Fresh conditioned packs at a pharmacy."""
        self.thermal.swap_packs()

    def door_open_at(self, at: datetime) -> bool:
        """Whether the lid is open at ``at``."""
        if self.thermal.lid_open_forced:
            return True
        return (
            self._door_open is not None
            and self._door_open[0] <= at < self._door_open[1]
        )

    def online_at(self, at: datetime) -> bool:
        """Whether the logger's uplink works at ``at``."""
        return not any(o.start_at <= at < o.end_at for o in self.outages)

    def tick(
        self, at: datetime, ambient_c: float, position: tuple[float, float] | None
    ) -> list[Outgoing]:
        """Advance to ``at``; return the messages to publish now."""
        if (
            self.failure is not None
            and self.failed_at is None
            and at >= self.failure[0]
        ):
            self.thermal.fail(self.failure[1])
            self.failed_at = at
        dt_s = 0.0 if self._last_at is None else (at - self._last_at).total_seconds()
        self._last_at = at
        door_open = self.door_open_at(at)
        temp_c = self.thermal.step(dt_s, ambient_c, door_open=door_open)
        self.truth.observe(at, temp_c)
        if self.truth.in_excursion:
            self.exposed |= self.on_board
        self.sensor.online = self.online_at(at)
        return self.sensor.read(at, temp_c, door_open=door_open, position=position)

    def natural(self) -> list[InjectedExcursion]:
        """Ground truth of the excursions no injected failure caused (a healthy
        box, or this one before its failure): heat, door openings, spent packs."""
        found = []
        for tripped_at, _ in self.truth.excursions:
            if self.failed_at is not None and tripped_at >= self.failed_at:
                continue
            exit_at = max(s for s, _ in self.truth.exits if s <= tripped_at)
            found.append(
                InjectedExcursion(self.box_ref, exit_at, "natural", exit_at, tripped_at)
            )
        return found

    def injected(self) -> InjectedExcursion | None:
        """Ground truth of this box's failure for the report (None: none injected)."""
        if self.failure is None or self.failed_at is None:
            return None
        after = self.failed_at
        exit_at = next((s for s, _ in self.truth.exits if s >= after), None)
        tripped_at = next((s for s, _ in self.truth.excursions if s >= after), None)
        return InjectedExcursion(
            self.box_ref, self.failed_at, self.failure[1].value, exit_at, tripped_at
        )
