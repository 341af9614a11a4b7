"""The database roles: an owner that migrates, and the app's role that cannot
rewrite the audit trail.

Migrations run as the *owner* (``DATABASE_OWNER_URL``, else ``DATABASE_URL``):
it owns every schema, table and trigger. After each migration run,
:func:`grant_app_role` (re)grants the app's group role ``rxdispatch_app``
(created here when the owner may create roles): read and write on every table of
the app's schemas, except the audit chain, where it may only SELECT and INSERT
entries and move the head (``last_seq``, ``last_hash``), never UPDATE, DELETE or
TRUNCATE entries, and, not owning the table, never disable or drop its
append-only triggers. Production logs in as a member of that role (README,
"Running it safely"); roles are cluster-wide, so creation is idempotent and
parallel test runs share it.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

__all__ = ["APP_ROLE", "APP_SCHEMAS", "grant_app_role"]

log = logging.getLogger(__name__)

APP_ROLE = "rxdispatch_app"
#: Schemas whose tables the app reads and writes.
APP_SCHEMAS = ("dispatch", "telemetry", "auth", "live", "api")
#: Functions the app calls that create or drop objects: run as their owner.
OWNER_FUNCTIONS = (
    "telemetry.ensure_reading_partitions(date, date)",
    "telemetry.drop_reading_partitions_before(date)",
)

CREATE_ROLE = sql.SQL(
    """
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {name}) THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- created by a parallel migration run
END $$;
"""
)
ROLE_EXISTS = "SELECT 1 FROM pg_roles WHERE rolname = %s"
CAN_CREATE_ROLES = (
    "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
)


def _schemas(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
        (list(APP_SCHEMAS),),
    ).fetchall()
    return [str(r[0]) for r in rows]


def grant_app_role(url: str, role: str = APP_ROLE) -> bool:
    """Create ``role`` if possible and grant it the app's privileges on the
    database at ``url`` (as its owner); False if the role neither exists nor can
    be created (then the app runs with the owner's privileges: logged)."""
    ident = sql.Identifier(role)
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute(ROLE_EXISTS, (role,)).fetchone() is not None
        if not exists:
            can = conn.execute(CAN_CREATE_ROLES).fetchone()
            if not (can and can[0]):
                log.warning(
                    "app role missing and not creatable",
                    extra={"role": role},
                )
                return False
            conn.execute(CREATE_ROLE.format(name=sql.Literal(role), role=ident))
        with conn.transaction():
            for schema in _schemas(conn):
                s = sql.Identifier(schema)
                for statement in (
                    "GRANT USAGE ON SCHEMA {s} TO {r}",
                    "GRANT SELECT, INSERT, UPDATE, DELETE"
                    " ON ALL TABLES IN SCHEMA {s} TO {r}",
                    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {r}",
                ):
                    conn.execute(sql.SQL(statement).format(s=s, r=ident))
            conn.execute(
                sql.SQL(
                    "REVOKE UPDATE, DELETE, TRUNCATE ON dispatch.audit_entry,"
                    " dispatch.audit_head FROM {r}"
                ).format(r=ident)
            )
            conn.execute(
                sql.SQL(
                    "GRANT UPDATE (last_seq, last_hash) ON dispatch.audit_head TO {r}"
                ).format(r=ident)
            )
            for function in OWNER_FUNCTIONS:
                found = conn.execute(
                    "SELECT to_regprocedure(%s) IS NOT NULL", (function,)
                ).fetchone()
                if found and found[0]:
                    # creating partitions needs the parent table's owner
                    conn.execute(
                        sql.SQL(
                            "ALTER FUNCTION {f} SECURITY DEFINER"
                            " SET search_path = pg_catalog, pg_temp"
                        ).format(f=sql.SQL(function))
                    )
    log.info("app role granted", extra={"role": role})
    return True
