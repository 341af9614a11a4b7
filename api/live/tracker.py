"""Live tracking: rider fixes -> hub, geofences, ETAs, patient feeds.

Owns each rider's remaining stops (set from the plan), their fences, the last
ETAs pushed, and which patient feeds currently see which rider: a patient sees
the rider's position only while the rider is heading to them, as
``tracking.updated`` frames ``{"rider_position": {"lat", "lon"}}`` on their
order's topic (no rider id: the patient needs where, not who), and
``{"rider_position": null}`` once the rider no longer heads there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from api.live.eta import StopAhead, StopEta, changed_materially, recompute_etas
from api.live.geofence import (
    FenceEvent,
    FenceKind,
    Geofence,
    GeofenceTracker,
    Transition,
)
from api.live.hub import (
    DISPATCH_TOPIC,
    Hub,
    RiderPosition,
    Subscriber,
    order_topic,
    rider_topic,
)
from routing.matrix import HaversineProvider, MatrixProvider

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RouteStop:
    """One stop of a rider's planned route (as much as live tracking needs)."""

    stop_id: str
    kind: FenceKind
    order_id: str
    lat: float
    lon: float
    service_s: int = 0
    earliest_start_at: datetime | None = None
    #: deliveries: the rider has the goods (picked up); a patient sees the rider
    #: only while heading to a delivery they carry
    carried: bool = True


@dataclass
class _RiderLive:
    stops: list[RouteStop] = field(default_factory=list)
    profile: str = "bike"
    etas: dict[str, datetime] = field(default_factory=dict)
    arrived_at: datetime | None = None
    last: RiderPosition | None = None


FenceRecorder = Callable[[FenceEvent, Callable[[], None]], None]
"""Stores a fence event and calls the second argument if it was not stored yet."""


