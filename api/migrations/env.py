"""Alembic environment of the ``api`` schemas (``auth``, ``live``)."""

from alembic import context

from dispatch.migrations.alembic_env import run_migrations

run_migrations(context)
