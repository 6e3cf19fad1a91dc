"""Two server processes on one Redis: players connected to different processes share a room,
complete a match, and a countdown outlives the process that started it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from starlette.applications import Starlette

from core.config import Settings
from core.lazer.types import (
    CountdownStartedEvent,
    MultiplayerRoom,
    MultiplayerRoomState,
    MultiplayerUserState,
    StartMatchCountdownRequest,
)
from tests.conftest import LiveServer, create_user, issue_token
from tests.scores import support as scores_support

from .support import AVAILABLE, connect, new_room, play_score

S = MultiplayerUserState
# Also on a Redis Cluster (tests/conftest.py).
pytestmark = pytest.mark.redis_cluster("mysql_cluster")


@pytest.fixture
def settings_overrides() -> dict:
    # Quick liveness marks, so a dead process's members are released within seconds.
    return {"multiplayer": {"liveness_interval": 0.5}}


@pytest.fixture
def servers(backend: str, settings: Settings) -> Iterator[list[LiveServer]]:
    if backend == "embedded":
        pytest.skip("two processes share rooms only through Redis; memory is one process")
    started = []
    try:
        for _ in range(2):
            live = LiveServer(settings)
            live.start()
            started.append(live)
        yield started
    finally:
        for live in started:
            live.stop()


@pytest.fixture
async def accounts(app: Starlette) -> list[tuple[int, str]]:
    result = []
    for name in ("peppy", "cookiezi"):
        user_id = await create_user(app, name)
        result.append((user_id, await issue_token(app, user_id)))
    return result


@pytest.fixture
async def beatmap(app: Starlette) -> scores_support.Map:
    return await scores_support.import_map(app, 0)


@pytest.fixture
async def http(servers: list[LiveServer]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=servers[1].url, timeout=20) as client:
        yield client


async def test_players_on_two_processes_complete_a_match(
    servers: list[LiveServer],
    accounts: list[tuple[int, str]],
    beatmap: scores_support.Map,
    http: httpx.AsyncClient,
) -> None:
    host = await connect(servers[0].url, accounts[0][1], accounts[0][0])
    guest = await connect(servers[1].url, accounts[1][1], accounts[1][0])
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await guest.ok("JoinRoom", room.room_id)
    assert (await host.callback("UserJoined")).arguments[0].user_id == guest.user_id
    for client in (host, guest):
        await client.ok("ChangeBeatmapAvailability", AVAILABLE)
        await client.ok("ChangeState", S.READY)
    await host.ok("StartMatch")
    for client in (host, guest):
        await client.callback("LoadRequested")
        await client.ok("ChangeState", S.LOADED)
        await client.ok("ChangeState", S.READY_FOR_GAMEPLAY)
    for client in (host, guest):
        await client.callback("GameplayStarted")
    item_id = room.settings.playlist_item_id
    for client, (_, token) in zip((host, guest), accounts, strict=True):
        await play_score(http, token, room.room_id, item_id, beatmap)
        await client.ok("ChangeState", S.FINISHED_PLAY)
    for client in (host, guest):
        await client.callback("ResultsReady")
    opened = await guest.next(
        lambda m: (
            getattr(m, "target", None) == "RoomStateChanged"
            and m.arguments == [MultiplayerRoomState.OPEN]
        )
    )
    assert opened is not None
    auth = {"Authorization": f"Bearer {accounts[0][1]}"}
    board = (await http.get(f"/api/v2/rooms/{room.room_id}/leaderboard", headers=auth)).json()
    assert {e["user_id"] for e in board["leaderboard"]} == {host.user_id, guest.user_id}
    # A kick from one process takes the user out of the room group on the other. That process
    # hears of it on the control channel, so for a moment a change in the room may still reach
    # the guest. Each round the host changes state, then invites the guest: the invitation
    # travels the same bus after the change, so when it arrives, the change has arrived too if
    # it was going to. Rounds go on until one where it was not (the guest is out of the group).
    await host.ok("KickUser", guest.user_id)
    await guest.callback("UserKicked")
    for state in [S.IDLE, S.READY] * 25:
        guest.drain("UserStateChanged")
        await host.ok("ChangeState", state)
        await host.ok("InvitePlayer", guest.user_id)
        invited = await guest.callback("Invited")
        assert invited.arguments[:2] == [host.user_id, room.room_id]
        if not guest.drain("UserStateChanged"):
            break
    else:
        raise AssertionError("the kicked guest still hears the room's changes")
    await host.close()
    await guest.close()


async def test_a_countdown_fires_after_the_process_that_started_it_died(
    servers: list[LiveServer], accounts: list[tuple[int, str]], beatmap: scores_support.Map
) -> None:
    host = await connect(servers[0].url, accounts[0][1], accounts[0][0])
    guest = await connect(servers[1].url, accounts[1][1], accounts[1][0])
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await guest.ok("JoinRoom", room.room_id)
    await guest.ok("ChangeBeatmapAvailability", AVAILABLE)
    await guest.ok("ChangeState", S.READY)
    await host.ok("SendMatchRequest", StartMatchCountdownRequest(duration=timedelta(seconds=1)))
    started = (await guest.callback("MatchEvent")).arguments[0]
    assert isinstance(started, CountdownStartedEvent)
    # The process holding the host and the countdown's timer dies without cleaning up.
    assert servers[0].process is not None
    servers[0].process.kill()
    servers[0].process.wait()
    await guest.callback("LoadRequested", timeout=10)
    # The dead process's host is no ghost for long: its seat is released and the host passes.
    left = await guest.callback("UserLeft", timeout=10)
    assert left.arguments[0].user_id == host.user_id
    assert (await guest.callback("HostChanged")).arguments == [guest.user_id]
    await guest.close()
