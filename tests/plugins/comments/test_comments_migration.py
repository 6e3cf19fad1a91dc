"""Migration 0015 (comments, comment_votes) goes down and up again on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from core import migrate
from core.config import Settings
from core.db import sync_url
from core.testing import schema_changed


def test_downgrade_and_upgrade_again(settings: Settings) -> None:
    engine = sa.create_engine(sync_url(settings.database_url), poolclass=sa.pool.NullPool)
    try:
        command.downgrade(migrate.alembic_config(settings), "0014")
        assert not {"comments", "comment_votes"} & set(sa.inspect(engine).get_table_names())
        migrate.upgrade(settings)
        assert {"comments", "comment_votes"} <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
        # The MySQL test database was migrated by hand: the next test gets a fresh schema.
        schema_changed()
