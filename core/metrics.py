"""Prometheus metrics: the one home of every `hitcircle_*` metric and of their registry.

Each place that counts something calls one function here (`job_run`, `hub_invocation`...), so
the metric objects, their names and their labels live in this module only. `plugins/metrics`
serves them at `/metrics`.

Several hypercorn workers are several processes: `hitcircle serve` with more than one worker
calls `prepare_multiprocess` before starting them, which points prometheus-client's
multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`) at an emptied private directory under the data
directory. Every worker then writes its values to files there and `registry()` in any worker
sums them all (`MultiProcessCollector`). A single worker, the CLI and tests keep the ordinary
in-memory default registry.

Labels stay bounded: a request is labelled with its route's template (`/api/v2/users/{user}`),
never its raw path; a request no route matched is `UNMATCHED`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.config import ConfigError, Key, Section, Settings
from core.files import private_dir

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "<unmatched>"
# The text exposition format, version 0.0.4 (what Prometheus scrapes by default).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HTTP_REQUESTS = Counter(
    "hitcircle_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "hitcircle_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
)
HUB_CONNECTIONS = Gauge(
    "hitcircle_hub_connections",
    "Open SignalR hub connections, by hub (summed over live workers).",
    ["hub"],
    multiprocess_mode="livesum",
)
HUB_INVOCATIONS = Counter(
    "hitcircle_hub_invocations",
    "Hub method invocations, by hub, method and outcome (ok, hub_error, error, unknown_method,"
    " bad_arguments).",
    ["hub", "method", "outcome"],
)
SCORE_SUBMISSIONS = Counter(
    "hitcircle_score_submissions",
    "Scores stored, by ruleset and result (passed or failed).",
    ["ruleset", "result"],
)
JOB_RUNS = Counter(
    "hitcircle_job_runs",
    "Periodic job runs, by job and outcome (ok or failed).",
    ["job", "outcome"],
)
JOB_SECONDS = Histogram(
    "hitcircle_job_duration_seconds",
    "Duration of periodic job runs, by job.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)
BACKEND_ERRORS = Counter(
    "hitcircle_backend_errors",
    "Requests answered 503 because a backend was unavailable, by backend (cache or database).",
    ["backend"],
)


# --- settings ----------------------------------------------------------------------------------


def _bind(value: Any) -> str | None:
    host, _, port = str(value).rpartition(":")
    if value and (not host or not port.isdecimal() or not 0 < int(port) < 65536):
        return f"expected host:port, got {value!r}"
    return None


SECTION = Section(
    "metrics",
    (
        Key(
            "token",
            "",
            "Bearer token the scraper sends for /metrics on the server's own address; empty: "
            "/metrics is not served there.",
        ),
        Key(
            "bind",
            "",
            "host:port of a separate listener serving /metrics without a token and nothing "
            "else; empty: none.",
            check=_bind,
        ),
    ),
    "Prometheus metrics (`GET /metrics`).",
)


def metrics_settings(settings: Settings) -> dict[str, Any]:
    values = SECTION.read(settings)
    if values["bind"]:
        bind_port(values["bind"], settings.server.port)
    return values


def bind_port(bind: str, server_port: int) -> int:
    """The port of `metrics.bind` (`host:port`); a ConfigError unless it is a port of its own."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdecimal() or not 0 < int(port) < 65536:
        raise ConfigError("metrics.bind", f"expected host:port, got {bind!r}")
    if int(port) == server_port:
        raise ConfigError("metrics.bind", "must be another port than server.port")
    return int(port)


def metrics_port(settings: Settings) -> int | None:
    """The port of the separate metrics listener, if one is configured."""
    bind = metrics_settings(settings)["bind"]
    return bind_port(bind, settings.server.port) if bind else None


def extra_binds(settings: Settings) -> list[str]:
    """What `hitcircle serve` adds to hypercorn's binds for metrics."""
    bind = metrics_settings(settings)["bind"]
    return [bind] if bind else []


def on_metrics_bind(scope: Scope, port: int | None) -> bool:
    """Whether a request arrived on the separate metrics listener."""
    server = scope.get("server")
    return port is not None and server is not None and server[1] == port


# --- processes ---------------------------------------------------------------------------------


