"""The people around the riders: patients ordering and reading their codes,
the pharmacist deciding holds, and the final status sweep for the report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from simulator.context import PlacedOrder, RunContext
from simulator.demand import OrderRequest
from simulator.errors import ApiError
from simulator.runlog import OrderOutcome, OrderStatus

__all__ = [
    "order_body",
    "place_orders",
    "read_otp",
    "sweep_alerts",
    "sweep_statuses",
    "watch_holds",
]

log = logging.getLogger(__name__)

_CODE = re.compile(r"\b(\d{4,12})\b")
_PATIENT_LINK = re.compile(r"#(rxd_trk_[A-Za-z0-9_-]+)")
_HOLD_POLL_S = 60.0


def order_body(
    order: OrderRequest, to_server: Callable[[datetime], datetime]
) -> dict[str, Any]:
    """The ``OrderCreate`` body of a simulated order; ``to_server`` maps simulated
    times to the system's clock."""
    return {
        "patient_ref": f"sim-{order.ref}",
        "patient": {
            "name": f"{order.patient_first_name} {order.patient_surname}",
            "phone": order.patient_phone,
            "address": f"Residential street at {order.lat:.5f}, {order.lon:.5f}, Malta",
        },
        "delivery_location": {"lat": order.lat, "lon": order.lon},
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines],
        "window_start_at": to_server(order.created_at).isoformat(),
        "window_end_at": to_server(order.due_at).isoformat(),
        "priority": "urgent" if order.urgent else "standard",
    }


async def place_orders(ctx: RunContext) -> None:
    """Each patient places their order at its time (until the run stops)."""
    for order in ctx.world.orders:
        if order.created_at >= ctx.end_at:
            break
        await ctx.clock.sleep_until(order.created_at)
        if ctx.stopping.is_set():
            break
        outcome = OrderOutcome(
            order.ref, order.created_at, order.due_at, order.cold_chain, order.urgent
        )
        ctx.log.orders.append(outcome)
        try:
            created = await ctx.client.create_order(
                ctx.staff_token,
                order_body(order, ctx.to_server),
                idempotency_key=order.ref,
            )
        except ApiError as exc:
            if exc.status != 422 and exc.status != 409:
                raise
            # The engine refused it (e.g. no pharmacy has the stock): unservable.
            log.info("order %s refused: %s", order.ref, exc.problem_code)
            outcome.status = OrderStatus.UNASSIGNED
            outcome.closed_at = order.created_at
            continue
        ctx.placed[created.order_id] = PlacedOrder(
            order, created.order_id, created.tracking_token, outcome
        )


async def read_otp(ctx: RunContext, order_id: str) -> str | None:
    """The delivery code the patient received, read through their own tracking
    link (texted to them; the creator's status link cannot read it)."""
    placed = ctx.placed[order_id]
    if placed.patient_token is None:
        for text in await ctx.client.patient_texts(ctx.staff_token, order_id):
            found = _PATIENT_LINK.search(text)
            if found:
                placed.patient_token = found.group(1)
        if placed.patient_token is None:
            return None
    messages = await ctx.client.patient_messages(placed.patient_token)
    for message in reversed(messages):
        if message.kind == "otp":
            found = _CODE.search(message.body)
            if found:
                return found.group(1)
    return None


async def watch_holds(ctx: RunContext) -> None:
    """The pharmacist: notice holds (excursion alerts) and reject the goods.

    A hold on a box counts as that box's excursion alert (live; replaced by the
    audit trail's quarantines in :func:`sweep_alerts`); held goods that were
    in an excursion are unfit, so the pharmacist rejects them (the engine writes
    them off and sources replacements).
    """
    seen: set[int] = set()
    while not ctx.stopping.is_set():
        try:
            holds = await ctx.client.open_holds(ctx.staff_token)
        except ApiError as exc:
            log.warning("cannot list holds: %s", exc.problem_code or exc.status)
            holds = []
        for hold in holds:
            if hold.hold_id in seen:
                continue
            seen.add(hold.hold_id)
            if hold.box_id:
                ctx.detected(hold.box_id, ctx.from_server(hold.placed_at))
            for order_id in hold.order_ids:
                outcome = ctx.outcome_of(order_id)
                if outcome is not None:
                    outcome.status = OrderStatus.HELD
                    outcome.closed_at = ctx.from_server(hold.placed_at)
            await ctx.client.decide_hold(ctx.staff_token, hold.hold_id, release=False)
        await ctx.clock.sleep(_HOLD_POLL_S)


_FINAL = {
    "delivered": OrderStatus.DELIVERED,
    "cancelled": OrderStatus.CANCELLED,
    "on_hold": OrderStatus.HELD,
}


async def sweep_statuses(ctx: RunContext) -> None:
    """Settle every order's final status from the system at the end of the run."""
    for placed in ctx.placed.values():
        outcome = placed.outcome
        if outcome.status in (OrderStatus.DELIVERED, OrderStatus.FAILED_NOT_HOME):
            continue
        view = await ctx.client.get_order(ctx.staff_token, placed.order_id)
        if view.status == "delivered" and outcome.handoff_at is not None:
            # The run stopped while the rider's code was on its way: the
            # system took it, the rider's task never heard back.
            outcome.status = OrderStatus.DELIVERED
            outcome.delivered_at = outcome.handoff_at
        elif view.status in _FINAL and outcome.status is not OrderStatus.HELD:
            outcome.status = _FINAL[view.status]
        elif view.status == "failed" and outcome.status is OrderStatus.OPEN:
            outcome.status = OrderStatus.FAILED_OTHER
        elif view.unassigned_reason and view.rider_id is None:
            outcome.status = OrderStatus.UNASSIGNED


async def sweep_alerts(ctx: RunContext) -> None:
    """Read the excursion alerts of the run from the audit trail.

    The engine quarantines a cold box when an excursion alarms, whether or not
    it carries orders, so its ``cold_box.quarantined`` entries are the alerts
    (holds only show those with orders on board). If the trail cannot be read
    (e.g. not an admin), the alerts seen through holds stay.
    """
    found: list[tuple[str, datetime]] = []
    for rider in ctx.world.riders:
        if rider.box_ref is None:
            continue
        try:
            stamps = await ctx.client.box_quarantines(ctx.staff_token, rider.box_ref)
        except ApiError as exc:
            log.warning(
                "cannot read the audit trail: %s", exc.problem_code or exc.status
            )
            return
        found += [(rider.box_ref, ctx.from_server(at)) for at in stamps]
    ctx.log.detected.clear()
    for box, at in found:
        ctx.detected(box, at)
