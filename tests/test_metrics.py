"""Prometheus metrics (core.metrics, plugins/metrics): each counter moves with real traffic,
`/metrics` is guarded, labels stay bounded, and several workers' values are summed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core import metrics
from core.app import create_app
from core.cache import CacheUnavailable
from core.clock import ManualClock
from core.config import ConfigError, Settings
from core.db import DatabaseUnavailable
from core.hooks import hookimpl
from core.jobs import Job, _run
from core.server import hypercorn_config
from tests.conftest import LiveServer, create_user, issue_token
from tests.test_hooks import listening, plugin, serve, submit_score, with_section

TOKEN = "scrape-me-0123456789"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"plugins": {"modules": ["tests.signalr.echo_hub"]}, "metrics": {"token": TOKEN}}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests(method: str, route: str, status: int) -> float:
    return value("hitcircle_http_requests_total", method=method, route=route, status=str(status))


# --- HTTP --------------------------------------------------------------------------------------


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    template = "/api/v2/rankings/{mode}/{type}"
    before = requests("GET", template, 401), requests("GET", "/health", 200)
    timed = value("hitcircle_http_request_duration_seconds_count", method="GET", route="/health")
    assert (await client.get("/api/v2/rankings/osu/performance")).status_code == 401
    assert (await client.get("/api/v2/rankings/mania/score")).status_code == 401
    assert (await client.get("/health")).status_code == 200
    assert requests("GET", template, 401) == before[0] + 2
    assert requests("GET", "/health", 200) == before[1] + 1
    after = value("hitcircle_http_request_duration_seconds_count", method="GET", route="/health")
    assert after == timed + 1


async def test_unknown_paths_share_one_label(client: httpx.AsyncClient) -> None:
    before = requests("GET", metrics.UNMATCHED, 404)
    for n in range(3):
        assert (await client.get(f"/no/such/path/{n}-xyzzy")).status_code == 404
    assert requests("GET", metrics.UNMATCHED, 404) == before + 3
    text = (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
    assert "xyzzy" not in text
    assert 'route="<unmatched>"' in text


async def test_backend_errors_are_counted_by_backend(settings: Settings) -> None:
    async def cache_down(request: Request) -> Response:
        raise CacheUnavailable("down")

    async def database_down(request: Request) -> Response:
        raise DatabaseUnavailable("down")

    @hookimpl
    def routes() -> list[BaseRoute]:
        return [Route("/cache-down", cache_down), Route("/db-down", database_down)]

    cache, database = (
        value("hitcircle_backend_errors_total", backend="cache"),
        value("hitcircle_backend_errors_total", backend="database"),
    )
    async with serve(settings, plugin("outage", routes)) as (app, _):
        # As a server does: the error handler answers, then the exception goes on to the log.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        assert (await client.get("/cache-down")).status_code == 503
        assert (await client.get("/cache-down")).status_code == 503
        assert (await client.get("/db-down")).status_code == 503
        # Not a bug: the request itself still counts, as a 503 of its route.
        assert requests("GET", "/db-down", 503) >= 1
    assert value("hitcircle_backend_errors_total", backend="cache") == cache + 2
    assert value("hitcircle_backend_errors_total", backend="database") == database + 1


# --- /metrics ----------------------------------------------------------------------------------


async def test_metrics_needs_the_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 401
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert "hitcircle_" not in wrong.text
    basic = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    # A token in the query string would end up in access logs: never accepted.
    assert (await client.get(f"/metrics?token={TOKEN}")).status_code == 401
    assert (await client.get(f"/metrics?access_token={TOKEN}")).status_code == 401
    ok = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "# TYPE hitcircle_http_requests_total counter" in ok.text
    assert (
        await client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    ).status_code == 405


async def test_metrics_without_a_token_is_not_served(settings: Settings) -> None:
    async with serve(with_section(settings, "metrics", token="")) as (_, client):
        assert (await client.get("/metrics")).status_code == 404
        assert (
            await client.get("/metrics", headers={"Authorization": "Bearer "})
        ).status_code == 404


async def test_metrics_bind_serves_metrics_only(settings: Settings) -> None:
    conf = with_section(settings, "metrics", token="", bind="127.0.0.1:9187")
    assert hypercorn_config(conf).bind[-1] == "127.0.0.1:9187"
    async with serve(conf) as (app, client):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:9187") as side:
            ok = await side.get("/metrics")
            assert ok.status_code == 200 and "hitcircle_http_requests_total" in ok.text
            assert (await side.get("/health")).status_code == 404
            assert (await side.get("/api/v2/me")).status_code == 404
        # The server's own address still refuses /metrics without a token.
        assert (await client.get("/metrics")).status_code == 404
        assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize(
    "bind", ["9187", "127.0.0.1:", "127.0.0.1:port", "127.0.0.1:70000", "127.0.0.1:{port}"]
)
def test_bad_metrics_bind_is_refused(settings: Settings, bind: str) -> None:
    conf = with_section(settings, "metrics", bind=bind.format(port=settings.server.port))
    with pytest.raises(ConfigError) as raised:
        metrics.metrics_settings(conf)
    assert raised.value.key == "metrics.bind"


def test_bad_metrics_key_is_refused(settings: Settings) -> None:
    with pytest.raises(ConfigError):
        metrics.metrics_settings(with_section(settings, "metrics", tokn="x"))


# --- hubs, jobs, scores -------------------------------------------------------------------------


async def test_hub_connections_and_invocations(settings: Settings) -> None:
    from tests.signalr.client import HubClient

    def invoked(method: str, outcome: str) -> float:
        return value("hitcircle_hub_invocations_total", hub="echo", method=method, outcome=outcome)

    app = create_app(settings)
    base = value("hitcircle_hub_connections", hub="echo")
    counts = invoked("Echo", "ok"), invoked("Fail", "hub_error"), invoked("Crash", "error")
    unknown = invoked("<unknown>", "unknown_method")
    async with listening(app) as url:
        token = await issue_token(app, await create_user(app))
        first = await HubClient.open(url, "echo", token)
        second = await HubClient.open(url, "echo", token)
        try:
            assert (await first.invoke("Echo", "hi")).result == "hi"
            assert (await first.invoke("Fail", "no")).error
            assert (await first.invoke("Crash")).error
            assert (await first.invoke("NoSuchMethod-xyzzy")).error
            # Both connections are open while the second one answers.
            assert (await second.invoke("Echo", "x")).result == "x"
            assert value("hitcircle_hub_connections", hub="echo") == base + 2
        finally:
            await first.close()
            await second.close()
    # The server has stopped: every connection has ended.
    assert value("hitcircle_hub_connections", hub="echo") == base
    assert invoked("Echo", "ok") == counts[0] + 2
    assert invoked("Fail", "hub_error") == counts[1] + 1
    assert invoked("Crash", "error") == counts[2] + 1
    assert invoked("<unknown>", "unknown_method") == unknown + 1
    assert (
        REGISTRY.get_sample_value(
            "hitcircle_hub_invocations_total",
            {"hub": "echo", "method": "NoSuchMethod-xyzzy", "outcome": "unknown_method"},
        )
        is None
    )


async def test_job_runs_are_counted_with_their_duration() -> None:
    clock = ManualClock()

    async def works(app: Any) -> None:
        clock.advance(2.5)

    async def fails(app: Any) -> None:
        raise RuntimeError("boom")

    ok = value("hitcircle_job_runs_total", job="metrics-works", outcome="ok")
    failed = value("hitcircle_job_runs_total", job="metrics-fails", outcome="failed")
    total = value("hitcircle_job_duration_seconds_sum", job="metrics-works")
    await _run(Job("metrics-works", 60.0, works), object(), clock)
    await _run(Job("metrics-fails", 60.0, fails), object(), clock)
    assert value("hitcircle_job_runs_total", job="metrics-works", outcome="ok") == ok + 1
    assert value("hitcircle_job_runs_total", job="metrics-fails", outcome="failed") == failed + 1
    assert value("hitcircle_job_runs_total", job="metrics-fails", outcome="ok") == 0
    assert value("hitcircle_job_duration_seconds_sum", job="metrics-works") == total + 2.5


async def test_score_submissions_are_counted(app: Starlette, client: httpx.AsyncClient) -> None:
    passed = value("hitcircle_score_submissions_total", ruleset="osu", result="passed")
    await submit_score(app, client)
    assert value("hitcircle_score_submissions_total", ruleset="osu", result="passed") == passed + 1


# --- processes ---------------------------------------------------------------------------------


@pytest.fixture
def restore_env() -> Iterator[None]:
    saved = os.environ.get(metrics.MULTIPROC_ENV)
    yield
    if saved is None:
        os.environ.pop(metrics.MULTIPROC_ENV, None)
    else:
        os.environ[metrics.MULTIPROC_ENV] = saved


def test_prepare_multiprocess_empties_a_private_directory(
    tmp_path: Path, restore_env: None
) -> None:
    old = tmp_path / "metrics"
    old.mkdir()
    (old / "counter_123.db").write_bytes(b"stale")
    directory = metrics.prepare_multiprocess(tmp_path)
    assert directory == old and list(directory.iterdir()) == []
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert os.environ[metrics.MULTIPROC_ENV] == str(directory)
    # Imported before the variable was set: this process keeps its own registry.
    assert metrics.registry() is REGISTRY


def _count_in(directory: Path, route: str, status: int) -> float:
    """The request count of `route` in the multiprocess files under `directory`."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    labels = {"method": "GET", "route": route, "status": str(status)}
    return registry.get_sample_value("hitcircle_http_requests_total", labels) or 0.0


