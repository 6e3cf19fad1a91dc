"""Every mounted /api/v2 route declares its scope, and the declaration is enforced; so do the
realtime endpoints (the SignalR hubs and the notification websocket)."""

import re
from collections.abc import Iterator

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from core.auth import ANY_SCOPE
from core.services import services
from core.testing import HubClient
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


# --- the realtime endpoints: SignalR hubs and the notification websocket -----------------------

FEED_PATH = "/notifications/feed"
# Every scope a REST client may hold, without `*` (lazer's) and without `chat.read`.
BROAD = ["chat.write", "forum.write", "friends.read", "identify", "public"]


def websocket_paths(app: Starlette) -> list[str]:
    return [path for path, route in walk(app.routes) if isinstance(route, WebSocketRoute)]


async def test_every_websocket_route_is_known_to_the_scope_walk(app: Starlette) -> None:
    hubs = services(app).hubs
    assert hubs, "no hubs mounted"
    expected = {f"/signalr/{name}" for name in hubs} | {FEED_PATH}
    assert set(websocket_paths(app)) == expected, "a new WebSocket route needs a scope check here"
    # lazer's three hubs serve lazer's token only.
    assert {name: host.hub.scope for name, host in hubs.items()} == dict.fromkeys(hubs, "*")


async def test_every_hub_refuses_tokens_without_its_scope(
    app: Starlette, client: httpx.AsyncClient, app_url: str
) -> None:
    user = await create_user(app)
    lazer = await issue_token(app, user, ["*"])
    tokens = {
        "broad": await issue_token(app, user, BROAD),
        "chat": await issue_token(app, user, ["chat.read", "chat.write"]),
        "multiplayer": await issue_token(app, user, ["multiplayer.write_manage", "public"]),
    }
    ws_base = app_url.replace("http://", "ws://")
    for name in services(app).hubs:
        negotiate = f"/signalr/{name}/negotiate?negotiateVersion=1"
        r = await client.post(negotiate)
        assert (r.status_code, r.json()) == (401, {"authentication": "basic"}), name
        for label, token in tokens.items():
            r = await client.post(negotiate, headers={"Authorization": f"Bearer {token}"})
            assert (r.status_code, r.json()) == (
                403,
                {"error": "Invalid scope(s) provided."},
            ), (name, label)
            # Skipping negotiate does not help: the WebSocket checks the scope again.
            with pytest.raises(InvalidStatus) as refused:
                await connect(
                    f"{ws_base}/signalr/{name}",
                    additional_headers={"Authorization": f"Bearer {token}"},
                )
            assert refused.value.response.status_code == 403, (name, label)
        r = await client.post(negotiate, headers={"Authorization": f"Bearer {lazer}"})
        assert r.status_code == 200, name
        hub = await HubClient.open(app_url, name, lazer)
        await hub.close()


async def test_the_notification_socket_needs_lazer_or_chat_read(
    app: Starlette, app_url: str
) -> None:
    """As ppy/osu-notification-server: `*` or `chat.read`, else `authentication failed`."""
    user = await create_user(app)
    url = app_url.replace("http://", "ws://") + FEED_PATH
    for scopes in (BROAD, ["public"], ["chat.write"]):
        token = await issue_token(app, user, scopes)
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            assert orjson.loads(await ws.recv()) == {"error": "authentication failed"}
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, scopes
    for scopes in (["*"], ["chat.read"]):
        token = await issue_token(app, user, scopes)
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            assert orjson.loads(await ws.recv()) == {"event": "connection.ready"}, scopes
