"""The room and user state machines (ppy/osu-server-spectator Hubs/Multiplayer/) and membership
changes.

Each function changes the room state in `ctx` and queues the callbacks the official server sends,
in its order; the database rows the HTTP API reads are updated on the way.
"""

from __future__ import annotations

from core.db import utcnow
from core.lazer.types import (
    DownloadState,
    GameplayAbortReason,
    MultiplayerRoomState,
    MultiplayerRoomUser,
    MultiplayerRoomUserRole,
    MultiplayerUserState,
)
from core.rooms import listing
from core.rooms import store as rooms_db
from core.services import services
from plugins.multiplayer import countdowns, matchtypes, queue
from plugins.multiplayer.context import GAMEPLAY_STATES, Ctx, bad_change, invalid

S = MultiplayerUserState
R = MultiplayerRoomState

STATUS = {R.OPEN: "idle", R.WAITING_FOR_LOAD: "playing", R.PLAYING: "playing", R.CLOSED: "idle"}


async def set_room_state(ctx: Ctx, new: MultiplayerRoomState) -> None:
    old = ctx.room.state
    ctx.room.state = new
    ctx.out.room("RoomStateChanged", new)
    if STATUS[old] != STATUS[new]:
        await rooms_db.update_room(ctx.db, ctx.state.id, status=STATUS[new])
        await listing.changed(services(ctx.app))


# --- user state -------------------------------------------------------------------------------


async def change_state(ctx: Ctx, user: MultiplayerRoomUser, new: S) -> None:
    """ChangeState: the user state machine (MultiplayerUserState) of the official server."""
    old = user.state
    if new == old:
        return
    if user.role == MultiplayerRoomUserRole.REFEREE and new not in (S.IDLE, S.SPECTATING):
        raise bad_change(old, new)
    if new == S.IDLE:
        if old in GAMEPLAY_STATES:
            return  # the client leaves gameplay through AbortGameplay, not here
    elif new == S.READY:
        if old != S.IDLE:
            raise bad_change(old, new)
        item = ctx.state.current_item
        if item is None or item.expired:
            raise invalid("Cannot ready up while all items have been played.")
    elif new in (S.LOADED, S.READY_FOR_GAMEPLAY):
        if old not in GAMEPLAY_STATES:
            return
        expected = S.WAITING_FOR_LOAD if new == S.LOADED else S.LOADED
        if old != expected:
            raise bad_change(old, new)
    elif new == S.FINISHED_PLAY:
        if old != S.PLAYING:
            raise bad_change(old, new)
    elif new == S.SPECTATING:
        if old not in (S.IDLE, S.READY):
            raise bad_change(old, new)
    else:
        # WaitingForLoad, Playing and Results are the server's to set.
        raise bad_change(old, new)
    ctx.set_state(user, new)
    if new == S.SPECTATING and ctx.room.state in (R.WAITING_FOR_LOAD, R.PLAYING):
        ctx.out.user(user.user_id, "LoadRequested")
    await update_room_state(ctx)
    countdowns.update_auto_start(ctx)


async def update_room_state(ctx: Ctx) -> None:
    """Move the room on when its users allow it (everyone loaded, nobody playing any more)."""
    state = ctx.room.state
    users = ctx.room.users
    if state == R.WAITING_FOR_LOAD:
        loading = [u for u in users if u.state in (S.WAITING_FOR_LOAD, S.LOADED)]
        if not loading:
            await start_gameplay(ctx)
    elif state == R.PLAYING:
        if not any(u.state == S.PLAYING for u in users):
            await finish_match(ctx)


# --- the match --------------------------------------------------------------------------------


async def start_match(ctx: Ctx) -> None:
    """Open -> WaitingForLoad (host StartMatch or an expired match-start countdown)."""
    countdowns.stop_kind(ctx, countdowns.MATCH_START)
    for user in ctx.room.users:
        if user.voted_to_skip_intro:
            user.voted_to_skip_intro = False
            ctx.out.room("UserVotedToSkipIntro", user.user_id, False)
    for user in ctx.room.users:
        if (
            user.role == MultiplayerRoomUserRole.PLAYER
            and user.beatmap_availability.state == DownloadState.LOCALLY_AVAILABLE
            and user.state in (S.READY, S.IDLE)
        ):
            ctx.set_state(user, S.WAITING_FOR_LOAD)
    await set_room_state(ctx, R.WAITING_FOR_LOAD)
    ctx.out.room("LoadRequested")
    countdowns.start(ctx, countdowns.FORCE_START, countdowns.FORCE_START_SECONDS)
    item_id = ctx.room.settings.playlist_item_id
    await rooms_db.add_event(ctx.db, ctx.state.id, "game_started", playlist_item_id=item_id)
    # Nobody could load (no one had the beatmap): the match ends before it began.
    await update_room_state(ctx)


async def countdown_start(ctx: Ctx) -> None:
    """A match-start countdown ran out: start, or skip the item when nobody is Ready."""
    if ctx.room.state != R.OPEN:
        return
    item = ctx.state.current_item
    if item is None or item.expired:
        return
    if any(u.state == S.READY for u in ctx.room.users):
        await start_match(ctx)
    else:
        await queue.complete_current(ctx)


