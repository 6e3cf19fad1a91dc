"""Room logic in-process, without clients: countdown expiry, queue order, stored state."""

from __future__ import annotations

import time
from datetime import timedelta

from starlette.applications import Starlette

from core.domain import rooms as rooms_db
from core.lazer import Float32
from core.lazer.types import (
    APIMod,
    BeatmapAvailability,
    CountdownStoppedEvent,
    DownloadState,
    GameplayAbortReason,
    MultiplayerPlaylistItem,
    MultiplayerRoom,
    MultiplayerRoomSettings,
    MultiplayerRoomState,
    MultiplayerRoomUser,
    MultiplayerUserState,
    QueueMode,
    StandardMatchRoomState,
)
from plugins.multiplayer import countdowns, queue, room
from plugins.multiplayer.context import Ctx
from plugins.multiplayer.hub import MultiplayerHub
from plugins.multiplayer.state import Outbox, RoomState

S = MultiplayerUserState
AVAILABLE = BeatmapAvailability(state=DownloadState.LOCALLY_AVAILABLE)


async def make_ctx(app: Starlette, users: int = 2, **settings: object) -> Ctx:
    room_id = await rooms_db.create_room(
        app.state.db, {"name": "logic", "type": "head_to_head", "user_id": 1}
    )
    item_id = await rooms_db.insert_item(
        app.state.db, room_id, {"owner_id": 1, "beatmap_id": 5, "ruleset_id": 0}
    )
    members = [
        MultiplayerRoomUser(user_id=i + 1, beatmap_availability=AVAILABLE) for i in range(users)
    ]
    live = MultiplayerRoom(
        room_id=room_id,
        settings=MultiplayerRoomSettings(name="logic", playlist_item_id=item_id, **settings),
        users=members,
        host=members[0],
        match_state=StandardMatchRoomState(),
        playlist=[MultiplayerPlaylistItem(id=item_id, owner_id=1, beatmap_id=5, ruleset_id=0)],
    )
    return Ctx(app, RoomState(room=live), Outbox(room_id))


def targets(ctx: Ctx) -> list[str]:
    return [m[2] for m in ctx.out.messages]


def hub_of(app: Starlette) -> MultiplayerHub:
    return app.state.hubs["multiplayer"].hub


async def test_force_start_expiry_plays_the_loaded_and_sends_the_rest_back(
    app: Starlette,
) -> None:
    ctx = await make_ctx(app)
    for user in ctx.room.users:
        user.state = S.READY
    await room.start_match(ctx)
    assert ctx.room.state == MultiplayerRoomState.WAITING_FOR_LOAD
    [force_id] = list(ctx.state.deadlines)
    await room.change_state(ctx, ctx.room.users[0], S.LOADED)
    ctx.out.messages.clear()
    ctx.state.deadlines[force_id].at = time.time() - 1
    await hub_of(app)._fire_due(ctx)
    assert ctx.room.state == MultiplayerRoomState.PLAYING
    assert [u.state for u in ctx.room.users] == [S.PLAYING, S.IDLE]
    sent = [(m[0], m[1], m[2], m[3]) for m in ctx.out.messages]
    group = f"room:{ctx.state.id}"
    assert ("g", group, "MatchEvent", (CountdownStoppedEvent(id=force_id),)) in sent
    assert ("u", 1, "GameplayStarted", ()) in sent
    assert ("u", 2, "GameplayAborted", (GameplayAbortReason.LOAD_TOOK_TOO_LONG,)) in sent
    assert not ctx.state.deadlines and not ctx.room.active_countdowns


async def test_match_start_countdown_with_nobody_ready_skips_the_item(app: Starlette) -> None:
    ctx = await make_ctx(app)
    countdown_id = countdowns.start(ctx, countdowns.MATCH_START, 5)
    ctx.state.deadlines[countdown_id].at = time.time() - 1
    await hub_of(app)._fire_due(ctx)
    assert ctx.room.state == MultiplayerRoomState.OPEN
    first, again = ctx.room.playlist
    assert first.expired and first.played_at is not None and not again.expired
    assert ctx.room.settings.playlist_item_id == again.id
    assert targets(ctx)[-1] == "SettingsChanged"


async def test_a_countdown_not_yet_due_does_nothing(app: Starlette) -> None:
    ctx = await make_ctx(app)
    countdowns.start(ctx, countdowns.MATCH_START, 60)
    ctx.out.messages.clear()
    await hub_of(app)._fire_due(ctx)
    assert ctx.out.messages == [] and len(ctx.state.deadlines) == 1


async def test_round_robin_interleaves_owners(app: Starlette) -> None:
    ctx = await make_ctx(app, queue_mode=QueueMode.ALL_PLAYERS_ROUND_ROBIN)
    ctx.room.playlist = [
        MultiplayerPlaylistItem(id=i, owner_id=owner, beatmap_id=5)
        for i, owner in ((1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3))
    ]
    assert [i.id for i in queue.ordered(ctx)] == [1, 4, 6, 2, 5, 3]
    ctx.room.playlist[0].expired = True  # owner 1 has played one: the others go first
    assert [i.id for i in queue.ordered(ctx)] == [4, 6, 2, 5, 3]
    ctx.room.settings.queue_mode = QueueMode.ALL_PLAYERS
    assert [i.id for i in queue.ordered(ctx)] == [2, 3, 4, 5, 6]


async def test_state_survives_the_cache_with_mod_codes_and_deadlines(app: Starlette) -> None:
    ctx = await make_ctx(app)
    ctx.room.users[1].mods = [APIMod("DT", {"speed_change": Float32(1.25)})]
    countdowns.start(ctx, countdowns.MATCH_START, 30)
    ctx.state.connections = {1: "a", 2: "b"}
    again = RoomState.loads(ctx.state.dumps())
    assert again.room == ctx.room
    assert again.room.host is again.user(1)
    assert type(again.room.users[1].mods[0].settings["speed_change"]) is Float32
    assert again.deadlines == ctx.state.deadlines and again.connections == {1: "a", 2: "b"}
    [countdown] = again.countdowns()
    assert timedelta(seconds=29) < countdown.time_remaining <= timedelta(seconds=30)