def multiprocess_enabled() -> bool:
    """Whether this process's metrics are written to the shared multiprocess directory (decided
    by prometheus-client when it was first imported)."""
    return bool(os.environ.get(MULTIPROC_ENV)) and values.ValueClass is not values.MutexValue


def prepare_multiprocess(data_dir: Path) -> Path:
    """Point prometheus-client's multiprocess mode at `<data_dir>/metrics`, emptied (the files
    of a previous run would count again), 0700. Call before the workers start: they inherit the
    variable and read it when they import prometheus-client."""
    directory = data_dir / "metrics"
    if directory.exists():
        shutil.rmtree(directory)
    private_dir(directory)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def worker_died(pid: int) -> None:
    """Forget a dead worker's live gauges (its hub connections are gone with it). The worker
    supervisor calls this for a worker that exited; its counters keep counting in the sum."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def registry() -> CollectorRegistry:
    """What `/metrics` shows: every worker's values summed in multiprocess mode, else this
    process's default registry."""
    if not multiprocess_enabled():
        return REGISTRY
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    return collected


def exposition() -> bytes:
    """The metrics in Prometheus's text exposition format."""
    return generate_latest(registry())


# --- counting ----------------------------------------------------------------------------------


def hub_connected(hub: str, delta: int) -> None:
    HUB_CONNECTIONS.labels(hub).inc(delta)


def hub_invocation(hub: str, method: str, outcome: str) -> None:
    HUB_INVOCATIONS.labels(hub, method, outcome).inc()


def score_submitted(ruleset: str, passed: bool) -> None:
    SCORE_SUBMISSIONS.labels(ruleset, "passed" if passed else "failed").inc()


def job_run(job: str, seconds: float, failed: bool) -> None:
    JOB_RUNS.labels(job, "failed" if failed else "ok").inc()
    JOB_SECONDS.labels(job).observe(seconds)


def backend_error(exc: BaseException) -> None:
    """Count an unavailable-backend error by the backend it came from (the cache's own errors
    first: the database's list includes the generic OSError and TimeoutError)."""
    from core.cache import CacheUnavailable
    from core.db import loaded_errors
    from core.redis_client import DOWN_ERRORS

    coredis_errors = loaded_errors("coredis.exceptions", *DOWN_ERRORS)
    cache: tuple[type[BaseException], ...] = (CacheUnavailable, *coredis_errors)
    BACKEND_ERRORS.labels("cache" if isinstance(exc, cache) else "database").inc()


# --- HTTP --------------------------------------------------------------------------------------

_ROUTE_KEY = "metrics_route"
# The labelled series each request adds to, by label values: prometheus-client's `labels()`
# checks and locks on every call, a measurable share of a cached read's time.
_REQUEST_SERIES: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _count_request(method: str, route: str, status: int, seconds: float) -> None:
    series = _REQUEST_SERIES.get((method, route, status))
    if series is None:
        series = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_SECONDS.labels(method, route),
        )
        _REQUEST_SERIES[(method, route, status)] = series
    series[0].inc()
    series[1].observe(seconds)


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status.

    It goes first in the app's middleware, so answers given before routing (rate limits) count
    too. Middleware after it may copy the scope, so the route the router matched is read by
    `RouteTemplate`, the last middleware, into the request's state, which every copy shares.

    On the separate metrics listener (`port`, from `metrics.bind`) only `/metrics` is served:
    anything else is 404 there, before any other middleware or route sees it.
    """

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.app = app
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.port is not None and on_metrics_bind(scope, self.port):
            if scope["type"] != "http" or scope["path"] != "/metrics":
                await _refuse(scope, send)
                return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500  # until the response starts
        state = scope.setdefault("state", {})

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            # The outermost error handler answers after this middleware: with its status.
            from core.http import unavailable_errors

            status = 503 if isinstance(exc, unavailable_errors()) else 500
            raise
        finally:
            route = state.get(_ROUTE_KEY) or UNMATCHED
            _count_request(scope["method"], route, status, time.perf_counter() - began)


class RouteTemplate:
    """Notes the matched route's template (`scope["route"].path`, set by Starlette's router) for
    `MetricsMiddleware`; a request no route matched gets none."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            route: Any = scope.get("route")
            if route is not None and "state" in scope:
                scope["state"][_ROUTE_KEY] = getattr(route, "path", None)


async def _refuse(scope: Scope, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": ""})
        return
    body = b'{"error":null}'
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
