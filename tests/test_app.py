import asyncio
import time
from pathlib import Path

import httpx
import pytest

from core.app import create_app
from core.clock import ManualClock, SystemClock
from core.config import ConfigError, Settings
from core.hooks import hookimpl
from core.jobs import Job
from core.services import services

from .conftest import RedisProcess, make_settings, running


async def test_health_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


async def test_startup_shutdown_and_jobs_are_awaited(settings: Settings) -> None:
    events: list[str] = []
    ticked = asyncio.Event()
    clock = ManualClock()

    class Plugin:
        @hookimpl
        async def startup(self, app: object) -> None:
            await asyncio.sleep(0)
            events.append("startup")

        @hookimpl
        def shutdown(self, app: object) -> object:
            async def close() -> None:
                events.append("shutdown")

            return close()

        @hookimpl
        def jobs(self) -> list[Job]:
            async def tick(app: object) -> None:
                events.append("tick")
                ticked.set()

            return [Job("tick", 0.01, tick, run_at_start=True)]

    app = create_app(settings, [Plugin()], clock=clock)
    assert services(app).clock is clock
    async with running(app):
        assert events[0] == "startup"
        await ticked.wait()  # at start
        ticked.clear()
        clock.advance(0.01)  # and one interval later, on the app's clock
        await ticked.wait()
    assert events == ["startup", "tick", "tick", "shutdown"]


async def test_plugin_routes_are_served_and_disabled_ones_are_not(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ping_plugin.py").write_text(
        "from starlette.routing import Route\n"
        "from core.hooks import hookimpl\n"
        "from core.http import json\n"
        "async def ping(request):\n    return json({'pong': True})\n"
        "@hookimpl\ndef routes():\n    return [Route('/ping', ping)]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for disabled, status in (((), 200), (("ping_plugin",), 404)):
        configured = settings.replace(plugins={"modules": ("ping_plugin",), "disabled": disabled})
        app = create_app(configured)
        async with running(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                assert (await c.get("/ping")).status_code == status


def test_the_app_runs_on_the_real_clock_unless_given_one(settings: Settings) -> None:
    assert isinstance(services(create_app(settings)).clock, SystemClock)


def test_missing_storage_backend_is_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"storage\.backend: 's3' is not provided"):
        create_app(settings.replace(storage={"backend": "s3"}))


# --- Redis going away and coming back -----------------------------------------------------------


async def _wait_for(client: httpx.AsyncClient, status: int, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        response = await client.get("/health")
        if response.status_code == status:
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"/health did not become {status} within {limit}s")


async def test_health_follows_redis_down_and_up(
    tmp_path: Path, tmp_root: Path, private_redis: RedisProcess
) -> None:
    from .conftest import prepare_database

    settings = make_settings(
        "embedded", tmp_path / "data", redis={"url": f"redis://127.0.0.1:{private_redis.port}/0"}
    )
    prepare_database(settings, "embedded", tmp_root)
    app = create_app(settings)
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/health")).json()["cache"] == "ok"
            private_redis.stop()
            took = await _wait_for(client, 503, 2.0)
            body = (await client.get("/health")).json()
            assert body == {"status": "unavailable", "database": "ok", "cache": "unavailable"}
            assert took < 2.0
            private_redis.start()
            await _wait_for(client, 200, 10.0)


async def test_a_stalled_redis_is_503_within_the_timeout_and_recovers(
    tmp_path: Path, tmp_root: Path, private_redis: RedisProcess
) -> None:
    """SIGSTOP: Redis holds its connections and answers nothing. A request that needs the cache
    is answered 503 with Retry-After after at most two timeouts (the rate limit counter fails
    open after one, the token lookup fails the request after the next), not coredis's retries."""
    from .conftest import create_user, issue_token, prepare_database

    timeout = 0.5
    settings = make_settings(
        "embedded", tmp_path / "data", redis={"url": private_redis.url, "timeout": timeout}
    )
    prepare_database(settings, "embedded", tmp_root)
    app = create_app(settings)
    async with running(app):
        token = await issue_token(app, await create_user(app))
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.get("/api/v2/me", headers=headers)).status_code == 200
            private_redis.pause()
            try:
                started = time.monotonic()
                stalled = await client.get("/api/v2/me", headers=headers)
                took = time.monotonic() - started
                assert stalled.status_code == 503 and stalled.headers["Retry-After"]
                # Scheduling slack on a loaded machine; before, this took 6 timeouts.
                assert took < 2 * timeout + 0.8, took
                started = time.monotonic()
                assert (await client.get("/health")).status_code == 503
                assert time.monotonic() - started < timeout + 0.8
            finally:
                private_redis.resume()
            assert (await client.get("/api/v2/me", headers=headers)).status_code == 200
