"""core.server: `hitcircle serve` stops gracefully, telling hub clients first, pools included."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypercorn.config import Sockets
from loguru import logger
from starlette.applications import Starlette

from core import server as server_module
from core.config import ConfigError, Settings, settings_from
from core.lazer import Close, Invocation
from core.server import (
    RestartPolicy,
    Supervisor,
    advertise,
    exit_cause,
    hypercorn_config,
    loop_factory,
)
from tests import server_workers
from tests.beatmaps.support import ranked_set
from tests.conftest import ROOT, LiveServer, create_user, issue_token
from tests.signalr.client import HubClient

# The servers' grace time. A clean stop takes a fraction of it, and nothing here waits it out
# unless a stop goes wrong. It is not cut fine: near the end of a full run under coverage, a
# worker that had done pp work twice took over 5 s to exit (not seen when run alone).
GRACEFUL = 8.0


def _settings(**server: Any) -> Settings:
    return settings_from({"server": server, "redis": {"url": "redis://127.0.0.1:6379/0"}}, {})


def test_uvloop_is_the_default_loop() -> None:
    import uvloop

    assert loop_factory(_settings()) is uvloop.new_event_loop


def test_uvloop_can_be_switched_off() -> None:
    assert loop_factory(_settings(uvloop=False)) is None


def test_hypercorn_config_carries_the_settings() -> None:
    config = hypercorn_config(
        _settings(host="127.0.0.2", port=8123, workers=3, graceful_timeout=7.5), access_log=True
    )
    assert config.bind == ["127.0.0.2:8123"]
    assert config.workers == 3
    assert config.graceful_timeout == 7.5
    assert config.accesslog is not None


async def _attributes_everywhere(server: LiveServer, token: str, requests: int) -> None:
    """Difficulty work on the live server, over several connections to reach every worker."""
    for mods in [[], ["HR"], ["DT"], ["EZ"], ["HD"], ["FL"]][:requests]:
        async with httpx.AsyncClient(base_url=server.url) as http:
            response = await http.post(
                "/api/v2/beatmaps/101/attributes",
                json={"ruleset_id": 0, "mods": mods},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
            assert response.json()["attributes"]["star_rating"] > 0


@asynccontextmanager
async def _served_after_pp_work(
    app: Starlette, settings: Settings, backend: str
) -> AsyncIterator[tuple[LiveServer, str]]:
    """`hitcircle serve` (two workers on MariaDB+Redis) that has done difficulty work, and a
    token of a user; the server is stopped at the end if the test did not stop it."""
    token = await issue_token(app, await create_user(app))
    await ranked_set(app)
    workers = 2 if backend == "mysql_redis" else 1
    server = LiveServer(
        settings,
        {
            "HITCIRCLE_SERVER_WORKERS": str(workers),
            "HITCIRCLE_SERVER_GRACEFUL_TIMEOUT": str(GRACEFUL),
        },
    )
    server.start()
    try:
        await _attributes_everywhere(server, token, 2 * workers + 2)
        yield server, token
    finally:
        server.stop()


@pytest.mark.parametrize("hub", ["spectator", "metadata"])
async def test_sigterm_tells_hub_clients_then_exits_in_time(
    app: Starlette, settings: Settings, backend: str, hub: str
) -> None:
    async with _served_after_pp_work(app, settings, backend) as (server, token):
        client = await HubClient.open(server.url, hub, token)
        assert server.process is not None
        stopped_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        told = await client.callback("ServerShuttingDown", timeout=GRACEFUL + 1)
        assert isinstance(told, Invocation) and told.arguments == []
        close = await client.next(lambda m: isinstance(m, Close), timeout=GRACEFUL + 1)
        assert isinstance(close, Close) and close.error is None and close.allow_reconnect
        code = await asyncio.to_thread(server.process.wait, GRACEFUL + 5)
        took = time.monotonic() - stopped_at
        assert code == 0, server.output()
        assert took < GRACEFUL + 1, f"took {took:.2f} s to stop"
        output = server.output()
        assert "CancelledError" not in output and "Traceback" not in output, output


async def test_ctrl_c_stops_the_server_after_pp_work(
    app: Starlette, settings: Settings, backend: str
) -> None:
    """Ctrl-C reaches the whole process group, the rosu-pp pool included: it exits cleanly."""
    async with _served_after_pp_work(app, settings, backend) as (server, _):
        assert server.process is not None
        stopped_at = time.monotonic()
        os.killpg(server.process.pid, signal.SIGINT)
        code = await asyncio.to_thread(server.process.wait, GRACEFUL + 5)
        assert time.monotonic() - stopped_at < GRACEFUL + 1
        output = server.output()
        assert code == 0, output
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output


async def test_a_stop_during_start_up_is_clean(settings: Settings, backend: str) -> None:
    """Ctrl-C right after `serving on` (workers still importing): a clean stop, no traceback."""
    workers = 2 if backend == "mysql_redis" else 1
    server = LiveServer(
        settings,
        {
            "HITCIRCLE_SERVER_WORKERS": str(workers),
            "HITCIRCLE_SERVER_GRACEFUL_TIMEOUT": str(GRACEFUL),
        },
    )
    server.process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve", "--port", str(server.port)],
        env=server.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert server.process.stdout is not None
        first = await asyncio.to_thread(server.process.stdout.readline)
        assert first.startswith(b"hitcircle serving on"), first
        os.killpg(server.process.pid, signal.SIGINT)
        code = await asyncio.to_thread(server.process.wait, 60)
        output = first.decode() + server.process.stdout.read().decode()
        assert code == 0, output
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    finally:
        server.stop()


# --- supervised workers ---------------------------------------------------------------------


def _until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.01)


@contextmanager
def _logged() -> Iterator[list[str]]:
    """Every loguru line written in the block, as text (level and message)."""
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(f"{m.record['level'].name} {m.record['message']}"))
    try:
        yield lines
    finally:
        logger.remove(sink)


def _supervisor(target: Callable[..., None], workers: int, **policy: Any) -> Supervisor:
    config = hypercorn_config(_settings(workers=workers, graceful_timeout=GRACEFUL))
    return Supervisor(config, Sockets([], [], []), workers, target, RestartPolicy(**policy))


def test_exit_causes_name_the_signal_or_the_code() -> None:
    assert exit_cause(-signal.SIGKILL) == "was killed by SIGKILL"
    assert exit_cause(-signal.SIGSEGV) == "was killed by SIGSEGV"
    assert exit_cause(0) == "exited with code 0"
    assert exit_cause(3) == "exited with code 3"


def test_restarts_back_off_up_to_a_limit() -> None:
    policy = RestartPolicy(backoff=0.5, max_backoff=10.0)
    assert [policy.delay(n) for n in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@contextmanager
def _running(supervisor: Supervisor) -> Iterator[Future[int]]:
    """`supervisor.run()` in a thread; stopped at the end however the block ends."""
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(supervisor.run)
        try:
            yield result
        finally:
            supervisor.request_stop()
            result.result(timeout=GRACEFUL + 5)


def test_a_killed_worker_is_started_again_while_the_other_serves() -> None:
    supervisor = _supervisor(server_workers.serve_until_stopped, 2, backoff=0.05)
    with _logged() as lines, _running(supervisor) as result:
        _until(lambda: len(supervisor.workers) == 2, 60, "both started")
        _until(lambda: all(w.serving for w in supervisor.workers), 60, "both serve")
        first, second = supervisor.pids()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        _until(
            lambda: supervisor.pids()[0] not in (None, first) and supervisor.workers[0].serving,
            60,
            "the killed worker is replaced",
        )
        assert supervisor.pids()[1] == second  # the other one was left alone
        supervisor.request_stop()
        assert result.result(timeout=GRACEFUL + 5) == 0
    replacement = supervisor.workers[0].process.pid
    assert f"ERROR worker {first} was killed by SIGKILL; starting another in 0.1 s" in lines
    assert f"INFO worker {replacement} started in place of {first}" in lines
    assert not supervisor.failed


def test_a_worker_that_keeps_dying_at_once_is_given_up_on() -> None:
    supervisor = _supervisor(server_workers.serve_then_exit, 1, backoff=0.01, give_up_after=3)
    with _logged() as lines:
        assert supervisor.run() == 1
    deaths = [line for line in lines if line.startswith("ERROR worker") and "code 3" in line]
    assert len(deaths) == 3, lines
    assert deaths[0].endswith("exited with code 3; starting another in 0.0 s")
    assert deaths[-1].endswith(
        "exited with code 3; it died 3 times in a row within 30 s of starting: giving up"
    )
    assert sum("started in place of" in line for line in lines) == 2
    assert supervisor.failed


def test_a_worker_that_cannot_start_stops_serve_with_a_failure() -> None:
    supervisor = _supervisor(server_workers.fail_at_start_up, 2)
    with _logged() as lines:
        assert supervisor.run() == 1
    assert any(
        line.startswith("ERROR worker")
        and line.endswith("exited with code 2 during start-up; stopping")
        for line in lines
    ), lines
    assert not any("started in place of" in line for line in lines)


def test_a_stop_asked_for_before_the_workers_start_starts_none() -> None:
    supervisor = _supervisor(server_workers.serve_until_stopped, 2)
    supervisor.request_stop()
    assert supervisor.run() == 0
    assert supervisor.workers == []


def test_a_worker_still_starting_when_the_stop_comes_is_not_waited_for() -> None:
    supervisor = _supervisor(server_workers.start_forever, 2)
    with _running(supervisor) as result:
        _until(lambda: len(supervisor.workers) == 2, 60, "both started")
        stopped_at = time.monotonic()
        supervisor.request_stop()
        assert result.result(timeout=GRACEFUL + 5) == 0
        # Killed at once, not after the grace time.
        assert time.monotonic() - stopped_at < GRACEFUL
    assert all(w.process.exitcode == -signal.SIGKILL for w in supervisor.workers)


def _worker_pids(server: subprocess.Popen[bytes]) -> set[int]:
    """The server's worker processes: its spawned children, not multiprocessing's tracker."""
    pids = set()
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    for child in children:
        with contextlib.suppress(OSError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                pids.add(int(child))
    return pids


class _Output:
    """A live server's output so far, read from the file it writes to."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server

    @property
    def lines(self) -> list[str]:
        return self.server.output().splitlines()

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in self.lines)

    def __str__(self) -> str:
        return self.server.output()


