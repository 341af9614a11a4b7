"""Alembic environment of the ``dispatch`` schema."""

from alembic import context

from dispatch.migrations.alembic_env import run_migrations

run_migrations(context)
