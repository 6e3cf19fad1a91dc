"""Room passwords: stored as bcrypt hashes, checked against the hash over HTTP and against the
live state over the hub (which the protocol hands the password in clear), and the migration that
hashes passwords stored before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from alembic import command
from starlette.applications import Starlette

from core import migrate
from core.auth import hash_password, verify_password
from core.config import Settings
from core.lazer.types import MultiplayerRoom
from core.rooms import store as rooms_db
from core.services import services
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


async def stored(app: Starlette, room_id: int) -> str | None:
    room = await rooms_db.get_room(services(app).db, room_id)
    assert room is not None
    password: str | None = room["password"]
    return password


async def test_playlist_passwords_are_stored_hashed_and_checked_against_the_hash(
    app: Starlette, client: httpx.AsyncClient, beatmap: scores_support.Map
) -> None:
    host, guest = await create_user(app, "host"), await create_user(app, "guest")
    host_token, guest_token = await issue_token(app, host), await issue_token(app, guest)
    r = await client.post(
        "/api/v2/rooms",
        json=playlist_body(beatmap, password="correct horse"),
        headers=auth(host_token),
    )
    assert r.status_code == 200, r.text
    room = r.json()
    assert room["has_password"] is True and "password" not in room
    hashed = await stored(app, room["id"])
    assert hashed is not None and "correct horse" not in hashed
    assert await verify_password("correct horse", hashed)
    join = f"/api/v2/rooms/{room['id']}/users/{guest}"
    for wrong in ("", "correct", hashed):
        r = await client.put(join, params={"password": wrong}, headers=auth(guest_token))
        assert (r.status_code, r.json()) == (422, {"error": "Invalid password"}), wrong
    r = await client.put(join, params={"password": "correct horse"}, headers=auth(guest_token))
    assert r.status_code == 200, r.text
    # No password: nothing stored, anyone joins.
    r = await client.post("/api/v2/rooms", json=playlist_body(beatmap), headers=auth(host_token))
    assert r.json()["has_password"] is False and await stored(app, r.json()["id"]) is None


async def test_realtime_passwords_are_hashed_at_rest_and_live_for_the_protocol(
    app: Starlette,
    client: httpx.AsyncClient,
    mp: Callable[..., Any],
    beatmap: scores_support.Map,
) -> None:
    host, guest = await create_user(app, "host"), await create_user(app, "guest")
    host_token, guest_token = await issue_token(app, host), await issue_token(app, guest)
    hub_host, hub_guest = await mp(host_token, host), await mp(guest_token, guest)
    room: MultiplayerRoom = await hub_host.ok("CreateRoom", new_room(beatmap, password="hunter2"))
    # The protocol gives members the password (lazer shows it to the host and sends invites).
    assert room.settings.password == "hunter2"
    first_hash = await stored(app, room.room_id)
    assert first_hash is not None and "hunter2" not in first_hash
    assert await verify_password("hunter2", first_hash)
    assert await hub_guest.error("JoinRoomWithPassword", room.room_id, first_hash) == (
        "InvalidPasswordException: Invalid password"
    )
    # A settings change that keeps the password keeps its hash; a new password is hashed anew.
    renamed = room.settings
    renamed.name = "renamed"
    await hub_host.ok("ChangeSettings", renamed)
    assert await stored(app, room.room_id) == first_hash
    renamed.password = "swordfish"
    await hub_host.ok("ChangeSettings", renamed)
    second_hash = await stored(app, room.room_id)
    assert second_hash is not None and second_hash != first_hash
    assert await verify_password("swordfish", second_hash)
    assert await hub_guest.error("JoinRoomWithPassword", room.room_id, "hunter2") == (
        "InvalidPasswordException: Invalid password"
    )
    joined: MultiplayerRoom = await hub_guest.ok("JoinRoomWithPassword", room.room_id, "swordfish")
    assert joined.settings.password == "swordfish"
    r = await client.get(f"/api/v2/rooms/{room.room_id}", headers=auth(guest_token))
    assert r.json()["has_password"] is True and "password" not in r.json()
    await hub_guest.ok("LeaveRoom")
    renamed.password = ""
    await hub_host.ok("ChangeSettings", renamed)
    assert await stored(app, room.room_id) is None
    await hub_guest.ok("JoinRoom", room.room_id)


async def test_the_migration_hashes_passwords_stored_in_clear(
    app: Starlette, settings: Settings
) -> None:
    db = services(app).db
    config = migrate.alembic_config(settings, services(app).plugins)
    await asyncio.to_thread(command.downgrade, config, "0010")
    already = await hash_password("kept", rounds=4)
    values = {"name": "old", "type": "head_to_head", "user_id": 1}
    ids = {
        "clear": await rooms_db.create_room(db, {**values, "password": "hunter2"}),
        "empty": await rooms_db.create_room(db, {**values, "password": ""}),
        "none": await rooms_db.create_room(db, {**values, "password": None}),
        "hashed": await rooms_db.create_room(db, {**values, "password": already}),
    }
    await asyncio.to_thread(command.upgrade, config, "heads")
    clear = await stored(app, ids["clear"])
    assert clear is not None and clear != "hunter2" and await verify_password("hunter2", clear)
    assert await stored(app, ids["empty"]) is None
    assert await stored(app, ids["none"]) is None
    assert await stored(app, ids["hashed"]) == already
