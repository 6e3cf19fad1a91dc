import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.app import create_app
from core.config import Settings
from core.hooks import hookimpl
from core.http import json
from core.ratelimit import RateLimits, client_identity

from .conftest import running


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
async def http(settings: Settings) -> httpx.AsyncClient:
    app = create_app(settings, [Routes()])
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 1234))
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


async def test_groups_count_separately(http: httpx.AsyncClient) -> None:
    assert (await http.post("/oauth/token")).status_code == 200
    assert (await http.post("/oauth/token")).status_code == 200
    assert (await http.post("/oauth/token")).status_code == 429
    assert (await http.get("/api/v2/thing")).status_code == 200


async def test_each_token_has_its_own_budget(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        await http.get("/api/v2/thing", headers={"authorization": "Bearer a"})
    assert (
        await http.get("/api/v2/thing", headers={"authorization": "Bearer a"})
    ).status_code == 429
    assert (
        await http.get("/api/v2/thing", headers={"authorization": "Bearer b"})
    ).status_code == 200
    assert (await http.get("/api/v2/thing")).status_code == 200


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


def test_identity_never_contains_the_token() -> None:
    scope = {"headers": [(b"authorization", b"Bearer secret-token")], "client": ("1.2.3.4", 1)}
    identity = client_identity(scope)
    assert "secret" not in identity and identity.startswith("t:")
    assert client_identity({"headers": [], "client": ("1.2.3.4", 1)}) == "ip:1.2.3.4"
