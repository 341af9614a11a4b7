"""The simulator takes the broker URL and staff sign-in from its environment
(arguments are public in ``ps``), and writes the watch file privately."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import orjson
import pytest

from simulator.runner import DEFAULT_MQTT_URL, add_run_arguments, run_options
from simulator.watch_file import write_watch_file

BROKER = "mqtt://rxdispatch:s3cret-broker-pw@127.0.0.1:18830"


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    return parser.parse_args(["short.toml", *argv])


@pytest.fixture
def staff_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bootstrap admin's sign-in, as the demo passes it."""
    monkeypatch.setenv("API_BOOTSTRAP_ADMIN_USERNAME", "demo-admin")
    monkeypatch.setenv("API_BOOTSTRAP_ADMIN_PASSWORD", "a-long-admin-password")


@pytest.mark.usefixtures("staff_env")
def test_broker_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --mqtt the URL (and its password) comes from MQTT_URL."""
    monkeypatch.setenv("MQTT_URL", BROKER)
    options = run_options(_args(), 30.0)
    assert options.mqtt_url == BROKER
    assert (options.user, options.password) == ("demo-admin", "a-long-admin-password")
    assert options.speed == 30.0


@pytest.mark.usefixtures("staff_env")
def test_broker_url_option_wins_and_defaults_to_localhost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--mqtt overrides the variable; neither given: the local broker."""
    monkeypatch.setenv("MQTT_URL", BROKER)
    assert run_options(_args("--mqtt", "mqtt://other:1"), 1.0).mqtt_url == (
        "mqtt://other:1"
    )
    monkeypatch.delenv("MQTT_URL")
    assert run_options(_args(), 1.0).mqtt_url == DEFAULT_MQTT_URL


def test_watch_file_is_private_and_complete(tmp_path: Path) -> None:
    """The watch file holds a tracking token: mode 0600, whole JSON, and a
    second write replaces it (no temporary file left behind)."""
    path = tmp_path / "run" / "watch.json"
    write_watch_file(path, order_id="o-1", tracking_token="tok-1", rider_ref="r-1")
    write_watch_file(path, order_id="o-2", tracking_token="tok-2", rider_ref="r-2")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert orjson.loads(path.read_bytes()) == {
        "order_id": "o-2",
        "tracking_token": "tok-2",
        "rider_ref": "r-2",
    }
    assert [p.name for p in path.parent.iterdir()] == ["watch.json"]
