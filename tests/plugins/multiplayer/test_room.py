"""Room logic in-process, without clients: countdown expiry on the app's manual clock (the
room's own rules, the hub's armed timer and its sweep), queue order, stored state."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.applications import Starlette

from core.clock import ManualClock
from core.lazer import Float32, Invocation, decode_frames
from core.lazer.types import (
    APIMod,
    BeatmapAvailability,
    CountdownStartedEvent,
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
from core.rooms import store as rooms_db
from core.services import services
from plugins.multiplayer import countdowns, queue, room
from plugins.multiplayer.context import Ctx
from plugins.multiplayer.hub import SWEEP_INTERVAL, TAKEOVER_GRACE, MultiplayerHub
from plugins.multiplayer.state import DEADLINES_KEY, Outbox, RoomState

S = MultiplayerUserState
AVAILABLE = BeatmapAvailability(state=DownloadState.LOCALLY_AVAILABLE)


async def make_ctx(app: Starlette, users: int = 2, **settings: object) -> Ctx:
    room_id = await rooms_db.create_room(
        services(app).db, {"name": "logic", "type": "head_to_head", "user_id": 1}
    )
    item_id = await rooms_db.insert_item(
        services(app).db, room_id, {"owner_id": 1, "beatmap_id": 5, "ruleset_id": 0}
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
    return services(app).hubs["multiplayer"].hub


async def test_force_start_expiry_plays_the_loaded_and_sends_the_rest_back(
    app: Starlette, clock: ManualClock
) -> None:
    ctx = await make_ctx(app)
    for user in ctx.room.users:
        user.state = S.READY
    await room.start_match(ctx)
    assert ctx.room.state == MultiplayerRoomState.WAITING_FOR_LOAD
    [force_id] = list(ctx.state.deadlines)
    assert ctx.state.deadlines[force_id].at == clock.time() + countdowns.FORCE_START_SECONDS
    await room.change_state(ctx, ctx.room.users[0], S.LOADED)
    ctx.out.messages.clear()
    clock.advance(countdowns.FORCE_START_SECONDS - 1)
    await hub_of(app)._fire_due(ctx)
    assert ctx.out.messages == [] and ctx.room.state == MultiplayerRoomState.WAITING_FOR_LOAD
    clock.advance(1)
    await hub_of(app)._fire_due(ctx)
    assert ctx.room.state == MultiplayerRoomState.PLAYING
    assert [u.state for u in ctx.room.users] == [S.PLAYING, S.IDLE]
    sent = [(m[0], m[1], m[2], m[3]) for m in ctx.out.messages]
    group = f"room:{ctx.state.id}"
    assert ("g", group, "MatchEvent", (CountdownStoppedEvent(id=force_id),)) in sent
    assert ("u", 1, "GameplayStarted", ()) in sent
    assert ("u", 2, "GameplayAborted", (GameplayAbortReason.LOAD_TOOK_TOO_LONG,)) in sent
    assert not ctx.state.deadlines and not ctx.room.active_countdowns


async def test_match_start_countdown_with_nobody_ready_skips_the_item(
    app: Starlette, clock: ManualClock
) -> None:
    ctx = await make_ctx(app)
    countdowns.start(ctx, countdowns.MATCH_START, 5)
    clock.advance(5)
    await hub_of(app)._fire_due(ctx)
    assert ctx.room.state == MultiplayerRoomState.OPEN
    first, again = ctx.room.playlist
    assert first.expired and first.played_at is not None and not again.expired
    assert ctx.room.settings.playlist_item_id == again.id
    assert targets(ctx)[-1] == "SettingsChanged"


async def test_a_countdown_not_yet_due_does_nothing(app: Starlette, clock: ManualClock) -> None:
    ctx = await make_ctx(app)
    countdowns.start(ctx, countdowns.MATCH_START, 60)
    ctx.out.messages.clear()
    await hub_of(app)._fire_due(ctx)
    assert ctx.out.messages == [] and len(ctx.state.deadlines) == 1
    clock.advance(59.9)
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


async def test_state_survives_the_cache_with_mod_codes_and_deadlines(
    app: Starlette, clock: ManualClock
) -> None:
    ctx = await make_ctx(app)
    ctx.room.users[1].mods = [APIMod("DT", {"speed_change": Float32(1.25)})]
    countdowns.start(ctx, countdowns.MATCH_START, 30)
    ctx.state.connections = {1: "a", 2: "b"}
    again = RoomState.loads(ctx.state.dumps())
    assert again.room == ctx.room
    assert again.room.host is again.user(1)
    assert type(again.room.users[1].mods[0].settings["speed_change"]) is Float32
    assert again.deadlines == ctx.state.deadlines and again.connections == {1: "a", 2: "b"}
    [countdown] = again.countdowns(clock.time())
    assert countdown.time_remaining == timedelta(seconds=30)
    clock.advance(10)
    assert again.snapshot(clock.time()).active_countdowns[0].time_remaining == timedelta(seconds=20)
    clock.advance(25)
    [countdown] = again.countdowns(clock.time())
    assert countdown.time_remaining == timedelta(0)


# --- the hub's timers, on the app's clock -------------------------------------------------------


async def stored_room(app: Starlette) -> Ctx:
    """A room whose live state is in the cache, as CreateRoom leaves it."""
    ctx = await make_ctx(app)
    hub = hub_of(app)
    async with hub.room_lock(ctx.state.id):
        await hub._save(ctx)
    return ctx


async def room_events(bus: Any, until: str) -> list[Invocation]:
    """The callbacks the hub publishes to the room's group, up to the first `until`."""
    found: list[Invocation] = []
    while not found or found[-1].target != until:
        message = await bus.get(timeout=10)
        assert message is not None, f"no {until} after {found!r}"
        frames, _ = decode_frames(message[1].partition(b"\x00")[2], max_message_size=1 << 20)
        found += [m for m in frames if isinstance(m, Invocation)]
    return found


