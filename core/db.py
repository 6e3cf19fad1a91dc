"""The database connection: an embedded SQLite file by default, MySQL/MariaDB through aiomysql."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import databases
import pymysql
from loguru import logger
from tenacity import AsyncRetrying, RetryError, stop_after_attempt, wait_exponential

from core.config import Settings

Database = databases.Database


class DatabaseUnavailable(Exception):
    """The database did not answer; `str()` is one line for the operator."""


# Errors that mean "the database is not there right now" rather than "the query is wrong".
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    OSError,
    pymysql.err.OperationalError,
    pymysql.err.InterfaceError,
    DatabaseUnavailable,
)


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


def make_database(url: str, pool_size: int = 10) -> Database:
    if is_sqlite(url):
        sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
        return databases.Database(url)
    if url.startswith("mysql+aiomysql://"):
        url = "mysql://" + url.removeprefix("mysql+aiomysql://")
    # utf8mb4 end to end: usernames and chat carry characters outside the BMP.
    return databases.Database(
        url, charset="utf8mb4", min_size=1, max_size=pool_size, pool_recycle=3600, connect_timeout=5
    )


async def connect(settings: Settings) -> Database:
    """Connect with bounded retries; raises DatabaseUnavailable after the last attempt."""
    url = settings.database_url
    db = make_database(url, settings.database.pool_size)
    attempts = settings.database.connect_attempts
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=settings.database.connect_backoff, max=10),
            reraise=False,
        ):
            with attempt:
                n = attempt.retry_state.attempt_number
                if n > 1:
                    logger.warning("database not reachable, attempt {}/{}", n, attempts)
                await db.connect()
                await db.execute("SELECT 1")
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise DatabaseUnavailable(
            f"database {redact(url)} unreachable after {attempts} attempts: {describe(cause)}"
        ) from None
    if is_sqlite(url):
        # WAL lets readers go on while a score is being written.
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA foreign_keys=ON")
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
