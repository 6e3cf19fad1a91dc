"""Every mounted /api/v2 route declares its scope, and the declaration is enforced."""

import re
from collections.abc import Iterator

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from core.auth import ANY_SCOPE
from tests.conftest import create_user, issue_token

NO_TOKEN_PREFIXES = (
    "/api/v2/changelog",
    "/api/v2/comments",
    "/api/v2/news",
    "/api/v2/seasonal-backgrounds",
    "/api/v2/wiki",
)


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from walk(route.routes, prefix + route.path)
        else:
            yield prefix + getattr(route, "path", ""), route


def api_routes(app: Starlette) -> list[tuple[str, Route]]:
    return [
        (path, route)
        for path, route in walk(app.routes)
        if path.startswith("/api/v2/") and isinstance(route, Route)
    ]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_api_v2_route_declares_a_scope(app: Starlette) -> None:
    routes = api_routes(app)
    assert routes, "no /api/v2 routes mounted"
    missing = [path for path, route in routes if not hasattr(route, "required_scope")]
    assert missing == [], f"routes without a declared scope (use core.auth.api_route): {missing}"
    for path, route in routes:
        if route.required_scope is None:
            # Only osu-web's no-token areas may go without a token.
            assert path.startswith(NO_TOKEN_PREFIXES), path


async def test_every_api_v2_route_enforces_its_scope(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user = await create_user(app)
    public_only = await issue_token(app, user, ["public"])
    identify_only = await issue_token(app, user, ["identify"])
    broad = await issue_token(
        app, user, ["chat.write", "forum.write", "friends.read", "identify", "public"]
    )
    for path, route in api_routes(app):
        scope = route.required_scope
        url = concrete(path)
        for method in sorted(route.methods or []):
            if method == "HEAD":
                continue
            r = await client.request(method, url)
            if scope is None:
                continue
            assert (r.status_code, r.json()) == (401, {"authentication": "basic"}), (method, path)
            r = await client.request(method, url, headers={"Authorization": "Bearer x.y.z"})
            assert r.status_code == 401, (method, path)
            if scope == ANY_SCOPE:
                continue
            if scope == "*":
                r = await client.request(method, url, headers={"Authorization": f"Bearer {broad}"})
                assert (r.status_code, r.json()) == (
                    403,
                    {"error": "Invalid scope(s) provided."},
                ), (method, path)
            else:
                lacking = identify_only if scope == "public" else public_only
                r = await client.request(
                    method, url, headers={"Authorization": f"Bearer {lacking}"}
                )
                assert (r.status_code, r.json()) == (
                    403,
                    {"error": "A required scope is missing."},
                ), (method, path)
