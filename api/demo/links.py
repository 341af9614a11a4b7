"""The links ``rxdispatch demo`` prints: which page to open, as whom.

- **Staff**: the demo's dispatcher (live map) and pharmacist (console), created
  through the API by the demo's bootstrap admin, the way an admin would. Their
  passwords are generated once per data folder like the other dev secrets
  (:func:`dispatch.dev_secrets.dev_secret`: ``<data dir>/secrets.json``, mode
  0600): never in the source, the same for every run on that folder.
- **A patient and a rider**: the simulator names the first order that reached a
  rider's route in its watch file (mode 0600). The patient's tracking link
  carries the patient's own token, read from what the dev server's fake SMS
  gateway "texted" them (the creator's token, in the watch file, shows progress
  but not the delivery code); the rider's app link carries a device token the
  demo issues for that rider. The simulated rider keeps driving through its own
  client and token: the page watches that rider.

Nothing here logs a password or token; they go to the console (``echo``) only,
which is the point of the printout.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from api.routers.webui import HOME_PAGE, UI_DIST, UI_PREFIX, ui_built
from dispatch.dev_secrets import dev_secret

log = logging.getLogger(__name__)

Echo = Callable[[str], None]

PHARMACIST_PAGE = f"{UI_PREFIX}/pharmacist/"
TRACKING_PAGE = f"{UI_PREFIX}/track/"
RIDER_PAGE = f"{UI_PREFIX}/rider/"
#: Label of the device token the demo issues for the rider app link.
RIDER_APP_LABEL = "demo rider app link"
#: (role, username, page) of the staff the demo creates.
STAFF = (
    ("dispatcher", "demo-dispatcher", HOME_PAGE),
    ("pharmacist", "demo-pharmacist", PHARMACIST_PAGE),
)
_TITLES = {
    HOME_PAGE: "dispatcher map",
    PHARMACIST_PAGE: "pharmacist console",
    TRACKING_PAGE: "patient tracking",
    RIDER_PAGE: "rider app",
}


class LinkError(Exception):
    """A link could not be made (the API refused a step)."""


@dataclass(frozen=True)
class StaffLogin:
    """A staff user of the demo and the page they use."""

    role: str
    username: str
    password: str
    page: str


@dataclass(frozen=True)
class WatchedOrder:
    """An order of the simulated day, its patient's token and its rider."""

    order_id: str
    tracking_token: str
    rider_ref: str
    device_token: str


def staff_password(role: str, data_dir: Path) -> str:
    """The demo ``role`` user's password: the data folder's dev secret."""
    return dev_secret(f"demo_{role}_password", data_dir).get_secret_value()


def read_watch_file(path: Path) -> tuple[str, str, str] | None:
    """(order id, tracking token, rider ref) from the simulator's watch file;
    None until it is there (it is replaced atomically, never half written)."""
    try:
        body = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except orjson.JSONDecodeError as exc:
        raise LinkError(f"unreadable watch file {path.name}: {exc}") from None
    try:
        return (
            str(body["order_id"]),
            str(body["tracking_token"]),
            str(body["rider_ref"]),
        )
    except (KeyError, TypeError):
        raise LinkError(f"watch file {path.name} lacks a field") from None


_PATIENT_LINK = re.compile(r"#(rxd_trk_[A-Za-z0-9_-]+)")


def _texted_patient_token(
    client: httpx.Client, admin: dict[str, str], order_id: str, *, fallback: str
) -> str:
    """The patient's own link token (the one that shows their delivery code), as
    the dev server's fake SMS gateway "texted" it; else ``fallback`` (the
    creator's status link: the page then shows progress only)."""
    answer = client.get(f"/dev/patient-sms/{order_id}", headers=admin)
    if answer.status_code == 200:
        for sms in answer.json():
            found = _PATIENT_LINK.search(str(sms.get("body", "")))
            if found:
                return found.group(1)
    return fallback


def page_built(page: str, dist: Path = UI_DIST) -> bool:
    """Whether this build of the UI has ``page`` (a ``/ui/<surface>/`` path)."""
    surface = page.removeprefix(UI_PREFIX).strip("/")
    return (dist / surface / "index.html").is_file()


