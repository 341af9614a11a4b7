"""``rxdispatch demo`` end to end: the console script starts the API server (with
its re-planner and telemetry ingest) on ``DATABASE_URL``/``MQTT_URL`` or the
embedded defaults, plays the short scenario with the simulator, and stops by
itself or on Ctrl-C with the KPI report written and no child process left."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

RXDISPATCH = Path(sys.executable).parent / "rxdispatch"
PROGRESS = re.compile(r"^\[\d\d:\d\d UTC\] orders (\d+)  delivered (\d+)")
#: Bound of a demo run or a wait on one. Generous on purpose (a busy CI host is
#: slow; the runs end by themselves long before): only a hung demo meets it.
WAIT_S = 900


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data folder the embedded PostgreSQL can use (pytest's tmp is 0700 for
    root, and the embedded server runs as an unprivileged user)."""
    folder = Path(f"/tmp/rxd-demo-{uuid.uuid4().hex[:10]}")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _run_folder(data_dir: Path) -> Path:
    (run_dir,) = (data_dir / "demo").iterdir()
    return run_dir


def _assert_report(run_dir: Path, policy: str) -> dict[str, object]:
    """The KPI report files exist; orders were delivered and no OTP failed."""
    for suffix in ("json", "txt", "png"):
        assert (run_dir / f"kpis-{policy}.{suffix}").stat().st_size > 0
    body = json.loads((run_dir / f"kpis-{policy}.json").read_text())
    kpis: dict[str, object] = body["policies"][policy]
    assert isinstance(kpis["delivered"], int)
    assert kpis["delivered"] >= 1, kpis
    assert kpis["otp_failures"] == 0
    run_log = json.loads((run_dir / f"run-{policy}.json").read_text())
    delivered = [o for o in run_log["orders"] if o["status"] == "delivered"]
    assert len(delivered) == kpis["delivered"]
    assert all(o["delivered_at"] and o["picked_up_at"] for o in delivered)
    return kpis


