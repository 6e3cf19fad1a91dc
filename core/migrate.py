"""Alembic driven from code: the versions in `migrations/` plus those plugins bring."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from pluggy import PluginManager

from core.config import Settings
from core.db import is_sqlite, sqlite_path, sync_url
from core.files import private_database
from core.plugins import collect, load
from core.schema import full_metadata

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings, pm: PluginManager | None = None) -> Config:
    pm = pm or load(settings)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [str(MIGRATIONS_DIR / "versions"), *collect(pm.hook.migration_dirs())]
    # Alembic splits version_locations on the separator; a space is safe for our paths. 1.16
    # renamed the option to path_separator (and warns about the old name when it is the one
    # it finds); older releases read only the old name.
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("version_path_separator", "space")
    cfg.set_main_option("version_locations", " ".join(locations))
    cfg.attributes["settings"] = settings
    cfg.attributes["metadata"] = full_metadata(pm)
    return cfg


def upgrade(settings: Settings, pm: PluginManager | None = None) -> None:
    url = settings.database_url
    if is_sqlite(url):
        private_database(sqlite_path(url))
    command.upgrade(alembic_config(settings, pm), "heads")


def ensure_schema(settings: Settings, pm: PluginManager | None = None) -> None:
    """Migrate the embedded database, or any database with no schema yet, to head.

    `serve` and every CLI command start here, so a new data directory needs no other step. A
    MySQL database that already has a schema is left alone: upgrading it is `hitcircle migrate`,
    run when the operator chooses.
    """
    if is_sqlite(settings.database_url) or needs_upgrade(settings):
        upgrade(settings, pm)


def needs_upgrade(settings: Settings) -> bool:
    """True when the database has no alembic version yet (a fresh embedded database)."""
    engine = sa.create_engine(sync_url(settings.database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return not MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()


def differences(settings: Settings, pm: PluginManager | None = None) -> list[object]:
    """What autogenerate would change between the migrated database and the metadata."""
    pm = pm or load(settings)
    engine = sa.create_engine(sync_url(settings.database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return [
                diff
                for diff in compare_metadata(ctx, full_metadata(pm))
                # Alembic's own bookkeeping table is not part of our schema.
                if not _is_alembic_version(diff)
            ]
    finally:
        engine.dispose()


def _is_alembic_version(diff: object) -> bool:
    return (
        isinstance(diff, tuple)
        and len(diff) > 1
        and getattr(diff[1], "name", None) == "alembic_version"
    )
