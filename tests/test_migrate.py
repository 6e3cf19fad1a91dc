from pathlib import Path

import pytest
import sqlalchemy as sa

from core import migrate
from core.config import Settings
from core.db import sync_url
from core.hooks import hookimpl
from core.plugins import load
from core.schema import plugin_metadata


def test_migrations_match_the_metadata(settings: Settings) -> None:
    # `settings` arrives migrated to head on this backend; autogenerate must find nothing to do.
    assert migrate.differences(settings) == []


def test_upgrade_is_idempotent(settings: Settings) -> None:
    migrate.upgrade(settings)
    assert migrate.differences(settings) == []
    assert not migrate.needs_upgrade(settings)


def test_fresh_sqlite_needs_upgrade(tmp_path: Path) -> None:
    from core.config import settings_from

    settings = settings_from({"data": {"dir": str(tmp_path)}}, {})
    assert migrate.needs_upgrade(settings)
    migrate.upgrade(settings)
    assert not migrate.needs_upgrade(settings)


PLUGIN_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "greeting_0001"
down_revision = None
branch_labels = ("greeting",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "greetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_greetings")),
    )


def downgrade() -> None:
    op.drop_table("greetings")
"""


def test_plugin_tables_and_migrations_are_part_of_the_schema(tmp_path: Path) -> None:
    from core.config import settings_from

    versions = tmp_path / "greeting_versions"
    versions.mkdir()
    (versions / "greeting_0001.py").write_text(PLUGIN_MIGRATION)
    md = plugin_metadata()
    greetings = sa.Table(
        "greetings",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(64), nullable=False),
    )

    class Greeting:
        @hookimpl
        def tables(self, metadata: sa.MetaData) -> list[sa.Table]:
            return [greetings]

        @hookimpl
        def migration_dirs(self) -> list[str]:
            return [str(versions)]

    settings = settings_from({"data": {"dir": str(tmp_path / "data")}}, {})
    pm = load(settings, [Greeting()])
    migrate.upgrade(settings, pm)
    engine = sa.create_engine(sync_url(settings.database_url))
    assert "greetings" in sa.inspect(engine).get_table_names()
    engine.dispose()
    assert migrate.differences(settings, pm) == []
    # Without the plugin's migration the table would be missing: the comparison notices.
    bare = settings_from({"data": {"dir": str(tmp_path / "bare")}}, {})
    migrate.upgrade(bare)
    diffs = migrate.differences(bare, load(bare, [Greeting()]))
    assert any(d[0] == "add_table" and d[1].name == "greetings" for d in diffs)


@pytest.mark.parametrize("url", ["mysql+aiomysql://u:p@h/db", "mysql://u:p@h/db?x=1"])
def test_sync_url_for_mysql(url: str) -> None:
    assert sync_url(url).startswith("mysql+pymysql://u:p@h/db")
    assert "charset=utf8mb4" in sync_url(url)
