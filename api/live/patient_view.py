"""The patient's view of their order: status, ETA, and the rider while approaching."""

from __future__ import annotations

from api.live.tracker import LiveTracker
from api.schemas.common import Point
from api.schemas.orders import PATIENT_STATUS, TrackingView
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.orders import queries as order_queries
from dispatch.orders.order import OrderStatus


def tracking_view(db: Database, live: LiveTracker, order_id: str) -> TrackingView:
    """What ``/track/{token}`` shows for ``order_id``."""
    with db.transaction() as tx:
        order = order_queries.get_order(tx, order_id)
    position = None
    eta_at = None
    if order.is_open:
        eta_at = live.eta_of(order_id)
        rider_id = live.heading_to(order_id)
        if order.status is OrderStatus.PICKED_UP and rider_id == order.rider_id:
            last = live.last_position(rider_id) if rider_id else None
            if last is not None:
                position = Point(lat=last.lat, lon=last.lon)
    replaced = order.status is OrderStatus.FAILED and order.replaced_by is not None
    return TrackingView(
        status="replaced" if replaced else PATIENT_STATUS[order.status],
        window_start_at=order.window_start_at,
        window_end_at=order.window_end_at,
        eta_at=eta_at,
        rider_position=position,
    )
