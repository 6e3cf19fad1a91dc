"""The multiplayer hub (ppy/osu IMultiplayerServer.cs) against a live server with two or three
wire clients, and the same rooms read over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.config import Settings
from core.lazer.types import (
    ChangeTeamRequest,
    CountdownStartedEvent,
    CountdownStoppedEvent,
    MatchType,
    MultiplayerRoom,
    MultiplayerRoomState,
    MultiplayerUserState,
    QueueMode,
    StartMatchCountdownRequest,
    TeamVersusUserState,
)
from core.services import services
from tests.conftest import LiveServer, create_user, issue_token
from tests.scores import support as scores_support

from .support import AVAILABLE, MpClient, connect, item, new_room, play_score

S = MultiplayerUserState


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


@pytest.fixture
async def beatmap(app: Starlette) -> scores_support.Map:
    return await scores_support.import_map(app, 0)


@pytest.fixture
async def players(app: Starlette) -> list[tuple[int, str]]:
    result = []
    for name in ("peppy", "cookiezi", "rafis"):
        user_id = await create_user(app, name)
        result.append((user_id, await issue_token(app, user_id)))
    return result


@pytest.fixture
async def clients(
    server: LiveServer, players: list[tuple[int, str]]
) -> AsyncIterator[list[MpClient]]:
    opened = [await connect(server.url, token, uid) for uid, token in players]
    yield opened
    for client in opened:
        await client.close()


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        yield client


async def states_of(client: MpClient, count: int) -> dict[int, MultiplayerUserState]:
    seen = {}
    for _ in range(count):
        message = await client.callback("UserStateChanged")
        seen[message.arguments[0]] = message.arguments[1]
    return seen


async def test_a_match_from_creation_to_results_and_the_same_room_over_http(
    clients: list[MpClient],
    players: list[tuple[int, str]],
    beatmap: scores_support.Map,
    http: httpx.AsyncClient,
) -> None:
    host, guest, _ = clients
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap, password="hunter2"))
    assert room.room_id > 0 and room.state == MultiplayerRoomState.OPEN
    assert [u.user_id for u in room.users] == [host.user_id]
    assert room.host is not None and room.host.user_id == host.user_id
    assert room.settings.playlist_item_id == room.playlist[0].id
    assert room.playlist[0].owner_id == host.user_id and room.channel_id > 0
    item_id = room.playlist[0].id

    assert await guest.error("JoinRoomWithPassword", room.room_id, "wrong") == (
        "InvalidPasswordException: Invalid password"
    )
    joined: MultiplayerRoom = await guest.ok("JoinRoomWithPassword", room.room_id, "hunter2")
    assert {u.user_id for u in joined.users} == {host.user_id, guest.user_id}
    assert (await host.callback("UserJoined")).arguments[0].user_id == guest.user_id

    for client in (host, guest):
        await client.ok("ChangeBeatmapAvailability", AVAILABLE)
        await client.ok("ChangeState", S.READY)
    await host.ok("StartMatch")
    for client in (host, guest):
        await client.callback("LoadRequested")
        started = await client.callback("MatchEvent")
        assert isinstance(started.arguments[0], CountdownStartedEvent)
    for client in (host, guest):
        await client.ok("ChangeState", S.LOADED)
        await client.ok("ChangeState", S.READY_FOR_GAMEPLAY)
    for client in (host, guest):
        await client.callback("GameplayStarted")
    state = await host.next(
        lambda m: (
            getattr(m, "target", None) == "RoomStateChanged"
            and m.arguments == [MultiplayerRoomState.PLAYING]
        )
    )
    assert state is not None

    scores = {}
    for client, (_, token), misses in ((host, players[0], 0), (guest, players[1], 3)):
        scores[client.user_id] = await play_score(
            http, token, room.room_id, item_id, beatmap, misses=misses
        )
        await client.ok("ChangeState", S.FINISHED_PLAY)
    for client in (host, guest):
        await client.callback("ResultsReady")
    # The match's end is one room change: its last message, the new current item, is here
    # when everything before it is.
    await host.arrived("SettingsChanged", lambda settings: settings.playlist_item_id != item_id)
    states = {m.arguments[0]: m.arguments[1] for m in host.drain("UserStateChanged")}
    assert states[host.user_id] == S.RESULTS and states[guest.user_id] == S.RESULTS
    # Host-only queue: the played item expires and a copy becomes the current item.
    changed = [m.arguments[0] for m in host.drain("PlaylistItemChanged")]
    assert any(i.id == item_id and i.expired and i.played_at is not None for i in changed)
    added = host.drain("PlaylistItemAdded")[0].arguments[0]
    assert added.beatmap_id == beatmap.id and not added.expired
    settings = host.drain("SettingsChanged")[-1].arguments[0]
    assert settings.playlist_item_id == added.id

    auth = {"Authorization": f"Bearer {players[2][1]}"}
    listed = (await http.get("/api/v2/rooms", params={"category": "realtime"}, headers=auth)).json()
    assert [r["id"] for r in listed] == [room.room_id]
    assert listed[0]["type"] == "head_to_head" and listed[0]["has_password"] is True
    assert listed[0]["current_playlist_item"]["id"] == added.id
    assert {u["id"] for u in listed[0]["recent_participants"]} == {host.user_id, guest.user_id}
    auth = {"Authorization": f"Bearer {players[0][1]}"}
    shown = (await http.get(f"/api/v2/rooms/{room.room_id}", headers=auth)).json()
    assert [i["id"] for i in shown["playlist"]] == [item_id, added.id]
    assert shown["playlist"][0]["beatmap"]["checksum"] == beatmap.checksum
    assert shown["current_user_score"]["playlist_item_attempts"] == [
        {"id": item_id, "attempts": 1, "passed": True}
    ]
    board = (await http.get(f"/api/v2/rooms/{room.room_id}/leaderboard", headers=auth)).json()
    assert [e["user_id"] for e in board["leaderboard"]] == [host.user_id, guest.user_id]
    assert board["leaderboard"][0]["total_score"] == scores[host.user_id]["total_score"]
    assert board["user_score"]["position"] == 1
    listing = (
        await http.get(f"/api/v2/rooms/{room.room_id}/playlist/{item_id}/scores", headers=auth)
    ).json()
    assert [s["id"] for s in listing["scores"]] == [
        scores[host.user_id]["id"],
        scores[guest.user_id]["id"],
    ]
    assert listing["total"] == 2 and listing["user_score"]["position"] == 1

    events = (await http.get(f"/api/v2/rooms/{room.room_id}/events", headers=auth)).json()
    kinds = [e["event_type"] for e in events["events"]]
    assert kinds == [
        "room_created",
        "player_joined",
        "game_started",
        "game_completed",
    ]
    assert events["current_playlist_item_id"] == added.id
    played = next(i for i in events["playlist_items"] if i["id"] == item_id)
    assert {s["id"] for s in played["scores"]} == {s["id"] for s in scores.values()}
    assert {u["id"] for u in events["users"]} == {host.user_id, guest.user_id}

    for client in (host, guest):
        await client.ok("ChangeState", S.IDLE)
    await guest.ok("LeaveRoom")
    await host.ok("LeaveRoom")
    ended = (await http.get(f"/api/v2/rooms/{room.room_id}", headers=auth)).json()
    assert ended["active"] is False and ended["ends_at"] is not None


async def test_host_passes_on_when_the_host_leaves_and_host_operations_are_guarded(
    clients: list[MpClient], beatmap: scores_support.Map
) -> None:
    host, guest, third = clients
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await guest.ok("JoinRoom", room.room_id)
    await third.ok("JoinRoom", room.room_id)
    not_host = (
        "NotHostException: User is attempting to perform a host level operation while not the host"
    )
    assert await guest.error("StartMatch") == not_host
    assert await guest.error("KickUser", third.user_id) == not_host
    assert await guest.error("TransferHost", guest.user_id) == not_host
    assert await host.error("KickUser", host.user_id) == "InvalidStateException: Can't kick self"

    await host.ok("TransferHost", guest.user_id)
    assert (await third.callback("HostChanged")).arguments == [guest.user_id]
    assert (await host.callback("HostChanged")).arguments == [guest.user_id]
    await guest.ok("KickUser", third.user_id)
    kicked = await third.callback("UserKicked")
    assert kicked.arguments[0].user_id == third.user_id
    assert (await host.callback("UserKicked")).arguments[0].user_id == third.user_id
    assert await third.error("ChangeState", S.READY) == (
        "NotJoinedRoomException: This user has not yet joined a multiplayer room."
    )

    await guest.ok("LeaveRoom")
    assert (await host.callback("UserLeft")).arguments[0].user_id == guest.user_id
    assert (await host.callback("HostChanged")).arguments == [host.user_id]
    # The kicked user may come back.
    again: MultiplayerRoom = await third.ok("JoinRoom", room.room_id)
    assert again.host is not None and again.host.user_id == host.user_id


async def test_team_versus_assigns_teams_and_players_change_them(
    clients: list[MpClient], beatmap: scores_support.Map
) -> None:
    host, guest, third = clients
    room: MultiplayerRoom = await host.ok(
        "CreateRoom", new_room(beatmap, match_type=MatchType.TEAM_VERSUS)
    )
    assert room.users[0].match_state == TeamVersusUserState(team_id=0)
    assert [t.name for t in room.match_state.teams] == ["Team Red", "Team Blue"]
    joined: MultiplayerRoom = await guest.ok("JoinRoom", room.room_id)
    assert joined.users[1].match_state == TeamVersusUserState(team_id=1)
    await third.ok("JoinRoom", room.room_id)
    teams = {}
    for _ in range(2):
        message = await host.callback("MatchUserStateChanged")
        teams[message.arguments[0]] = message.arguments[1].team_id
    assert teams == {guest.user_id: 1, third.user_id: 0}

    await third.ok("SendMatchRequest", ChangeTeamRequest(team_id=1))
    changed = await host.callback("MatchUserStateChanged")
    assert changed.arguments == [third.user_id, TeamVersusUserState(team_id=1)]
    assert await third.error("SendMatchRequest", ChangeTeamRequest(team_id=7)) == (
        "InvalidStateException: Attempted to set team out of valid range"
    )
    # Back to head-to-head: teams go.
    settings = room.settings
    settings.match_type = MatchType.HEAD_TO_HEAD
    await host.ok("ChangeSettings", settings)
    cleared = await host.callback("MatchUserStateChanged")
    assert cleared.arguments[1] is None


async def test_a_countdown_starts_the_match_by_itself(
    clients: list[MpClient], beatmap: scores_support.Map
) -> None:
    host, guest, _ = clients
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await guest.ok("JoinRoom", room.room_id)
    for client in (host, guest):
        await client.ok("ChangeBeatmapAvailability", AVAILABLE)
    await guest.ok("ChangeState", S.READY)
    await host.ok("SendMatchRequest", StartMatchCountdownRequest(duration=timedelta(seconds=1)))
    event = (await guest.callback("MatchEvent")).arguments[0]
    assert isinstance(event, CountdownStartedEvent)
    assert timedelta(0) < event.countdown.time_remaining <= timedelta(seconds=1)
    stopped = (await guest.callback("MatchEvent", timeout=5)).arguments[0]
    assert stopped == CountdownStoppedEvent(id=event.countdown.id)
    await guest.callback("LoadRequested")
    states = await states_of(guest, 3)  # its own Ready, then both to WaitingForLoad
    # Idle players with the beatmap are taken along, as by the official server.
    assert states == {guest.user_id: S.WAITING_FOR_LOAD, host.user_id: S.WAITING_FOR_LOAD}


async def test_auto_start_counts_down_when_someone_is_ready(
    clients: list[MpClient], beatmap: scores_support.Map
) -> None:
    host, guest, _ = clients
    room: MultiplayerRoom = await host.ok(
        "CreateRoom", new_room(beatmap, auto_start_duration=timedelta(seconds=1))
    )
    await guest.ok("JoinRoom", room.room_id)
    await guest.ok("ChangeBeatmapAvailability", AVAILABLE)
    assert await host.error(
        "SendMatchRequest", StartMatchCountdownRequest(duration=timedelta(seconds=5))
    ) == ("InvalidStateException: Cannot start a countdown while auto start is enabled.")
    await guest.ok("ChangeState", S.READY)
    event = (await guest.callback("MatchEvent")).arguments[0]
    assert isinstance(event, CountdownStartedEvent)
    await guest.callback("LoadRequested", timeout=5)


async def test_queue_modes_and_playlist_rules(
    clients: list[MpClient], beatmap: scores_support.Map, app: Starlette
) -> None:
    host, guest, _ = clients
    other = await scores_support.import_map(app, 1)
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await guest.ok("JoinRoom", room.room_id)
    assert (await guest.error("AddPlaylistItem", item(other))).startswith("NotHostException")
    settings = room.settings
    settings.queue_mode = QueueMode.ALL_PLAYERS_ROUND_ROBIN
    await host.ok("ChangeSettings", settings)
    await guest.ok("AddPlaylistItem", item(other))
    added = (await host.callback("PlaylistItemAdded")).arguments[0]
    assert added.owner_id == guest.user_id and added.playlist_order == 1
    await host.ok("AddPlaylistItem", item(beatmap))
    second = (await host.callback("PlaylistItemAdded")).arguments[0]
    # Round robin: the host's second item waits behind the guest's first.
    assert second.playlist_order == 2
    for _ in range(2):
        await guest.ok("AddPlaylistItem", item(other))
    assert await guest.error("AddPlaylistItem", item(other)) == (
        "InvalidStateException: Can't enqueue more than 3 items at once."
    )
    assert await guest.error("RemovePlaylistItem", second.id) == (
        "InvalidStateException: Attempted to remove an item which is not owned by the user."
    )
    await host.ok("RemovePlaylistItem", room.settings.playlist_item_id)
    await host.arrived("PlaylistItemRemoved")
    await host.arrived("SettingsChanged", lambda settings: settings.playlist_item_id == added.id)
    current = [m.arguments[0] for m in host.drain("SettingsChanged")]
    assert current and current[-1].playlist_item_id == added.id
    assert host.drain("PlaylistItemRemoved")[0].arguments == [room.settings.playlist_item_id]


async def test_refusals_leave_the_room_consistent(
    clients: list[MpClient], beatmap: scores_support.Map, server: LiveServer
) -> None:
    host, guest, third = clients
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap, max_participants=2))
    assert await host.error("ChangeState", S.PLAYING) == (
        "InvalidStateChangeException: Cannot change from Idle to Playing"
    )
    assert await host.error("ChangeState", S.FINISHED_PLAY) == (
        "InvalidStateChangeException: Cannot change from Idle to FinishedPlay"
    )
    assert await host.error("CreateRoom", new_room(beatmap)) == (
        "InvalidStateException: Can't join a room when already in another room."
    )
    unknown = item(beatmap)
    unknown.beatmap_id = 999_999
    assert await host.error("AddPlaylistItem", unknown) == (
        "InvalidStateException: Attempted to add a beatmap which does not exist online."
    )
    modified = item(beatmap)
    modified.beatmap_checksum = "0" * 32
    assert await host.error("AddPlaylistItem", modified) == (
        "InvalidStateException: Attempted to add a beatmap which has been modified."
    )
    from core.lazer.types import APIMod

    clashing = item(beatmap, required_mods=[APIMod("HR"), APIMod("EZ")])
    assert (await host.error("AddPlaylistItem", clashing)).startswith(
        "InvalidStateException: Invalid mods were selected"
    )
    assert await host.error("ChangeUserMods", [APIMod("HD")]) == (
        "InvalidStateException: Incompatible mods were selected: HD"
    )
    bad_settings = room.settings
    bad_settings.max_participants = 40
    assert (await host.error("ChangeSettings", bad_settings)).startswith("InvalidStateException")
    bad_settings.max_participants = 2
    bad_settings.match_type = MatchType.PLAYLISTS
    assert await host.error("ChangeSettings", bad_settings) == (
        "InvalidStateException: Invalid match type selected."
    )
    assert (
        await host.error("JoinRoom", 987654)
        == "InvalidStateException: Can't join a room when already in another room."
    )
    assert await third.error("JoinRoom", 987654) == (
        "InvalidStateException: Attempted to join a room which does not exist."
    )
    await guest.ok("JoinRoom", room.room_id)
    assert await third.error("JoinRoom", room.room_id) == "InvalidStateException: Room is full."
    wrong_type = await host.invoke("ChangeState", "Ready", raw=True)
    assert "InvalidDataException" in wrong_type.error
    unknown_state = await host.invoke("ChangeState", 42, raw=True)
    assert unknown_state.error.endswith("InvalidStateException: Invalid user state.")
    unknown_queue = room.settings
    unknown_queue.match_type = MatchType.HEAD_TO_HEAD
    unknown_queue.queue_mode = 9  # type: ignore[assignment]
    assert await host.error("ChangeSettings", unknown_queue) == (
        "InvalidStateException: Invalid queue mode selected."
    )

    # A disconnect in the middle of a match: the room goes on without a ghost.
    for client in (host, guest):
        await client.ok("ChangeBeatmapAvailability", AVAILABLE)
        await client.ok("ChangeState", S.READY)
    await host.ok("StartMatch")
    for client in (host, guest):
        await client.ok("ChangeState", S.LOADED)
        await client.ok("ChangeState", S.READY_FOR_GAMEPLAY)
    await guest.callback("GameplayStarted")
    await host.close()
    left = await guest.callback("UserLeft")
    assert left.arguments[0].user_id == host.user_id
    assert (await guest.callback("HostChanged")).arguments == [guest.user_id]
    await guest.ok("AbortGameplay")
    opened = await guest.next(
        lambda m: (
            getattr(m, "target", None) == "RoomStateChanged"
            and m.arguments == [MultiplayerRoomState.OPEN]
        )
    )
    assert opened is not None
    joined: MultiplayerRoom = await third.ok("JoinRoom", room.room_id)
    assert {u.user_id for u in joined.users} == {guest.user_id, third.user_id}
    assert any(i.id == joined.settings.playlist_item_id for i in joined.playlist)


async def test_matchmaking_answers_with_empty_pools(clients: list[MpClient]) -> None:
    from core.lazer.types import MatchmakingJoinLobbyRequest, MatchmakingPoolType

    client = clients[0]
    assert await client.ok("GetMatchmakingPoolsOfType", MatchmakingPoolType.QUICK_PLAY) == []
    assert await client.ok("GetMatchmakingPools") == []
    assert await client.ok("MatchmakingJoinLobbyWithParams", MatchmakingJoinLobbyRequest()) == []
    assert await client.error("MatchmakingJoinQueue", 1) == (
        "InvalidStateException: Matchmaking is not available on this server."
    )
    await client.ok("MatchmakingLeaveQueue")
    assert (await client.error("PlayCard", _card())).startswith("InvalidStateException: Ranked")


def _card() -> Any:
    from core.lazer.types import RankedPlayCardItem

    return RankedPlayCardItem()


async def test_invitations_respect_blocks_and_friends_only(
    clients: list[MpClient], beatmap: scores_support.Map, app: Starlette
) -> None:
    from core.users import store as users_db

    host, guest, third = clients
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap, password="pw"))
    assert await guest.error("InvitePlayer", third.user_id) == (
        "NotJoinedRoomException: This user has not yet joined a multiplayer room."
    )
    await host.ok("InvitePlayer", guest.user_id)
    invited = await guest.callback("Invited")
    assert invited.arguments == [host.user_id, room.room_id, "pw"]
    await users_db.set_relation(services(app).db, third.user_id, host.user_id, "block")
    assert await host.error("InvitePlayer", third.user_id) == (
        "UserBlockedException: Cannot perform action due to user being blocked."
    )
    await users_db.delete_relation(services(app).db, third.user_id, host.user_id)
    await users_db.update_user(services(app).db, third.user_id, pm_friends_only=True)
    assert await host.error("InvitePlayer", third.user_id) == (
        "UserBlocksPMsException: Cannot perform action because user has disabled "
        "non-friend communications."
    )
    assert (await host.error("InvitePlayer", 424242)).startswith("InvalidStateException")


async def test_skip_intro_vote_passes_with_a_majority(
    clients: list[MpClient], beatmap: scores_support.Map
) -> None:
    host, guest, _ = clients
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap))
    await guest.ok("JoinRoom", room.room_id)
    assert (await host.error("VoteToSkipIntro")).startswith("InvalidStateException")
    for client in (host, guest):
        await client.ok("ChangeBeatmapAvailability", AVAILABLE)
        await client.ok("ChangeState", S.READY)
    await host.ok("StartMatch")
    for client in (host, guest):
        await client.ok("ChangeState", S.LOADED)
        await client.ok("ChangeState", S.READY_FOR_GAMEPLAY)
    await host.callback("GameplayStarted")
    await host.ok("VoteToSkipIntro")
    assert (await guest.callback("UserVotedToSkipIntro")).arguments == [host.user_id, True]
    await guest.ok("VoteToSkipIntro")
    await guest.callback("VoteToSkipIntroPassed")
    await host.ok("AbortMatch")
    aborted = await guest.callback("GameplayAborted")
    assert aborted.arguments == [1]  # HostAbortedTheMatch


async def test_slots_lock_and_rolls(clients: list[MpClient], beatmap: scores_support.Map) -> None:
    from core.lazer.types import ChangeSlotRequest, RollEvent, RollRequest, SetLockStateRequest

    host, guest, _ = clients
    room: MultiplayerRoom = await host.ok("CreateRoom", new_room(beatmap, max_participants=4))
    assert room.match_state.slots == [host.user_id, None, None, None]
    await guest.ok("JoinRoom", room.room_id)
    placed = (await host.callback("MatchRoomStateChanged")).arguments[0]
    assert placed.slots == [host.user_id, guest.user_id, None, None]
    await host.ok("SendMatchRequest", SetLockStateRequest(locked=True))
    assert (await host.callback("MatchRoomStateChanged")).arguments[0].locked is True
    assert await guest.error("SendMatchRequest", ChangeSlotRequest(slot_id=3)) == (
        "InvalidStateException: Slots are locked."
    )
    await host.ok("SendMatchRequest", SetLockStateRequest(locked=False))
    await guest.ok("SendMatchRequest", ChangeSlotRequest(slot_id=3))
    await host.arrived("MatchRoomStateChanged", lambda state: state.slots[3] == guest.user_id)
    moved = host.drain("MatchRoomStateChanged")[-1].arguments[0]
    assert moved.slots == [host.user_id, None, None, guest.user_id] and moved.locked is False
    assert await guest.error("SendMatchRequest", ChangeSlotRequest(slot_id=0)) == (
        "InvalidStateException: That slot is taken."
    )
    assert await guest.error("SendMatchRequest", ChangeSlotRequest(slot_id=9)) == (
        "InvalidStateException: Attempted to move to a slot that does not exist."
    )
    await guest.ok("SendMatchRequest", RollRequest(max=6))
    roll = (await host.callback("MatchEvent")).arguments[0]
    assert isinstance(roll, RollEvent) and roll.user_id == guest.user_id and 1 <= roll.result <= 6
    assert await guest.error("SendMatchRequest", RollRequest(max=1)) == (
        "InvalidStateException: Roll maximum must be between 2 and 100."
    )
