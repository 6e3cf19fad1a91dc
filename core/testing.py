"""hitcircle's pytest plugin: the fixtures a plugin's tests need, against a real app.

Installed with hitcircle (entry point `pytest11`), so a plugin's test suite has them without a
conftest: list the plugin in `hitcircle_plugins`, then take `app`, `client`, `make_user`,
`make_token`, `hub_client`, `clock` in a test (`docs/plugins.md`, "Testing your plugin"). The
suite of hitcircle itself runs on the same fixtures (tests/conftest.py only adds its own).

Every test that takes `settings` (or anything built on it) runs on the embedded default (SQLite
and the memory cache) and, when HITCIRCLE_TEST_MYSQL_URL and HITCIRCLE_TEST_REDIS_URL are set,
again on MariaDB/MySQL and Redis. The database is migrated once per run (plugins' migrations
included), then copied (SQLite) or emptied (MySQL) for each test.

Async fixtures are pytest-asyncio's, so they work in its strict and auto modes alike. This is
the one runtime module that imports pytest; it imports the rest of hitcircle lazily, so loading
the plugin costs a pytest run nothing until a fixture is used.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import pytest_asyncio

from core.services import services

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from websockets.asyncio.client import ClientConnection

    from core.clock import ManualClock
    from core.config import Settings
    from core.lazer import Completion, HubMessage, Invocation
    from core.lazer.wire import Wire

__all__ = [
    "BACKENDS",
    "HANDSHAKE",
    "MYSQL_URL",
    "REDIS_PREFIX",
    "REDIS_URL",
    "REDIS_URLS",
    "TEST_CLIENT_ID",
    "HubClient",
    "advance",
    "create_user",
    "flush_redis",
    "free_port",
    "issue_token",
    "make_settings",
    "prepare_database",
    "running",
    "serve_app",
    "settle",
]

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
# Pub/sub channels are shared by every database of a Redis server: a run of its own prefix
# (xdist's id for the whole run, else this process) hears nothing another run publishes.
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:8] or str(os.getpid())
REDIS_PREFIX = f"hctest:{_RUN}:{WORKER}:" if WORKER else f"hctest:{_RUN}:"
BACKENDS = ["embedded", *(["mysql_redis"] if MYSQL_URL and REDIS_URL else [])]
# The Redis URL of each backend on MySQL: "mysql_redis" is HITCIRCLE_TEST_REDIS_URL's; a suite
# that starts more (hitcircle's own starts a Redis Cluster and a Sentinel for some tests) adds
# its backends here before their settings are made.
REDIS_URLS: dict[str, str] = {"mysql_redis": REDIS_URL}
TEST_CLIENT_ID = 5  # the built-in osu!lazer client: it always exists and may hold any scope


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
    if MYSQL_URL and not _reachable(MYSQL_URL, 3306):
        raise pytest.UsageError(f"HITCIRCLE_TEST_MYSQL_URL is set but unreachable: {MYSQL_URL}")
    if REDIS_URL and not _reachable(REDIS_URL, 6379):
        raise pytest.UsageError(f"HITCIRCLE_TEST_REDIS_URL is set but unreachable: {REDIS_URL}")


# --- settings and the database --------------------------------------------------------------


def make_settings(backend: str, data_dir: Path, **sections: dict[str, Any]) -> Settings:
    """Settings for `backend` ("embedded", "mysql_redis" or another of `REDIS_URLS`) with data
    under `data_dir`, each keyword a config section (`plugins={"modules": [...]}`), ignoring
    HITCIRCLE_* variables."""
    from core.config import settings_from

    raw: dict[str, dict[str, Any]] = {"data": {"dir": str(data_dir)}, "log": {"level": "WARNING"}}
    # Any other name (tests/test_openapi.py's "sqlite_memory") is the embedded default too.
    if backend in REDIS_URLS:
        raw["database"] = {"url": MYSQL_URL}
        raw["redis"] = {"url": REDIS_URLS[backend], "prefix": REDIS_PREFIX}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    # The test environment's own HITCIRCLE_* variables must not leak into test settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    return settings_from(raw, env)


# Migrated databases by the migration directories they were built from: an SQLite template
# file each, and the set the MySQL database holds now.
_templates: dict[tuple[str, ...], Path] = {}
_mysql_schema: list[tuple[str, ...]] = []


def prepare_database(
    settings: Settings, backend: str, tmp_root: Path, extra_plugins: Sequence[object] = ()
) -> None:
    """Bring the test database to head, fast: migrate once per run (and per set of plugin
    migrations), then copy (SQLite) or empty (MySQL) it for each test."""
    from core import migrate
    from core.files import private_file
    from core.plugins import collect, load

    pm = load(settings, extra_plugins)
    key = tuple(sorted(collect(pm.hook.migration_dirs())))
    if backend == "embedded":
        target = Path(settings.database_url.removeprefix("sqlite:///"))
        template = _templates.get(key)
        if template is None:
            template = tmp_root / f"template-{len(_templates)}.db"
            migrate.upgrade(settings.replace(database={"url": f"sqlite:///{template}"}), pm)
            _templates[key] = template
        # Created 0600 first, as hitcircle creates its database (copyfile keeps the mode).
        private_file(target)
        shutil.copyfile(template, target)
        return
    if _mysql_schema != [key]:
        # A fresh schema: drop whatever an earlier run, another schema or plugin set left.
        create_mysql_database()
        _drop_mysql_tables()
        migrate.upgrade(settings, pm)
        _mysql_schema[:] = [key]
    empty_mysql()


def schema_changed() -> None:
    """Say that a test migrated the database itself (beyond its plugins' own migrations): the
    next test on MySQL gets a freshly built schema. SQLite tests copy a template anyway."""
    _mysql_schema.clear()


def _mysql_engine(url: str | None = None) -> Any:
    import sqlalchemy as sa

    from core.db import sync_url

    # A statement that waits for a table lock gives up after a minute (MariaDB's default is a
    # day), so a connection left in a transaction fails a test instead of stalling the run.
    return sa.create_engine(
        url or sync_url(MYSQL_URL),
        connect_args={"init_command": f"SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}"},
    )


LOCK_WAIT_SECONDS = 60


def _lock_holders(conn: Any) -> str:
    """Who holds what on this database: the sessions and open transactions, for a failure."""
    sessions = conn.exec_driver_sql(
        "SELECT id, user, host, db, command, time, state, info FROM information_schema.processlist"
        " WHERE db = DATABASE()"
    ).fetchall()
    transactions = conn.exec_driver_sql(
        "SELECT trx_mysql_thread_id, trx_started, trx_state, trx_query"
        " FROM information_schema.innodb_trx"
    ).fetchall()
    return (
        "sessions:\n"
        + "\n".join(map(str, sessions))
        + "\ntransactions:\n"
        + ("\n".join(map(str, transactions)))
    )


def create_mysql_database() -> None:
    from core.db import sync_url

    base, _, _ = sync_url(MYSQL_URL).partition("?")
    server, _, name = base.rpartition("/")
    engine = _mysql_engine(f"{server}/?charset=utf8mb4")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
    engine.dispose()


def _drop_mysql_tables() -> None:
    engine = _mysql_engine()
    with engine.begin() as conn:
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for (name,) in conn.exec_driver_sql("SHOW TABLES").fetchall():
            conn.exec_driver_sql(f"DROP TABLE `{name}`")
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    engine.dispose()


def empty_mysql() -> None:
    """Delete every row and restart the ids at 1: TRUNCATE would take half a second a test."""
    engine = _mysql_engine()
    with engine.begin() as conn:
        tables = conn.exec_driver_sql(
            "SELECT table_name, auto_increment FROM information_schema.tables "
            "WHERE table_schema = DATABASE()"
        ).fetchall()
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for name, next_id in tables:
            if name == "alembic_version":
                continue
            try:
                conn.exec_driver_sql(f"DELETE FROM `{name}`")
                if next_id and next_id > 1:
                    conn.exec_driver_sql(f"ALTER TABLE `{name}` AUTO_INCREMENT = 1")
            except Exception as error:
                with engine.connect() as other:
                    holders = _lock_holders(other)
                raise RuntimeError(f"emptying `{name}` failed: {error}\n{holders}") from error
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    engine.dispose()


async def flush_redis(url: str = REDIS_URL) -> None:
    """Delete the test keys (REDIS_PREFIX) from the test Redis (or the one at `url`: a cluster's
    keys are looked for on every primary, and deleted slot by slot)."""
    from core.redis_client import close_client, open_client

    client = open_client(url, 5.0, 3)
    try:
        keys: list[str | bytes] = [k async for k in client.scan_iter(match=f"{REDIS_PREFIX}*")]
        if keys:
            await client.delete(keys)
    finally:
        close_client(client)


def _split_plugins(settings: Settings, plugins: Sequence[object]) -> tuple[list[str], list[object]]:
    """`hitcircle_plugins` as (import paths for `[plugins] modules`, objects to register),
    without those the settings load already (an installed entry point, say)."""
    from core.plugins import discover

    loaded = {info.module.split(":", 1)[0] for info in discover(settings) if info.enabled}
    modules: list[str] = []
    objects: list[object] = []
    for plugin in plugins:
        if isinstance(plugin, str):
            if plugin not in loaded:
                modules.append(plugin)
        elif not (isinstance(plugin, ModuleType) and plugin.__name__ in loaded):
            objects.append(plugin)
    return modules, objects


# --- the app ---------------------------------------------------------------------------------


@asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[Starlette]:
    """`app` started (database, cache, plugins' `startup`, hubs, jobs) until the block ends."""
    async with app.router.lifespan_context(app):
        yield app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serve_app(app: Starlette) -> AsyncIterator[str]:
    """An already running `app` served by hypercorn on a loopback port, in this event loop;
    yields its base URL. Real sockets, for WebSocket clients such as `HubClient`.

    The socket listens before the URL is handed out, so the first request waits in its backlog
    instead of racing the server's start.
    """
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{listener.detach()}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 2.0
    stop = asyncio.Event()

    async def without_lifespan(scope: Any, receive: Any, send: Any) -> None:
        # The app is started by `running`; hypercorn must not start it a second time.
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return

    server = asyncio.create_task(serve(without_lifespan, config, shutdown_trigger=stop.wait))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(server, 15)


async def settle(apps: Starlette | Iterable[Starlette], timeout: float = 10.0) -> None:
    """Wait until every job of `apps` is asleep until a moment still ahead on its clock: each
    has started, and whatever came due has run."""
    for app in [apps] if not isinstance(apps, Iterable) else apps:
        runner = services(app).jobs
        if runner is None:
            continue
        try:
            await asyncio.wait_for(runner.settled(), timeout)
        except TimeoutError:
            raise AssertionError(f"the jobs did not settle within {timeout}s") from None


async def advance(
    apps: Starlette | Iterable[Starlette], seconds: float, timeout: float = 10.0
) -> None:
    """Move the manual clock of `apps` (one app, or several sharing a clock) by `seconds`, and
    return once their jobs that came due have run.

    The jobs are first let start and go to sleep, so a job started just before is not left
    behind. Only jobs are waited for; a hub's own timers run when they are due, as usual.
    """
    from core.clock import ManualClock

    started = [apps] if not isinstance(apps, Iterable) else list(apps)
    clocks = {id(services(app).clock): services(app).clock for app in started}
    (clock,) = clocks.values()
    if not isinstance(clock, ManualClock):
        raise TypeError("advance() moves a core.clock.ManualClock (the `clock` fixture)")
    await settle(started, timeout)
    clock.advance(seconds)
    await settle(started, timeout)


async def create_user(
    app: Starlette,
    username: str = "peppy",
    password: str = "password123",
    email: str | None = None,
    country: str = "AU",
) -> int:
    """A user straight in the database (cheap bcrypt cost); returns the id."""
    from core.auth import hash_password
    from core.users import store as users_db

    user_id: int = await users_db.insert_user(
        services(app).db,
        username=username,
        password_hash=await hash_password(password, rounds=4),
        email=email if email is not None else f"{users_db.clean_username(username)}@example.com",
        country_code=country,
    )
    return user_id


async def issue_token(app: Starlette, user_id: int | None, scopes: Sequence[str] = ("*",)) -> str:
    """A signed access token for `user_id` (None: a client-credentials token) with `scopes`."""
    from core.auth import issue_access_token
    from core.auth import store as oauth_db

    await oauth_db.ensure_builtin_client(services(app).db, TEST_CLIENT_ID, "osu!lazer")
    token: str
    token, _ = await issue_access_token(
        services(app), user_id=user_id, client_id=TEST_CLIENT_ID, scopes=list(scopes)
    )
    return token


# --- a SignalR client -------------------------------------------------------------------------

HANDSHAKE = b'{"protocol":"messagepack","version":1}\x1e'


class HubClient:
    """A raw SignalR MessagePack client, as lazer connects: negotiate, WebSocket, handshake.

    Every byte it sends is under the test's control. Arguments are encoded with the methods'
    declared wire types, and results are read with their declared `returns` type when the
    method has one (`@hub_method(args=..., returns=...)`).
    """

    def __init__(self, ws: ClientConnection) -> None:
        from core.lazer import FrameReader

        self.ws = ws
        self.reader = FrameReader(1 << 20)
        self.pending: list[HubMessage] = []
        # Invocation id -> the declared type its result is read with.
        self.result_types: dict[str, Wire] = {}
        self._ids = itertools.count(1)

    @classmethod
    async def open(
        cls,
        base_url: str,
        hub: str,
        token: str,
        session_id: str | None = None,
        handshake: bytes | None = HANDSHAKE,
    ) -> HubClient:
        """Connect to `/signalr/{hub}` of the server at `base_url` with a bearer `token`;
        `handshake=None` leaves the handshake to the test."""
        import orjson
        from websockets.asyncio.client import connect

        headers = {"Authorization": f"Bearer {token}"}
        if session_id:
            headers["X-Client-Session-ID"] = session_id
        async with httpx.AsyncClient() as http:
            negotiated = await http.post(
                f"{base_url}/signalr/{hub}/negotiate?negotiateVersion=1", headers=headers
            )
            negotiated.raise_for_status()
        ws_url = base_url.replace("http://", "ws://")
        ws = await connect(
            f"{ws_url}/signalr/{hub}?id={negotiated.json()['connectionToken']}",
            additional_headers=headers,
            max_size=None,
        )
        client = cls(ws)
        if handshake is not None:
            await ws.send(handshake)
            reply = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(reply, bytes)
            head, _, rest = reply.partition(b"\x1e")
            assert orjson.loads(head) == {}, head
            if rest:
                client.pending.extend(client.reader.feed(rest))
        return client

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send(data)

    async def send(self, target: str, *args: Any) -> None:
        """Invoke without waiting for (or asking for) a completion."""
        from core.lazer import Invocation, encode_frame

        await self.ws.send(encode_frame(Invocation(target, list(args))))

    async def invoke(
        self, target: str, *args: Any, timeout: float = 5, raw: bool = False
    ) -> Completion:
        """Invoke and wait for the Completion; `raw` packs the arguments with plain msgpack,
        bypassing the schema (for arguments the server must refuse)."""
        import msgpack

        from core.lazer import Completion, Invocation, encode_frame
        from core.lazer.methods import RETURNS
        from core.lazer.pyhub import write_varint

        invocation_id = str(next(self._ids))
        if target in RETURNS:
            self.result_types[invocation_id] = RETURNS[target]
        if raw:
            payload = msgpack.packb([1, {}, invocation_id, target, list(args), []])
            prefix = bytearray()
            write_varint(prefix, len(payload))
            await self.ws.send(bytes(prefix) + payload)
        else:
            await self.ws.send(encode_frame(Invocation(target, list(args), invocation_id)))
        message = await self.next(
            lambda m: isinstance(m, Completion) and m.invocation_id == invocation_id, timeout
        )
        self.result_types.pop(invocation_id, None)
        assert isinstance(message, Completion)
        return message

    async def next(
        self, match: Callable[[HubMessage], bool] | None = None, timeout: float = 5
    ) -> HubMessage:
        """The next message (skipping pings) that `match` accepts; earlier ones are kept."""
        from core.lazer import Ping

        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index, message in enumerate(self.pending):
                if isinstance(message, Ping) and match is None:
                    continue
                if match is None or match(message):
                    return self.pending.pop(index)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no matching message; have {self.pending!r}")
            data = await asyncio.wait_for(self.ws.recv(), remaining)
            self.pending.extend(
                self.reader.feed(
                    data if isinstance(data, bytes) else data.encode(), self.result_types
                )
            )

    async def callback(self, target: str, timeout: float = 5) -> Invocation:
        """The next callback (server-to-client invocation) named `target`."""
        from core.lazer import Invocation

        message = await self.next(
            lambda m: isinstance(m, Invocation) and m.target == target, timeout
        )
        assert isinstance(message, Invocation)
        return message

    def received(self, target: str) -> list[Invocation]:
        """Callbacks named `target` that arrived and were not taken yet. After a barrier (a
        later message that must arrive) was taken, these are all that came before it."""
        from core.lazer import Invocation

        return [m for m in self.pending if isinstance(m, Invocation) and m.target == target]

    async def close(self) -> None:
        await self.ws.close()


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def hitcircle_plugins() -> Sequence[object]:
    """The plugins under test: override it to list yours.

    Each item is a plugin module or object (registered as `create_app(extra_plugins=...)` does)
    or an import path (added to `[plugins] modules`). A plugin the settings load anyway (an
    installed entry point) is not added twice. Built-in plugins are always loaded; disable some
    with `settings_overrides`. Default: none.
    """
    return []


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    """Config sections for the test settings, as `hitcircle.toml` would give them:
    `{"my_plugin": {"greeting": "hi"}, "plugins": {"disabled": ["api_v1"]}}`. Default: none."""
    return {}


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the whole run: the migrated template databases live there."""
    return tmp_path_factory.mktemp("hitcircle")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """ "embedded" (SQLite + memory cache), and "mysql_redis" too when HITCIRCLE_TEST_MYSQL_URL
    and HITCIRCLE_TEST_REDIS_URL are set: tests built on `settings` run once per backend."""
    name: str = request.param
    return name


@pytest_asyncio.fixture
async def settings(
    backend: str,
    tmp_path: Path,
    tmp_root: Path,
    settings_overrides: dict[str, dict[str, Any]],
    hitcircle_plugins: Sequence[object],
) -> Settings:
    """`core.config.Settings` for one test: a fresh database at head (the plugins' migrations
    included), data under `tmp_path`, `settings_overrides` applied, `hitcircle_plugins` listed."""
    data = tmp_path / "data"
    sections = {name: dict(values) for name, values in settings_overrides.items()}
    result = make_settings(backend, data, **sections)
    modules, objects = _split_plugins(result, hitcircle_plugins)
    if modules:
        section = sections.setdefault("plugins", {})
        section["modules"] = [*section.get("modules", ()), *modules]
        result = make_settings(backend, data, **sections)
    prepare_database(result, backend, tmp_root, objects)
    if backend != "embedded":
        await flush_redis(result.redis.url)
    return result


@pytest.fixture
def clock() -> ManualClock:
    """The clock of the in-process `app`: time passes there only when a test advances it
    (`clock.advance(seconds)`, or `await core.testing.advance(app, seconds)` to also wait for
    the jobs that came due)."""
    from core.clock import ManualClock

    return ManualClock()


@pytest_asyncio.fixture
async def app(
    settings: Settings, clock: ManualClock, hitcircle_plugins: Sequence[object]
) -> AsyncIterator[Starlette]:
    """The app with `hitcircle_plugins`, started (database, cache, `startup` hooks, hubs, jobs)
    on the manual `clock`, and stopped after the test."""
    from core.app import create_app

    _, objects = _split_plugins(settings, hitcircle_plugins)
    application = create_app(settings, extra_plugins=objects, clock=clock)
    async with running(application):
        yield application


@pytest_asyncio.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` calling `app` in process (base URL http://testserver)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def make_user(app: Starlette) -> Callable[..., Awaitable[int]]:
    """`await make_user(username=None, password=..., email=None, country="AU")` -> a new user's
    id; without a name each call makes another (`player1`, `player2`, ...)."""
    names = (f"player{n}" for n in itertools.count(1))

    async def make(username: str | None = None, **fields: Any) -> int:
        return await create_user(app, username or next(names), **fields)

    return make


@pytest.fixture
def make_token(app: Starlette) -> Callable[..., Awaitable[str]]:
    """`await make_token(user_id, scopes=("*",))` -> a bearer token for that user, from the
    built-in lazer client (`user_id=None`: a client-credentials token)."""

    async def make(user_id: int | None, scopes: Sequence[str] = ("*",)) -> str:
        return await issue_token(app, user_id, scopes)

    return make


@pytest_asyncio.fixture
async def user(app: Starlette) -> int:
    """The id of a user named `peppy` (password `password123`)."""
    return await create_user(app)


@pytest_asyncio.fixture
async def token(app: Starlette, user: int) -> str:
    """A bearer token for `user` with every scope."""
    return await issue_token(app, user, ("*",))


@pytest_asyncio.fixture
async def app_url(app: Starlette) -> AsyncIterator[str]:
    """The base URL of `app` served over real sockets (hypercorn, this event loop)."""
    async with serve_app(app) as url:
        yield url


@pytest_asyncio.fixture
async def hub_client(app_url: str) -> AsyncIterator[Callable[..., Awaitable[HubClient]]]:
    """`await hub_client(hub, token, session_id=None)` -> a connected `HubClient` on
    `/signalr/{hub}` of `app`; every client it opened is closed after the test."""
    opened: list[HubClient] = []

    async def open_client(hub: str, token: str, **options: Any) -> HubClient:
        client = await HubClient.open(app_url, hub, token, **options)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()
