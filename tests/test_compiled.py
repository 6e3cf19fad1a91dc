"""core.compiled: a statement shape is compiled once and reused with each call's own values, on
both backends; shapes whose SQL depends on their values compile as before."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from starlette.applications import Starlette

from core import compiled
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user


def _select(user_id: int) -> sa.Select:  # type: ignore[type-arg]
    return sa.select(users_db.users.c.username).where(users_db.users.c.id == user_id)


async def test_one_compile_per_shape_with_each_calls_values(app: Starlette) -> None:
    db = services(app).db
    first = await create_user(app, "first")
    second = await create_user(app, "second")
    key = _select(first)._generate_cache_key()
    assert key is not None and key == _select(second)._generate_cache_key()
    slot = (db._backend._dialect.name, key[0])  # type: ignore[attr-defined]
    compiled._shapes.pop(slot, None)
    assert await db.fetch_val(_select(first)) == "first"
    kept = compiled._shapes[slot]
    assert kept is not None
    # The same shape: the kept statement, this call's value.
    assert await db.fetch_val(_select(second)) == "second"
    assert await db.fetch_val(_select(10**9)) is None
    assert compiled._shapes[slot] is kept


async def test_values_go_through_the_types_bind_processing(app: Starlette) -> None:
    """A datetime is stored as the dialect's type stores it, on a reused shape too."""
    db = services(app).db
    user = await create_user(app, "when")
    moments = [dt.datetime(2020, 1, 2, 3, 4, 5), dt.datetime(2021, 6, 7, 8, 9, 10)]
    for moment in moments:
        await db.execute(
            sa.update(users_db.users).where(users_db.users.c.id == user).values(last_visit=moment)
        )
        stored = await db.fetch_val(
            sa.select(users_db.users.c.last_visit).where(users_db.users.c.id == user)
        )
        assert stored.replace(tzinfo=None) == moment


async def test_expanding_in_lists_are_not_reused(app: Starlette) -> None:
    db = services(app).db
    ids = [await create_user(app, f"in{i}") for i in range(3)]
    query = sa.select(users_db.users.c.id).where(users_db.users.c.id.in_(ids[:2]))
    dialect = db._backend._dialect  # type: ignore[attr-defined]
    assert compiled.compile_cached(dialect, query, positional=True) is None
    # Lists of other lengths still answer right (compiled per call, as before).
    assert sorted(r[0] for r in await db.fetch_all(query)) == ids[:2]
    wider = sa.select(users_db.users.c.id).where(users_db.users.c.id.in_(ids))
    assert sorted(r[0] for r in await db.fetch_all(wider)) == ids


def test_the_cache_is_bounded() -> None:
    from sqlalchemy.dialects import sqlite

    dialect = sqlite.dialect()
    compiled._shapes.clear()
    for width in range(compiled.MAX_SHAPES + 5):
        query = sa.select(*[sa.literal_column(str(i)) for i in range(1 + width % 50)]).where(
            users_db.users.c.id == width
        )
        compiled.compile_cached(dialect, query.limit(width + 1), positional=True)
    assert len(compiled._shapes) <= compiled.MAX_SHAPES
