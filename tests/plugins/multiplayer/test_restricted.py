"""Restricted and silenced users and rooms (osu-web OsuAuthorize `checkMultiplayerRoomCreate`,
osu-server-spectator MultiplayerHub.cs): no room creation over HTTP or the hub, no joining for
restricted users, and a restricted host's rooms kept from everyone but the host."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth import forget_user
from core.db import utcnow
from core.rooms import store as rooms_db
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.plugins.api_v2.test_rooms import playlist_body
from tests.scores import support as scores_support

from .support import MpClient, connect, new_room


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def beatmap(app: Starlette) -> scores_support.Map:
    return await scores_support.import_map(app, 0)


@pytest.fixture
async def mp(app_url: str) -> AsyncIterator[Callable[..., Any]]:
    opened: list[MpClient] = []

    async def open_client(token: str, user_id: int) -> MpClient:
        client = await connect(app_url, token, user_id)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()


async def set_user(app: Starlette, user_id: int, **values: Any) -> None:
    """Change the user row as a moderator would (the cached row is dropped with it)."""
    await users_db.update_user(services(app).db, user_id, **values)
    await forget_user(services(app), user_id)


async def room_count(app: Starlette) -> int:
    db = services(app).db
    return int(await db.fetch_val(sa.select(sa.func.count()).select_from(rooms_db.rooms)))


async def test_restricted_and_silenced_users_cannot_create_rooms(
    app: Starlette,
    client: httpx.AsyncClient,
    mp: Callable[..., Any],
    beatmap: scores_support.Map,
) -> None:
    restricted = await create_user(app, "restricted")
    silenced = await create_user(app, "silenced")
    await set_user(app, restricted, restricted=True)
    await set_user(app, silenced, silenced_until=utcnow() + dt.timedelta(hours=1))
    tokens = {u: await issue_token(app, u) for u in (restricted, silenced)}
    # Over HTTP: osu-web's words, as 422 (lazer signs out on a 403).
    for user_id, message in (
        (restricted, "Can't do that while restricted."),
        (silenced, "Can't do that while silenced."),
    ):
        r = await client.post(
            "/api/v2/rooms", json=playlist_body(beatmap), headers=auth(tokens[user_id])
        )
        assert (r.status_code, r.json()) == (422, {"error": message})
    # Over the hub: osu-server-spectator's words for a restricted user.
    hub_restricted = await mp(tokens[restricted], restricted)
    hub_silenced = await mp(tokens[silenced], silenced)
    assert await hub_restricted.error("CreateRoom", new_room(beatmap)) == (
        "InvalidStateException: Can't join a room when restricted."
    )
    assert await hub_silenced.error("CreateRoom", new_room(beatmap)) == (
        "InvalidStateException: Can't do that while silenced."
    )
    assert await room_count(app) == 0
    # A silence that has run out no longer stands in the way (read at the call, not at connect).
    await set_user(app, silenced, silenced_until=utcnow() - dt.timedelta(seconds=1))
    created = await hub_silenced.ok("CreateRoom", new_room(beatmap))
    r = await client.post(
        "/api/v2/rooms", json=playlist_body(beatmap), headers=auth(tokens[silenced])
    )
    assert r.status_code == 200, r.text
    assert await room_count(app) == 2
    # A restriction made after connecting counts at the next call: no joining either.
    assert await hub_restricted.error("JoinRoom", created.room_id) == (
        "InvalidStateException: Can't join a room when restricted."
    )
    late = await create_user(app, "late")
    hub_late = await mp(await issue_token(app, late), late)
    await set_user(app, late, restricted=True)
    assert await hub_late.error("JoinRoomWithPassword", created.room_id, "") == (
        "InvalidStateException: Can't join a room when restricted."
    )
    assert await hub_late.error("CreateRoom", new_room(beatmap)) == (
        "InvalidStateException: Can't join a room when restricted."
    )
    assert await room_count(app) == 2


async def test_a_restricted_hosts_rooms_are_shown_to_the_host_only(
    app: Starlette,
    client: httpx.AsyncClient,
    mp: Callable[..., Any],
    beatmap: scores_support.Map,
) -> None:
    host = await create_user(app, "host")
    other = await create_user(app, "other")
    host_token, other_token = await issue_token(app, host), await issue_token(app, other)
    r = await client.post("/api/v2/rooms", json=playlist_body(beatmap), headers=auth(host_token))
    assert r.status_code == 200, r.text
    playlist_id = r.json()["id"]
    realtime = await (await mp(host_token, host)).ok("CreateRoom", new_room(beatmap))
    r = await client.post(
        "/api/v2/rooms", json=playlist_body(beatmap, name="others"), headers=auth(other_token)
    )
    others_id = r.json()["id"]

    async def listed(token: str) -> set[int]:
        ids = set()
        for query in ("", "?type_group=realtime", "?mode=all", "?mode=owned"):
            r = await client.get(f"/api/v2/rooms{query}", headers=auth(token))
            assert r.status_code == 200, r.text
            ids |= {room["id"] for room in r.json()}
        return ids

    assert await listed(other_token) == {playlist_id, realtime.room_id, others_id}
    await set_user(app, host, restricted=True)
    assert await listed(other_token) == {others_id}
    for room_id in (playlist_id, realtime.room_id):
        r = await client.get(f"/api/v2/rooms/{room_id}", headers=auth(other_token))
        assert r.status_code == 404
        assert r.json() == {"error": "Specified Multiplayer\\Room couldn't be found."}
    # The host still sees their own rooms (and everyone else's).
    assert await listed(host_token) == {playlist_id, realtime.room_id, others_id}
    for room_id in (playlist_id, realtime.room_id):
        r = await client.get(f"/api/v2/rooms/{room_id}", headers=auth(host_token))
        assert r.status_code == 200
    # Lifting the restriction shows them again.
    await set_user(app, host, restricted=False)
    assert await listed(other_token) == {playlist_id, realtime.room_id, others_id}
