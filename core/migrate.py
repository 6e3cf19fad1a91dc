"""Alembic driven from code: the versions in `migrations/` plus those plugins bring.

Alembic itself (about 11 MiB once imported) is imported only to migrate or compare: `serve`
starts by asking whether the schema is behind (`ensure_schema`), and on a database already at
head that question is answered from the version files' text and the `alembic_version` table, so
a served worker never holds Alembic in memory.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from pluggy import PluginManager

from core.config import Settings
from core.db import is_sqlite, sqlite_path, sync_url
from core.files import private_database
from core.plugins import collect, load
from core.schema import full_metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Alembic's bookkeeping table (its default name; migrations/env.py keeps it).
VERSION_TABLE = "alembic_version"


def version_locations(pm: PluginManager) -> list[str]:
    """Where the versions are: core's, then each enabled plugin's `migration_dirs`."""
    return [str(MIGRATIONS_DIR / "versions"), *collect(pm.hook.migration_dirs())]


def alembic_config(settings: Settings, pm: PluginManager | None = None) -> Config:
    # Imported here, not at the top: only migrating needs Alembic (memory at start-up).
    from alembic.config import Config

    pm = pm or load(settings)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = version_locations(pm)
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
    from alembic import command

    url = settings.database_url
    if is_sqlite(url):
        private_database(sqlite_path(url))
    command.upgrade(alembic_config(settings, pm), "heads")


def ensure_schema(settings: Settings, pm: PluginManager | None = None) -> None:
    """Migrate the embedded database, or any database with no schema yet, to head.

    `serve` and every CLI command start here, so a new data directory needs no other step. A
    MySQL database that already has a schema is left alone: upgrading it is `hitcircle migrate`,
    run when the operator chooses. An embedded database already at head is left alone without
    importing Alembic (`at_head`).
    """
    url = settings.database_url
    if is_sqlite(url):
        private_database(sqlite_path(url))
        pm = pm or load(settings)
        if not at_head(settings, pm):
            upgrade(settings, pm)
    elif needs_upgrade(settings):
        upgrade(settings, pm)


def needs_upgrade(settings: Settings) -> bool:
    """True when the database has no alembic version yet (a fresh embedded database)."""
    return not current_revisions(settings)


def current_revisions(settings: Settings) -> set[str]:
    """The revisions the database is at: the rows of Alembic's version table (none when it has
    no such table yet), read as Alembic's `MigrationContext.get_current_heads` reads them."""
    engine = sa.create_engine(sync_url(settings.database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(VERSION_TABLE):
                return set()
            rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
            return {str(row[0]) for row in rows}
    finally:
        engine.dispose()


def at_head(settings: Settings, pm: PluginManager) -> bool:
    """True when the database is at every head of the version files (nothing to upgrade).

    False as well when a version file cannot be read without running it (`script_heads`):
    Alembic then decides, and upgrading a database at head changes nothing.
    """
    heads = script_heads(version_locations(pm))
    return heads is not None and current_revisions(settings) == heads


def script_heads(locations: Iterable[str]) -> set[str] | None:
    """The head revisions of the version files in `locations`: those no other file names as its
    `down_revision` (Alembic's `ScriptDirectory.get_heads`), read from each file's literal
    `revision` and `down_revision` assignments without importing it. None when a file has no
    such literals (Alembic would have to load it to know)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for location in locations:
        # The files Alembic loads from a version location: its `*.py`, not `__init__.py`.
        for path in sorted(Path(location).glob("*.py")):
            if path.name == "__init__.py":
                continue
            found = _revision_literals(path)
            if found is None:
                return None
            revision, down = found
            revisions.add(revision)
            parents.update(down)
    return revisions - parents


def _revision_literals(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """A version file's `revision` and its `down_revision`s, or None when either is not a
    literal at the module's top level."""
    try:
        tree = ast.parse(path.read_bytes(), str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                return None
    revision, down = values.get("revision"), values.get("down_revision", ...)
    if not isinstance(revision, str) or down is ...:
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, tuple | list) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def differences(settings: Settings, pm: PluginManager | None = None) -> list[object]:
    """What autogenerate would change between the migrated database and the metadata."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

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
