"""The app's database role cannot rewrite the audit trail (issue 20, item 5):
migrations run as the owner and grant ``rxdispatch_app`` only SELECT and INSERT
on the audit entries; a login in that role is refused UPDATE, DELETE, TRUNCATE,
disabling or dropping the append-only triggers, and moving the legacy boundary,
while the app's ordinary work still runs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from dispatch.adapters.memory import FixedClock
from dispatch.adapters.postgres.database import open_pool
from dispatch.adapters.postgres.roles import APP_ROLE, grant_app_role
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.orders.intake import submit_order
from tests.integration.dispatch.conftest import (
    AMOX,
    TODAY,
    VALLETTA,
    add_lot,
    make_ctx,
    make_request,
    seed_catalogue,
)


def _as_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}:{password}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def app_login(fresh_db: str) -> Iterator[str]:
    """URL of the fresh database as a new login role that is a member of the
    app's role (unique per test: roles are cluster-wide)."""
    name = f"rxd_test_app_{uuid.uuid4().hex[:10]}"
    password = uuid.uuid4().hex
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(name), sql.Literal(password), sql.Identifier(APP_ROLE)
            )
        )
    try:
        yield _as_user(fresh_db, name, password)
    finally:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_migrations_grant_the_app_role(fresh_db: str) -> None:
    """The role exists after migrating and granting is idempotent."""
    assert grant_app_role(fresh_db) is True
    assert grant_app_role(fresh_db) is True
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute(
            "SELECT has_table_privilege(%s, 'dispatch.audit_entry', 'INSERT'),"
            " has_table_privilege(%s, 'dispatch.audit_entry', 'UPDATE'),"
            " has_table_privilege(%s, 'dispatch.customer_order', 'UPDATE')",
            (APP_ROLE, APP_ROLE, APP_ROLE),
        ).fetchone()
    assert row == (True, False, True)


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE dispatch.audit_entry DISABLE TRIGGER audit_entry_no_update",
        "ALTER TABLE dispatch.audit_entry DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_entry_no_truncate ON dispatch.audit_entry",
        "TRUNCATE dispatch.audit_entry",
        "UPDATE dispatch.audit_entry SET actor = 'mallory'",
        "DELETE FROM dispatch.audit_entry",
        "UPDATE dispatch.audit_head SET unkeyed_until = last_seq",
        "SET session_replication_role = replica",
    ],
)
def test_the_app_role_cannot_rewrite_the_audit_trail(
    app_login: str, statement: str
) -> None:
    """Each attempt by a login of the app's role is refused by PostgreSQL."""
    with (
        psycopg.connect(app_login) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


def test_the_app_role_runs_audited_commands(
    app_login: str, fresh_db: str, clock: FixedClock
) -> None:
    """Ordinary work, including appending audit entries, runs under the role."""
    pool = open_pool(app_login, min_size=1, max_size=2)
    try:
        db = Database(pool, make_ctx(), clock=clock)
        seed_catalogue(db)
        add_lot(db, VALLETTA, AMOX, 5, TODAY + timedelta(days=30))
        with db.transaction() as tx:
            submit_order(tx, make_request([(AMOX, 1)]), actor="api:alice")
    finally:
        pool.close()
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute("SELECT last_seq FROM dispatch.audit_head").fetchone()
    assert row is not None
    assert row[0] >= 1