@dataclass
class DemoLinks:
    """The links of one demo run; :meth:`lines` is what the console shows."""

    base_url: str
    admin: tuple[str, str]  # the bootstrap admin's username and password
    watch_file: Path
    staff: list[StaffLogin] = field(default_factory=list)
    watched: WatchedOrder | None = None
    problem: str | None = None  # why a link is missing, for the printout
    dist: Path = UI_DIST  # the UI build the pages come from

    def create_staff(self, data_dir: Path) -> None:
        """Create the demo's dispatcher and pharmacist (through the API)."""
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            headers = self._admin_headers(client)
            for role, username, page in STAFF:
                password = staff_password(role, data_dir)
                answer = client.post(
                    "/users",
                    headers=headers,
                    json={"username": username, "password": password, "role": role},
                )
                if answer.status_code != 201:
                    raise LinkError(
                        f"creating the demo {role} failed: HTTP {answer.status_code}"
                    )
                self.staff.append(StaffLogin(role, username, password, page))

    def poll(self) -> bool:
        """Once the simulator's watch file is there, issue the rider's device
        token; True the first time the patient and rider links are ready."""
        if self.watched is not None or self.problem is not None:
            return False
        if not ui_built(self.dist):  # no pages to link to
            return False
        try:
            found = read_watch_file(self.watch_file)
            if found is None:
                return False
            order_id, tracking_token, rider_ref = found
            with httpx.Client(base_url=self.base_url, timeout=30) as client:
                admin = self._admin_headers(client)
                answer = client.post(
                    f"/riders/{rider_ref}/device-tokens",
                    headers=admin,
                    json={"label": RIDER_APP_LABEL},
                )
                tracking_token = _texted_patient_token(
                    client, admin, order_id, fallback=tracking_token
                )
            if answer.status_code != 201:
                raise LinkError(
                    f"issuing the rider's device token failed: HTTP "
                    f"{answer.status_code}"
                )
            device_token = str(answer.json()["device_token"])
        except (LinkError, httpx.HTTPError) as exc:
            self.problem = str(exc)
            log.warning("demo rider and patient links: %s", type(exc).__name__)
            return False
        self.watched = WatchedOrder(order_id, tracking_token, rider_ref, device_token)
        return True

    def _admin_headers(self, client: httpx.Client) -> dict[str, str]:
        username, password = self.admin
        answer = client.post(
            "/auth/token", json={"username": username, "password": password}
        )
        if answer.status_code != 200:
            raise LinkError(
                f"the demo admin's sign-in failed: HTTP {answer.status_code}"
            )
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def staff_lines(self) -> list[str]:
        """The staff pages with their sign-ins."""
        return [
            self._line(s.page, s.page, f"sign in as {s.username} / {s.password}")
            for s in self.staff
        ]

    def watched_lines(self) -> list[str]:
        """The patient's and the rider's links (or why they are missing)."""
        w = self.watched
        if w is None:
            if self.problem is not None:
                return [f"  patient and rider links: not available ({self.problem})"]
            return [
                "  patient and rider links: once the first order reaches a "
                "rider's route"
            ]
        return [
            self._line(
                TRACKING_PAGE,
                f"{TRACKING_PAGE}#{w.tracking_token}",
                f"order {w.order_id}, as its patient sees it",
            ),
            self._line(
                RIDER_PAGE,
                f"{RIDER_PAGE}#device-token={w.device_token}",
                f"watches simulated rider {w.rider_ref}, who keeps driving "
                "through the simulator's own client",
            ),
        ]

    def lines(self) -> list[str]:
        """Every link known so far."""
        return [*self.staff_lines(), *self.watched_lines()]

    def _line(self, page: str, path: str, note: str) -> str:
        title = _TITLES[page]
        built = (
            ""
            if page_built(page, self.dist)
            else " [this build of the UI has no such page]"
        )
        return f"  {title:<19} {self.base_url}{path}  ({note}){built}"


def announce(links: DemoLinks, data_dir: Path, echo: Echo) -> None:
    """Create the demo's staff and print the staff links (the UI must be built)."""
    if not ui_built(links.dist):
        echo("web UI: not built (make ui); the API runs without it")
        return
    try:
        links.create_staff(data_dir)
    except (LinkError, httpx.HTTPError) as exc:
        echo(f"web UI: could not create the demo staff ({exc})")
        return
    echo("open in a browser:")
    for line in links.lines():
        echo(line)
