"""SQLAlchemy Core tables of the shared osu! domain.

Core tables live on the module-level `metadata`, defined by the `core.domain` modules. A plugin
defines its own tables at module level on a MetaData of its own (`plugin_metadata()`) and returns
them from the `tables` hook; `full_metadata()` gathers both, so Alembic and the tests see the same
schema as the app.
"""

from __future__ import annotations

import importlib
import pkgutil
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


def load_domain_tables() -> None:
    """Import every `core.domain` module: each defines its area's tables on `metadata`."""
    import core.domain

    for info in pkgutil.iter_modules(core.domain.__path__):
        importlib.import_module(f"core.domain.{info.name}")


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