async def _wait(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.02)


async def test_a_worker_that_dies_under_load_is_replaced_while_health_answers(
    settings: Settings, backend: str
) -> None:
    """SIGKILL to one worker, then SIGTERM to the other, while /health is asked all along: each
    is replaced (and logged with its cause), /health never goes a second without an answer,
    and the server still stops cleanly."""
    if backend != "mysql_redis":
        pytest.skip("more than one worker needs Redis")
    server = LiveServer(
        settings,
        {
            "HITCIRCLE_SERVER_WORKERS": "2",
            "HITCIRCLE_SERVER_GRACEFUL_TIMEOUT": str(GRACEFUL),
            "HITCIRCLE_LOG_LEVEL": "INFO",
        },
    )
    output = _Output(server)
    answers: list[tuple[float, bool]] = []
    done = asyncio.Event()

    async def ask(http: httpx.AsyncClient) -> None:
        while not done.is_set():
            try:
                ok = (await http.get("/health")).status_code == 200
            except httpx.HTTPError:
                ok = False
            answers.append((time.monotonic(), ok))

    try:
        server.start()
        assert server.process is not None
        # hypercorn says "Running on" once per worker that listens.
        await _wait(lambda: output.count("Running on") == 2, 60, "both workers listen")
        first, second = sorted(_worker_pids(server.process))
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            load = [asyncio.create_task(ask(http)) for _ in range(4)]
            await _wait(lambda: len(answers) > 20, 30, "load under way")
            started = time.monotonic()
            os.kill(first, signal.SIGKILL)
            await _wait(lambda: output.count("Running on") == 3, 60, "first replaced")
            os.kill(second, signal.SIGTERM)
            await _wait(lambda: output.count("Running on") == 4, 60, "second replaced")
            await _wait(lambda: answers[-1][0] > time.monotonic() - 0.5, 10, "answers again")
            done.set()
            await asyncio.gather(*load)
        during = [t for t, ok in answers if ok and t >= started]
        gaps = [b - a for a, b in itertools.pairwise([started, *during])]
        failed = sum(not ok for t, ok in answers if t >= started)
        # The figure, for `pytest -s`: how long /health went unanswered at most.
        print(f"longest gap {max(gaps):.3f} s; {len(during)} answers, {failed} failed requests")
        assert max(gaps) < 1.0, f"/health went {max(gaps):.2f} s without an answer"
        assert output.has(f"worker {first} was killed by SIGKILL; starting another in")
        assert output.has(f"worker {second} exited with code 0; starting another in")
        replacements = _worker_pids(server.process)
        assert len(replacements) == 2 and not replacements & {first, second}, replacements
        server.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(server.process.wait, GRACEFUL + 10)
        assert code == 0, str(output)
        assert "Traceback" not in str(output), str(output)
    finally:
        done.set()
        server.stop()


