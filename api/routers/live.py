"""The live channels: ``/ws/rider``, ``/ws/dispatch``, ``/ws/track/{token}``.

Authentication happens on connect: ``Authorization: Bearer ...`` or, for
browsers that cannot set headers, ``?access_token=...`` (masked in logs). A
failed check accepts then closes with 1008 so clients see a clear code. A socket
opened with a user's access token renews it without reconnecting: the client
sends ``{"type": "auth", "data": {"access_token": "<fresh token>"}}`` before the
old one expires (it is warned by ``auth.expiring``); unrenewed, the socket is
closed with 4001 at the expiry (:mod:`api.live.session`). The envelope and
message types are documented in :mod:`api.live.envelope`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC
from typing import Any, TypeVar

from fastapi import APIRouter, WebSocket
from pydantic import ValidationError

from api.auth.access import DISPATCH, PATIENT, PHARMACY, RIDER, Access
from api.auth.principals import Principal, Role
from api.errors import ApiError
from api.live.connection import MessageHandler, run_connection
from api.live.envelope import CLOSE_POLICY_VIOLATION, PositionIn, envelope
from api.live.hub import (
    FeedStart,
    RiderPosition,
    Subscriber,
    order_topic,
    rider_topic,
)
from api.live.patient_view import tracking_view
from api.live.session import SocketSession
from api.services import Services
from dispatch import fleet
from dispatch.domain import GeoPoint
from dispatch.errors import DispatchError

router = APIRouter()
_F = TypeVar("_F", bound=Callable[..., Any])


def declare_access(access: Access) -> Callable[[_F], _F]:
    """Attach the role declaration of a websocket endpoint (checked by tests)."""

    def mark(fn: _F) -> _F:
        fn.__access__ = access  # type: ignore[attr-defined]
        return fn

    return mark


def _bearer(ws: WebSocket) -> str | None:
    header = ws.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return ws.query_params.get("access_token")


async def _authenticate(
    ws: WebSocket, services: Services, roles: frozenset[Role]
) -> tuple[Principal, SocketSession] | None:
    token = _bearer(ws)
    try:
        if token is None:
            raise ApiError("credentials are required")
        principal, expires_at = await asyncio.to_thread(
            services.authenticator.authenticate, token
        )
        if principal.role not in roles:
            raise ApiError("role not allowed")
    except ApiError:
        await ws.accept()
        await ws.close(code=CLOSE_POLICY_VIOLATION, reason="authentication failed")
        return None
    session = SocketSession(expires_at, warn_s=services.settings.api.ws_auth_warning_s)
    return principal, session


def _reauth_handler(
    services: Services,
    principal: Principal,
    session: SocketSession,
    sub: Subscriber,
) -> MessageHandler:
    """Handles ``auth`` frames: a valid token of the same subject moves the
    deadline (``auth.ok``); an invalid one is an ``error`` (the old deadline
    stays); another subject's token closes the socket with 1008."""

    async def on_auth(message: dict[str, Any]) -> None:
        data = message.get("data")
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or len(token) > 2048:
            sub.offer_event(envelope("error", {"code": "auth_failed"}))
            return
        try:
            fresh, expires_at = await asyncio.to_thread(
                services.authenticator.authenticate, token
            )
        except ApiError:
            services.metrics.inc("ws_reauth_failed_total")
            sub.offer_event(envelope("error", {"code": "auth_failed"}))
            return
        if (fresh.role, fresh.subject_id) != (principal.role, principal.subject_id):
            services.metrics.inc("ws_reauth_failed_total")
            sub.request_close(CLOSE_POLICY_VIOLATION, "another principal")
            return
        session.renew(expires_at)
        services.metrics.inc("ws_reauth_total")
        sub.offer_event(envelope("auth.ok", {"expires_at": expires_at}))

    return on_auth


def _services(ws: WebSocket) -> Services:
    services: Services = ws.app.state.services
    return services


def _hello(
    principal: Principal, services: Services, feed: FeedStart | None = None
) -> str:
    data: dict[str, Any] = {
        "role": principal.role.value,
        "subject_id": principal.subject_id,
        "heartbeat_s": services.settings.api.ws_heartbeat_s,
    }
    if feed is None:
        return envelope("hello", data)
    data |= {
        "feed_id": services.hub.feed_id,
        "seq": feed.seq,
        "replayed": feed.replayed,
        "resync": feed.resync,
    }
    return envelope("hello", data, seq=feed.seq)


def _feed_start(ws: WebSocket) -> tuple[int | None, str | None] | None:
    """``since`` and ``feed_id`` from the query; None when ``since`` is malformed."""
    raw = ws.query_params.get("since")
    feed_id = ws.query_params.get("feed_id")
    if raw is None:
        return None, feed_id
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw), feed_id


