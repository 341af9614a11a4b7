"""Simulated riders: shift, live GPS, following the plan the API gives them.

A rider starts their shift, keeps the ``/ws/rider`` channel open (route
updates in, GPS fixes out every 10 simulated seconds), drives along the roads
to the first stop of their route, confirms the pickup (lot scan) or the
delivery (the code the patient received, ID attestation when asked), and
repeats until the shift is over and nothing is left on board. Their cold box
ticks every 30 s and publishes over MQTT. Riders scheduled to lose their
connection go silent for that while.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

from simulator.api_types import RouteStop, parse_route
from simulator.boxes import BoxUnit
from simulator.context import RunContext
from simulator.desk import read_otp
from simulator.errors import ApiError, SimulatorError
from simulator.live import Frame, LiveChannel, websocket_url
from simulator.motion import RiderMotion
from simulator.runlog import OrderStatus, RiderShift
from simulator.thermal import ambient_c
from simulator.world import Outage, RiderSpec

__all__ = ["RiderAgent"]

log = logging.getLogger(__name__)

GPS_EVERY_S = 10.0
BOX_EVERY_S = 30.0
IDLE_POLL_S = 60.0
PICKUP_LID_S = 40.0
DELIVERY_LID_S = 20.0
HANDOFF_S = 60.0
NOT_HOME_WAIT_S = 180.0  # ring, call, wait a little before giving up
_SIGNATURE = "M10 10 C 20 20, 40 20, 50 10"  # a scribble: signature vector data
_ID_CHECK = ("national_id", "42")


@dataclass
class RiderAgent:
    """One rider, their phone (device token) and their cold box."""

    ctx: RunContext
    spec: RiderSpec
    device_token: str
    motion: RiderMotion
    box: BoxUnit | None
    outages: tuple[Outage, ...]
    rng: random.Random
    stops: list[RouteStop] = field(default_factory=list)
    route_changed: asyncio.Event = field(default_factory=asyncio.Event)
    channel: LiveChannel | None = None
    online: asyncio.Event = field(default_factory=asyncio.Event)
    refusals: int = 0

    def __post_init__(self) -> None:
        self.online.set()

    async def run(self) -> None:
        """The rider's whole day."""
        ctx = self.ctx
        await ctx.clock.sleep_until(self.spec.shift_start_at)
        if ctx.stopping.is_set():
            return
        lat, lon = self.motion.position_at(ctx.now())
        await ctx.client.start_shift(
            self.device_token,
            ends_at=ctx.to_server(self.spec.shift_end_at),
            lat=lat,
            lon=lon,
        )
        started_at = ctx.now()
        self.channel = LiveChannel(
            websocket_url(ctx.client.base_url, "/ws/rider"),
            token=self.device_token,
            on_frame=self._on_frame,
        )
        helpers = [
            asyncio.create_task(self.channel.run(), name=f"{self.spec.ref}-ws"),
            asyncio.create_task(self._gps(), name=f"{self.spec.ref}-gps"),
            asyncio.create_task(self._outages(), name=f"{self.spec.ref}-offline"),
        ]
        if self.box is not None:
            helpers.append(
                asyncio.create_task(self._box(), name=f"{self.spec.ref}-box")
            )
        try:
            await self._work()
        finally:
            self.motion.stop(ctx.now())
            await self.channel.stop()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            ctx.log.shifts.append(RiderShift(self.spec.ref, started_at, ctx.now()))
        await ctx.client.end_shift(self.device_token)

    async def _work(self) -> None:
        ctx = self.ctx
        self._set_route(await ctx.client.my_route(self.device_token))
        while not ctx.stopping.is_set():
            await self.online.wait()  # no signal: nothing reaches the system
            if not self.stops:
                if ctx.now() >= self.spec.shift_end_at:
                    return
                await self._wait_for_route(IDLE_POLL_S)
                continue
            stop = self.stops[0]
            if await self._drive_to(stop):
                try:
                    await self._serve(stop)
                except ApiError as exc:
                    # The plan moved under us (re-planned, held, cancelled): the
                    # rider's app shows the error and reloads the route.
                    log.warning(
                        "rider %s: %s at a %s stop refused (%s)",
                        self.spec.ref,
                        stop.order_id,
                        stop.kind,
                        exc.problem_code or exc.status,
                    )
                    self.refusals += 1
            self._set_route(await ctx.client.my_route(self.device_token))

    def _set_route(self, stops: list[RouteStop]) -> None:
        """Take the route the app shows; note when each order first reached it."""
        self.stops = stops
        now = self.ctx.now()
        for stop in stops:
            self.ctx.on_route(stop.order_id, self.spec.ref, now)

    async def _wait_for_route(self, sim_s: float) -> None:
        self.route_changed.clear()
        wall_s = self.ctx.clock.wall_seconds(sim_s)
        try:
            await asyncio.wait_for(self.route_changed.wait(), timeout=wall_s)
        except TimeoutError:
            self._set_route(await self.ctx.client.my_route(self.device_token))

    async def _drive_to(self, stop: RouteStop) -> bool:
        """Drive to ``stop``; False if the plan changed on the way."""
        ctx = self.ctx
        target = self.motion.roads.nearest_node(stop.lat, stop.lon)
        arrive_at = self.motion.head_to(target, ctx.now())
        while ctx.now() < arrive_at:
            self.route_changed.clear()
            wall_s = ctx.clock.wall_time_of(arrive_at) - ctx.clock.wall()
            try:
                await asyncio.wait_for(
                    self.route_changed.wait(), timeout=max(wall_s, 0)
                )
            except TimeoutError:
                break
            if not self.stops or self.stops[0].stop_id != stop.stop_id:
                self.motion.stop(ctx.now())
                return False
        self.motion.stop(arrive_at)
        return True

    async def _serve(self, stop: RouteStop) -> None:
        await self.online.wait()
        if stop.kind == "pickup":
            await self._pickup(stop)
        else:
            await self._deliver(stop)
        await self.ctx.clock.sleep(HANDOFF_S)

    async def _pickup(self, stop: RouteStop) -> None:
        ctx = self.ctx
        now = ctx.now()
        placed = ctx.placed.get(stop.order_id)
        if self.box is not None:
            self.box.open_lid(now, PICKUP_LID_S)
            self.box.swap_packs()
        lat, lon = self.motion.position_at(now)
        if ctx.pick_list is None:
            raise SimulatorError(
                "a pickup needs the codes of the order's reserved lots to scan, and "
                "the API offers no pick list to read them from"
            )
        lot_codes = await ctx.pick_list(stop.order_id)
        await ctx.client.confirm_pickup(
            self.device_token, stop.order_id, lot_codes=lot_codes, lat=lat, lon=lon
        )
        if placed is not None:
            placed.outcome.picked_up_at = now
            placed.outcome.rider = self.spec.ref
            if placed.request.cold_chain and self.box is not None:
                self.box.load(stop.order_id)

    async def _deliver(self, stop: RouteStop) -> None:
        ctx = self.ctx
        now = ctx.now()
        lat, lon = self.motion.position_at(now)
        placed = ctx.placed.get(stop.order_id)
        if self.box is not None and placed is not None and placed.request.cold_chain:
            self.box.open_lid(now, DELIVERY_LID_S)
        if placed is None or not placed.request.patient_home:
            if placed is not None:
                await ctx.clock.sleep(NOT_HOME_WAIT_S)
                lat, lon = self.motion.position_at(ctx.now())
            await ctx.client.report_failure(
                self.device_token,
                stop.order_id,
                reason="patient_absent" if placed else "other",
                lat=lat,
                lon=lon,
            )
            if placed is not None:
                placed.outcome.status = OrderStatus.FAILED_NOT_HOME
                placed.outcome.closed_at = ctx.now()
            self._unload(stop.order_id)
            return
        otp = await read_otp(ctx, stop.order_id)
        if otp is None:
            log.warning("no delivery code in the outbox of an order")
            return
        # Recorded before the code is sent: if the run ends while the answer is
        # on its way, the end-of-run sweep still knows when and in what state.
        placed.outcome.handoff_at = ctx.now()
        placed.outcome.exposed = self.box is not None and self.box.was_exposed(
            stop.order_id
        )
        await self._handoff(stop.order_id, otp, lat, lon)
        placed.outcome.status = OrderStatus.DELIVERED
        placed.outcome.delivered_at = placed.outcome.handoff_at
        placed.outcome.exposed = self._unload(stop.order_id)

    async def _handoff(self, order_id: str, otp: str, lat: float, lon: float) -> None:
        client = self.ctx.client
        try:
            await client.confirm_delivery(
                self.device_token, order_id, otp=otp, lat=lat, lon=lon
            )
        except ApiError as exc:
            if exc.problem_code != "proof_incomplete":
                outcome = self.ctx.outcome_of(order_id)
                if outcome is not None and exc.problem_code.startswith("otp"):
                    outcome.otp_failures += 1
                raise
            # Controlled medicine: the app asks for the ID check and a signature.
            await client.confirm_delivery(
                self.device_token,
                order_id,
                otp=otp,
                lat=lat,
                lon=lon,
                id_check=_ID_CHECK,
                signature=_SIGNATURE,
            )

    def _unload(self, order_id: str) -> bool:
        return self.box.unload(order_id) if self.box is not None else False

    async def _on_frame(self, frame: Frame) -> None:
        if frame.type == "route.updated":
            self._set_route(parse_route(frame.data))
            self.route_changed.set()

    async def _gps(self) -> None:
        ctx = self.ctx
        while True:
            if self.channel is not None:
                fix = self.motion.gps_fix(ctx.now(), self.rng)
                fix["at"] = ctx.to_server(ctx.now()).isoformat()
                await self.channel.send("position", fix)
            await ctx.clock.sleep(GPS_EVERY_S)

    async def _box(self) -> None:
        ctx, box = self.ctx, self.box
        assert box is not None  # noqa: S101 - only started with a box
        while True:
            now = ctx.now()
            ambient = ambient_c(
                ctx.world.scenario.thermal, ctx.world.scenario.local_hour(now)
            )
            for message in box.tick(now, ambient, self.motion.position_at(now)):
                ctx.publisher.publish(message)
            await ctx.clock.sleep(BOX_EVERY_S)

    async def _outages(self) -> None:
        ctx = self.ctx
        for outage in self.outages:
            await ctx.clock.sleep_until(outage.start_at)
            self.online.clear()
            if self.channel is not None:
                await self.channel.go_offline()
            await ctx.clock.sleep_until(outage.end_at)
            self.online.set()
            if self.channel is not None:
                self.channel.go_online()
