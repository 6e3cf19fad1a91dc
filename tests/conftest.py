"""Fixtures shared by the suite.

The app fixtures (`settings`, `app`, `client`, `clock`, `user`, `token`, `make_user`,
`make_token`, `hub_client`, ...) are hitcircle's pytest plugin, `core.testing`, which plugin
authors use too; this file adds what only this suite needs (the live `hitcircle serve`
subprocess) and re-exports the helpers tests import from here.

Every test that takes `settings` (or anything built on it: `app`, `client`, `live_server`) runs on
the embedded default (SQLite + memory) and, when HITCIRCLE_TEST_MYSQL_URL and
HITCIRCLE_TEST_REDIS_URL are set, again on MariaDB + Redis. With CI=true an unreachable MariaDB or
Redis fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.message
import email.policy
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from core.config import Settings
from core.testing import (
    BACKENDS,
    MYSQL_URL,
    REDIS_PREFIX,
    REDIS_URL,
    REDIS_URLS,
    TEST_CLIENT_ID,
    WORKER,
    create_mysql_database,
    create_user,
    empty_mysql,
    flush_redis,
    free_port,
    issue_token,
    make_settings,
    prepare_database,
    running,
)
from tests.redis_servers import RedisClusterProcesses, RedisSentinelProcesses

__all__ = [
    "BACKENDS",
    "CLUSTER_BACKENDS",
    "IN_CI",
    "MYSQL_URL",
    "REDIS_PREFIX",
    "REDIS_URL",
    "REDIS_URLS",
    "ROOT",
    "TEST_CLIENT_ID",
    "WORKER",
    "LiveServer",
    "RedisProcess",
    "create_mysql_database",
    "create_user",
    "empty_mysql",
    "flush_redis",
    "free_port",
    "issue_token",
    "make_settings",
    "prepare_database",
    "running",
    "settings_env",
]

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
# The example distribution's tests run as its author runs them, installed and in their own
# pytest (tests/test_cli.py `test_the_package_passes_its_own_tests`), not inside this suite.
collect_ignore = ["plugin_dist"]


# MariaDB with a Redis Cluster, and with a Sentinel-watched Redis, both started by the suite
# (tests/redis_servers.py): the tests marked `redis_cluster` run on these too, in the MariaDB +
# Redis pass, where redis-server and redis-cli are on the machine.
_HAVE_REDIS_TOOLS = bool(shutil.which("redis-server") and shutil.which("redis-cli"))
CLUSTER_BACKENDS = (
    ["mysql_cluster", "mysql_sentinel"] if "mysql_redis" in BACKENDS and _HAVE_REDIS_TOOLS else []
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "redis_cluster(*backends): run on mysql_cluster and mysql_sentinel too (or only those "
        "of them named), each Redis started by the suite",
    )
    # core.testing refuses unreachable ones; CI must also run the MariaDB + Redis pass.
    if IN_CI and not (MYSQL_URL and REDIS_URL):
        raise pytest.UsageError(
            "CI=true needs HITCIRCLE_TEST_MYSQL_URL and HITCIRCLE_TEST_REDIS_URL"
        )
    if IN_CI and not _HAVE_REDIS_TOOLS:
        raise pytest.UsageError("CI=true needs redis-server and redis-cli (the cluster tests)")


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked `redis_cluster` that runs on backends runs on CLUSTER_BACKENDS too: its
    own `backend` parametrization, which the fixture's params then give way to."""
    marker = metafunc.definition.get_closest_marker("redis_cluster")
    if marker is None or "backend" not in metafunc.fixturenames:
        return
    extra = [b for b in CLUSTER_BACKENDS if not marker.args or b in marker.args]
    metafunc.definition.add_marker(
        pytest.mark.parametrize("backend", [*BACKENDS, *extra], indirect=True)
    )


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """As core.testing's, and the cluster backends start their Redis on first use."""
    name: str = request.param
    if name == "mysql_cluster":
        REDIS_URLS[name] = request.getfixturevalue("redis_cluster").url
    elif name == "mysql_sentinel":
        REDIS_URLS[name] = request.getfixturevalue("redis_sentinel").url
    return name


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcesses]:
    """A three-master Redis Cluster for the whole run (each xdist worker its own)."""
    cluster = RedisClusterProcesses(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSentinelProcesses]:
    """A Redis master and a sentinel watching it, for the whole run (each xdist worker its own)."""
    sentinel = RedisSentinelProcesses(tmp_path_factory.mktemp("redis-sentinel"))
    sentinel.start()
    try:
        yield sentinel
    finally:
        sentinel.stop()


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment variables that make a `hitcircle` subprocess use exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    env["HITCIRCLE_CONFIG"] = "none"
    env["HITCIRCLE_DATABASE_URL"] = settings.database_url
    env["HITCIRCLE_REDIS_URL"] = settings.redis.url
    env["HITCIRCLE_REDIS_PREFIX"] = settings.redis.prefix
    env["HITCIRCLE_DATA_DIR"] = str(settings.data_dir)
    env["HITCIRCLE_LOG_LEVEL"] = "WARNING"
    env["HITCIRCLE_STORAGE_BACKEND"] = settings.storage.backend
    env["HITCIRCLE_PLUGINS_DISABLED"] = ",".join(settings.plugins.disabled)
    env["HITCIRCLE_PLUGINS_ENABLED"] = ",".join(settings.plugins.enabled)
    env["HITCIRCLE_PLUGINS_MODULES"] = ",".join(settings.plugins.modules)
    for name, values in settings.extra.items():
        for key, value in values.items():
            env[f"HITCIRCLE_{name}_{key}".upper()] = str(value)
    return env


