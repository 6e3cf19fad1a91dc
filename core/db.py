"""The database connection: an embedded SQLite file by default, MySQL/MariaDB through aiomysql."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast, overload

import aiosqlite
import databases
import sqlalchemy as sa
from databases.backends.sqlite import SQLiteBackend, SQLiteConnection, SQLiteTransaction
from databases.interfaces import Record
from loguru import logger
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from core.compiled import compile_cached
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


class DatabaseBusy(DatabaseUnavailable):
    """The embedded database's write lock was not free within `[database] write_timeout`:
    nothing was written, the request may be repeated (503)."""


def loaded_errors(module: str, *names: str) -> tuple[type[BaseException], ...]:
    """The exception classes `names` of a driver's `module` (`"pymysql.err"`), or none while the
    driver is not imported: a driver never loaded (pymysql on the embedded backend, coredis
    without Redis) has raised nothing, and importing it only to compare would cost every worker
    its memory."""
    loaded = sys.modules.get(module)
    if loaded is None:
        return ()
    return tuple(getattr(loaded, name) for name in names)


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the database is not there right now" rather than "the query is wrong"."""
    return (
        ConnectionError,
        TimeoutError,
        OSError,
        *loaded_errors("pymysql.err", "OperationalError", "InterfaceError"),
        DatabaseUnavailable,
    )


