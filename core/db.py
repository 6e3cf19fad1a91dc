"""The database connection: an embedded SQLite file by default, MySQL/MariaDB through aiomysql."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast, overload

import aiosqlite
import databases
import pymysql
from databases.backends.sqlite import SQLiteBackend, SQLiteConnection
from databases.interfaces import Record
from loguru import logger
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from core.config import Settings
from core.files import private_database

Database = databases.Database

# A fetched row as the domain code reads it: column name -> value.
Row = Mapping[str, Any]


@overload
def as_row(record: Record) -> Row: ...
@overload
def as_row(record: Record | None) -> Row | None: ...
def as_row(record: Record | None) -> Row | None:
    """A `databases` Record typed as what it is at run time: it reads by column name, iterates
    its column names and has keys()/values() (databases/backends/common/records.py), while
    `databases.interfaces.Record` only declares a Sequence. No conversion: the object is returned.
    It has no get() or items(); code needing them takes `dict(row)`."""
    return cast("Row | None", record)


def as_rows(records: list[Record]) -> list[Row]:
    """`as_row` for every record of a `fetch_all`."""
    return cast("list[Row]", records)


class DatabaseUnavailable(Exception):
    """The database did not answer; `str()` is one line for the operator."""


class DatabaseRefused(Exception):
    """The database answered but will not serve us (wrong password, no such database, a file that
    cannot be opened): trying again cannot help. `str()` is one line for the operator."""


# MySQL/MariaDB server errors that no retry fixes (mysqld_error.h): access denied to the database
# (1044), wrong user or password (1045), unknown database (1049), an auth plugin the client
# lacks (1251), a user that may only sign in through a socket (1698).
REFUSED_MYSQL_ERRORS = frozenset({1044, 1045, 1049, 1251, 1698})


# Errors that mean "the database is not there right now" rather than "the query is wrong".
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OSError,
    pymysql.err.OperationalError,
    pymysql.err.InterfaceError,
    DatabaseUnavailable,
)


def utcnow() -> dt.datetime:
    """Naive UTC, second precision: what DATETIME columns hold on SQLite and MariaDB alike."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sync_url(url: str) -> str:
    """The SQLAlchemy URL for synchronous tools (Alembic) from the async one."""
    if url.startswith("mysql+aiomysql://"):
        url = "mysql://" + url.removeprefix("mysql+aiomysql://")
    if url.startswith("mysql://"):
        base = "mysql+pymysql://" + url.removeprefix("mysql://")
        return (
            base if "charset=" in base else base + ("&" if "?" in base else "?") + "charset=utf8mb4"
        )
    return url


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///").split("?", 1)[0])


