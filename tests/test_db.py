import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core import db
from core.config import settings_from
from core.testing import MYSQL_URL


async def test_unreachable_database_is_one_line_after_bounded_retries() -> None:
    settings = settings_from(
        {
            "database": {
                "url": "mysql://root:hunter2@127.0.0.1:1/x",
                "connect_attempts": 2,
                "connect_backoff": 0.01,
            }
        },
        {},
    )
    with pytest.raises(db.DatabaseUnavailable) as info:
        await db.connect(settings)
    message = str(info.value)
    assert message.startswith(
        "database mysql://root:***@127.0.0.1:1/x unreachable after 2 attempts"
    )
    assert "hunter2" not in message
    assert "\n" not in message


async def test_sqlite_connects_and_creates_its_folder(tmp_path) -> None:
    settings = settings_from({"data": {"dir": str(tmp_path / "new" / "dir")}}, {})
    database = await db.connect(settings)
    try:
        assert await database.fetch_val("SELECT 1") == 1
        assert await database.fetch_val("PRAGMA journal_mode") == "wal"
    finally:
        await database.disconnect()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:p@h/d", "mysql://u:***@h/d"),
        ("mysql://u@h/d", "mysql://u@h/d"),
        ("sqlite:///data/x.db", "sqlite:///data/x.db"),
        (
            "redis+sentinel://:p@h:1,h:2/svc/1?sentinel_password=s",
            "redis+sentinel://:***@h:1,h:2/svc/1?sentinel_password=***",
        ),
        ("redis+cluster://h:1,h:2", "redis+cluster://h:1,h:2"),
        ("mysql://u:p@h/d?charset=utf8mb4", "mysql://u:***@h/d?charset=utf8mb4"),
    ],
)
def test_redact(url: str, expected: str) -> None:
    assert db.redact(url) == expected


async def test_sqlite_pool_reuses_connections_and_keeps_pragmas(tmp_path: Path) -> None:
    database = db.make_database(f"sqlite:///{tmp_path / 'x.db'}", pool_size=2)
    await database.connect()
    try:
        pool = database._backend._pool
        await database.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await database.execute(
            "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))"
        )
        for _ in range(20):
            await database.fetch_val("SELECT 1")
        assert pool._open == 1  # sequential queries share one connection
        assert await database.fetch_val("PRAGMA foreign_keys") == 1
        with pytest.raises(sqlite3.IntegrityError):
            await database.execute("INSERT INTO child (id, parent_id) VALUES (1, 99)")
    finally:
        await database.disconnect()


async def test_sqlite_execute_reports_row_counts_not_stale_ids(tmp_path: Path) -> None:
    import sqlalchemy as sa

    md = sa.MetaData()
    items = sa.Table(
        "items", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer)
    )
    database = db.make_database(f"sqlite:///{tmp_path / 'x.db'}")
    await database.connect()
    try:
        await database.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, n INTEGER)")
        assert await database.execute(items.insert().values(n=1)) == 1
        assert await database.execute(items.insert().values(n=2)) == 2
        assert await database.execute(items.delete().where(items.c.id == 99)) == 0
        assert await database.execute(items.update().values(n=5)) == 2
        assert await database.execute(items.delete().where(items.c.id == 1)) == 1
    finally:
        await database.disconnect()


async def test_sqlite_pool_bounds_and_rolls_back_abandoned_transactions(tmp_path: Path) -> None:
    import asyncio

    database = db.make_database(f"sqlite:///{tmp_path / 'x.db'}", pool_size=2)
    await database.connect()
    try:
        await database.execute("CREATE TABLE t (a INTEGER)")

        async def slow() -> None:
            await database.fetch_val("SELECT 1")
            await asyncio.sleep(0.01)

        await asyncio.gather(*(asyncio.create_task(slow()) for _ in range(10)))
        assert database._backend._pool._open <= 2
        with pytest.raises(RuntimeError):
            async with database.transaction():
                await database.execute("INSERT INTO t VALUES (1)")
                raise RuntimeError("abandon")
        assert await database.fetch_val("SELECT count(*) FROM t") == 0
    finally:
        await database.disconnect()


