"""Alembic environment: the schema is core's tables plus every enabled plugin's."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from core.config import load_settings
from core.db import sync_url
from core.plugins import load
from core.schema import full_metadata

config = context.config
settings = config.attributes.get("settings") or load_settings()
target_metadata = config.attributes.get("metadata") or full_metadata(load(settings))
url = sync_url(settings.database_url)


def run_migrations_offline() -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
