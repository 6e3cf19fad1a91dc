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


def test_at_head_without_alembic(tmp_path: Path) -> None:
    from core.config import settings_from

    settings = settings_from({"data": {"dir": str(tmp_path)}}, {})
    pm = load(settings)
    assert migrate.current_revisions(settings) == set()
    assert not migrate.at_head(settings, pm)
    migrate.ensure_schema(settings, pm)
    assert migrate.at_head(settings, pm)
    # The heads read from the files are the ones Alembic wrote to the database.
    assert migrate.script_heads(migrate.version_locations(pm)) == migrate.current_revisions(
        settings
    )
    # One branch behind (a plugin's migrations not applied yet): not at head.
    engine = sa.create_engine(sync_url(settings.database_url))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version WHERE version_num LIKE 'account%'"))
    engine.dispose()
    assert not migrate.at_head(settings, pm)


def test_script_heads_follow_down_revisions(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = ("a",)\n')
    (tmp_path / "__init__.py").write_text("")
    assert migrate.script_heads([str(tmp_path)]) == {"b", "c"}
    (tmp_path / "d.py").write_text('revision = "d"\ndown_revision = ("b", "c")\n')
    assert migrate.script_heads([str(tmp_path)]) == {"d"}


@pytest.mark.parametrize(
    "text",
    [
        "revision = make_id()\ndown_revision = None\n",
        "down_revision = None\n",
        'revision = "x"\n',
        'revision = "x"\ndown_revision = 3\n',
        "revision = (\n",
    ],
)
def test_script_heads_unknown_when_a_file_is_not_literal(tmp_path: Path, text: str) -> None:
    # Alembic would have to run such a file: the caller lets Alembic decide.
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "odd.py").write_text(text)
    assert migrate.script_heads([str(tmp_path)]) is None