class SQLiteConnectionPool:
    """Reused aiosqlite connections for the embedded database.

    `databases` opens a new SQLite connection (and its thread) for every query outside a
    transaction, about a millisecond each, and loses per-connection pragmas such as
    foreign_keys. Here connections are opened once, set up, and handed out again.
    """

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self._idle: list[aiosqlite.Connection] = []
        self._open = 0
        self._available = asyncio.Condition()
        self._memref = None  # read by databases' SQLiteBackend.disconnect

    async def _new(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(database=self.path, isolation_level=None)
        await connection.__aenter__()
        try:
            # One writer at a time in SQLite: wait for the lock instead of failing at once.
            await connection.execute("PRAGMA busy_timeout=10000")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            # A file that is no database: its connection thread would keep the process alive.
            await connection.close()
            raise
        return connection

    async def acquire(self) -> aiosqlite.Connection:
        async with self._available:
            while not self._idle and self._open >= self.size:
                await self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            return await self._new()
        except BaseException:
            async with self._available:
                self._open -= 1
                self._available.notify()
            raise

    async def release(self, connection: aiosqlite.Connection) -> None:
        try:
            if connection.in_transaction:
                # A task that died inside a transaction must not hand its locks to the next.
                await connection.rollback()
        except Exception:
            await self._discard(connection)
            return
        async with self._available:
            self._idle.append(connection)
            self._available.notify()

    async def _discard(self, connection: aiosqlite.Connection) -> None:
        try:
            await connection.close()
        finally:
            async with self._available:
                self._open -= 1
                self._available.notify()

    async def close(self) -> None:
        async with self._available:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for connection in idle:
            await connection.close()


class PooledSQLiteConnection(SQLiteConnection):
    async def execute(self, query: Any) -> Any:
        # `databases` answers lastrowid unless it is 0; on a reused connection it is the id of
        # some earlier insert, so an UPDATE or DELETE would report it instead of its row count.
        # `databases` annotates _compile as a 3-tuple; it returns 4 (the result map and context).
        query_str, args = self._compile(query)[:2]
        async with self.raw_connection.cursor() as cursor:
            await cursor.execute(query_str, args)
            if getattr(query, "is_insert", False):
                return cursor.lastrowid
            return cursor.rowcount


class PooledSQLiteBackend(SQLiteBackend):
    def __init__(self, database_url: Any, **options: Any) -> None:
        size = int(options.pop("pool_size", 8))
        super().__init__(database_url, **options)
        self._pool = SQLiteConnectionPool(self._database_url.database, size)  # type: ignore[assignment]

    async def disconnect(self) -> None:
        await self._pool.close()  # type: ignore[attr-defined]

    def connection(self) -> PooledSQLiteConnection:
        return PooledSQLiteConnection(self._pool, self._dialect)


def make_database(url: str, pool_size: int = 10, connect_timeout: float = 5.0) -> Database:
    if is_sqlite(url):
        private_database(sqlite_path(url))
        database = databases.Database(url)
        database._backend = PooledSQLiteBackend(database.url, pool_size=min(pool_size, 8))
        return database
    if url.startswith("mysql+aiomysql://"):
        url = "mysql://" + url.removeprefix("mysql+aiomysql://")
    # utf8mb4 end to end: usernames and chat carry characters outside the BMP.
    return databases.Database(
        url,
        charset="utf8mb4",
        min_size=1,
        max_size=pool_size,
        pool_recycle=3600,
        connect_timeout=connect_timeout,
    )


def refused(exc: BaseException) -> bool:
    """An error of connecting that no retry fixes (as opposed to a server that is not up)."""
    if isinstance(exc, pymysql.err.OperationalError) and exc.args:
        return exc.args[0] in REFUSED_MYSQL_ERRORS
    # SQLite: a file that cannot be opened or created, or one that is no database ("database is
    # locked" is an OperationalError too, and passes).
    if isinstance(exc, sqlite3.OperationalError):
        return "unable to open" in str(exc)
    return isinstance(exc, sqlite3.DatabaseError)


async def connect(settings: Settings) -> Database:
    """Connect with bounded retries; raises DatabaseUnavailable after the last attempt, and
    DatabaseRefused at once for an error no retry fixes (`refused`). Each attempt takes at most
    `database.connect_timeout` seconds, so a host that never answers fails in seconds too."""
    url = settings.database_url
    try:
        db = make_database(url, settings.database.pool_size, settings.database.connect_timeout)
    except OSError as exc:  # the embedded database's folder cannot be made
        raise DatabaseRefused(f"database {redact(url)}: {describe(exc)}") from None
    attempts = settings.database.connect_attempts
    timeout = settings.database.connect_timeout

    async def attempt_once() -> None:
        try:
            async with asyncio.timeout(timeout):
                await db.connect()
                await db.execute("SELECT 1")
        except TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g} s") from None
        except BaseException:
            if db.is_connected:
                await db.disconnect()
            raise

    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=settings.database.connect_backoff, max=10),
            retry=retry_if_exception(lambda exc: not refused(exc)),
            reraise=False,
        ):
            with attempt:
                n = attempt.retry_state.attempt_number
                if n > 1:
                    logger.warning("database not reachable, attempt {}/{}", n, attempts)
                await attempt_once()
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise DatabaseUnavailable(
            f"database {redact(url)} unreachable after {attempts} attempts: {describe(cause)}"
        ) from None
    except Exception as exc:
        if not refused(exc):
            raise
        raise DatabaseRefused(f"database {redact(url)} refused: {describe(exc)}") from None
    if is_sqlite(url):
        # WAL lets readers go on while a score is being written (it sticks to the file).
        await db.execute("PRAGMA journal_mode=WAL")
    return db


async def ping(db: Database) -> None:
    await db.execute("SELECT 1")


def redact(url: str) -> str:
    """The URL without its password, for logs and error lines."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    return f"{scheme}{sep}{creds.split(':', 1)[0]}:***@{host}"


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, pymysql.err.MySQLError) and exc.args:
        return str(exc.args[-1])
    if isinstance(exc, sqlite3.Error):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
