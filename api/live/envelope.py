"""The websocket JSON envelope, shared by every live channel.

Every frame is a JSON object ``{"v": 1, "type": str, "ts": RFC 3339, "data": ...}``.

Server -> client types:
  ``hello`` (once, who you are and the heartbeat interval), ``heartbeat``,
  ``positions`` (list of the latest position per rider since the last frame),
  ``route.updated`` (rider: your stops), ``order.event`` (dispatch: lifecycle),
  ``order.unassigned``, ``alert``, ``geofence`` (arrived/departed), ``eta.updated``,
  ``tracking.updated`` (patient: status, ETA), ``error`` (bad client message; the
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
user's token), 1013 client too slow (queue overflow or blocked send), 1011
internal error, 4001 the access token expired without renewal (reason
``access token expired``; refresh, then reconnect).
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


def envelope(type_: str, data: Any, *, ts: datetime | None = None) -> str:
    """One serialized frame."""
    return dumps_text(
        {
            "v": ENVELOPE_VERSION,
            "type": type_,
            "ts": ts or datetime.now(UTC),
            "data": data,
        }
    )


def positions_frame(fragments: list[str], *, ts: datetime | None = None) -> str:
    """A ``positions`` frame from already-serialized position objects."""
    stamp = dumps_text(ts or datetime.now(UTC))
    return (
        f'{{"v":{ENVELOPE_VERSION},"type":"positions","ts":{stamp},"data":['
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
