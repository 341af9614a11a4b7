"""Browser tests: Debian's Chromium (``/usr/bin/chromium``) driven by Python
Playwright against the real app (uvicorn + create_app + the built UI) on a
fresh database. Without Chromium or the UI build they skip with the reason,
and fail under ``CI=true``. Every page is watched: console errors, failed
requests and any request that leaves the app's origin fail the test."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from api.routers.webui import ui_built
from tests.browser.stack import PASSWORD, Driver, LiveApp, serving, settings_for

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "ui" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO / "test-results"
VIEWPORT = {"width": 1280, "height": 800}
#: Expected while no plan exists yet: the API answers GET /plans/current with
#: 404, which Chromium logs as a console error of the failed resource.
EXPECTED_ERRORS = (re.compile(r"/plans/current$"),)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/browser/" in str(item.path):
            item.add_marker(pytest.mark.browser)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if not ui_built():
        _unavailable("the web UI is not built (make ui)")
    if not AXE.exists():
        _unavailable("ui/node_modules is missing (make ui)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


@pytest.fixture
def live_app(fresh_db: str) -> Iterator[LiveApp]:
    """The app on a free port, on a fresh database."""
    with serving(settings_for(fresh_db)) as live:
        yield live


@pytest.fixture
def world(live_app: LiveApp) -> Driver:
    """Staff users (admin, dora the dispatcher, phil the pharmacist)."""
    driver = Driver(live_app)
    driver.staff()
    return driver


@dataclass
class Watch:
    """What a page did that it should not have."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    off_origin: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if any(p.search(url) for p in EXPECTED_ERRORS):
            return
        self.console_errors.append(f"{message.text} ({url})")

    def on_request(self, request: Any) -> None:
        url: str = request.url
        if url.startswith((self.origin + "/", "data:", "blob:")):
            return
        if url.startswith("ws://" + self.origin.removeprefix("http://") + "/"):
            return
        self.off_origin.append(url)

    def on_failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:  # cancelled tile reads on zoom/navigation
            return
        self.failed.append(f"{request.url}: {failure}")

    def assert_clean(self) -> None:
        """No console error, no failed request, nothing off the origin."""
        assert self.off_origin == [], "requests left the origin"
        assert self.failed == [], "requests failed"
        assert self.console_errors == [], "console errors"


def watched_page(context: Any, origin: str) -> Any:
    """A new page of ``context`` whose console errors, failed requests and
    off-origin requests are recorded in ``page.watch`` (a :class:`Watch`)."""
    page = context.new_page()
    watch = Watch(origin)
    page.on("console", watch.on_console)
    page.on(
        "pageerror", lambda error: watch.console_errors.append(f"pageerror: {error}")
    )
    page.on("request", watch.on_request)
    page.on("requestfailed", watch.on_failed)
    page.on("websocket", watch.on_request)
    page.watch = watch
    return page


@pytest.fixture
def page(
    browser: Any, live_app: LiveApp, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A fresh browser context on the app; a screenshot when the test fails."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_app.base_url)
    context.set_default_timeout(30_000)
    page = watched_page(context, live_app.base_url)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the current page."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def sign_in(page: Any, username: str = "dora", password: str = PASSWORD) -> None:
    """Open the dispatcher's page through the sign-in form."""
    page.goto("/ui/dispatcher/")
    page.wait_for_url(re.compile(r"/ui/login/"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/dispatcher/$"))
    wait_live(page)


def wait_live(page: Any) -> None:
    """The map has drawn and the live feed is connected."""
    page.wait_for_function("() => window.rxdMap && window.rxdMap.ready", timeout=60_000)
    page.wait_for_selector("[data-testid=connection][data-state=live]")