@router.websocket("/ws/rider")
@declare_access(RIDER)
async def rider_feed(ws: WebSocket) -> None:
    """A rider's channel: send ``position`` messages, receive route/ETA updates."""
    services = _services(ws)
    auth = await _authenticate(ws, services, RIDER.roles)
    if auth is None:
        return
    principal, session = auth
    rider_id = principal.subject_id
    await ws.accept()
    hub, live = services.hub, services.live
    sub = hub.subscribe("rider", topics={rider_topic(rider_id)})
    sub.offer_event(_hello(principal, services))
    await asyncio.to_thread(services.routes.refresh, rider_id)
    services.metrics.inc("ws_rider_connections_total")

    async def on_message(message: dict[str, Any]) -> None:
        if message["type"] != "position":
            sub.offer_event(envelope("error", {"code": "unsupported_type"}))
            return
        try:
            fix = PositionIn.model_validate(message.get("data"))
        except ValidationError:
            sub.offer_event(envelope("error", {"code": "invalid_position"}))
            return
        now = services.clock.now()
        at = fix.at.astimezone(UTC) if fix.at and fix.at.tzinfo else now
        point = GeoPoint(fix.lat, fix.lon)
        try:
            fleet.check_fix(services.db.ctx.service_area, point, at, now=now)
        except DispatchError as exc:
            services.metrics.inc("ws_positions_refused_total")
            sub.offer_event(envelope("error", {"code": exc.code}))
            return
        live.on_position(
            RiderPosition(
                rider_id,
                fix.lat,
                fix.lon,
                at,
                fix.speed_mps,
                fix.heading_deg,
                fix.client_ts_ms,
            ),
            fix.accuracy_m,
        )
        services.metrics.inc("ws_positions_received_total")
        if services.positions.due(rider_id, point, at):
            await asyncio.to_thread(services.positions.store, rider_id, point, at)

    on_auth = _reauth_handler(services, principal, session, sub)
    await _run(ws, services, sub, on_message, on_auth=on_auth, session=session)


@router.websocket("/ws/dispatch")
@declare_access(PHARMACY)
async def dispatch_feed(ws: WebSocket) -> None:
    """The dispatcher's feed: all positions, order events, unassigned, alerts.
    Pharmacists follow it too (their console's holds queue is live from it),
    without the riders' positions.

    Sequenced: ``?since=<seq>&feed_id=<id>`` (from ``GET /dashboard/snapshot``)
    replays the frames published after that snapshot first (see
    :mod:`api.live.envelope`); a malformed ``since`` closes with 1008.
    """
    services = _services(ws)
    auth = await _authenticate(ws, services, PHARMACY.roles)
    if auth is None:
        return
    principal, session = auth
    start = _feed_start(ws)
    await ws.accept()
    if start is None:
        await ws.close(code=CLOSE_POLICY_VIOLATION, reason="invalid since")
        return
    since, feed_id = start
    hub = services.hub
    if hub.shared and since is not None and since > hub.feed_position()[1]:
        # a snapshot read on another instance may be a moment ahead of this one
        await hub.wait_for_seq(since, timeout_s=5.0)
    # riders' whereabouts are for the people who dispatch them
    positions = principal.role in DISPATCH.roles
    sub, _ = hub.subscribe_feed(
        "dispatch",
        since=since,
        feed_id=feed_id,
        greeting=lambda feed: _hello(principal, services, feed),
        all_positions=positions,
    )
    if positions:
        for position in hub.latest_positions():
            sub.offer_position(position.rider_id, position.to_json())
    services.metrics.inc("ws_dispatch_connections_total")
    on_auth = _reauth_handler(services, principal, session, sub)
    await _run(ws, services, sub, None, on_auth=on_auth, session=session)


@router.websocket("/ws/track/{token}")
@declare_access(PATIENT)
async def tracking_feed(ws: WebSocket, token: str) -> None:
    """A patient's feed: ``hello`` (heartbeat), then ``tracking.updated`` frames:
    first the whole view, then changes (status, ETA, the rider's position only
    while the rider is heading to them, null when no longer)."""
    services = _services(ws)
    try:
        principal = await asyncio.to_thread(
            services.authenticator.from_tracking_token, token
        )
    except ApiError:
        await ws.accept()
        await ws.close(code=CLOSE_POLICY_VIOLATION, reason="unknown or expired link")
        return
    order_id = principal.order_id or ""
    await ws.accept()
    sub = services.hub.subscribe("patient", topics={order_topic(order_id)})
    # no subject id: the patient's page needs only the heartbeat to watch
    hello = {
        "role": principal.role.value,
        "heartbeat_s": services.settings.api.ws_heartbeat_s,
    }
    sub.offer_event(envelope("hello", hello))
    view = await asyncio.to_thread(tracking_view, services.db, services.live, order_id)
    sub.offer_event(envelope("tracking.updated", view.model_dump(mode="json")))
    services.live.attach_patient(order_id, sub)
    try:
        await _run(ws, services, sub, None)
    finally:
        services.live.detach_patient(order_id, sub)


async def _run(
    ws: WebSocket,
    services: Services,
    sub: Subscriber,
    on_message: MessageHandler | None,
    *,
    on_auth: MessageHandler | None = None,
    session: SocketSession | None = None,
) -> None:
    api = services.settings.api
    await run_connection(
        ws,
        sub,
        services.hub,
        heartbeat_s=api.ws_heartbeat_s,
        send_timeout_s=api.ws_send_timeout_s,
        batch_s=api.ws_position_batch_s,
        on_message=on_message,
        on_auth=on_auth,
        session=session,
    )
