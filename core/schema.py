"""SQLAlchemy Core tables of the shared osu! domain.

Core tables live on the module-level `metadata`, defined by the modules of TABLE_MODULES. A plugin
defines its own tables at module level on a MetaData of its own (`plugin_metadata()`) and returns
them from the `tables` hook; `full_metadata()` gathers both, so Alembic and the tests see the same
schema as the app.
"""

from __future__ import annotations

import importlib
from typing import TypedDict

import sqlalchemy as sa
from pluggy import PluginManager

from core.plugins import collect

# Stable constraint names: Alembic needs them to alter tables on SQLite and MySQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class TableArgs(TypedDict):
    """The dialect keyword arguments every table takes (`sa.Table(..., **TABLE_ARGS)`)."""

    mysql_charset: str
    mysql_collate: str


# Every table is utf8mb4 on MySQL/MariaDB whatever the server default is.
TABLE_ARGS: TableArgs = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def plugin_metadata() -> sa.MetaData:
    return sa.MetaData(naming_convention=NAMING_CONVENTION)


metadata = plugin_metadata()


# The modules that define core's tables on `metadata`: one `store` per concept (and the
# statistics and notifications tables beside theirs).
TABLE_MODULES = (
    "core.users.store",
    "core.users.user_statistics",
    "core.users.activity",
    "core.users.events",
    "core.auth.store",
    "core.beatmaps.store",
    "core.beatmaps.feedback",
    "core.beatmaps.packs",
    "core.beatmaps.set_events",
    "core.scores.store",
    "core.rooms.store",
    "core.chat.store",
    "core.chat.notifications",
    "core.jobs",
    "core.reports.store",
    "core.comments.store",
    "core.moderation.store",
    "core.daily_challenge.store",
    "core.teams.store",
    "core.medals.store",
    "core.spotlights.store",
    "core.users.variants",
)


def load_domain_tables() -> None:
    """Import every module of TABLE_MODULES, so each concept's tables are on `metadata`."""
    for name in TABLE_MODULES:
        importlib.import_module(name)


def full_metadata(pm: PluginManager | None = None) -> sa.MetaData:
    """Core tables plus those of every enabled plugin, in one MetaData."""
    load_domain_tables()
    md = plugin_metadata()
    for table in metadata.tables.values():
        table.to_metadata(md)
    if pm is not None:
        for table in collect(pm.hook.tables(metadata=md)):
            if table.name not in md.tables:
                table.to_metadata(md)
    return md
