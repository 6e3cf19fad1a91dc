"""create_app(settings) -> Starlette: the host every plugin plugs into.

Plugins are loaded when the app is built (their routes are needed then); the database, the cache,
storage and jobs are opened in the lifespan and reached by handlers through
`core.services.services(request)`, the app's typed `Services`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from loguru import logger
from pluggy import PluginManager
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core import cache_share, geoip, metrics, openapi_docs
from core import db as dbmod
from core.beatmaps import difficulty
from core.beatmaps.sources import beatmap_settings
from core.cache import Cache, MemoryCache, make_cache
from core.clock import Clock, SystemClock
from core.config import ConfigError, Settings
from core.http import (
    EXCEPTION_HANDLERS,
    BodyLimitMiddleware,
    BodyLimits,
    ErrorMiddleware,
    HostMiddleware,
    JSONResponse,
)
from core.jobs import JobRunner
from core.openapi import describe
from core.openapi_schemas import STR, obj
from core.plugins import collect, load, resolve
from core.proxies import TrustedProxies, parse_networks
from core.ratelimit import RateLimitMiddleware, RateLimits
from core.redis_cache import probe_redis
from core.services import App, Host, Services, services
from core.signalr import HubHost

HEALTH_TIMEOUT = 1.0
# How long one probe's answer stands (the most an outage can be hidden).
HEALTH_FRESH = 1.0


def configure_logging(settings: Settings) -> None:
    logger.remove()
    logger.add(sys.stderr, level=settings.log.level.upper(), backtrace=False, diagnose=False)


def make_storage(settings: Settings, pm: PluginManager) -> Any:
    """The storage backend `storage.backend` names, from the plugins' `storage_backends`."""
    factories: dict[str, Any] = {}
    for result in pm.hook.storage_backends():
        factories.update(result or {})
    if settings.storage.backend not in factories:
        raise ConfigError(
            "storage.backend",
            f"{settings.storage.backend!r} is not provided by any enabled plugin "
            f"(available: {', '.join(sorted(factories)) or 'none'})",
        )
    return factories[settings.storage.backend](settings)


def body_limits(settings: Settings) -> BodyLimits:
    http = settings.http
    return BodyLimits(json=http.max_json_body, form=http.max_form_body, upload=http.max_upload_body)


@asynccontextmanager
async def standalone(settings: Settings) -> AsyncIterator[Host]:
    """The app's services for a CLI command, without serving: `services(host)` as handlers see
    `services(request)`.

    Every command that touches the database goes through here, so each one works on a new data
    directory before the first `serve`: the schema is brought up exactly as `serve` does it.
    """
    from core import migrate

    pm = load(settings)
    storage = make_storage(settings, pm)
    difficulty.configure(beatmap_settings(settings)["difficulty_workers"])
    # Reach the database and Redis first (bounded retries, one line when one is down or refuses),
    # then migrate.
    await (await dbmod.connect(settings)).disconnect()
    await probe_redis(settings)
    migrate.ensure_schema(settings, pm)
    database = await dbmod.connect(settings)
    cache: Cache = make_cache(settings.redis.url, settings.redis.prefix, settings.redis.timeout)
    if isinstance(cache, MemoryCache):
        # A server running on this data directory keeps the cache: the command's changes
        # (revoked tokens, dropped rows, locks) must happen there (core/cache_share.py).
        cache = await cache_share.connect(settings.data_dir) or cache
    limits = RateLimits(settings)
    svc = Services(
        settings=settings,
        plugins=pm,
        storage=storage,
        ratelimits=limits,
        clock=SystemClock(),
    )
    svc.db = database
    svc.cache = cache
    try:
        yield Host(svc)
    finally:
        difficulty.shutdown()
        await storage.close()
        await cache.close()
        await database.disconnect()


