"""The shared body of every package's Alembic ``env.py`` (online mode, raw SQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, pool


def run_migrations(context: Any) -> None:
    """Run the pending revisions of the calling environment in one transaction."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    version_table = config.attributes["version_table"]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            version_table=version_table,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