async def test_two_workers_are_summed(settings: Settings, backend: str, tmp_path: Path) -> None:
    if backend != "mysql_redis":
        pytest.skip("several workers need Redis; the embedded backend runs one")
    server = LiveServer(
        settings, {"HITCIRCLE_SERVER_WORKERS": "2", "HITCIRCLE_METRICS_TOKEN": TOKEN}
    )
    server.start()
    route = "/api/v2/rankings/{mode}/{type}"
    try:
        sent = 24
        for _ in range(sent):
            # A new connection each time: the kernel spreads them over both workers' accepts.
            async with httpx.AsyncClient(base_url=server.url) as http:
                assert (await http.get("/api/v2/rankings/osu/performance")).status_code == 401
        # Each worker's own count, from its own file: both served some.
        files = sorted((settings.data_dir / "metrics").glob("counter_*.db"))
        assert len(files) == 2, files
        own = []
        for index, path in enumerate(files):
            alone = tmp_path / str(index)
            alone.mkdir()
            (alone / path.name).write_bytes(path.read_bytes())
            own.append(_count_in(alone, route, 401))
        assert sum(own) == sent and all(count > 0 for count in own), own
        for _ in range(4):  # whichever worker answers, it shows the sum of both
            async with httpx.AsyncClient(base_url=server.url) as http:
                scraped = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            line = next(
                line
                for line in scraped.text.splitlines()
                if line.startswith("hitcircle_http_requests_total{")
                and f'route="{route}"' in line
                and 'status="401"' in line
            )
            assert float(line.rsplit(" ", 1)[1]) == sent
    finally:
        server.stop()
