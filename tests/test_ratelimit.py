import asyncio
import inspect
import secrets
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.app import create_app
from core.auth import authenticator
from core.cache import Cache
from core.config import Settings
from core.hooks import hookimpl
from core.http import json
from core.ratelimit import RateLimits, client_identity
from core.redis_cache import RedisCache
from core.services import services

from .conftest import create_user, issue_token, running
from .scores import support

# Also on a Redis Cluster (tests/conftest.py).
pytestmark = pytest.mark.redis_cluster("mysql_cluster")


async def ok(request: Request) -> Response:
    return json({"ok": True})


class Routes:
    @hookimpl
    def routes(self) -> list[Route]:
        return [Route("/api/v2/thing", ok), Route("/oauth/token", ok, methods=["POST"])]


@pytest.fixture
def settings_overrides() -> dict:
    return {
        "ratelimit": {
            "default": "3/minute",
            "groups": {"/oauth/token": "2/minute", "/health": "none"},
        }
    }


@pytest.fixture
async def limited_app(settings: Settings) -> Starlette:
    app = create_app(settings, [Routes()])
    async with running(app):
        yield app


@pytest.fixture
async def http(limited_app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=limited_app, client=("10.0.0.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_limit_headers_then_429(http: httpx.AsyncClient) -> None:
    for remaining in (2, 1, 0):
        response = await http.get("/api/v2/thing")
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == "3"
        assert response.headers["x-ratelimit-remaining"] == str(remaining)
    refused = await http.get("/api/v2/thing")
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too Many Attempts."}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"


async def test_two_apps_on_one_redis_share_a_budget(
    backend: str, settings: Settings, limited_app: Starlette
) -> None:
    """Workers and hosts count against one budget per client: each app has its own Redis
    client, as another process would."""
    if backend == "embedded":
        pytest.skip("apps share counters only through Redis")
    other = create_app(settings, [Routes()])
    async with running(other):
        answers = []
        for app in (limited_app, other, limited_app, other):
            transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 1234))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                response = await c.get("/api/v2/thing")
                answers.append(
                    (response.status_code, response.headers.get("x-ratelimit-remaining"))
                )
    assert answers == [(200, "2"), (200, "1"), (200, "0"), (429, "0")]


async def test_groups_count_separately(http: httpx.AsyncClient) -> None:
    assert (await http.post("/oauth/token")).status_code == 200
    assert (await http.post("/oauth/token")).status_code == 200
    assert (await http.post("/oauth/token")).status_code == 429
    assert (await http.get("/api/v2/thing")).status_code == 200


async def test_each_valid_token_has_its_own_budget(
    limited_app: Starlette, http: httpx.AsyncClient
) -> None:
    user = await create_user(limited_app)
    first = {"authorization": f"Bearer {await issue_token(limited_app, user)}"}
    second = {"authorization": f"Bearer {await issue_token(limited_app, user)}"}
    for _ in range(3):
        assert (await http.get("/api/v2/thing", headers=first)).status_code == 200
    assert (await http.get("/api/v2/thing", headers=first)).status_code == 429
    assert (await http.get("/api/v2/thing", headers=second)).status_code == 200
    # The address's own budget (requests without a token) is untouched by the tokens'.
    assert (await http.get("/api/v2/thing")).status_code == 200


