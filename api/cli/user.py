"""``rxdispatch user add``: create or reset a staff user."""

from __future__ import annotations

import getpass
import sys
from enum import StrEnum
from typing import Annotated

import typer

from api.auth import custody
from api.auth.principals import USER_ROLES, Role
from api.auth.store import AuthStore
from api.errors import ApiError
from api.services import AppSettings
from dispatch.adapters.postgres.database import migrate, open_pool
from dispatch.adapters.postgres.embedded import resolve_database_url
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.context import DispatchContext

user_app = typer.Typer(
    help="Staff users (admin, dispatcher, pharmacist).", no_args_is_help=True
)


UserRole = StrEnum(  # type: ignore[misc]
    "UserRole", sorted((r.value, r.value) for r in USER_ROLES)
)
"""The roles a password user may hold (``--help`` offers exactly these; riders
get device tokens and patients tracking links, never a user)."""


@user_app.command("add")
def add_user(
    username: str,
    role: Annotated[UserRole, typer.Option(help="The user's role.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            help="Read the password from standard input instead of prompting."
        ),
    ] = False,
    reset: Annotated[
        bool, typer.Option(help="Replace an existing user's password and role.")
    ] = False,
) -> None:
    """Create a staff user (argon2-hashed password, >= 12 characters); the audit
    trail records it with the operating-system user who ran the command."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = AppSettings()
    url = resolve_database_url(
        settings.database.database_url, settings.database.data_dir
    )
    migrate(url)
    pool = open_pool(url, max_size=2)
    try:
        custody.create_user(
            Database(pool, DispatchContext.from_settings(settings.dispatch)),
            AuthStore(pool),
            username=username,
            password=password,
            role=Role(role),
            replace=reset,
            actor=f"cli:{getpass.getuser()}",
        )
    except ApiError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(code=1) from exc
    finally:
        pool.close()
    typer.echo(f"user {username.lower()} ({role.value}) is ready")