@pytest.mark.timeout(WAIT_S + 60)
def test_demo_stops_by_itself_with_the_kpi_summary(data_dir: Path) -> None:
    """A bounded run: progress lines stream, orders are delivered with the
    patient's OTP, the report is written and its paths printed, exit code 0.

    The short scenario's orders are all settled about an hour into its day, and
    the run ends then. Its bound, 150 s at 60x, leaves a slow host room: the day
    starts 20 s after the server does, and each second the set-up takes beyond
    that is a simulated minute lost."""
    done = subprocess.run(
        [
            str(RXDISPATCH),
            "demo",
            "--duration",
            "150",
            "--speed",
            "60",
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    progress = [PROGRESS.match(line) for line in out.splitlines()]
    assert sum(m is not None for m in progress) >= 3
    assert "OpenStreetMap contributors" in out
    run_dir = _run_folder(data_dir)
    kpis = _assert_report(run_dir, "optimised")
    assert f"delivered {kpis['delivered']} " in out
    assert str(run_dir / "kpis-optimised.png") in out


def _pump(stream: object, lines: list[str], seen: threading.Event) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.append(line.rstrip("\n"))
        match = PROGRESS.match(lines[-1])
        if match and int(match.group(2)) >= 1:
            seen.set()


@pytest.mark.timeout(2 * WAIT_S + 60)
def test_ctrl_c_ends_an_open_ended_demo_cleanly(data_dir: Path) -> None:
    """``--duration 0`` runs until interrupted; one SIGINT ends the day early:
    the simulator settles and reports, then both children are gone."""
    demo = subprocess.Popen(
        [
            str(RXDISPATCH),
            "demo",
            "--duration",
            "0",
            "--speed",
            "60",
            "--policy",
            "greedy",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    delivered = threading.Event()
    reader = threading.Thread(target=_pump, args=(demo.stdout, lines, delivered))
    reader.start()
    children: list[psutil.Process] = []
    try:
        assert delivered.wait(WAIT_S), "\n".join(lines[-40:])
        children = psutil.Process(demo.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        assert "serve" in names
        assert "simulator" in names
        demo.send_signal(signal.SIGINT)
        assert demo.wait(WAIT_S) == 0, "\n".join(lines[-40:])
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        reader.join(10)
        _, still_running = psutil.wait_procs(children, timeout=10)
        for child in still_running:  # do not leave a failed test's servers behind
            child.kill()
    assert still_running == []
    _assert_report(_run_folder(data_dir), "greedy")
    assert any("ending the run early" in line for line in lines)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scenario", "no/such/scenario.toml"), "no scenario file"),
        (("--policy", "fastest"), "--policy must be optimised or greedy"),
    ],
)
def test_bad_options_exit_2_with_a_clear_error(
    data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    """Impossible options: exit code 2, a one-line error, nothing started."""
    done = subprocess.run(
        [str(RXDISPATCH), "demo", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (data_dir / "demo").exists()


LINK = re.compile(
    r"^  (dispatcher map|pharmacist console|patient tracking|rider app)\s+"
    r"(http://\S+)  \((.*)\)( \[this build of the UI has no such page\])?$"
)
SIGN_IN = re.compile(r"sign in as (\S+) / (\S+)")


def _links(lines: list[str]) -> dict[str, tuple[str, str, bool]]:
    """Title -> (URL, note, page in this build) of the links printed so far."""
    found: dict[str, tuple[str, str, bool]] = {}
    for line in lines:
        match = LINK.match(line)
        if match:
            title, url, note, missing = match.groups()
            found[title] = (url, note, missing is None)
    return found


def _pump_links(stream: object, lines: list[str], ready: threading.Event) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.append(line.rstrip("\n"))
        if "rider app" in _links(lines):
            ready.set()


def _check_links(links: dict[str, tuple[str, str, bool]]) -> None:
    """Every page is in this build and answers 200; the
    staff sign in with their role, the patient's token reads its order, the
    rider's device token reads that rider's route."""
    assert set(links) == {
        "dispatcher map",
        "pharmacist console",
        "patient tracking",
        "rider app",
    }, links
    base = links["dispatcher map"][0].split("/ui/")[0]
    with httpx.Client(base_url=base, timeout=60) as client:
        for title, (url, _note, built) in links.items():
            page = url.split("#")[0]
            assert built, f"the demo says this build has no {title} page"
            assert client.get(page).status_code == 200, (title, page)
        for title, role in (
            ("dispatcher map", "dispatcher"),
            ("pharmacist console", "pharmacist"),
        ):
            sign_in = SIGN_IN.search(links[title][1])
            assert sign_in, links[title]
            username, password = sign_in.groups()
            answer = client.post(
                "/auth/token", json={"username": username, "password": password}
            )
            assert answer.status_code == 200, (title, answer.text)
            me = client.get(
                "/auth/me",
                headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
            )
            assert me.status_code == 200
            assert me.json()["role"] == role
        tracking = links["patient tracking"][0].split("#", 1)[1]
        assert client.get(f"/track/{tracking}").status_code == 200
        # the patient's own link (texted), so the page can show the code
        assert client.get(f"/track/{tracking}/messages").status_code == 200
        device = links["rider app"][0].split("#device-token=", 1)[1]
        route = client.get(
            "/riders/me/route", headers={"Authorization": f"Bearer {device}"}
        )
        assert route.status_code == 200, route.text
        rider = re.search(r"simulated rider (\S+),", links["rider app"][1])
        assert rider
        assert route.json()["rider_id"] == rider.group(1)


@pytest.mark.timeout(WAIT_S + 60)
def test_demo_prints_working_links_and_keeps_secrets_off_argv(
    data_dir: Path,
) -> None:
    """The printed dispatcher, pharmacist, patient and rider links answer while
    the day plays; no child process's command line carries the embedded
    broker's password or the admin's; the links are printed again with the
    summary (or the printout says the stack stopped)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MQTT_URL", None)  # the embedded broker: a URL with a password
    demo = subprocess.Popen(
        [
            str(RXDISPATCH),
            "demo",
            "--duration",
            "100",
            "--speed",
            "60",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    ready = threading.Event()
    reader = threading.Thread(target=_pump_links, args=(demo.stdout, lines, ready))
    reader.start()
    children: list[psutil.Process] = []
    try:
        assert ready.wait(WAIT_S), "\n".join(lines[-40:])
        _check_links(_links(lines))
        children = psutil.Process(demo.pid).children(recursive=True)
        simulator = next(c for c in children if "simulator" in c.cmdline())
        broker_url = simulator.environ()["MQTT_URL"]
        secrets = [
            urlsplit(broker_url).password,
            simulator.environ()["API_BOOTSTRAP_ADMIN_PASSWORD"],
        ]
        assert all(secrets), broker_url.split("@")[-1]
        for child in children:
            cmdline = Path(f"/proc/{child.pid}/cmdline").read_bytes()
            for secret in secrets:
                assert secret is not None
                assert secret.encode() not in cmdline, child.name()
        assert demo.wait(WAIT_S) == 0, "\n".join(lines[-40:])
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        reader.join(10)
        _, still_running = psutil.wait_procs(children, timeout=10)
        for child in still_running:
            child.kill()
    summary_at = next(i for i, line in enumerate(lines) if line.startswith("summary"))
    after = "\n".join(lines[summary_at:])
    assert "the day over time (picture): " in after
    assert "the stack has stopped with the run" in after
