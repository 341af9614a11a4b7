"""MQTT topics: ``<prefix>/boxes/<box_id>/telemetry`` (uplink) and
``<prefix>/boxes/<box_id>/resend`` (downlink), prefix ``rxdispatch/v1``."""

from __future__ import annotations

import re

from telemetry.errors import UnknownTopic
from telemetry.model import BoxId

__all__ = [
    "DEFAULT_PREFIX",
    "box_id_from_topic",
    "resend_topic",
    "subscription_filter",
    "telemetry_topic",
]

DEFAULT_PREFIX = "rxdispatch/v1"
_BOX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def telemetry_topic(box_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The topic a box publishes its readings to."""
    return f"{prefix}/boxes/{box_id}/telemetry"


def resend_topic(box_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The downlink topic a box subscribes to for resend requests."""
    return f"{prefix}/boxes/{box_id}/resend"


def subscription_filter(
    prefix: str = DEFAULT_PREFIX, share_group: str | None = None
) -> str:
    """The ingest subscription; with ``share_group`` a shared subscription."""
    plain = f"{prefix}/boxes/+/telemetry"
    return f"$share/{share_group}/{plain}" if share_group else plain


def box_id_from_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> BoxId:
    """The box id in ``topic``; raises :class:`UnknownTopic` for any other shape."""
    head = prefix + "/boxes/"
    if not topic.startswith(head) or not topic.endswith("/telemetry"):
        raise UnknownTopic(len(topic))
    box = topic[len(head) : -len("/telemetry")]
    if not _BOX_ID.fullmatch(box):
        raise UnknownTopic(len(topic))
    return BoxId(box)
