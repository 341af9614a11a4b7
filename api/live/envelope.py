"""The websocket JSON envelope, shared by every live channel.

Every frame is a JSON object ``{"v": 1, "type": str, "ts": RFC 3339, "data": ...}``;
on ``/ws/dispatch`` every frame also carries ``"seq": int``, the dispatchers' feed
sequence number (see below).

Server -> client types:
  ``hello`` (once, who you are and the heartbeat interval), ``heartbeat``,
  ``positions`` (list of the latest position per rider since the last frame),
  ``route.updated`` (rider: your stops), ``order.event`` (dispatch: lifecycle),
  ``order.unassigned``, ``alert``, ``geofence`` (arrived/departed), ``eta.updated``,
  ``tracking.updated`` (patient: the whole view first, then the fields that
  changed: ``status``, ``eta_at``, ``rider_position`` ``{"lat", "lon"}`` or null;
  never a rider id), ``error`` (bad client message; the
  connection stays open), ``auth.expiring`` (``{"expires_at", "expires_in_s"}``:
  the access token the socket runs on expires soon; send ``auth``), ``auth.ok``
  (``{"expires_at"}``: the new token was accepted).
Client -> server types:
  ``position`` (rider only: ``{"lat", "lon", "at"?, "accuracy_m"?, "speed_mps"?,
  "heading_deg"?}``), ``ping`` (answered by ``pong``), ``auth``
  (``{"access_token"}``: a fresh token of the same user, e.g. from
  ``POST /auth/refresh``; answered by ``auth.ok``, or ``error`` with code
  ``auth_failed`` when the token is not valid, the old deadline staying).
Close codes: 1008 authentication/authorisation failed (also: ``auth`` with another
user's token, or a malformed ``since`` on ``/ws/dispatch``), 1013 client too slow
(queue overflow or blocked send), 1011 internal error, 4001 the access token
expired without renewal (reason ``access token expired``; refresh, then reconnect).

The dispatchers' feed is sequenced. Each event frame (``order.*``, ``alert``,
``plan.updated``, ``hold.*``, ``rider.*`` ...) has the next ``seq`` of the feed
(1, 2, 3 ... per server process, named by ``feed_id``; with ``API_CLUSTER``
one sequence for every instance, numbered by the database); the other frames
(``hello``, ``heartbeat``, ``positions``, ``pong``, ``error``) repeat the ``seq`` of
the last event frame before them and are not events: ``positions`` are the latest
fix per rider, applied by their ``at``. To join or rejoin, load
``GET /dashboard/snapshot`` (its ``feed_id`` and ``seq``), then open
``/ws/dispatch?since=<seq>&feed_id=<feed_id>``: the event frames published after the
snapshot are replayed first, then live ones follow, each exactly once and in
order; apply every event frame (all have a higher ``seq``). ``hello.data``
reports ``seq`` (the frames after it follow), ``replayed`` and ``resync``: when
not null (``too_old``, ``ahead``, ``unknown_feed``: another or a restarted
process), the server could not replay from ``since``; load the snapshot again and
apply only frames with a ``seq`` above the new snapshot's. Without ``since`` the
feed starts at the current frame, for clients that subscribe first and load the
snapshot second (then drop frames at or below the snapshot's ``seq``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.serialization import dumps_text

ENVELOPE_VERSION = 1
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011
CLOSE_TRY_AGAIN_LATER = 1013
#: application code (4000-4999): the socket's access token expired unrenewed
CLOSE_TOKEN_EXPIRED = 4001


def envelope(
    type_: str, data: Any, *, ts: datetime | None = None, seq: int | None = None
) -> str:
    """One serialized frame (with ``seq`` on the sequenced dispatch feed)."""
    frame: dict[str, Any] = {
        "v": ENVELOPE_VERSION,
        "type": type_,
        "ts": ts or datetime.now(UTC),
    }
    if seq is not None:
        frame["seq"] = seq
    frame["data"] = data
    return dumps_text(frame)


def positions_frame(
    fragments: list[str], *, ts: datetime | None = None, seq: int | None = None
) -> str:
    """A ``positions`` frame from already-serialized position objects."""
    stamp = dumps_text(ts or datetime.now(UTC))
    numbered = "" if seq is None else f',"seq":{seq}'
    return (
        f'{{"v":{ENVELOPE_VERSION},"type":"positions","ts":{stamp}{numbered},"data":['
        + ",".join(fragments)
        + "]}"
    )


class PositionIn(BaseModel):
    """A rider's GPS fix as sent on ``/ws/rider`` (``type: position``)."""

    model_config = ConfigDict(extra="ignore")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    at: datetime | None = Field(default=None, description="Device time (UTC).")
    accuracy_m: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    speed_mps: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    heading_deg: float | None = Field(default=None, ge=0, le=360, allow_inf_nan=False)
    client_ts_ms: int | None = Field(
        default=None,
        description="Opaque client timestamp echoed back (latency probes).",
    )
