"""``rxdispatch user add --help`` offers only the roles a user may hold (issue 20)."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from api.cli.main import app


def test_user_add_offers_only_password_roles() -> None:
    result = CliRunner().invoke(app, ["user", "add", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    [choices] = re.findall(r"<((?:[a-z]+\|)+[a-z]+)>", result.output)
    assert choices.split("|") == ["admin", "dispatcher", "pharmacist"]


def test_user_add_refuses_a_rider_before_asking_a_password() -> None:
    result = CliRunner().invoke(
        app, ["user", "add", "luca", "--role", "rider"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 2
    assert "rider" in result.output
