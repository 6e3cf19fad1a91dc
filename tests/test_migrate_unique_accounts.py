"""Migration 0008 (one account per e-mail address): it reports accounts that already share an
address or name instead of failing on the index, and fills in `email_clean` for the rest."""

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from core import migrate
from core.config import Settings
from core.db import sync_url
from core.testing import schema_changed

REVISION = "0008"


@pytest.fixture
def engine(settings: Settings) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sync_url(settings.database_url), poolclass=sa.pool.NullPool)
    # Down to the revision before ours, as a database made by an older hitcircle is.
    config = migrate.alembic_config(settings)
    before = migrate_script(settings).get_revision(REVISION).down_revision
    command.downgrade(config, str(before))
    yield engine
    engine.dispose()
    # The MySQL test database was migrated by hand: the next test gets a fresh schema.
    schema_changed()


def migrate_script(settings: Settings):  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config(settings))


def add_user(conn: sa.Connection, username: str, email: str | None) -> int:
    result = conn.execute(
        sa.text(
            "INSERT INTO users (username, username_clean, email, password_hash, country_code,"
            " join_date, playmode, restricted, is_bot, is_deleted, support_level, has_supported,"
            " pm_friends_only, hide_presence) VALUES (:u, :c, :e, 'x', 'AU', :d, 0, 0, 0, 0, 0,"
            " 0, 0, 0)"
        ),
        {"u": username, "c": username.lower(), "e": email, "d": dt.datetime(2026, 1, 1)},
    )
    return int(result.lastrowid)  # type: ignore[arg-type]


def test_duplicates_are_reported_then_the_index_is_made(
    settings: Settings, engine: sa.Engine
) -> None:
    with engine.begin() as conn:
        first = add_user(conn, "first", "Shared@Example.com")
        second = add_user(conn, "second", "shared@example.COM ")
        add_user(conn, "third", "own@example.com")
        add_user(conn, "fourth", None)
        add_user(conn, "fifth", None)
    with pytest.raises(Exception, match="share an e-mail address") as refused:
        migrate.upgrade(settings)
    message = str(refused.value)
    assert f"#{first} 'Shared@Example.com'" in message
    assert f"#{second} 'shared@example.COM '" in message
    assert "own@example.com" not in message
    # Nothing was changed: the database is still at the revision before.
    with engine.connect() as conn:
        assert "email_clean" not in {c["name"] for c in sa.inspect(conn).get_columns("users")}

    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET email = 'other@example.com' WHERE id = :i"), {"i": second}
        )
    migrate.upgrade(settings)
    assert migrate.differences(settings) == []
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT username, email_clean FROM users ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        ("first", "shared@example.com"),
        ("second", "other@example.com"),
        ("third", "own@example.com"),
        ("fourth", None),
        ("fifth", None),
    ]
    # The index holds from now on, whatever the case.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET email_clean = 'own@example.com' WHERE id = :i"), {"i": first}
        )


def test_the_database_collation_is_asked_too(
    settings: Settings, engine: sa.Engine, backend: str
) -> None:
    if backend == "embedded":
        pytest.skip("SQLite compares the normalised text only")
    # MySQL's utf8mb4_unicode_ci equates what lower() keeps apart; the index would refuse it.
    with engine.begin() as conn:
        first = add_user(conn, "rene", "rene@example.com")
        second = add_user(conn, "renee", "rené@example.com")
    with pytest.raises(Exception, match="share an e-mail address") as refused:
        migrate.upgrade(settings)
    assert f"#{first} 'rene@example.com', #{second} 'rené@example.com'" in str(refused.value)


def test_downgrade_and_upgrade_again(settings: Settings, engine: sa.Engine) -> None:
    with engine.begin() as conn:
        add_user(conn, "someone", "Someone@Example.com")
    migrate.upgrade(settings)
    with engine.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT email_clean FROM users")).scalar() == "someone@example.com"
        )
