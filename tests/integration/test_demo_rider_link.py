"""The demo prints a rider-app link whose device token works (real app on a
port, real PostgreSQL)."""

from __future__ import annotations

import re

from api.auth.principals import Role
from api.demo.run import PHONE_RIDER_ID, _announce_rider_app
from tests.browser.stack import PASSWORD, serving, settings_for


def test_the_printed_rider_link_signs_the_phone_in(fresh_db: str) -> None:
    """The link opens /ui/rider/ with a device token for the demo's phone
    rider; a failure to register is printed, not raised."""
    with serving(settings_for(fresh_db)) as live:
        live.services.auth.add_user(
            username="dora", role=Role.dispatcher, password=PASSWORD
        )
        said: list[str] = []
        _announce_rider_app(live.base_url, "dora", PASSWORD, said.append)
        [line] = said
        match = re.search(r"(http://\S+)/ui/rider/#device-token=(\S+)$", line)
        assert match is not None, line
        assert match.group(1) == live.base_url
        me = live.http.get(
            "/riders/me", headers={"Authorization": f"Bearer {match.group(2)}"}
        )
        assert me.status_code == 200, me.text
        assert me.json()["id"] == PHONE_RIDER_ID

        again: list[str] = []  # the rider exists now: a clear message instead
        _announce_rider_app(live.base_url, "dora", PASSWORD, again.append)
        assert again[0].startswith("rider app: could not register the demo phone")