async def test_an_armed_countdown_fires_when_the_clock_reaches_its_deadline(
    app: Starlette, clock: ManualClock
) -> None:
    hub = hub_of(app)
    ctx = await stored_room(app)
    room_id = ctx.state.id

    async def begin(ctx: Ctx) -> int:
        return countdowns.start(ctx, countdowns.MATCH_START, 5)

    async with services(app).cache.subscribe(f"signalr:multiplayer:g:room:{room_id}") as bus:
        countdown_id = await hub.change(room_id, begin)
        [started] = await room_events(bus, "MatchEvent")
        assert isinstance(started.arguments[0], CountdownStartedEvent)
        assert started.arguments[0].countdown.id == countdown_id
        clock.advance(4.5)
        state = await hub.load(room_id)
        assert state is not None and countdown_id in state.deadlines  # not yet
        clock.advance(0.5)
        # Due: the armed timer fires it; with nobody Ready the item is skipped.
        fired = await room_events(bus, "SettingsChanged")
    assert fired[0].target == "MatchEvent"
    assert fired[0].arguments == [CountdownStoppedEvent(id=countdown_id)]
    assert fired[1].target == "PlaylistItemChanged" and fired[1].arguments[0].expired
    state = await hub.load(room_id)
    assert state is not None and not state.deadlines and not state.room.active_countdowns
    assert state.room.settings.playlist_item_id != ctx.room.settings.playlist_item_id
    assert await services(app).cache.zscore(DEADLINES_KEY, str(room_id)) is None


async def test_a_deadline_nobody_fires_is_taken_over_by_the_sweep(
    app: Starlette, clock: ManualClock
) -> None:
    hub = hub_of(app)
    ctx = await stored_room(app)
    room_id = ctx.state.id
    # Started by a worker that died before its timer fired: only the deadline set knows.
    countdown_id = countdowns.start(ctx, countdowns.MATCH_START, 5)
    async with hub.room_lock(room_id):
        await hub._save(ctx)
    assert await services(app).cache.zscore(DEADLINES_KEY, str(room_id)) == clock.time() + 5
    async with services(app).cache.subscribe(f"signalr:multiplayer:g:room:{room_id}") as bus:
        clock.advance(5)  # due, but its own worker may still fire it: left alone
        clock.advance(TAKEOVER_GRACE + SWEEP_INTERVAL)
        fired = await room_events(bus, "SettingsChanged")
    assert fired[0].target == "MatchEvent"
    assert fired[0].arguments == [CountdownStoppedEvent(id=countdown_id)]
    state = await hub.load(room_id)
    assert state is not None and not state.deadlines
