"""PostgreSQL plumbing for the persistence adapters: pools, databases, migrations."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from dispatch.adapters.postgres.roles import grant_app_role

log = logging.getLogger(__name__)

#: Packages that own migrations, in the order they must be applied.
MIGRATION_PACKAGES: tuple[str, ...] = ("dispatch", "telemetry", "api")


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead (keeps host, user, query)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting its remaining sessions."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


def open_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> ConnectionPool:
    """An opened psycopg pool; the caller closes it."""
    pool = ConnectionPool(
        url, min_size=min_size, max_size=max_size, open=False, name="rxdispatch"
    )
    pool.open(wait=True, timeout=30)
    return pool


def _sqlalchemy_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    if "+" in scheme:
        return url
    return "postgresql+psycopg://" + rest


def package_dir(package: str) -> Path:
    """The folder of a top-level package, found on the import path (not imported)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"no package {package!r} on the import path")
    return Path(next(iter(spec.submodule_search_locations)))


def migrate(url: str, packages: tuple[str, ...] = MIGRATION_PACKAGES) -> None:
    """Bring the database at ``url`` to the newest revision of each package, then
    (re)grant the app's role its privileges (:mod:`.roles`).

    ``url`` connects as the schema owner. Each package keeps its Alembic
    revisions in ``<package>/migrations`` and its own version table, so packages
    evolve their schemas independently.
    """
    from alembic import command
    from alembic.config import Config

    for package in packages:
        location = package_dir(package) / "migrations"
        if not (location / "env.py").exists():
            continue
        cfg = Config()
        cfg.set_main_option("script_location", str(location))
        cfg.set_main_option("sqlalchemy.url", _sqlalchemy_url(url).replace("%", "%%"))
        cfg.attributes["version_table"] = f"alembic_version_{package}"
        cfg.attributes["configure_logger"] = False
        command.upgrade(cfg, "head")
        log.info("migrated", extra={"package": package})
    grant_app_role(url)
