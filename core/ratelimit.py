"""Rate limits per route group: `limits` parses them, the cache counts (`Cache.hit`)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from limits import RateLimitItem, parse
from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.auth import PREFETCHED, prefetch_keys, scope_claims
from core.cache import Cache
from core.config import Settings
from core.http import ApiError, json
from core.services import Services, services


class RateLimits:
    """Which limit applies to a request, and whose it is."""

    def __init__(self, settings: Settings) -> None:
        rl = settings.ratelimit
        self.enabled = rl.enabled
        self.default = _parse(rl.default)
        # Longest prefix first, so `/api/v2/users/lookup` beats `/api`.
        self.groups = sorted(
            ((prefix, _parse(limit)) for prefix, limit in rl.groups.items()),
            key=lambda item: len(item[0]),
            reverse=True,
        )
        self._warned_at = 0.0

    def limit_for(self, path: str) -> tuple[str, RateLimitItem | None]:
        for prefix, item in self.groups:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return prefix, item
        return "default", self.default

    async def hit(
        self, cache: Cache, item: RateLimitItem, *identity: str, reads: Sequence[str] = ()
    ) -> tuple[tuple[bool, int, float] | None, dict[str, bytes | None]]:
        """((allowed, remaining, reset epoch), `reads`' values), in one round trip to `cache`.

        The route counters are fixed windows kept in the cache itself (`Cache.hit`), so the
        counter and what the request will read (its token, its user, a cached answer) travel
        together: a cached answer costs one Redis round trip. When the cache is down the
        verdict is None and nothing is read: requests are not limited (an outage shows on
        /health, it must not lock every client out), and each read is tried again later.
        """
        key = "ratelimit:" + item.key_for(*identity)
        try:
            # Ends within the Redis timeout, a stalled server included: the cache bounds each
            # of its round trips (`core.redis_cache.RedisCache._call`).
            count, left, values = await cache.hit(key, item.get_expiry(), reads)
        except Exception as exc:
            now = time.monotonic()
            if now - self._warned_at > 30:
                self._warned_at = now
                logger.warning("rate limiter storage unavailable, not limiting: {!r}", exc)
            return None, {}
        verdict = (count <= item.amount, max(0, item.amount - count), time.time() + left)
        return verdict, dict(zip(reads, values, strict=True))


async def throttle(request: Any, name: str, limit: str) -> None:
    """A per-feature limit inside a handler (e.g. replay downloads): 429 once it is used up.

    Counted per token like the route groups, under its own `name`.
    """
    svc = services(request)
    limits: RateLimits = svc.ratelimits
    item = _parse(limit)
    if not limits.enabled or item is None:
        return
    result, _ = await limits.hit(svc.cache, item, name, client_identity(svc, request.scope))
    if result is None or result[0]:
        return
    retry_after = max(1, math.ceil(result[2] - time.time()))
    raise ApiError(
        429,
        {"error": "Too Many Attempts."},
        {
            "Retry-After": str(retry_after),
            "X-RateLimit-Limit": str(item.amount),
            "X-RateLimit-Remaining": "0",
        },
    )


def _parse(limit: str) -> RateLimitItem | None:
    return None if limit == "none" else parse(limit)


def client_address(scope: Scope) -> str:
    """The address a request came from: the one place that decides it (sign-in locks use it too)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


def client_identity(svc: Services, scope: Scope) -> str:
    """Whose budget a request spends: its token's id when it sends a valid one, else its address.

    Only a bearer token whose signature verifies (and which has not expired) chooses the bucket;
    anything else in `Authorization` (random values, Basic credentials) counts against the client
    address, so varying the header cannot buy fresh buckets. Verifying costs one RSA signature
    check, cached per token text by the authenticator. Revocation is not looked up here (the
    route's own check refuses revoked tokens); a revoked token only ever had one bucket.
    """
    return identity_of(scope, scope_claims(svc, scope))


def identity_of(scope: Scope, claims: Mapping[str, Any] | None) -> str:
    """`client_identity` from the request's verified claims (`core.auth.scope_claims`)."""
    return "ip:" + client_address(scope) if claims is None else "t:" + str(claims["jti"])


class RateLimitMiddleware:
    """Counts each request against its group's limit (429 past it) and, in the same round trip,
    reads what the request's route will need from the cache (`core.auth.prefetch_keys`: its
    token, its user, the cached answer), which `core.auth.authenticate` then finds on the
    request instead of asking the cache again."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limits.enabled:
            await self.app(scope, receive, send)
            return
        group, item = self.limits.limit_for(scope["path"])
        if item is None:
            await self.app(scope, receive, send)
            return
        svc = services(scope["app"])
        # The token's signature is checked once, for the budget and the reads both.
        claims = scope_claims(svc, scope)
        result, values = await self.limits.hit(
            svc.cache, item, group, identity_of(scope, claims), reads=prefetch_keys(scope, claims)
        )
        if values:
            scope.setdefault("state", {})[PREFETCHED] = values
        if result is None:
            await self.app(scope, receive, send)
            return
        allowed, remaining, reset = result
        amount = str(item.amount).encode()
        if not allowed:
            retry_after = max(1, math.ceil(reset - time.time()))
            response = json(
                {"error": "Too Many Attempts."},
                429,
                {
                    "Retry-After": str(retry_after),
                    "X-RateLimit-Limit": amount.decode(),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(reset)),
                },
            )
            await response(scope, receive, send)
            return
        headers = [
            (b"x-ratelimit-limit", amount),
            (b"x-ratelimit-remaining", str(remaining).encode()),
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
