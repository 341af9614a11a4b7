"""The topic scheme: formatting, parsing and the subscription filter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.errors import RejectReason, UnknownTopic
from telemetry.topics import box_id_from_topic, subscription_filter, telemetry_topic

BOX_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", fullmatch=True)


@given(BOX_IDS)
def test_topic_round_trips(box_id: str) -> None:
    """Every valid box id survives format -> parse."""
    assert box_id_from_topic(telemetry_topic(box_id)) == box_id


@pytest.mark.parametrize(
    "topic",
    [
        "rxdispatch/v1/boxes//telemetry",
        "rxdispatch/v1/boxes/a/b/telemetry",
        "rxdispatch/v2/boxes/box-1/telemetry",
        "rxdispatch/v1/boxes/box-1/status",
        "rxdispatch/v1/boxes/+/telemetry",
    ],
)
def test_foreign_topics_are_rejected(topic: str) -> None:
    """Topics outside the scheme raise UnknownTopic with its reason code."""
    with pytest.raises(UnknownTopic) as info:
        box_id_from_topic(topic)
    assert info.value.reason is RejectReason.UNKNOWN_TOPIC


def test_shared_subscription_filter() -> None:
    """A share group turns the filter into an MQTT 5 / mosquitto shared subscription."""
    assert subscription_filter() == "rxdispatch/v1/boxes/+/telemetry"
    assert (
        subscription_filter("p/v1", "ingest") == "$share/ingest/p/v1/boxes/+/telemetry"
    )
