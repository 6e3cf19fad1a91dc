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


async def test_in_lists_of_any_length_share_one_shape(app: Starlette) -> None:
    """An `IN` list is rendered per call into the kept SQL (SQLAlchemy's expanded state): every
    length, the empty list too, answers right from one compiled shape."""
    db = services(app).db
    ids = [await create_user(app, f"in{i}") for i in range(3)]

    def query(wanted: list[int]) -> sa.Select:  # type: ignore[type-arg]
        return sa.select(users_db.users.c.id).where(users_db.users.c.id.in_(wanted))

    key = query(ids)._generate_cache_key()
    assert key is not None
    slot = (db._backend._dialect.name, key[0])  # type: ignore[attr-defined]
    for wanted in (ids[:2], ids, [], ids[1:2], [10**9, ids[0]]):
        found = sorted(r[0] for r in await db.fetch_all(query(wanted)))
        assert found == sorted(i for i in wanted if i in ids), wanted
    kept = compiled._shapes[slot]
    assert await db.fetch_all(query(ids[:1])) and compiled._shapes[slot] is kept
    # A literal-execute parameter (LIMIT on some dialects) renders its value too.
    limited = (
        sa.select(users_db.users.c.id)
        .order_by(users_db.users.c.id)
        .limit(sa.literal(2, literal_execute=True))
    )
    assert [r[0] for r in await db.fetch_all(limited)][:2] == sorted(ids)[:2]


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


def _reference(dialect: object, query: sa.Select, positional: bool) -> tuple[str, object]:  # type: ignore[type-arg]
    """What `databases` itself sends: a fresh compile with the values rendered."""
    made = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})  # type: ignore[arg-type]
    params = made.construct_params()
    processors = made._bind_processors

    def value(name: str) -> object:
        return processors[name](params[name]) if name in processors else params[name]  # type: ignore[operator]

    if positional:
        return made.string, [value(n) for n in made.positiontup or ()]
    return made.string, {n: value(n) for n in params}


def test_every_value_matches_a_fresh_compile() -> None:
    """An `IN` list beside typed values (a datetime the SQLite dialect stores as text): the
    kept shape sends what a fresh compile sends, for each call's values, on both dialects. The
    datetimes once went unconverted next to an expanded list (a search cursor's second page)."""
    from sqlalchemy.dialects import mysql, sqlite

    column = users_db.users.c.last_visit

    def query(when: dt.datetime, ids: list[int]) -> sa.Select:  # type: ignore[type-arg]
        return (
            sa.select(users_db.users.c.id)
            .where(users_db.users.c.id.in_(ids), sa.or_(column < when, column == when))
            .limit(51)
        )

    for dialect, positional in ((sqlite.dialect(), True), (mysql.dialect(), False)):
        for when, ids in (
            (dt.datetime(2020, 9, 13, 12, 26, 40), [1, 2]),
            (dt.datetime(2023, 11, 14, 22, 13, 20), [3, 4, 5]),
            (dt.datetime(2024, 1, 1), []),
        ):
            got = compiled.compile_cached(dialect, query(when, ids), positional=positional)
            assert got is not None
            assert (got[0], got[1]) == _reference(dialect, query(when, ids), positional)