# --- the address clients are given, and the port -----------------------------------------------


def test_a_wildcard_host_without_public_url_advertises_this_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HITCIRCLE_SERVER_PUBLIC_URL", raising=False)
    monkeypatch.setattr(server_module, "_own_address", lambda ipv6: "192.168.1.10")
    with _logged() as lines:
        settings = advertise(_settings(host="0.0.0.0", port=8123))
    assert settings.public_url == "http://192.168.1.10:8123"
    # Workers read their settings from the environment: they advertise the same address.
    assert os.environ["HITCIRCLE_SERVER_PUBLIC_URL"] == "http://192.168.1.10:8123"
    assert len(lines) == 1 and lines[0].startswith("WARNING server.public_url is not set"), lines
    assert "advertising http://192.168.1.10:8123" in lines[0]


def test_an_ipv6_wildcard_advertises_a_bracketed_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HITCIRCLE_SERVER_PUBLIC_URL", raising=False)
    monkeypatch.setattr(server_module, "_own_address", lambda ipv6: "2001:db8::5" if ipv6 else None)
    assert advertise(_settings(host="::", port=8123)).public_url == "http://[2001:db8::5]:8123"


def test_a_wildcard_host_with_no_address_to_advertise_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(server_module, "_own_address", lambda ipv6: None)
    with pytest.raises(ConfigError, match=r"server\.public_url: must be set when server\.host"):
        advertise(_settings(host="0.0.0.0"))


def test_a_set_public_url_or_a_real_host_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "_own_address", lambda ipv6: "192.168.1.10")
    configured = _settings(host="0.0.0.0", public_url="https://osu.example.org")
    assert advertise(configured) is configured
    local = _settings(host="127.0.0.1", port=8123)
    assert advertise(local).public_url == "http://127.0.0.1:8123"


def test_this_machines_address_is_not_loopback() -> None:
    address = server_module._own_address(ipv6=False)
    assert address is None or not ipaddress.ip_address(address).is_loopback


def test_a_port_in_use_is_one_line_and_a_failure(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = LiveServer(settings)
        result = subprocess.run(
            [sys.executable, "-m", "core.cli", "serve", "--port", str(port)],
            env=server.env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )
    assert result.returncode == 1
    assert result.stdout == b""  # never said it was serving
    assert result.stderr.decode().splitlines() == [
        f"hitcircle: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(server.host, server.port)"
    ]