async def test_unverified_authorization_values_share_the_address_budget(
    limited_app: Starlette, http: httpx.AsyncClient
) -> None:
    # Random bearer values, a forged JWT, an expired token's lookalike and Basic credentials
    # all count against the client address: varying the header buys no fresh bucket.
    user = await create_user(limited_app)
    real = await issue_token(limited_app, user)
    header, payload, _ = real.split(".")
    forged = f"{header}.{payload}.{'A' * 342}"
    values = [f"Bearer {secrets.token_hex(20)}", f"Bearer {forged}", "Basic dTpw"]
    answers = [
        (await http.post("/oauth/token", headers={"authorization": value})).status_code
        for value in values
    ]
    assert answers == [200, 200, 429]
    for _ in range(70):
        response = await http.post(
            "/oauth/token", headers={"authorization": f"Bearer {secrets.token_urlsafe(30)}"}
        )
        assert response.status_code == 429
    # The other address is not affected.
    transport = httpx.ASGITransport(app=limited_app, client=("10.0.0.2", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert (await other.post("/oauth/token")).status_code == 200


async def test_unlimited_group(http: httpx.AsyncClient) -> None:
    for _ in range(5):
        response = await http.get("/health")
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers


def test_longest_prefix_wins() -> None:
    from core.config import settings_from

    limits = RateLimits(
        settings_from(
            {"ratelimit": {"groups": {"/api": "10/minute", "/api/v2/users/lookup": "5/second"}}}, {}
        )
    )
    assert limits.limit_for("/api/v2/users/lookup")[0] == "/api/v2/users/lookup"
    assert limits.limit_for("/api/v2/users/2")[0] == "/api"
    assert limits.limit_for("/apiary")[0] == "default"


async def test_identity_is_the_verified_token_id(limited_app: Starlette) -> None:
    svc = services(limited_app)
    user = await create_user(limited_app)
    token = await issue_token(limited_app, user)
    jti = authenticator(svc).claims(token)["jti"]  # type: ignore[index]
    scope = {"headers": [(b"authorization", f"Bearer {token}".encode())], "client": ("1.2.3.4", 1)}
    identity = client_identity(svc, scope)
    assert identity == "t:" + jti and token not in identity
    unverified = {"headers": [(b"authorization", b"Bearer secret")], "client": ("1.2.3.4", 1)}
    assert client_identity(svc, unverified) == "ip:1.2.3.4"
    assert client_identity(svc, {"headers": [], "client": ("1.2.3.4", 1)}) == "ip:1.2.3.4"


class CountingCache:
    """The app's cache, counting the calls that reach it (each one round trip on Redis) from
    the task that made this (the request's, under httpx's ASGI transport): the app's jobs
    running beside it use the cache too."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.calls: list[str] = []
        self.task = asyncio.current_task()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            if asyncio.current_task() is self.task:
                self.calls.append(name)
            return await attr(*args, **kwargs)

        return counted


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/me/",
        "/api/v2/me/taiko",
        "/api/v2/users/{id}",
        "/api/v2/users/{id}/mania",
        "/api/v2/beatmaps/lookup?checksum={sum}",
        "/api/v2/beatmaps/{bid}",
        "/api/v2/beatmaps/{bid}/scores",
        "/api/v2/beatmaps/{bid}/solo-scores?mode=osu&limit=1",
    ],
)
async def test_a_cached_answer_costs_one_round_trip(settings: Settings, path: str) -> None:
    """The rate-limit counter, the token, its user and the cached body in one call to the cache
    (`Cache.hit`, one pipeline on Redis), and no other."""
    app = create_app(settings)
    async with running(app):
        svc = services(app)
        user = await create_user(app)
        token = await issue_token(app, user)
        beatmap = await support.import_map(app, 0)
        transport = httpx.ASGITransport(app=app, client=("10.0.0.3", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            headers = {"authorization": f"Bearer {token}"}
            # A score of the player's own, so the boards have an entry to pin (sent with a
            # token of its own: the limit here is three a minute).
            other = await issue_token(app, user)
            assert (await support.submit(http, other, beatmap, support.body(beatmap))).is_success
            url = path.format(id=user, bid=beatmap.id, sum=beatmap.checksum)
            first = await http.get(url, headers=headers)
            assert first.status_code == 200
            counting = CountingCache(svc.cache)
            svc.cache = counting  # type: ignore[assignment]
            round_trips = 0
            if isinstance(counting.inner, RedisCache):
                real_call = counting.inner._call

                async def call(command: Any, timeout: float | None = None) -> Any:
                    nonlocal round_trips
                    round_trips += asyncio.current_task() is counting.task
                    return await real_call(command, timeout)

                counting.inner._call = call  # type: ignore[method-assign]
            try:
                again = await http.get(url, headers=headers)
            finally:
                svc.cache = counting.inner
        assert again.status_code == 200
        assert again.json() == first.json()
        assert again.headers["x-ratelimit-remaining"] == "1"
        assert counting.calls == ["hit"]
        if isinstance(counting.inner, RedisCache):
            assert round_trips == 1


async def test_a_revoked_token_is_refused_though_its_row_came_with_the_counter(
    settings: Settings,
) -> None:
    """The token row read ahead (with the counter) is the one `authenticate` checks: after a
    revocation the next request reads the revoked row there, and is refused."""
    from core.auth import revoke_access_tokens

    app = create_app(settings)
    async with running(app):
        user = await create_user(app)
        token = await issue_token(app, user)
        jti = authenticator(services(app)).claims(token)["jti"]  # type: ignore[index]
        transport = httpx.ASGITransport(app=app, client=("10.0.0.4", 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            headers = {"authorization": f"Bearer {token}"}
            assert (await http.get("/api/v2/me/", headers=headers)).status_code == 200
            await revoke_access_tokens(services(app), [jti])
            assert (await http.get("/api/v2/me/", headers=headers)).status_code == 401