# --- start-up: what is retried and what is not ---------------------------------------------------


async def test_a_file_that_is_no_database_is_refused_at_once(tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("not a database\n" * 100)
    settings = settings_from(
        {"database": {"url": f"sqlite:///{text}", "connect_attempts": 50, "connect_backoff": 60}},
        {},
    )
    with pytest.raises(db.DatabaseRefused) as info:
        await db.connect(settings)  # 50 attempts 60 s apart would never end: one is made
    assert str(info.value) == f"database sqlite:///{text} refused: file is not a database"


async def test_a_folder_that_cannot_be_made_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = settings_from({"data": {"dir": str(blocker / "data")}}, {})
    with pytest.raises(db.DatabaseRefused) as info:
        await db.connect(settings)
    assert str(info.value).startswith(f"database sqlite:///{blocker / 'data' / 'hitcircle.db'}: ")
    assert "\n" not in str(info.value)


@pytest.mark.skipif(not MYSQL_URL, reason="needs HITCIRCLE_TEST_MYSQL_URL")
@pytest.mark.parametrize(
    ("change", "problem"), [("password", "Access denied for user"), ("db", "Unknown database")]
)
async def test_mysql_sign_in_errors_are_refused_at_once(change: str, problem: str) -> None:
    url = make_url(MYSQL_URL)
    if change == "password":
        url = url.set(username="hitcircle_no_such_user", password="wrong")
    else:
        url = url.set(database="hitcircle_no_such_database")
    text = url.render_as_string(hide_password=False)
    settings = settings_from(
        {"database": {"url": text, "connect_attempts": 50, "connect_backoff": 60}}, {}
    )
    with pytest.raises(db.DatabaseRefused) as info:
        await db.connect(settings)
    assert str(info.value).startswith(f"database {db.redact(text)} refused: {problem}")
    assert "wrong" not in str(info.value)


async def test_a_host_that_never_answers_is_bounded_by_connect_timeout() -> None:
    """A server that accepts the connection and says nothing (a MySQL greeting never comes):
    each attempt ends after connect_timeout, and the attempts are retried, then one line."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = settings_from(
        {
            "database": {
                "url": f"mysql://root@127.0.0.1:{port}/x",
                "connect_attempts": 2,
                "connect_backoff": 0.01,
                "connect_timeout": 0.3,
            }
        },
        {},
    )
    try:
        with pytest.raises(db.DatabaseUnavailable) as info:
            await db.connect(settings)
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
    assert str(info.value) == (
        f"database mysql://root@127.0.0.1:{port}/x unreachable after 2 attempts: "
        "TimeoutError: no answer within 0.3 s"
    )
    assert len(accepted) == 2


async def test_sqlite_read_then_write_transactions_of_two_processes_queue(tmp_path: Path) -> None:
    """Two pools on one file, as `serve --workers 2` has: transactions that read and then write
    (a counter, like a user's statistics) all commit, none is lost to "database is locked"."""
    import asyncio

    url = f"sqlite:///{tmp_path / 'x.db'}"
    first, second = db.make_database(url), db.make_database(url)
    await first.connect()
    await second.connect()
    try:
        await first.execute("PRAGMA journal_mode=WAL")
        await first.execute("CREATE TABLE counter (n INTEGER)")
        await first.execute("INSERT INTO counter VALUES (0)")

        async def bump(database: db.Database) -> None:
            async with database.transaction():
                n = await database.fetch_val("SELECT n FROM counter")
                await asyncio.sleep(0)
                await database.execute(f"UPDATE counter SET n = {n + 1}")

        await asyncio.gather(*(bump(d) for _ in range(40) for d in (first, second)))
        assert await first.fetch_val("SELECT n FROM counter") == 80
    finally:
        await first.disconnect()
        await second.disconnect()


async def test_sqlite_write_lock_not_had_in_time_is_busy_and_gives_back_the_connection(
    tmp_path: Path,
) -> None:
    import sqlalchemy as sa

    path = tmp_path / "x.db"
    database = db.make_database(f"sqlite:///{path}", pool_size=2, write_timeout=0.2)
    await database.connect()
    items = sa.table("t", sa.column("a"))
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await database.execute("CREATE TABLE t (a INTEGER)")
        other.execute("BEGIN IMMEDIATE")
        for _ in range(3):  # more than the pool holds: each gives its connection back
            with pytest.raises(db.DatabaseBusy):
                async with database.transaction():
                    await database.execute(items.insert().values(a=1))
            with pytest.raises(db.DatabaseBusy):
                await database.execute(items.insert().values(a=2))
        pool = database._backend._pool
        assert pool._open == len(pool._idle) and not pool.writer.locked()
        other.rollback()
        async with database.transaction():
            await database.execute(items.insert().values(a=3))
        assert await database.fetch_val("SELECT group_concat(a) FROM t") == "3"
    finally:
        other.close()
        await database.disconnect()


async def test_a_connection_handed_back_after_the_pool_closed_is_closed(tmp_path: Path) -> None:
    """A task that outlived its app (a job, a probe) hands its connection back after the pool
    closed: it is closed, not kept idle for the garbage collector to find open."""
    pool = db.SQLiteConnectionPool(str(tmp_path / "x.db"), size=2)
    connection = await pool.acquire()
    await pool.close()
    await pool.release(connection)
    assert connection._connection is None  # aiosqlite's handle: closed


async def test_a_connection_whose_opening_was_cancelled_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled while its thread opened the file (a request or a probe given up on): the
    connection is closed once open."""
    import aiosqlite

    made: list[aiosqlite.Connection] = []
    asked = asyncio.Event()
    real = aiosqlite.connect

    def connect(*args: object, **kwargs: object) -> aiosqlite.Connection:
        made.append(real(*args, **kwargs))  # type: ignore[arg-type]
        asked.set()
        return made[-1]

    monkeypatch.setattr(aiosqlite, "connect", connect)
    pool = db.SQLiteConnectionPool(str(tmp_path / "x.db"), size=2)
    task = asyncio.ensure_future(pool.acquire())
    await asyncio.wait_for(asked.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The close runs once the opening finishes; a later acquire proves the pool went on.
    again = await pool.acquire()
    for _ in range(200):
        if made[0]._connection is None:
            break
        await asyncio.sleep(0.01)
    assert made[0]._connection is None
    await pool.release(again)
    await pool.close()


async def test_a_release_cancelled_midway_still_hands_the_connection_back(tmp_path: Path) -> None:
    """A request task cancelled while it hands its connection back (the client gone): the
    connection goes back to the pool all the same, so the pool never shrinks for good."""
    pool = db.SQLiteConnectionPool(str(tmp_path / "x.db"), size=1)
    connection = await pool.acquire()
    await connection.execute("BEGIN")  # so the hand-back awaits a ROLLBACK in the thread
    task = asyncio.ensure_future(pool.release(connection))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The one slot is free again: the same connection, rolled back.
    again = await asyncio.wait_for(pool.acquire(), 5)
    assert again is connection and not again.in_transaction
    await pool.release(again)
    await pool.close()
    assert connection._connection is None


async def test_closing_the_pool_closes_connections_still_handed_out(tmp_path: Path) -> None:
    """A task that outlived its app still holds a connection when the pool closes: it is closed
    then, not left open for the garbage collector to warn about."""
    pool = db.SQLiteConnectionPool(str(tmp_path / "x.db"), size=2)
    held = await pool.acquire()
    idle = await pool.acquire()
    await pool.release(idle)
    await pool.close()
    assert held._connection is None and idle._connection is None
    with pytest.raises(ValueError):  # aiosqlite: no active connection
        await held.execute("SELECT 1")
    await pool.release(held)  # handed back late: nothing left to do, no error
    assert pool._open == 0