def create_app(
    settings: Settings, extra_plugins: Iterable[object] = (), clock: Clock | None = None
) -> App:
    """The app; `clock` (`services(app).clock`) is what its jobs, memory cache and hubs wait on and
    expire by: the real one unless a test brings a `core.clock.ManualClock`."""
    pm = load(settings, extra_plugins)
    storage = make_storage(settings, pm)
    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi_docs.openapi_json, methods=["GET"]),
        Route("/docs", openapi_docs.docs, methods=["GET"]),
        Route("/docs/realtime", openapi_docs.realtime, methods=["GET"]),
    ]
    routes += collect(pm.hook.routes())
    limits = RateLimits(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = services(app)
        svc.db = await dbmod.connect(settings)
        svc.cache = make_cache(
            settings.redis.url, settings.redis.prefix, settings.redis.timeout, svc.clock
        )
        runner = JobRunner(collect(pm.hook.jobs()))
        started: list[HubHost] = []
        share = None
        if isinstance(svc.cache, MemoryCache):
            share = cache_share.CacheShare(svc.cache, settings.data_dir)
            await share.start()
        try:
            geoip.check(settings)
            for result in pm.hook.startup(app=app):
                await resolve(result)
            for host in svc.hubs.values():
                await host.start()
                started.append(host)
            runner.start(app)
            yield
        finally:
            if share is not None:
                await share.stop()
            await runner.stop()
            for host in started:
                await host.stop()
            for result in pm.hook.shutdown(app=app):
                try:
                    await resolve(result)
                except Exception:
                    logger.exception("plugin shutdown failed")
            # The pp/difficulty pool outlives nothing: a worker whose pool is still up waits on
            # it at interpreter exit instead of stopping.
            difficulty.shutdown()
            await svc.storage.close()
            await svc.cache.close()
            await svc.db.disconnect()

    app = App(
        routes=routes,
        middleware=[
            Middleware(metrics.MetricsMiddleware, port=metrics.metrics_port(settings)),
            # First: everything after it (rate limits included) sees the real client address.
            Middleware(TrustedProxies, networks=parse_networks(settings.server.trusted_proxies)),
            Middleware(HostMiddleware),
            Middleware(ErrorMiddleware),
            Middleware(BodyLimitMiddleware, limits=body_limits(settings)),
            Middleware(RateLimitMiddleware, limits=limits),
            Middleware(metrics.RouteTemplate),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.services = hub_services = Services(
        settings=settings,
        plugins=pm,
        storage=storage,
        ratelimits=limits,
        clock=clock or SystemClock(),
    )
    for hub_class in collect(pm.hook.hubs()):
        host = HubHost(app, hub_class)
        if host.name in hub_services.hubs:
            raise ConfigError("plugins", f"two plugins serve the hub {host.name!r}")
        hub_services.hubs[host.name] = host
        app.router.routes.extend(host.routes())
    return app


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, HEALTH_TIMEOUT)
    except Exception:
        return "unavailable"
    return "ok"


async def _probe(svc: Services) -> tuple[bytes, int]:
    database, cache = await asyncio.gather(_check(dbmod.ping(svc.db)), _check(svc.cache.ping()))
    down = "unavailable" in (database, cache)
    body = {"status": "unavailable" if down else "ok", "database": database, "cache": cache}
    return orjson.dumps(body), 503 if down else 200


@describe(
    responses={
        200: obj({"cache": STR, "database": STR, "status": {"const": "ok"}}),
        503: obj({"cache": STR, "database": STR, "status": {"const": "unavailable"}}),
    }
)
async def health(request: Request) -> Response:
    """The database and the cache, each pinged; one probe answers every request in the next
    HEALTH_FRESH seconds (and those that came while it ran), so a load balancer polling hard
    costs two pings a second, and an outage shows within that second."""
    svc = services(request)
    state = request.app.state
    now = svc.clock.monotonic()
    last: tuple[float, asyncio.Future[tuple[bytes, int]]] | None = getattr(
        state, "health_probe", None
    )
    if last is None or now - last[0] >= HEALTH_FRESH:
        probe = asyncio.ensure_future(_probe(svc))
        last = (now, probe)
        state.health_probe = last
    body, status = await asyncio.shield(last[1])
    return JSONResponse(body, status)
