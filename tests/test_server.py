"""core.server: `hitcircle serve` stops gracefully, telling hub clients first, pools included."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.config import Settings, settings_from
from core.lazer import Close, Invocation
from core.server import hypercorn_config, loop_factory
from tests.beatmaps.support import ranked_set
from tests.conftest import ROOT, LiveServer, create_user, issue_token
from tests.signalr.client import HubClient

GRACEFUL = 2.0


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
        assert code == 0, server.process.stdout.read().decode() if server.process.stdout else ""
        assert took < GRACEFUL + 1, f"took {took:.2f} s to stop"
        output = server.process.stdout.read().decode() if server.process.stdout else ""
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
        output = server.process.stdout.read().decode() if server.process.stdout else ""
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
