"""The multiplayer hub (ppy/osu IMultiplayerServer.cs): lounge and room methods, matchmaking
stubs.

Methods are thin: find the caller's room, run a change from `room`, `queue`, `matchtypes` or
`countdowns` under the room lock (`RoomHub.change`), and let the outbox deliver the callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import orjson
from loguru import logger

from core.beatmaps import store as beatmaps_db
from core.clock import Clock, clock_of
from core.config import Key, Section, Settings, positive
from core.db import utcnow
from core.lazer.types import (
    BeatmapAvailability,
    DownloadState,
    MatchmakingAcceptDuelRequest,
    MatchmakingIssueDuelRequest,
    MatchmakingJoinLobbyRequest,
    MatchmakingJoinLobbyResponse,
    MatchmakingPoolType,
    MatchType,
    MultiplayerPlaylistItem,
    MultiplayerRoom,
    MultiplayerRoomSettings,
    MultiplayerRoomState,
    MultiplayerRoomUserRole,
    MultiplayerUserState,
    QueueMode,
    RankedPlayCardItem,
    StartMatchCountdownRequest,
    StopCountdownRequest,
)
from core.rooms import access, listing, playlists
from core.rooms import store as rooms_db
from core.rooms.items import InvalidItem, check_item, check_ruleset, invalid_user_mods, star_rating
from core.services import services
from core.signalr import Connection, Hub, HubError, hub_method
from core.users import store as users_db
from plugins.multiplayer import countdowns, matchtypes, queue, room
from plugins.multiplayer.context import Ctx, invalid, not_host, not_joined
from plugins.multiplayer.state import (
    CONTROL_CHANNEL,
    DEADLINES_KEY,
    ROOM_TTL,
    ROOMS_KEY,
    Outbox,
    RoomState,
    alive_key,
    group,
    lock_name,
    room_key,
    user_key,
)

T = TypeVar("T")
MAX_NAME = 100
MAX_ITEMS = 50
MAX_COUNTDOWN = timedelta(hours=1)
# Countdowns armed on another worker are taken over once this late.
TAKEOVER_GRACE = 1.0
SWEEP_INTERVAL = 0.25
# Orphaned database rooms are looked for every this many liveness rounds, and only rooms older
# than ORPHAN_AGE seconds (a room being created has its row before its state).
ORPHAN_EVERY = 15
ORPHAN_AGE = 120
# The room lock: held at most this long (a change still running then is not saved), waited for
# at most this long.
LOCK = {"timeout": 30.0, "wait": 30.0}
# Changes on one worker that may follow each other under one hold of the room lock.
HAND_OVERS = 8


@dataclass
class Turn:
    """One room's calls on this worker: they take turns on `lock`. `held` is the room's cache
    lock (its token, and the state as saved) while a change keeps it for the next one."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    callers: int = 0
    held: tuple[str, bytes] | None = None
    # Changes in a row under one hold.
    handed: int = 0


MATCHMAKING_UNAVAILABLE = "Matchmaking is not available on this server."
RANKED_UNAVAILABLE = "Ranked play is not available on this server."


SECTION = Section(
    "multiplayer",
    (
        # A member whose worker stopped marking it for three intervals is removed from its room.
        Key(
            "liveness_interval",
            20.0,
            "Seconds between liveness marks of this worker's room members.",
            check=positive,
        ),
    ),
    "The multiplayer hub.",
)


def multiplayer_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


def _settings_error(settings: MultiplayerRoomSettings, users: int = 1) -> str | None:
    if settings.match_type not in (MatchType.HEAD_TO_HEAD, MatchType.TEAM_VERSUS):
        return "Invalid match type selected."
    if settings.queue_mode not in set(QueueMode):
        return "Invalid queue mode selected."
    if not settings.name.strip():
        return "Room name cannot be empty."
    if len(settings.name) > MAX_NAME:
        return f"Room name cannot be longer than {MAX_NAME} characters."
    if len(settings.password) > 255:
        return "Room password is too long."
    limit = settings.max_participants
    if limit is not None and not 2 <= limit <= 16:
        return "Max participants must be between 2 and 16."
    if limit is not None and limit < users:
        return "Max participants cannot be less than the users in the room."
    if not timedelta(0) <= settings.auto_start_duration <= MAX_COUNTDOWN:
        return "Auto start duration must be between 0 and 1 hour."
    return None


def _type_name(match_type: MatchType) -> str:
    return "team_versus" if match_type == MatchType.TEAM_VERSUS else "head_to_head"


def _queue_name(settings: MultiplayerRoomSettings) -> str:
    return rooms_db.QUEUE_MODES[int(settings.queue_mode)]