def duplicate_errors() -> tuple[type[BaseException], ...]:
    """A unique key already taken, as each driver reports it (`databases` hands the drivers' own
    errors on): `except duplicate_errors():`."""
    return (
        sa.exc.IntegrityError,
        sqlite3.IntegrityError,
        *loaded_errors("pymysql.err", "IntegrityError"),
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


def _locked(exc: BaseException) -> bool:
    """SQLite's SQLITE_BUSY: another connection (of this process or another) holds the write
    lock past the busy timeout."""
    return isinstance(exc, sqlite3.OperationalError) and str(exc).startswith("database is locked")


class SQLiteConnectionPool:
    """Reused aiosqlite connections for the embedded database, and its one writer.

    `databases` opens a new SQLite connection (and its thread) for every query outside a
    transaction, about a millisecond each, and loses per-connection pragmas such as
    foreign_keys. Here connections are opened once, set up, and handed out again.

    SQLite takes one writer at a time. Writes of this process queue on `writer` (first come,
    first served, no polling) and every transaction starts with BEGIN IMMEDIATE, so it holds the
    file's write lock from its first statement: a transaction that reads, then writes, can't find
    its snapshot overtaken by another connection's commit, which SQLite answers with an immediate
    "database is locked" that no busy timeout waits out. Other processes on the same file
    (`serve --workers N`) queue on that lock through the busy timeout. A write that finds no
    lock within `write_timeout` raises DatabaseBusy, having written nothing.
    """

    def __init__(self, path: str, size: int, write_timeout: float = 10.0) -> None:
        self.path = path
        self.size = size
        self.write_timeout = write_timeout
        self.writer = asyncio.Lock()
        self._idle: list[aiosqlite.Connection] = []
        self._open = 0
        # Every connection made and not yet closed, idle or handed out, and the openings still
        # under way: what `close` closes, so that none is left for the garbage collector.
        self._made: set[aiosqlite.Connection] = set()
        self._opening: set[asyncio.Future[aiosqlite.Connection]] = set()
        self._available = asyncio.Condition()
        self._closed = False
        self._memref = None  # read by databases' SQLiteBackend.disconnect

    async def _new(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(database=self.path, isolation_level=None)
        self._made.add(connection)
        opening = asyncio.ensure_future(connection.__aenter__())
        self._opening.add(opening)
        opening.add_done_callback(self._opening.discard)
        try:
            await asyncio.shield(opening)
        except asyncio.CancelledError:
            # Cancelled while its thread opened the file (a request or a probe given up on):
            # the connection is closed once open, instead of being left to the collector.
            opening.add_done_callback(lambda _: self._close_later(connection))
            raise
        except BaseException:
            self._made.discard(connection)
            raise
        try:
            # Another process's write: wait for the lock instead of failing at once.
            await connection.execute(f"PRAGMA busy_timeout={int(self.write_timeout * 1000)}")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            # A file that is no database: its connection thread would keep the process alive.
            await self._close(connection)
            raise
        return connection

    async def _close(self, connection: aiosqlite.Connection) -> None:
        """Close a connection once, whoever asks first (aiosqlite hangs on a second close that
        races the first); a cancelled caller leaves the close to finish."""
        if connection not in self._made:
            return
        self._made.discard(connection)
        await asyncio.shield(connection.close())

    def _close_later(self, connection: aiosqlite.Connection) -> None:
        """Close a connection whose opening was given up on, once it is open (a done-callback)."""

        async def close() -> None:
            with contextlib.suppress(Exception):
                await self._close(connection)

        with contextlib.suppress(RuntimeError):  # no loop left: the process is ending
            asyncio.get_running_loop().create_task(close())

    async def take_writer(self) -> None:
        """This process's turn to write, within `write_timeout`."""
        try:
            async with asyncio.timeout(self.write_timeout):
                await self.writer.acquire()
        except TimeoutError:
            raise self.busy() from None

    def busy(self) -> DatabaseBusy:
        return DatabaseBusy(
            f"the embedded database stayed locked by other writes for {self.write_timeout:g}s"
        )

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
        # Shielded: a task cancelled while handing its connection back (a client gone mid-
        # request) must neither keep it from the pool for good nor leave it open unowned.
        await asyncio.shield(self._hand_back(connection))

    async def _hand_back(self, connection: aiosqlite.Connection) -> None:
        if self._closed:
            # Handed back after the pool closed (a task that outlived the app): not kept.
            await self._discard(connection)
            return
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
            await self._close(connection)
        finally:
            async with self._available:
                self._open -= 1
                self._available.notify()

    async def close(self) -> None:
        """Close every connection: the idle ones, those still being opened, and those handed
        out to tasks that outlived the app (their next query fails instead of the collector
        finding the connection open)."""
        self._closed = True
        if self._opening:
            await asyncio.gather(*self._opening, return_exceptions=True)
        async with self._available:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
        for connection in idle:
            await self._close(connection)
        for connection in list(self._made):
            with contextlib.suppress(Exception):
                await self._close(connection)


class PooledSQLiteTransaction(SQLiteTransaction):
    """A root transaction takes the file's write lock at BEGIN (IMMEDIATE); this process's
    turn to write was taken before (`_Transaction`). Savepoints are as in `databases`."""

    _connection: PooledSQLiteConnection

    async def start(self, is_root: bool, extra_options: dict[Any, Any]) -> None:
        if not is_root:
            await super().start(is_root, extra_options)
            return
        self._is_root = True
        try:
            cursor = await self._connection.raw_connection.execute("BEGIN IMMEDIATE")
            await cursor.close()
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise self._connection.pool.busy() from None
            raise


class PooledSQLiteConnection(SQLiteConnection):
    def _compile(self, query: Any) -> Any:
        # `databases` annotates _compile as a 3-tuple; it returns 4 (the result map and context).
        return compile_cached(self._dialect, query, positional=True) or super()._compile(query)

    @property
    def pool(self) -> SQLiteConnectionPool:
        return cast(SQLiteConnectionPool, self._pool)

    def transaction(self) -> PooledSQLiteTransaction:
        return PooledSQLiteTransaction(self)

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
        write_timeout = float(options.pop("write_timeout", 10.0))
        super().__init__(database_url, **options)
        self._pool = SQLiteConnectionPool(self._database_url.database, size, write_timeout)  # type: ignore[assignment]

    async def connect(self) -> None:
        self._pool._closed = False  # type: ignore[attr-defined]

    async def disconnect(self) -> None:
        await self._pool.close()  # type: ignore[attr-defined]

    def connection(self) -> PooledSQLiteConnection:
        return PooledSQLiteConnection(self._pool, self._dialect)


def _sqlite_pool(backend: Any) -> SQLiteConnectionPool | None:
    if not isinstance(backend, PooledSQLiteBackend):
        return None
    return cast(SQLiteConnectionPool, backend._pool)


class _Transaction(databases.core.Transaction):
    """databases' transaction, with two changes. On the embedded database a root transaction
    waits for this process's turn to write before it takes a pooled connection (so writers
    waiting in line leave the pool to readers), and keeps it until COMMIT or ROLLBACK. A BEGIN
    that fails (the write lock not had in time, a database gone) leaves the connection it
    entered, which databases keeps entered: its pooled connection would never be handed back."""

    _writer: SQLiteConnectionPool | None = None

    async def start(self) -> _Transaction:
        connection = self._connection
        self._transaction = connection._connection.transaction()
        async with connection._transaction_lock:
            is_root = not connection._transaction_stack
            pool = _sqlite_pool(connection._backend) if is_root else None
            if pool is not None:
                await pool.take_writer()
                self._writer = pool
            try:
                await connection.__aenter__()
                try:
                    await self._transaction.start(
                        is_root=is_root, extra_options=self._extra_options
                    )
                except BaseException:
                    await connection.__aexit__()
                    raise
            except BaseException:
                self._release_writer()
                raise
            connection._transaction_stack.append(self)
        return self

    async def commit(self) -> None:
        try:
            await super().commit()
        finally:
            self._release_writer()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self._release_writer()

    def _release_writer(self) -> None:
        if self._writer is not None:
            self._writer.writer.release()
            self._writer = None


class _Connection(databases.core.Connection):
    def transaction(self, *, force_rollback: bool = False, **kwargs: Any) -> _Transaction:
        return _Transaction(lambda: self, force_rollback, **kwargs)


class _Database(databases.Database):
    """`databases.Database` with `_Transaction`s, whose writes outside a transaction queue for
    the embedded database's write lock as transactions do."""

    def connection(self) -> databases.core.Connection:
        if self._global_connection is not None:
            return self._global_connection
        if not self._connection:
            self._connection = _Connection(self, self._backend)
        return self._connection

    def transaction(self, *, force_rollback: bool = False, **kwargs: Any) -> _Transaction:
        return _Transaction(self.connection, force_rollback=force_rollback, **kwargs)

    async def execute(self, query: Any, values: dict[str, Any] | None = None) -> Any:
        async with self._turn_to_write(query):
            return await super().execute(query, values)

    async def execute_many(self, query: Any, values: list[dict[str, Any]]) -> None:
        async with self._turn_to_write(query):
            await super().execute_many(query, values)

    @asynccontextmanager
    async def _turn_to_write(self, query: Any) -> AsyncIterator[None]:
        """A write on its own (autocommit) on the embedded database is a transaction too: it
        waits its turn like one, before it takes a pooled connection."""
        pool = _sqlite_pool(self._backend)
        current = self._connection
        if (
            pool is None
            or not getattr(query, "is_dml", False)
            or (current is not None and current._transaction_stack)
        ):
            yield
            return
        await pool.take_writer()
        try:
            yield
        except sqlite3.OperationalError as exc:
            if _locked(exc):
                raise pool.busy() from None
            raise
        finally:
            pool.writer.release()


def make_database(
    url: str, pool_size: int = 10, connect_timeout: float = 5.0, write_timeout: float = 10.0
) -> Database:
    """`write_timeout`: how long an embedded-database write waits for the write lock."""
    if is_sqlite(url):
        private_database(sqlite_path(url))
        database = _Database(url)
        database._backend = PooledSQLiteBackend(
            database.url, pool_size=min(pool_size, 8), write_timeout=write_timeout
        )
        return database
    if url.startswith("mysql+aiomysql://"):
        url = "mysql://" + url.removeprefix("mysql+aiomysql://")
    # utf8mb4 end to end: usernames and chat carry characters outside the BMP.
    database = _Database(
        url,
        charset="utf8mb4",
        min_size=1,
        max_size=pool_size,
        pool_recycle=3600,
        connect_timeout=connect_timeout,
    )
    if url.startswith("mysql://"):
        database._backend = _mysql_backend(database)
    return database


def _mysql_backend(database: databases.Database) -> Any:
    """`databases`' aiomysql backend with compiled statements kept per shape (core.compiled);
    imported here, so the embedded default never loads aiomysql."""
    from databases.backends.mysql import MySQLBackend, MySQLConnection

    class CompiledMySQLConnection(MySQLConnection):
        def _compile(self, query: Any) -> Any:
            return compile_cached(self._dialect, query, positional=False) or super()._compile(query)

    class CompiledMySQLBackend(MySQLBackend):
        def connection(self) -> MySQLConnection:
            return CompiledMySQLConnection(self, self._dialect)

    return CompiledMySQLBackend(database.url, **database.options)


def refused(exc: BaseException) -> bool:
    """An error of connecting that no retry fixes (as opposed to a server that is not up)."""
    if isinstance(exc, loaded_errors("pymysql.err", "OperationalError")) and exc.args:
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
        db = make_database(
            url,
            settings.database.pool_size,
            settings.database.connect_timeout,
            settings.database.write_timeout,
        )
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
    """The URL without its passwords (the user's, and options such as Redis Sentinel's
    `sentinel_password=`), for logs and error lines."""
    scheme, sep, rest = url.partition("://")
    location, question, query = rest.partition("?")
    if query:
        query = "&".join(
            f"{name}=***" if name.endswith("password") else f"{name}{eq}{value}"
            for name, eq, value in (option.partition("=") for option in query.split("&"))
        )
    creds, at, host = location.rpartition("@")
    if at and ":" in creds:
        location = f"{creds.split(':', 1)[0]}:***@{host}"
    return f"{scheme}{sep}{location}{question}{query}"


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, loaded_errors("pymysql.err", "MySQLError")) and exc.args:
        return str(exc.args[-1])
    if isinstance(exc, sqlite3.Error):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
