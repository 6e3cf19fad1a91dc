"""The hub's writes retire the cached `GET /api/v2/rooms` (`core.rooms.listing`). Each test lists
realtime rooms (caching the answer), renames the room in the database alone (the cached name
is still served), makes one hub call and checks the listing reads the database again."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from core.lazer.types import MultiplayerRoom
from core.rooms import store as rooms_db
from core.services import services
from tests.scores import support as scores_support

from .support import AVAILABLE, MpClient, item, new_room
from .test_hub import S, beatmap, clients, http, players, server

__all__ = ["beatmap", "clients", "http", "players", "server"]

REALTIME = {"category": "realtime"}


async def names(http: httpx.AsyncClient, client: MpClient) -> list[str]:
    token = getattr(client, "token", None)
    assert token is not None
    response = await http.get(
        "/api/v2/rooms", params=REALTIME, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()]


async def cached_then_renamed(
    app: Starlette, http: httpx.AsyncClient, viewer: MpClient, room: MultiplayerRoom
) -> None:
    assert await names(http, viewer) == ["test room"]
    await rooms_db.update_room(services(app).db, room.room_id, name="renamed")
    assert await names(http, viewer) == ["test room"]


def with_tokens(clients: list[MpClient], players: list[tuple[int, str]]) -> list[MpClient]:
    for client, (_, token) in zip(clients, players, strict=True):
        client.token = token  # type: ignore[attr-defined]
    return clients


async def test_create_join_and_leave(
    app: Starlette,
    clients: list[MpClient],
    players: list[tuple[int, str]],
    beatmap: scores_support.Map,
    http: httpx.AsyncClient,
) -> None:
    host, guest, viewer = with_tokens(clients, players)
    assert await names(http, viewer) == []
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await cached_then_renamed(app, http, viewer, room)
    await guest.ok("JoinRoom", room.room_id)
    assert await names(http, viewer) == ["renamed"]
    await rooms_db.update_room(services(app).db, room.room_id, name="again")
    assert await names(http, viewer) == ["renamed"]
    await guest.ok("LeaveRoom")
    assert await names(http, viewer) == ["again"]
    # The last one out closes the room.
    await host.ok("LeaveRoom")
    assert await names(http, viewer) == []


async def test_settings_and_host(
    app: Starlette,
    clients: list[MpClient],
    players: list[tuple[int, str]],
    beatmap: scores_support.Map,
    http: httpx.AsyncClient,
) -> None:
    host, guest, viewer = with_tokens(clients, players)
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await guest.ok("JoinRoom", room.room_id)
    assert await names(http, viewer) == ["test room"]
    settings = room.settings
    settings.name = "changed"
    await host.ok("ChangeSettings", settings)
    assert await names(http, viewer) == ["changed"]
    await rooms_db.update_room(services(app).db, room.room_id, name="renamed")
    assert await names(http, viewer) == ["changed"]
    await host.ok("TransferHost", guest.user_id)
    assert await names(http, viewer) == ["renamed"]


async def test_playlist_items(
    app: Starlette,
    clients: list[MpClient],
    players: list[tuple[int, str]],
    beatmap: scores_support.Map,
    http: httpx.AsyncClient,
) -> None:
    host, _, viewer = with_tokens(clients, players)
    other = await scores_support.import_map(app, 1)
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await cached_then_renamed(app, http, viewer, room)
    await host.ok("AddPlaylistItem", item(other))
    added = (await host.callback("PlaylistItemAdded")).arguments[0]
    assert await names(http, viewer) == ["renamed"]
    await rooms_db.update_room(services(app).db, room.room_id, name="again")
    assert await names(http, viewer) == ["renamed"]
    await host.ok("RemovePlaylistItem", added.id)
    assert await names(http, viewer) == ["again"]


async def test_match_start(
    app: Starlette,
    clients: list[MpClient],
    players: list[tuple[int, str]],
    beatmap: scores_support.Map,
    http: httpx.AsyncClient,
) -> None:
    host, _, viewer = with_tokens(clients, players)
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await host.ok("ChangeBeatmapAvailability", AVAILABLE)
    await host.ok("ChangeState", S.READY)
    await cached_then_renamed(app, http, viewer, room)
    await host.ok("StartMatch")
    await host.callback("LoadRequested")
    assert await names(http, viewer) == ["renamed"]