async def start_gameplay(ctx: Ctx) -> None:
    """WaitingForLoad -> Playing: loaded users play, the rest are sent back."""
    countdowns.stop_kind(ctx, countdowns.FORCE_START)
    anyone = False
    for user in ctx.room.users:
        if user.state in (S.LOADED, S.READY_FOR_GAMEPLAY):
            ctx.set_state(user, S.PLAYING)
            ctx.out.user(user.user_id, "GameplayStarted")
            anyone = True
        elif user.state == S.WAITING_FOR_LOAD:
            ctx.set_state(user, S.IDLE)
            ctx.out.user(user.user_id, "GameplayAborted", GameplayAbortReason.LOAD_TOOK_TOO_LONG)
    if anyone:
        await set_room_state(ctx, R.PLAYING)
        return
    await set_room_state(ctx, R.OPEN)
    await queue.complete_current(ctx)
    countdowns.update_auto_start(ctx)


async def finish_match(ctx: Ctx) -> None:
    """Playing -> Open: results for those who finished, then the queue moves on."""
    finished = False
    for user in ctx.room.users:
        if user.state == S.FINISHED_PLAY:
            ctx.set_state(user, S.RESULTS)
            finished = True
    await set_room_state(ctx, R.OPEN)
    if finished:
        ctx.out.room("ResultsReady")
    item_id = ctx.room.settings.playlist_item_id
    await rooms_db.add_event(ctx.db, ctx.state.id, "game_completed", playlist_item_id=item_id)
    await queue.complete_current(ctx)
    countdowns.update_auto_start(ctx)


async def abort_match(ctx: Ctx) -> None:
    if ctx.room.state not in (R.WAITING_FOR_LOAD, R.PLAYING):
        raise invalid("Cannot abort a match that hasn't started.")
    countdowns.stop_kind(ctx, countdowns.FORCE_START)
    for user in ctx.room.users:
        if user.state in GAMEPLAY_STATES:
            ctx.set_state(user, S.IDLE)
    ctx.out.room("GameplayAborted", GameplayAbortReason.HOST_ABORTED_THE_MATCH)
    await set_room_state(ctx, R.OPEN)
    item_id = ctx.room.settings.playlist_item_id
    await rooms_db.add_event(ctx.db, ctx.state.id, "game_aborted", playlist_item_id=item_id)
    await queue.complete_current(ctx)
    countdowns.update_auto_start(ctx)


async def abort_gameplay(ctx: Ctx, user: MultiplayerRoomUser) -> None:
    if user.state not in GAMEPLAY_STATES:
        raise invalid("Cannot abort gameplay while not in a gameplay state.")
    ctx.set_state(user, S.IDLE)
    await update_room_state(ctx)


def vote_skip(ctx: Ctx, user: MultiplayerRoomUser) -> None:
    if user.state not in GAMEPLAY_STATES:
        raise invalid("Cannot vote to skip the intro while not playing.")
    if user.voted_to_skip_intro:
        return
    user.voted_to_skip_intro = True
    ctx.out.room("UserVotedToSkipIntro", user.user_id, True)
    playing = [u for u in ctx.room.users if u.state in GAMEPLAY_STATES]
    votes = sum(1 for u in playing if u.voted_to_skip_intro)
    # Announced once, when the vote first reaches a majority.
    if votes == len(playing) // 2 + 1:
        ctx.out.room("VoteToSkipIntroPassed")


# --- membership -------------------------------------------------------------------------------


async def add_user(ctx: Ctx, user_id: int, connection_id: str) -> MultiplayerRoomUser:
    user = MultiplayerRoomUser(user_id=user_id)
    ctx.room.users.append(user)
    ctx.state.connections[user_id] = connection_id
    ctx.out.room("UserJoined", user, exclude=connection_id)
    matchtypes.user_joined(ctx, user)
    return user


async def remove_user(ctx: Ctx, user: MultiplayerRoomUser, kicked: bool) -> None:
    """Leave or kick. The last one out closes the room; a leaving host hands over."""
    ctx.room.users = [u for u in ctx.room.users if u.user_id != user.user_id]
    # The leaver's own connection is excluded from the room broadcast wherever it lives; a
    # kicked user is told directly.
    holder = ctx.state.connections.pop(user.user_id, None)
    if kicked:
        ctx.out.room("UserKicked", user, exclude=holder)
        ctx.out.user(user.user_id, "UserKicked", user)
    else:
        ctx.out.room("UserLeft", user, exclude=holder)
    ctx.out.control.append({"op": "left", "room_id": ctx.state.id, "user_id": user.user_id})
    event = "player_kicked" if kicked else "player_left"
    await rooms_db.add_event(ctx.db, ctx.state.id, event, user_id=user.user_id)
    if not ctx.room.users:
        await close(ctx)
        return
    matchtypes.user_left(ctx, user.user_id)
    if ctx.state.is_host(user.user_id):
        await set_host(ctx, ctx.room.users[0])
    await update_room_state(ctx)


async def set_host(ctx: Ctx, user: MultiplayerRoomUser) -> None:
    ctx.room.host = user
    ctx.out.room("HostChanged", user.user_id)
    await rooms_db.update_room(ctx.db, ctx.state.id, user_id=user.user_id)
    await listing.changed(services(ctx.app))
    await rooms_db.add_event(ctx.db, ctx.state.id, "host_changed", user_id=user.user_id)


async def close(ctx: Ctx) -> None:
    for countdown_id in list(ctx.state.deadlines):
        countdowns.stop(ctx, countdown_id)
    ctx.room.state = R.CLOSED
    ctx.state.closed = True
    await rooms_db.update_room(
        ctx.db, ctx.state.id, status="idle", ends_at=utcnow(), participant_count=0
    )
    await listing.changed(services(ctx.app))
    await rooms_db.add_event(ctx.db, ctx.state.id, "room_disbanded")