class MultiplayerHub(Hub):
    name = "multiplayer"

    def __init__(self, app: Any, host: Any) -> None:
        super().__init__(app, host)
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        # Countdown timers armed here, cancelled at shutdown (another worker's sweep takes
        # over deadlines nobody fires).
        self._timers: set[asyncio.Task[None]] = set()
        # This worker's connections that are in a room: connection id -> (room id, connection).
        self._members: dict[str, tuple[int, Connection]] = {}
        # room id -> its calls on this worker
        self._turns: dict[int, Turn] = {}
        self.conf = multiplayer_settings(services(app).settings)
        # A connection not refreshed for three intervals is taken as gone.
        self.alive_ttl = 3 * float(self.conf["liveness_interval"])

    # --- lifecycle ---------------------------------------------------------------------------

    async def on_startup(self) -> None:
        self._tasks = [
            asyncio.create_task(self._control_loop(), name="multiplayer-control"),
            asyncio.create_task(self._sweep_loop(), name="multiplayer-countdowns"),
            asyncio.create_task(self._alive_loop(), name="multiplayer-alive"),
        ]

    async def on_shutdown(self) -> None:
        stopping = [*self._tasks, *self._timers]
        for task in stopping:
            task.cancel()
        await asyncio.gather(*stopping, return_exceptions=True)

    async def on_disconnected(self, conn: Connection) -> None:
        member = self._members.pop(conn.id, None)
        if member is None:
            return
        room_id = member[0]
        try:
            await self.change(room_id, lambda ctx: self._leave(ctx, conn.user_id, conn.id))
        except HubError:
            pass
        except Exception:
            logger.exception("multiplayer: leaving room {} on disconnect failed", room_id)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- the room lock -------------------------------------------------------------------------

    @property
    def cache(self) -> Any:
        return services(self.app).cache

    @property
    def clock(self) -> Clock:
        return clock_of(services(self.app))

    @contextlib.asynccontextmanager
    async def room_turn(self, room_id: int) -> AsyncIterator[Turn]:
        """This worker's turn at the room: calls on this worker queue on a local lock before
        they ask for the cache lock, so only one of them at a time polls it (many members of a
        busy room would otherwise all spin on it)."""
        turn = self._turns.get(room_id)
        if turn is None:
            turn = self._turns[room_id] = Turn()
        turn.callers += 1
        try:
            async with turn.lock:
                yield turn
        finally:
            turn.callers -= 1
            if turn.callers == 0:
                self._turns.pop(room_id, None)
                if turn.held is not None:
                    # Kept for a call that gave up waiting (its connection closed).
                    self._spawn(self._let_go(room_id, turn))

    async def _let_go(self, room_id: int, turn: Turn) -> None:
        """Release the room's lock a change kept for the next one, the state as it saved it."""
        held, turn.held = turn.held, None
        if held is not None:
            token, data = held
            await self.cache.unlock_set(
                lock_name(room_id), token, room_key(room_id), data, ex=ROOM_TTL
            )

    @contextlib.asynccontextmanager
    async def room_lock(self, room_id: int) -> AsyncIterator[None]:
        """The room's cache lock (after this worker's turn), for `_save`."""
        async with self.room_turn(room_id) as turn:
            await self._let_go(room_id, turn)
            async with self.cache.lock(lock_name(room_id), **LOCK):
                yield

    async def load(self, room_id: int) -> RoomState | None:
        data = await self.cache.get(room_key(room_id))
        return None if data is None else RoomState.loads(data)

    async def change(
        self,
        room_id: int,
        action: Callable[[Ctx], Awaitable[T]],
        *,
        missing: HubError | None = None,
    ) -> T:
        """Run `action` on the room under its lock, then save the room, send what it queued
        and let go of the lock.

        Taking the lock reads the state with it (`Cache.lock_get`), and the save, the callbacks
        and the release are one write (`Cache.unlock_set`): two round trips on Redis, plus the
        deadline index when the earliest countdown moved, and whatever `action` itself reads.
        """
        name, key = lock_name(room_id), room_key(room_id)
        async with self.room_turn(room_id) as turn:
            if turn.held is not None:
                (token, data), turn.held = turn.held, None
            else:
                token, data = await self.cache.lock_get(name, key, **LOCK)
                turn.handed = 0
            ctx = None
            try:
                if data is None:
                    await self.cache.zrem(DEADLINES_KEY, str(room_id))
                    raise missing or not_joined()
                ctx = Ctx(self.app, RoomState.loads(data), Outbox(room_id))
                return await action(ctx)
            finally:
                if ctx is None:
                    # Nothing changed: the lock goes, the value stays as it was.
                    await self.cache.unlock_set(name, token, key, data, ex=ROOM_TTL)
                else:
                    # A refusal can follow changes already made (e.g. a queued item): keep them.
                    await self._commit(ctx, token, turn)

    async def _commit(self, ctx: Ctx, token: str, turn: Turn) -> None:
        """Save the room, publish its callbacks and release the lock `token` holds, in one
        write; then the indexes (other keys: in a Redis Cluster they live in other slots) and
        the countdown timers.

        With another call on this worker waiting for the room, the lock is kept and handed to
        it with the state just saved (what it would read): its change then makes one round
        trip. Only HAND_OVERS times in a row, so that other workers get their turn.
        """
        state = ctx.state
        value = None if state.closed else state.dumps()
        hand_over = value is not None and turn.callers > 1 and turn.handed < HAND_OVERS
        messages = [
            self.host.group_message(address, target, *args, exclude=exclude)
            if kind == "g"
            else self.host.user_message(address, target, *args)
            for kind, address, target, args, exclude in ctx.out.messages
        ]
        messages += [(CONTROL_CHANNEL, orjson.dumps(message)) for message in ctx.out.control]
        saved = await self.cache.unlock_set(
            lock_name(state.id),
            token,
            room_key(state.id),
            value,
            ex=ROOM_TTL,
            messages=messages,
            hold=LOCK["timeout"] if hand_over else None,
        )
        if not saved:
            # Held past its timeout: someone else may have changed the room since.
            logger.warning("multiplayer: room {} lock expired mid-change; change lost", state.id)
            return
        if hand_over:
            assert value is not None
            turn.held = (token, value)
            turn.handed += 1
        await self._index(state)
        self._arm(ctx)

    async def _save(self, ctx: Ctx) -> None:
        """Save the room while holding `room_lock` (callbacks not sent, timers not armed)."""
        state = ctx.state
        if state.closed:
            await self.cache.delete(room_key(state.id))
        else:
            await self.cache.set(room_key(state.id), state.dumps(), ex=ROOM_TTL)
        await self._index(state)

    async def _index(self, state: RoomState) -> None:
        """The deadline and room sets after the room was saved."""
        key = str(state.id)
        if state.closed:
            await self.cache.zrem(DEADLINES_KEY, key)
            await self.cache.srem(ROOMS_KEY, key)
            return
        earliest = state.earliest_deadline()
        if earliest == state.loaded_deadline:
            return
        if earliest is None:
            await self.cache.zrem(DEADLINES_KEY, key)
        else:
            await self.cache.zadd(DEADLINES_KEY, {key: earliest})
        state.loaded_deadline = earliest

    def _arm(self, ctx: Ctx) -> None:
        for at in ctx.out.timers:
            timer = asyncio.create_task(self._fire_at(ctx.state.id, at))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    async def _fire_at(self, room_id: int, at: float) -> None:
        """The local timer of a countdown: fire the room's due countdowns at `at`."""
        await self.clock.sleep(max(0.0, at - self.clock.time()))
        self._spawn(self.fire(room_id))

    # --- background: control messages, countdowns, liveness ----------------------------------

    async def _control_loop(self) -> None:
        while True:
            try:
                async with self.cache.subscribe(CONTROL_CHANNEL) as subscription:
                    async for _, data in subscription:
                        self._control(orjson.loads(data))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("multiplayer control bus lost ({!r}); resubscribing", exc)
                await asyncio.sleep(1)

    def _control(self, message: dict[str, Any]) -> None:
        if message.get("op") != "left":
            return
        for conn_id, (room_id, conn) in list(self._members.items()):
            if room_id == message["room_id"] and conn.user_id == message["user_id"]:
                self._members.pop(conn_id, None)
                self._spawn(self.remove_from_group(conn, group(room_id)))

    async def fire(self, room_id: int) -> None:
        """Run the countdowns of a room that are due (any worker; at most once each)."""
        try:
            await self.change(room_id, self._fire_due)
        except HubError:
            pass
        except Exception:
            logger.exception("multiplayer: countdowns of room {} failed", room_id)

    async def _fire_due(self, ctx: Ctx) -> None:
        for countdown_id, kind in countdowns.due(ctx):
            if countdown_id not in ctx.state.deadlines:
                continue  # stopped by an earlier one in this same pass
            countdowns.stop(ctx, countdown_id)
            if kind == countdowns.MATCH_START:
                await room.countdown_start(ctx)
            elif kind == countdowns.FORCE_START:
                if ctx.room.state == MultiplayerRoomState.WAITING_FOR_LOAD:
                    await room.start_gameplay(ctx)

    async def _sweep_loop(self) -> None:
        while True:
            await self.clock.sleep(SWEEP_INTERVAL)
            try:
                overdue = self.clock.time() - TAKEOVER_GRACE
                for member, score in await self.cache.zrange(DEADLINES_KEY, 0, 50):
                    if score > overdue:
                        break
                    await self.fire(int(member))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("multiplayer countdown sweep failed: {!r}", exc)

    async def _alive_loop(self) -> None:
        """Keep this worker's members marked alive (and their rooms in the cache); release
        seats of connections nobody keeps alive any more (a crashed worker's), and close
        database rooms whose live state is gone."""
        rounds = -1
        while True:
            if rounds >= 0:
                await self.clock.sleep(float(self.conf["liveness_interval"]))
            rounds += 1
            try:
                if rounds % ORPHAN_EVERY == 0:
                    await self._sweep_orphans()
                for conn_id, (room_id, _) in list(self._members.items()):
                    await self.cache.set(alive_key(conn_id), b"1", ex=self.alive_ttl)
                    await self.cache.expire(room_key(room_id), ROOM_TTL)
                await self._sweep_ghosts()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("multiplayer liveness sweep failed: {!r}", exc)

    async def _sweep_ghosts(self) -> None:
        for raw in await self.cache.smembers(ROOMS_KEY):
            room_id = int(raw)
            state = await self.load(room_id)
            if state is None:
                await self.cache.srem(ROOMS_KEY, str(room_id))
                continue
            for user_id, conn_id in list(state.connections.items()):
                if conn_id in self._members or await self.cache.exists(alive_key(conn_id)):
                    continue
                logger.info("multiplayer: releasing user {} of room {}", user_id, room_id)
                with contextlib.suppress(HubError):
                    await self.change(
                        room_id,
                        functools.partial(self._leave, user_id=user_id, connection_id=conn_id),
                    )

    async def _sweep_orphans(self) -> None:
        """Realtime rooms open in the database without live state (all workers restarted with
        the memory cache, or the state expired) are ended."""
        db = services(self.app).db
        for db_room in await rooms_db.open_realtime_rooms(db, ORPHAN_AGE):
            if not await self.cache.exists(room_key(int(db_room["id"]))):
                await rooms_db.update_room(
                    db,
                    int(db_room["id"]),
                    ends_at=utcnow(),
                    status="idle",
                    participant_count=0,
                )
                await listing.changed(services(self.app))

    # --- membership -----------------------------------------------------------------------------

    async def _room_of(self, conn: Connection) -> int:
        # This worker knows its own members (a kick elsewhere reaches it as a control
        # message); the room's state is checked under the lock either way.
        member = self._members.get(conn.id)
        if member is not None:
            return member[0]
        raw = await self.cache.get(user_key(conn.user_id))
        if raw is None:
            raise not_joined()
        return int(raw)

    async def _ensure_free(self, conn: Connection) -> None:
        """A user is in one room at a time; a seat left by a dead connection is released."""
        raw = await self.cache.get(user_key(conn.user_id))
        if raw is None:
            return
        room_id = int(raw)
        state = await self.load(room_id)
        holder = None if state is None else state.connections.get(conn.user_id)
        if holder is not None:
            alive = holder in self._members or await self.cache.exists(alive_key(holder))
            if alive:
                raise invalid("Can't join a room when already in another room.")
            with contextlib.suppress(HubError):
                await self.change(room_id, lambda ctx: self._leave(ctx, conn.user_id, holder))
        await self.cache.delete(user_key(conn.user_id))

    async def _enter(self, conn: Connection, room_id: int) -> None:
        """Bookkeeping once the user is in the room's state (caller holds the lock)."""
        self._members[conn.id] = (room_id, conn)
        await self.add_to_group(conn, group(room_id))
        await self.cache.set(user_key(conn.user_id), str(room_id), ex=ROOM_TTL)
        await self.cache.set(alive_key(conn.id), b"1", ex=self.alive_ttl)

    async def _leave(
        self, ctx: Ctx, user_id: int, connection_id: str | None, kicked: bool = False
    ) -> None:
        user = ctx.state.user(user_id)
        if user is None:
            return
        if connection_id is not None and ctx.state.connections.get(user_id) not in (
            None,
            connection_id,
        ):
            return  # that connection is not the one in the room
        holder = ctx.state.connections.get(user_id)
        await room.remove_user(ctx, user, kicked)
        if holder is not None:
            await self.cache.delete(alive_key(holder))
            local = self._members.pop(holder, None)
            if local is not None:
                await self.remove_from_group(local[1], group(ctx.state.id))
        if await self.cache.get(user_key(user_id)) == str(ctx.state.id).encode():
            await self.cache.delete(user_key(user_id))
        db_room = await rooms_db.get_room(ctx.db, ctx.state.id)
        if db_room is not None:
            await rooms_db.set_in_room(ctx.db, db_room, user_id, False)
            await listing.changed(services(self.app))
            row = await users_db.get_user(ctx.db, user_id)
            if row is not None:
                await playlists.part_channel(self.app, ctx.room.channel_id, row)

    # --- lounge ---------------------------------------------------------------------------------

    async def _validated_item(
        self, item: MultiplayerPlaylistItem, owner_id: int
    ) -> MultiplayerPlaylistItem:
        try:
            beatmap, _, _ = await check_item(
                self.app,
                beatmap_id=item.beatmap_id,
                ruleset_id=item.ruleset_id,
                checksum=item.beatmap_checksum,
                required=item.required_mods,
                allowed=item.allowed_mods,
                freestyle=item.freestyle,
            )
        except InvalidItem as exc:
            raise invalid(str(exc)) from None
        return MultiplayerPlaylistItem(
            id=item.id,
            owner_id=owner_id,
            beatmap_id=int(beatmap["id"]),
            beatmap_checksum=beatmap["checksum"] or item.beatmap_checksum,
            ruleset_id=item.ruleset_id,
            required_mods=item.required_mods,
            allowed_mods=item.allowed_mods,
            star_rating=star_rating(beatmap),
            freestyle=item.freestyle,
        )

    async def _refuse(self, conn: Connection, rule: Callable[[Any], str | None]) -> None:
        """Raise the refusal `rule` gives for the caller's current user row (a restriction or
        silence made after connecting counts)."""
        row = await users_db.get_user(services(self.app).db, conn.user_id)
        refusal = rule(row if row is not None else conn.user)
        if refusal is not None:
            raise invalid(refusal)

    @hub_method
    async def CreateRoom(self, conn: Connection, requested: MultiplayerRoom) -> MultiplayerRoom:
        await self._refuse(conn, access.hub_create_refusal)
        settings = requested.settings
        problem = _settings_error(settings)
        if problem:
            raise invalid(problem)
        if not requested.playlist:
            raise invalid("Room must have at least one playlist item.")
        if len(requested.playlist) > MAX_ITEMS:
            raise invalid(f"Room can have at most {MAX_ITEMS} playlist items.")
        await self._ensure_free(conn)
        items = [await self._validated_item(i, conn.user_id) for i in requested.playlist]
        db = services(self.app).db
        room_id = await rooms_db.create_room(
            db,
            {
                "name": settings.name,
                "category": "normal",
                "type": _type_name(settings.match_type),
                "user_id": conn.user_id,
                "password": await access.password_hash(services(self.app), settings.password),
                "queue_mode": _queue_name(settings),
                "auto_skip": settings.auto_skip,
                "auto_start_duration": int(settings.auto_start_duration.total_seconds()),
                "max_participants": settings.max_participants,
            },
        )
        live = MultiplayerRoom(
            room_id=room_id,
            state=MultiplayerRoomState.OPEN,
            settings=MultiplayerRoomSettings(
                name=settings.name,
                password=settings.password,
                match_type=settings.match_type,
                queue_mode=settings.queue_mode,
                auto_start_duration=settings.auto_start_duration,
                auto_skip=settings.auto_skip,
                max_participants=settings.max_participants,
            ),
            match_state=matchtypes.initial_state(settings.match_type, settings.max_participants),
        )
        state = RoomState(room=live)
        ctx = Ctx(self.app, state, Outbox(room_id))
        for item in items:
            await queue.insert(ctx, item)
            live.playlist.append(item)
        await queue.reorder(ctx, announce=False)
        first = queue.next_item(ctx)
        assert first is not None
        live.settings.playlist_item_id = first.id
        live.channel_id = await playlists.create_channel(
            self.app, room_id, settings.name, conn.user
        )
        host = await room.add_user(ctx, conn.user_id, conn.id)
        live.host = host
        await rooms_db.add_event(db, room_id, "room_created", user_id=conn.user_id)
        db_room = await rooms_db.get_room(db, room_id)
        assert db_room is not None
        await rooms_db.set_in_room(db, db_room, conn.user_id, True)
        await listing.changed(services(self.app))
        await self.cache.sadd(ROOMS_KEY, str(room_id))

        # The room is new: nobody else can hold its lock, but saving goes the usual way. What
        # making it queued has nobody to reach yet, and its creator is answered with the room.
        async with self.room_lock(room_id):
            await self._save(ctx)
            await self._enter(conn, room_id)
            return ctx.state.snapshot(ctx.clock.time())

    @hub_method
    async def JoinRoom(self, conn: Connection, room_id: int) -> MultiplayerRoom:
        return await self.JoinRoomWithPassword(conn, room_id, "")

    @hub_method
    async def JoinRoomWithPassword(
        self, conn: Connection, room_id: int, password: str
    ) -> MultiplayerRoom:
        await self._refuse(conn, access.hub_join_refusal)
        await self._ensure_free(conn)

        async def join(ctx: Ctx) -> MultiplayerRoom:
            settings = ctx.room.settings
            if ctx.state.user(conn.user_id) is not None:
                raise invalid("User is already in this room.")
            if not access.live_password_matches(settings.password, password):
                raise HubError("Invalid password", "InvalidPasswordException")
            limit = settings.max_participants
            if limit is not None and len(ctx.room.users) >= limit:
                raise invalid("Room is full.")
            await room.add_user(ctx, conn.user_id, conn.id)
            await rooms_db.add_event(ctx.db, ctx.state.id, "player_joined", user_id=conn.user_id)
            db_room = await rooms_db.get_room(ctx.db, ctx.state.id)
            if db_room is not None:
                await rooms_db.set_in_room(ctx.db, db_room, conn.user_id, True)
                await listing.changed(services(self.app))
            await playlists.join_channel(self.app, ctx.room.channel_id, conn.user)
            await self._enter(conn, ctx.state.id)
            return ctx.state.snapshot(ctx.clock.time())

        missing = invalid("Attempted to join a room which does not exist.")
        return await self.change(room_id, join, missing=missing)

    @hub_method
    async def LeaveRoom(self, conn: Connection) -> None:
        raw = await self.cache.get(user_key(conn.user_id))
        if raw is None:
            return
        with contextlib.suppress(HubError):
            await self.change(int(raw), lambda ctx: self._leave(ctx, conn.user_id, None))

    # --- in the room ----------------------------------------------------------------------------

    async def _as_member(
        self, conn: Connection, action: Callable[[Ctx, Any], Awaitable[T]], host: bool = False
    ) -> T:
        room_id = await self._room_of(conn)

        async def run(ctx: Ctx) -> T:
            user = ctx.state.user(conn.user_id)
            if user is None:
                raise not_joined()
            if host and not ctx.state.is_host(conn.user_id):
                raise not_host()
            return await action(ctx, user)

        return await self.change(room_id, run)

    @hub_method
    async def TransferHost(self, conn: Connection, user_id: int) -> None:
        async def transfer(ctx: Ctx, _: Any) -> None:
            target = ctx.state.user(user_id)
            if target is None:
                raise invalid("Target user is not in the current room.")
            if not ctx.state.is_host(user_id):
                await room.set_host(ctx, target)

        await self._as_member(conn, transfer, host=True)

    @hub_method
    async def KickUser(self, conn: Connection, user_id: int) -> None:
        async def kick(ctx: Ctx, _: Any) -> None:
            if user_id == conn.user_id:
                raise invalid("Can't kick self")
            target = ctx.state.user(user_id)
            if target is None:
                raise invalid("Target user is not in the current room.")
            if target.role == MultiplayerRoomUserRole.REFEREE:
                raise invalid("Can't kick a referee.")
            await self._leave(ctx, user_id, None, kicked=True)

        await self._as_member(conn, kick, host=True)

    @hub_method
    async def ChangeSettings(self, conn: Connection, settings: MultiplayerRoomSettings) -> None:
        async def change(ctx: Ctx, _: Any) -> None:
            if ctx.room.state != MultiplayerRoomState.OPEN:
                raise invalid("Attempted to change settings while game is active.")
            problem = _settings_error(settings, len(ctx.room.users))
            if problem:
                raise invalid(problem)
            old = ctx.room.settings
            # The current item is the server's to choose.
            settings.playlist_item_id = old.playlist_item_id
            if settings == old:
                return
            password_changed = settings.password != old.password
            type_changed = settings.match_type != old.match_type
            size_changed = settings.max_participants != old.max_participants
            queue_changed = settings.queue_mode != old.queue_mode
            ctx.room.settings = settings
            queue.unready_all(ctx)
            ctx.out.room("SettingsChanged", settings)
            if type_changed or size_changed:
                matchtypes.reset(ctx)
            if queue_changed:
                await queue.reorder(ctx)
            stored: dict[str, Any] = {}
            if password_changed:
                stored["password"] = await access.password_hash(
                    services(self.app), settings.password
                )
            await rooms_db.update_room(
                ctx.db,
                ctx.state.id,
                name=settings.name,
                **stored,
                type=_type_name(settings.match_type),
                queue_mode=_queue_name(settings),
                auto_skip=settings.auto_skip,
                auto_start_duration=int(settings.auto_start_duration.total_seconds()),
                max_participants=settings.max_participants,
            )
            await listing.changed(services(self.app))
            countdowns.update_auto_start(ctx)

        await self._as_member(conn, change, host=True)

    @hub_method
    async def ChangeState(self, conn: Connection, new_state: MultiplayerUserState) -> None:
        try:
            wanted = MultiplayerUserState(new_state)
        except ValueError:
            raise invalid("Invalid user state.") from None

        async def change(ctx: Ctx, user: Any) -> None:
            await room.change_state(ctx, user, wanted)

        await self._as_member(conn, change)

    @hub_method
    async def ChangeBeatmapAvailability(
        self, conn: Connection, availability: BeatmapAvailability
    ) -> None:
        if availability.state not in set(DownloadState):
            raise invalid("Invalid beatmap availability.")

        async def change(ctx: Ctx, user: Any) -> None:
            progress = availability.download_progress
            if progress is not None and not 0 <= progress <= 1:
                availability.download_progress = min(1.0, max(0.0, progress))
            if user.beatmap_availability == availability:
                return
            user.beatmap_availability = availability
            ctx.out.room("UserBeatmapAvailabilityChanged", user.user_id, availability)

        await self._as_member(conn, change)

    @hub_method
    async def ChangeUserStyle(
        self, conn: Connection, beatmap_id: int | None, ruleset_id: int | None
    ) -> None:
        async def change(ctx: Ctx, user: Any) -> None:
            item = ctx.state.current_item
            if item is None or not item.freestyle:
                raise invalid("Current item does not allow free user styles.")
            base = await beatmaps_db.beatmap_by_id(ctx.db, item.beatmap_id)
            chosen = base
            if beatmap_id is not None:
                chosen = await beatmaps_db.beatmap_by_id(ctx.db, beatmap_id)
                if (
                    chosen is None
                    or base is None
                    or chosen["beatmapset_id"] != base["beatmapset_id"]
                ):
                    raise invalid("Invalid beatmap selected.")
            if ruleset_id is not None and chosen is not None:
                try:
                    check_ruleset(chosen, ruleset_id)
                except InvalidItem as exc:
                    raise invalid(str(exc)) from None
            if (user.beatmap_id, user.ruleset_id) == (beatmap_id, ruleset_id):
                return
            user.beatmap_id, user.ruleset_id = beatmap_id, ruleset_id
            ctx.out.room("UserStyleChanged", user.user_id, beatmap_id, ruleset_id)
            queue.fit_users_to_item(ctx)

        await self._as_member(conn, change)

    @hub_method
    async def ChangeUserMods(self, conn: Connection, mods: list[Any]) -> None:
        async def change(ctx: Ctx, user: Any) -> None:
            item = ctx.state.current_item
            if item is None:
                raise invalid("There is no current item.")
            ruleset = user.ruleset_id if item.freestyle and user.ruleset_id is not None else None
            bad = invalid_user_mods(
                mods,
                item.required_mods,
                item.allowed_mods,
                item.ruleset_id if ruleset is None else ruleset,
                item.freestyle,
            )
            if bad:
                raise invalid(f"Incompatible mods were selected: {','.join(bad)}")
            user.mods = list(mods)
            ctx.out.room("UserModsChanged", user.user_id, user.mods)

        await self._as_member(conn, change)

    @hub_method
    async def SendMatchRequest(self, conn: Connection, request: Any) -> None:
        if request is None:
            raise invalid("Unsupported match request.")

        async def handle(ctx: Ctx, user: Any) -> None:
            if isinstance(request, StartMatchCountdownRequest | StopCountdownRequest):
                if not ctx.state.is_host(user.user_id):
                    raise not_host()
                if isinstance(request, StartMatchCountdownRequest):
                    self._start_countdown(ctx, request.duration)
                else:
                    self._stop_countdown(ctx, request.id)
                return
            matchtypes.handle(ctx, user, request)

        await self._as_member(conn, handle)

    def _start_countdown(self, ctx: Ctx, duration: timedelta) -> None:
        if ctx.room.state != MultiplayerRoomState.OPEN:
            raise invalid("Cannot start a countdown during gameplay.")
        if countdowns.auto_start_seconds(ctx) > 0:
            raise invalid("Cannot start a countdown while auto start is enabled.")
        if not timedelta(0) < duration <= MAX_COUNTDOWN:
            raise invalid("Countdown duration must be between 0 and 1 hour.")
        item = ctx.state.current_item
        if item is None or item.expired:
            raise invalid("Cannot start a countdown while all items have been played.")
        countdowns.start(ctx, countdowns.MATCH_START, duration.total_seconds())

    def _stop_countdown(self, ctx: Ctx, countdown_id: int) -> None:
        deadline = ctx.state.deadlines.get(countdown_id)
        if deadline is None:
            return
        if deadline.kind in (countdowns.FORCE_START, countdowns.SHUTDOWN):
            raise invalid("This countdown cannot be stopped.")
        if deadline.kind == countdowns.MATCH_START and countdowns.auto_start_seconds(ctx) > 0:
            raise invalid("Cannot stop the countdown while auto start is enabled.")
        countdowns.stop(ctx, countdown_id)

    @hub_method
    async def StartMatch(self, conn: Connection) -> None:
        async def start(ctx: Ctx, user: Any) -> None:
            if ctx.room.state != MultiplayerRoomState.OPEN:
                raise invalid("Can't start match when already in a running state.")
            item = ctx.state.current_item
            if item is None or item.expired:
                raise invalid("Cannot start a match while all items have been played.")
            if user.role != MultiplayerRoomUserRole.REFEREE and user.state not in (
                MultiplayerUserState.READY,
                MultiplayerUserState.SPECTATING,
            ):
                raise invalid("Can't start match when the host is not ready.")
            if not any(u.state == MultiplayerUserState.READY for u in ctx.room.users):
                raise invalid("Can't start match when no users are ready.")
            await room.start_match(ctx)

        await self._as_member(conn, start, host=True)

    @hub_method
    async def AbortMatch(self, conn: Connection) -> None:
        async def abort(ctx: Ctx, _: Any) -> None:
            await room.abort_match(ctx)

        await self._as_member(conn, abort, host=True)

    @hub_method
    async def AbortGameplay(self, conn: Connection) -> None:
        async def abort(ctx: Ctx, user: Any) -> None:
            await room.abort_gameplay(ctx, user)

        await self._as_member(conn, abort)

    @hub_method
    async def VoteToSkipIntro(self, conn: Connection) -> None:
        async def vote(ctx: Ctx, user: Any) -> None:
            room.vote_skip(ctx, user)

        await self._as_member(conn, vote)

    @hub_method
    async def AddPlaylistItem(self, conn: Connection, item: MultiplayerPlaylistItem) -> None:
        await self._room_of(conn)
        checked = await self._validated_item(item, conn.user_id)

        async def add(ctx: Ctx, _: Any) -> None:
            await queue.add(ctx, conn.user_id, checked)

        await self._as_member(conn, add)

    @hub_method
    async def EditPlaylistItem(self, conn: Connection, item: MultiplayerPlaylistItem) -> None:
        await self._room_of(conn)
        checked = await self._validated_item(item, conn.user_id)

        async def edit(ctx: Ctx, _: Any) -> None:
            await queue.edit(ctx, conn.user_id, checked)

        await self._as_member(conn, edit)

    @hub_method
    async def RemovePlaylistItem(self, conn: Connection, playlist_item_id: int) -> None:
        async def remove(ctx: Ctx, _: Any) -> None:
            await queue.remove(ctx, conn.user_id, playlist_item_id)

        await self._as_member(conn, remove)

    @hub_method
    async def InvitePlayer(self, conn: Connection, user_id: int) -> None:
        room_id = await self._room_of(conn)
        state = await self.load(room_id)
        if state is None or state.user(conn.user_id) is None:
            raise not_joined()
        db = services(self.app).db
        target = await users_db.get_user(db, user_id)
        if target is None or target["is_deleted"] or target["restricted"]:
            raise invalid("User does not exist.")
        blocked = "block" in (
            await users_db.relation(db, user_id, conn.user_id),
            await users_db.relation(db, conn.user_id, user_id),
        )
        if blocked:
            raise HubError(
                "Cannot perform action due to user being blocked.", "UserBlockedException"
            )
        if target["pm_friends_only"] and (
            await users_db.relation(db, user_id, conn.user_id) != "friend"
        ):
            raise HubError(
                "Cannot perform action because user has disabled non-friend communications.",
                "UserBlocksPMsException",
            )
        await self.send_user(
            user_id, "Invited", conn.user_id, room_id, state.room.settings.password
        )

    # --- matchmaking and ranked play: not offered (empty pools, clear refusals) ---------------

    @hub_method
    async def GetMatchmakingPoolsOfType(
        self, conn: Connection, pool_type: MatchmakingPoolType
    ) -> list[Any]:
        return []

    @hub_method
    async def GetMatchmakingPools(self, conn: Connection) -> list[Any]:
        return []

    @hub_method
    async def MatchmakingJoinLobbyWithParams(
        self, conn: Connection, request: MatchmakingJoinLobbyRequest
    ) -> MatchmakingJoinLobbyResponse:
        return MatchmakingJoinLobbyResponse()

    @hub_method
    async def MatchmakingJoinLobby(self, conn: Connection) -> None:
        return None

    @hub_method
    async def MatchmakingLeaveLobby(self, conn: Connection) -> None:
        return None

    @hub_method
    async def MatchmakingJoinQueue(self, conn: Connection, pool_id: int) -> None:
        raise invalid(MATCHMAKING_UNAVAILABLE)

    @hub_method
    async def MatchmakingLeaveQueue(self, conn: Connection) -> None:
        return None

    @hub_method
    async def MatchmakingAcceptInvitation(self, conn: Connection) -> None:
        raise invalid(MATCHMAKING_UNAVAILABLE)

    @hub_method
    async def MatchmakingDeclineInvitation(self, conn: Connection) -> None:
        return None

    @hub_method
    async def MatchmakingIssueDuel(
        self, conn: Connection, request: MatchmakingIssueDuelRequest
    ) -> None:
        raise invalid(MATCHMAKING_UNAVAILABLE)

    @hub_method
    async def MatchmakingAcceptDuel(
        self, conn: Connection, request: MatchmakingAcceptDuelRequest
    ) -> None:
        raise invalid(MATCHMAKING_UNAVAILABLE)

    @hub_method
    async def MatchmakingToggleSelection(self, conn: Connection, playlist_item_id: int) -> None:
        raise invalid(MATCHMAKING_UNAVAILABLE)

    @hub_method
    async def MatchmakingSkipToNextStage(self, conn: Connection) -> None:
        raise invalid(MATCHMAKING_UNAVAILABLE)

    @hub_method
    async def DiscardCards(self, conn: Connection, cards: list[RankedPlayCardItem]) -> None:
        raise invalid(RANKED_UNAVAILABLE)

    @hub_method
    async def PlayCard(self, conn: Connection, card: RankedPlayCardItem) -> None:
        raise invalid(RANKED_UNAVAILABLE)