class LiveServer:
    """`hitcircle serve` in a subprocess on a free loopback port."""

    # Those started and not yet stopped: `_no_server_outlives_its_test` stops them.
    started: set[LiveServer] = set()

    def __init__(self, settings: Settings, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = settings_env(settings) | {"HITCIRCLE_SERVER_PUBLIC_URL": self.url}
        self.env |= extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        # The server's output goes to a file, not a pipe: a pipe nobody reads fills at 64 KiB
        # and then blocks the server's next log line, and with it the request being served.
        self.log: IO[bytes] | None = None
        self.final_output = ""

    def output(self) -> str:
        """Everything the server printed so far (all of it, once stopped)."""
        if self.log is None or self.log.closed:
            return self.final_output
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def start(self, timeout: float = 30.0) -> None:
        self.log = tempfile.TemporaryFile()
        LiveServer.started.add(self)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "serve", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # Its own process group, as a terminal gives a server: a test can signal the whole
            # group (as Ctrl-C does) without reaching pytest.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.output()
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
        LiveServer.started.discard(self)
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Workers the server left behind would keep their database connections (and the
        # locks of any open transaction) into the next test.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.stdout is not None:  # a test that started it with a pipe of its own
            self.process.stdout.close()
        if self.log is not None and not self.log.closed:
            self.final_output = self.output()
            self.log.close()


@pytest.fixture(autouse=True)
def _no_server_outlives_its_test() -> Iterator[None]:
    """A test that failed between starting a server and its `finally` would leave the server
    running on the next tests' database, its jobs writing there."""
    yield
    for server in list(LiveServer.started):
        server.stop()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def world_server(settings: Settings, world: Any) -> Iterator[LiveServer]:
    """A live server started once the module's own `world` fixture has seeded its data."""
    server = LiveServer(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def local_ossapi(monkeypatch: pytest.MonkeyPatch, url: str, *args: Any, **kwargs: Any) -> Any:
    """An ossapi client of the server at `url` (its OAuth and API addresses point there);
    `args` and `kwargs` are Ossapi's own. oauthlib is told to accept the loopback's plain http."""
    from ossapi import Ossapi

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")

    class Local(Ossapi):  # type: ignore[misc]
        TOKEN_URL = f"{url}/oauth/token"
        AUTH_CODE_URL = f"{url}/oauth/authorize"
        BASE_URL = f"{url}/api/v2"

    return Local(*args, **kwargs)


def run_cli(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`hitcircle ARGS` on these settings' data, as an operator runs it, but in this process:
    a subprocess spends a second and more importing hitcircle again for every command.

    The command gets the environment a subprocess would (`settings_env`) and its own thread
    (its `asyncio.run` cannot nest in the test's event loop); its output is captured. Tests of
    the executable itself (exit on signals, no config file) start it as a process instead.

    From an async test, `await run_command(...)`: here the test's event loop would stand still
    while the command runs, and a command reaching the test's running app (the embedded
    backend's cache share) would wait out its connect timeout on every call."""
    from core.cli import main

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise AssertionError("an event loop runs in this thread: `await run_command(...)`")

    out, err = io.StringIO(), io.StringIO()
    code: list[int] = []

    def command() -> None:
        try:
            code.append(main(list(args)))
        except SystemExit as exit:  # argparse: --help, or a usage error
            code.append(exit.code if isinstance(exit.code, int) else int(exit.code is not None))

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(settings_env(settings) | (env or {}))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            thread = threading.Thread(target=command, name="hitcircle-cli")
            thread.start()
            thread.join(120)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if thread.is_alive():
        raise AssertionError(f"hitcircle {' '.join(args)}: still running after 120 s")
    return subprocess.CompletedProcess(
        ["hitcircle", *args], code[0], out.getvalue(), err.getvalue()
    )


async def run_command(
    settings: Settings, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`run_cli` from an async test: the command runs while the test's loop goes on serving."""
    return await asyncio.to_thread(run_cli, settings, *args, env=env)


def lazer_login(url: str, username: str, password: str) -> dict[str, str]:
    """Sign in to a live server as lazer does (the password grant); the bearer header."""
    from plugins.oauth.grants import LAZER_SECRETS

    response = httpx.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "client_id": "5",
            "client_secret": LAZER_SECRETS[0],
            "scope": "*",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class MailSink:
    """A local SMTP server (aiosmtpd) that keeps what it receives; `port` to point [mail] at."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def settings(self) -> dict[str, Any]:
        """A `[mail]` section that sends here."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "none",
            "from_address": "osu! <noreply@example.com>",
        }

    async def next(
        self, to: str, subject: str = "", timeout: float = 10.0
    ) -> email.message.EmailMessage:
        """The next message to `to` (with `subject` in its subject) not seen yet; waits for it,
        as mails go out after the answers."""
        import asyncio

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if (
                    message["To"] == to
                    and subject in message["Subject"]
                    and not getattr(message, "_seen", False)
                ):
                    message._seen = True  # type: ignore[attr-defined]
                    return message
            await asyncio.sleep(0.01)
        raise AssertionError(f"no mail to {to} within {timeout}s")


@pytest.fixture(scope="session")
def _mail_server() -> Iterator[MailSink]:
    sink = MailSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def mail_sink(_mail_server: MailSink) -> MailSink:
    """The local SMTP server, emptied for this test (one server for the whole run)."""
    _mail_server.messages.clear()
    return _mail_server


class RedisProcess:
    """A private `redis-server` on a loopback port, nothing saved: a test may stop, pause
    (SIGSTOP, a stalled server whose socket stays open) or kill it without touching anyone's
    Redis."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            # A paused server must run again to die of anything but SIGKILL; SIGCONT first anyway.
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def private_redis() -> Iterator[RedisProcess]:
    """A started `RedisProcess`, killed after the test (resumed first if it was paused)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = RedisProcess()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
