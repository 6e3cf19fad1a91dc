"""Fixtures shared by the suite.

Every test that takes `settings` (or anything built on it: `app`, `client`, `live_server`) runs on
the embedded default (SQLite + memory) and, when HITCIRCLE_TEST_MYSQL_URL and
HITCIRCLE_TEST_REDIS_URL are set, again on MariaDB + Redis. With CI=true an unreachable MariaDB or
Redis fails the run instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.app import create_app
from core.clock import ManualClock
from core.config import Settings, settings_from
from core.db import sync_url
from core.plugins import load

ROOT = Path(__file__).resolve().parent.parent
# Under pytest-xdist each worker gets its own database and Redis key prefix.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _per_worker(url: str) -> str:
    if not url or not WORKER:
        return url
    base, _, query = url.partition("?")
    head, _, name = base.rpartition("/")
    return f"{head}/{name}_{WORKER}" + (f"?{query}" if query else "")


MYSQL_URL = _per_worker(os.environ.get("HITCIRCLE_TEST_MYSQL_URL", ""))
REDIS_URL = os.environ.get("HITCIRCLE_TEST_REDIS_URL", "")
REDIS_PREFIX = f"hctest:{WORKER}:" if WORKER else "hctest:"
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["embedded", *(["mysql_redis"] if MYSQL_URL and REDIS_URL else [])]


def _reachable(url: str, default_port: int) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    if IN_CI and not (MYSQL_URL and REDIS_URL):
        raise pytest.UsageError(
            "CI=true needs HITCIRCLE_TEST_MYSQL_URL and HITCIRCLE_TEST_REDIS_URL"
        )
    if MYSQL_URL and not _reachable(MYSQL_URL, 3306):
        raise pytest.UsageError(f"HITCIRCLE_TEST_MYSQL_URL is set but unreachable: {MYSQL_URL}")
    if REDIS_URL and not _reachable(REDIS_URL, 6379):
        raise pytest.UsageError(f"HITCIRCLE_TEST_REDIS_URL is set but unreachable: {REDIS_URL}")


def make_settings(backend: str, data_dir: Path, **sections: dict[str, Any]) -> Settings:
    raw: dict[str, dict[str, Any]] = {"data": {"dir": str(data_dir)}, "log": {"level": "WARNING"}}
    if backend == "mysql_redis":
        raw["database"] = {"url": MYSQL_URL}
        raw["redis"] = {"url": REDIS_URL, "prefix": REDIS_PREFIX}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    # The test environment's own HITCIRCLE_* variables must not leak into test settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    return settings_from(raw, env)


_migrated: dict[str, Path | None] = {}


def prepare_database(settings: Settings, backend: str, tmp_root: Path) -> None:
    """Bring the test database to head, fast: migrate once per run, then copy or truncate."""
    from core import migrate

    pm = load(settings)
    if backend == "embedded":
        target = Path(settings.database_url.removeprefix("sqlite:///"))
        template = _migrated.get("embedded")
        if template is None:
            template = tmp_root / "template.db"
            migrate.upgrade(settings.replace(database={"url": f"sqlite:///{template}"}), pm)
            _migrated["embedded"] = template
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        return
    if "mysql" not in _migrated:
        create_mysql_database()
        engine = sa.create_engine(sync_url(MYSQL_URL))
        with engine.begin() as conn:
            # A fresh schema per run: drop whatever an earlier run or another schema left.
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            for (name,) in conn.exec_driver_sql("SHOW TABLES").fetchall():
                conn.exec_driver_sql(f"DROP TABLE `{name}`")
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
        engine.dispose()
        migrate.upgrade(settings, pm)
        _migrated["mysql"] = None
    empty_mysql()


def create_mysql_database() -> None:
    base, _, _ = sync_url(MYSQL_URL).partition("?")
    server, _, name = base.rpartition("/")
    engine = sa.create_engine(f"{server}/?charset=utf8mb4")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    engine.dispose()


def empty_mysql() -> None:
    """Delete every row and restart the ids at 1: TRUNCATE would take half a second a test."""
    engine = sa.create_engine(sync_url(MYSQL_URL))
    with engine.begin() as conn:
        tables = conn.exec_driver_sql(
            "SELECT table_name, auto_increment FROM information_schema.tables "
            "WHERE table_schema = DATABASE()"
        ).fetchall()
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for name, next_id in tables:
            if name == "alembic_version":
                continue
            conn.exec_driver_sql(f"DELETE FROM `{name}`")
            if next_id and next_id > 1:
                conn.exec_driver_sql(f"ALTER TABLE `{name}` AUTO_INCREMENT = 1")
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    engine.dispose()


async def flush_redis() -> None:
    import coredis

    client = coredis.Redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(match=f"{REDIS_PREFIX}*")]
    if keys:
        await client.delete(keys)


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hitcircle")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    """Override in a test module to change settings for its tests."""
    return {}


@pytest.fixture
async def settings(
    backend: str, tmp_path: Path, tmp_root: Path, settings_overrides: dict[str, dict[str, Any]]
) -> Settings:
    result = make_settings(backend, tmp_path / "data", **settings_overrides)
    prepare_database(result, backend, tmp_root)
    if backend == "mysql_redis":
        await flush_redis()
    return result


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[Starlette]:
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def clock() -> ManualClock:
    """The clock of the in-process `app`: time passes there only when a test advances it."""
    return ManualClock()


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock)
    async with running(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that make a `hitcircle` subprocess use exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    env["HITCIRCLE_CONFIG"] = "/nonexistent/hitcircle.toml"
    env["HITCIRCLE_DATABASE_URL"] = settings.database_url
    env["HITCIRCLE_REDIS_URL"] = settings.redis.url
    env["HITCIRCLE_REDIS_PREFIX"] = settings.redis.prefix
    env["HITCIRCLE_DATA_DIR"] = str(settings.data_dir)
    env["HITCIRCLE_LOG_LEVEL"] = "WARNING"
    env["HITCIRCLE_PLUGINS_DISABLED"] = ",".join(settings.plugins.disabled)
    env["HITCIRCLE_PLUGINS_ENABLED"] = ",".join(settings.plugins.enabled)
    env["HITCIRCLE_PLUGINS_MODULES"] = ",".join(settings.plugins.modules)
    for name, values in settings.extra.items():
        for key, value in values.items():
            env[f"HITCIRCLE_{name}_{key}".upper()] = str(value)
    return env


class LiveServer:
    """`hitcircle serve` in a subprocess on a free loopback port."""

    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = settings_env(settings) | {"HITCIRCLE_SERVER_PUBLIC_URL": self.url}
        self.env |= extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Its own process group, as a terminal gives a server: a test can signal the whole
            # group (as Ctrl-C does) without reaching pytest.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{output}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("server did not start in time")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- accounts: users and tokens for tests (`from tests.conftest import create_user, issue_token`)

TEST_CLIENT_ID = 5  # the built-in osu!lazer client: it always exists and may hold any scope


async def create_user(
    app: Starlette,
    username: str = "peppy",
    password: str = "password123",
    email: str | None = None,
    country: str = "AU",
) -> int:
    """A user straight in the database (cheap bcrypt cost); returns the id."""
    from core.auth import hash_password
    from core.domain import users as users_db

    return await users_db.insert_user(
        app.state.db,
        username=username,
        password_hash=await hash_password(password, rounds=4),
        email=email if email is not None else f"{users_db.clean_username(username)}@example.com",
        country_code=country,
    )


async def issue_token(app: Starlette, user_id: int | None, scopes: Sequence[str] = ("*",)) -> str:
    """A signed access token for `user_id` (None: a client-credentials token) with `scopes`."""
    from core.auth import issue_access_token
    from core.domain import oauth as oauth_db

    await oauth_db.ensure_builtin_client(app.state.db, TEST_CLIENT_ID, "osu!lazer")
    token, _ = await issue_access_token(
        app.state, user_id=user_id, client_id=TEST_CLIENT_ID, scopes=list(scopes)
    )
    return token


@pytest.fixture
async def user(app: Starlette) -> int:
    return await create_user(app)


@pytest.fixture
async def token(app: Starlette, user: int) -> str:
    return await issue_token(app, user, ("*",))
