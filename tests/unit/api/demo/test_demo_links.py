"""What ``rxdispatch demo`` hands its children and prints: no secret on a
command line, staff passwords from the data folder, the watch file read."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest

from api.demo.links import (
    PHARMACIST_PAGE,
    DemoLinks,
    LinkError,
    StaffLogin,
    WatchedOrder,
    page_built,
    read_watch_file,
    staff_password,
)
from api.demo.run import DemoOptions, simulator_cmd, simulator_env
from api.routers.webui import HOME_PAGE

BROKER = "mqtt://rxdispatch:Zq8-broker-password@127.0.0.1:18830"
ADMIN = {
    "API_BOOTSTRAP_ADMIN_USERNAME": "demo-admin",
    "API_BOOTSTRAP_ADMIN_PASSWORD": "Zq8-admin-password",
}


def _options(tmp_path: Path, duration_s: float = 180.0) -> DemoOptions:
    return DemoOptions(
        scenario=tmp_path / "short.toml",
        data_dir=tmp_path / "var",
        speed=30.0,
        duration_s=duration_s,
        policy="optimised",
    )


@pytest.mark.parametrize("duration_s", [180.0, 0.0])
def test_the_simulators_argv_carries_no_secret(
    tmp_path: Path, duration_s: float
) -> None:
    """The broker URL (with its password) and the admin's sign-in go through the
    environment; the command line holds neither."""
    argv = simulator_cmd(
        _options(tmp_path, duration_s),
        "http://127.0.0.1:8123",
        "rxdispatch/v1",
        1_700_000_000.0,
        tmp_path / "run",
    )
    password = urlsplit(BROKER).password
    assert password
    joined = "\0".join(argv)
    assert password not in joined
    assert BROKER not in joined
    assert "--mqtt" not in argv
    assert ADMIN["API_BOOTSTRAP_ADMIN_PASSWORD"] not in joined
    assert argv[argv.index("--watch-file") + 1] == str(tmp_path / "run" / "watch.json")
    env = simulator_env(ADMIN, BROKER)
    assert env["MQTT_URL"] == BROKER
    assert env["API_BOOTSTRAP_ADMIN_PASSWORD"] == ADMIN["API_BOOTSTRAP_ADMIN_PASSWORD"]


def test_staff_passwords_are_per_data_folder(tmp_path: Path) -> None:
    """Generated once per data folder (stable across runs), different per role
    and per folder, long and random, kept in the folder's 0600 secrets file."""
    first = staff_password("pharmacist", tmp_path / "a")
    assert staff_password("pharmacist", tmp_path / "a") == first
    assert staff_password("dispatcher", tmp_path / "a") != first
    assert staff_password("pharmacist", tmp_path / "b") != first
    assert len(first) >= 32
    secrets_file = tmp_path / "a" / "secrets.json"
    assert os.stat(secrets_file).st_mode & 0o777 == 0o600
    assert first in secrets_file.read_text(encoding="utf-8")


def test_watch_file_absent_complete_or_broken(tmp_path: Path) -> None:
    """None until the simulator writes it; its three fields once it has; a
    clear error for a file that is not what the simulator writes."""
    path = tmp_path / "watch.json"
    assert read_watch_file(path) is None
    path.write_bytes(
        orjson.dumps({"order_id": "o1", "tracking_token": "t1", "rider_ref": "r1"})
    )
    assert read_watch_file(path) == ("o1", "t1", "r1")
    path.write_bytes(orjson.dumps({"order_id": "o1"}))
    with pytest.raises(LinkError, match="lacks a field"):
        read_watch_file(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(LinkError, match="unreadable"):
        read_watch_file(path)


def test_a_broken_watch_file_is_reported_not_fatal(tmp_path: Path) -> None:
    """poll() keeps the demo running and the printout says why a link is missing."""
    path = tmp_path / "watch.json"
    path.write_text("[]", encoding="utf-8")
    dist = tmp_path / "ui_dist"
    (dist / "dispatcher").mkdir(parents=True)
    (dist / "dispatcher" / "index.html").write_text("<!doctype html>")
    links = DemoLinks("http://127.0.0.1:1", ("demo-admin", "pw"), path, dist=dist)
    assert links.poll() is False
    assert links.problem is not None
    assert "not available" in links.watched_lines()[0]


def test_page_built_reads_the_ui_build(tmp_path: Path) -> None:
    """A page counts as built when its surface's index.html is in the build."""
    (tmp_path / "dispatcher").mkdir()
    (tmp_path / "dispatcher" / "index.html").write_text("<!doctype html>")
    assert page_built(HOME_PAGE, tmp_path)
    assert not page_built(PHARMACIST_PAGE, tmp_path)


def test_printed_links(tmp_path: Path) -> None:
    """Staff lines carry the sign-in; the patient's token is in the fragment of
    the tracking page, the device token in the rider page's fragment."""
    dist = tmp_path / "ui_dist"
    for surface in ("pharmacist", "track"):
        (dist / surface).mkdir(parents=True)
        (dist / surface / "index.html").write_text("<!doctype html>")
    links = DemoLinks(
        "http://127.0.0.1:8123", ("demo-admin", "pw"), tmp_path / "w", dist=dist
    )
    links.staff.append(
        StaffLogin("pharmacist", "demo-pharmacist", "pw-1", PHARMACIST_PAGE)
    )
    assert "patient and rider links: once" in links.watched_lines()[0]
    links.watched = WatchedOrder("ord-1", "trk-1", "rider-007", "dev-1")
    lines = links.lines()
    assert lines[0].split()[:3] == [
        "pharmacist",
        "console",
        "http://127.0.0.1:8123/ui/pharmacist/",
    ]
    assert "sign in as demo-pharmacist / pw-1" in lines[0]
    assert "http://127.0.0.1:8123/ui/track/#trk-1 " in lines[1]
    assert "http://127.0.0.1:8123/ui/rider/#device-token=dev-1 " in lines[2]
    assert "simulated rider rider-007" in lines[2]
    # a page this build lacks is marked, the built ones are not
    assert "no such page" not in lines[0] + lines[1]
    assert lines[2].endswith("[this build of the UI has no such page]")