class LiveTracker:
    """Feeds the hub from rider positions and plans."""

    def __init__(
        self,
        hub: Hub,
        geofences: GeofenceTracker,
        *,
        radius_m: float,
        material_change_s: int,
        provider: MatrixProvider | None = None,
        record_fence_event: FenceRecorder | None = None,
    ) -> None:
        self._hub = hub
        self._fences = geofences
        self._radius_m = radius_m
        self._material_s = material_change_s
        self._provider = provider or HaversineProvider()
        self._record = record_fence_event
        self._riders: dict[str, _RiderLive] = {}
        self._patients: dict[str, set[Subscriber]] = {}
        #: order id -> the rider heading to it, for orders with a patient feed
        self._approaching: dict[str, str] = {}

    # -- plan side --------------------------------------------------------
    def set_route(
        self, rider_id: str, stops: list[RouteStop], profile: str = "bike"
    ) -> None:
        """Replace a rider's remaining stops (after a plan change)."""
        live = self._riders.setdefault(rider_id, _RiderLive())
        if live.stops and stops and live.stops[0].stop_id != stops[0].stop_id:
            live.arrived_at = None
        live.stops, live.profile = list(stops), profile
        self._fences.set_fences(rider_id, [self._fence(s) for s in stops[:2]])
        self._refollow()
        if live.last is not None:
            self._update_etas(rider_id, live, live.last.at, force=True)

    def clear_rider(self, rider_id: str) -> None:
        """Forget a rider (shift ended)."""
        self._riders.pop(rider_id, None)
        self._fences.forget(rider_id)
        self._hub.forget_rider(rider_id)
        self._refollow()

    def route_of(self, rider_id: str) -> list[RouteStop]:
        """The rider's remaining stops."""
        live = self._riders.get(rider_id)
        return list(live.stops) if live else []

    def eta_of(self, order_id: str) -> datetime | None:
        """Latest ETA of the delivery stop of ``order_id``."""
        for live in self._riders.values():
            for stop in live.stops:
                if stop.order_id == order_id and stop.kind is FenceKind.delivery:
                    return live.etas.get(stop.stop_id)
        return None

    def eta_of_stop(self, rider_id: str, stop_id: str) -> datetime | None:
        """Latest ETA of one of a rider's stops."""
        live = self._riders.get(rider_id)
        return live.etas.get(stop_id) if live else None

    def heading_to(self, order_id: str) -> str | None:
        """The rider whose next stop is the delivery of ``order_id``, carried
        (picked up: leaving a pharmacy's fence before the pickup does not count)."""
        for rider_id, live in self._riders.items():
            nxt = live.stops[0] if live.stops else None
            if (
                nxt
                and nxt.order_id == order_id
                and nxt.kind is FenceKind.delivery
                and nxt.carried
            ):
                return rider_id
        return None

    def last_position(self, rider_id: str) -> RiderPosition | None:
        """The rider's latest fix."""
        live = self._riders.get(rider_id)
        return live.last if live else None

    # -- patient feeds ----------------------------------------------------
    def attach_patient(self, order_id: str, sub: Subscriber) -> None:
        """A patient feed for ``order_id`` connected (it was sent the full view)."""
        self._patients.setdefault(order_id, set()).add(sub)
        rider_id = self.heading_to(order_id)
        if rider_id is not None:
            self._approaching[order_id] = rider_id

    def detach_patient(self, order_id: str, sub: Subscriber) -> None:
        """A patient feed disconnected."""
        subs = self._patients.get(order_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._patients[order_id]
                self._approaching.pop(order_id, None)

    def _refollow(self) -> None:
        for order_id in self._patients:
            rider_id = self.heading_to(order_id)
            if rider_id == self._approaching.get(order_id):
                continue
            if rider_id is None:
                del self._approaching[order_id]
                self._publish_rider_position(order_id, None)
                continue
            self._approaching[order_id] = rider_id
            live = self._riders.get(rider_id)
            last = live.last if live else None
            self._publish_rider_position(order_id, last)

    def _publish_rider_position(
        self, order_id: str, position: RiderPosition | None
    ) -> None:
        point = None if position is None else {"lat": position.lat, "lon": position.lon}
        self._hub.publish(
            order_topic(order_id), "tracking.updated", {"rider_position": point}
        )

    # -- position side ----------------------------------------------------
    def on_position(
        self, position: RiderPosition, accuracy_m: float | None = None
    ) -> list[FenceEvent]:
        """Handle one rider fix: fan out, geofences, ETAs (call on the hub loop)."""
        live = self._riders.setdefault(position.rider_id, _RiderLive())
        live.last = position
        self._hub.publish_position(position)
        for order_id, rider_id in self._approaching.items():
            if rider_id == position.rider_id:
                self._publish_rider_position(order_id, position)
        events = self._fences.update(
            position.rider_id, position.lat, position.lon, position.at, accuracy_m
        )
        for event in events:
            self._on_fence_event(live, event)
        self._update_etas(position.rider_id, live, position.at, force=bool(events))
        return events

    def _on_fence_event(self, live: _RiderLive, event: FenceEvent) -> None:
        fence = event.fence
        data = {
            "rider_id": event.rider_id,
            "transition": event.transition.value,
            "stop_id": fence.fence_id,
            "kind": fence.kind.value,
            "order_id": fence.order_id,
            "at": event.occurred_at,
        }

        def announce() -> None:
            self._hub.publish(DISPATCH_TOPIC, "geofence", data)
            self._hub.publish(rider_topic(event.rider_id), "geofence", data)

        if self._record is not None:
            # stored first: only the first record of this arrival or departure
            # (whichever instance saw the fix) is announced
            self._record(event, announce)
        else:
            announce()
        head = live.stops[0] if live.stops else None
        if (
            event.transition is Transition.arrived
            and head
            and head.stop_id == fence.fence_id
        ):
            live.arrived_at = event.occurred_at
        elif event.transition is Transition.departed:
            live.stops = [s for s in live.stops if s.stop_id != fence.fence_id]
            live.etas.pop(fence.fence_id, None)
            live.arrived_at = None
            self._fences.set_fences(
                event.rider_id, [self._fence(s) for s in live.stops[:2]]
            )
            self._refollow()

    def _update_etas(
        self, rider_id: str, live: _RiderLive, now: datetime, *, force: bool
    ) -> None:
        if live.last is None:
            return
        stops = [
            StopAhead(s.stop_id, s.lat, s.lon, s.service_s, s.earliest_start_at)
            for s in live.stops
        ]
        etas = recompute_etas(
            lat=live.last.lat,
            lon=live.last.lon,
            now=now,
            stops=stops,
            provider=self._provider,
            profile=live.profile,
            arrived_at=live.arrived_at,
        )
        if not force and not changed_materially(live.etas, etas, self._material_s):
            return
        live.etas = {e.stop_id: e.eta_at for e in etas}
        self._push_etas(rider_id, live, etas)

    def _push_etas(self, rider_id: str, live: _RiderLive, etas: list[StopEta]) -> None:
        payload = [{"stop_id": e.stop_id, "eta_at": e.eta_at} for e in etas]
        self._hub.publish(
            rider_topic(rider_id),
            "eta.updated",
            {"rider_id": rider_id, "etas": payload},
        )
        self._hub.publish(
            DISPATCH_TOPIC, "eta.updated", {"rider_id": rider_id, "etas": payload}
        )
        by_stop = {s.stop_id: s for s in live.stops}
        for eta in etas:
            stop = by_stop.get(eta.stop_id)
            if stop is not None and stop.kind is FenceKind.delivery:
                self._hub.publish(
                    order_topic(stop.order_id),
                    "tracking.updated",
                    {"eta_at": eta.eta_at},
                )

    def _fence(self, stop: RouteStop) -> Geofence:
        return Geofence.circle(
            stop.stop_id,
            stop.kind,
            stop.lat,
            stop.lon,
            self._radius_m,
            order_id=stop.order_id,
        )
