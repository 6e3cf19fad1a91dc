"""The spectator hub (ppy/osu ISpectatorServer.cs): play sessions, frame relay, watchers,
replays.

A player's connection lives on one worker, but watchers may be anywhere: the player's current
state is kept in the cache (`spectator:state:<user>`), and callbacks go to the `watch:<user>`
group over the hub bus, each message encoded once for every watcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from core.clock import clock_of
from core.lazer import Invocation, decode, encode, encode_frame
from core.lazer.types import (
    FrameDataBundle,
    SpectatedUserState,
    SpectatorState,
    SpectatorUser,
)
from core.scores import store as scores_db
from core.services import services
from core.signalr import Connection, Hub, HubError, hub_method
from plugins.spectator import replay
from plugins.spectator.buffer import ScoreBuffers, spectator_settings

# The official server keeps at most this many open score tokens per connection and ends the
# oldest when another is begun (SpectatorClientState.MAX_STARTED_SCORES).
MAX_STARTED_SCORES = 2
# The cached player state outlives a worker that died without cleaning up by at most this.
STATE_TTL = 3600.0
STATE_REFRESH = 60.0
STATES = frozenset(int(s) for s in SpectatedUserState)


def watch_group(user_id: int) -> str:
    return f"watch:{user_id}"


def state_key(user_id: int) -> str:
    return f"spectator:state:{user_id}"


@dataclass
class Session:
    """What one spectator connection holds (`conn.items["spectator"]`)."""

    state: SpectatorState | None = None
    # The most recent token begun (None for a play without one).
    token: int | None = None
    # Tokens begun here and not ended yet, oldest first.
    tokens: list[int] = field(default_factory=list)
    # Those of them whose frames are recorded (a token of another user or beatmap is not).
    recording: set[int] = field(default_factory=set)
    # Token remembered by the V1 methods, which do not pass it on every call.
    v1_token: int | None = None
    watching: set[int] = field(default_factory=set)
    state_refreshed: float = 0.0


def session(conn: Connection) -> Session:
    found = conn.items.get("spectator")
    if found is None:
        found = conn.items["spectator"] = Session()
    return found


class SpectatorHub(Hub):
    name = "spectator"

    def __init__(self, app: Any, host: Any) -> None:
        super().__init__(app, host)
        self.buffers = ScoreBuffers(app)
        self.max_watched = int(spectator_settings(services(app).settings)["max_watched_users"])
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- background work ------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Run `work` without making the caller wait (replay writing)."""
        task = asyncio.create_task(work)
        # Held until done: a task nobody references may be collected mid-flight.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def finish_replay(self, token: int) -> None:
        try:
            score_id = await self.buffers.finish(token)
        except Exception:
            logger.exception("replay of score token {} failed", token)
            return
        if score_id is not None:
            logger.debug("replay of score {} stored", score_id)

    async def on_shutdown(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)

    # --- play sessions ----------------------------------------------------------------------

    async def _store_state(self, conn: Connection, state: SpectatorState) -> None:
        key = state_key(conn.user_id)
        await self.services.cache.hset(
            key, {"conn": conn.id, "state": encode(state, SpectatorState)}
        )
        await self.services.cache.expire(key, STATE_TTL)
        session(conn).state_refreshed = clock_of(self.services).monotonic()

    async def _clear_state(self, conn: Connection) -> None:
        key = state_key(conn.user_id)
        # Another connection of the same user may have begun a play since: leave that one.
        if await self.services.cache.hget(key, "conn") == conn.id.encode():
            await self.services.cache.delete(key)

    async def _open_buffer(self, conn: Connection, token: int, state: SpectatorState) -> bool:
        row = await scores_db.get_token(self.services.db, token)
        if row is None or int(row["user_id"]) != conn.user_id or row["score_id"] is not None:
            logger.info("user {} began a play with unusable score token {}", conn.user_id, token)
            return False
        if state.beatmap_id is not None and state.beatmap_id != int(row["beatmap_id"]):
            logger.info("score token {} is for another beatmap", token)
            return False
        return await self.buffers.open(
            token, conn.user_id, int(row["beatmap_id"]), int(row["ruleset_id"])
        )

    async def _begin(self, conn: Connection, token: int | None, state: SpectatorState) -> None:
        current = session(conn)
        current.state = state
        current.token = token
        await self._store_state(conn, state)
        if token is not None and token not in current.tokens:
            current.tokens.append(token)
            if await self._open_buffer(conn, token, state):
                current.recording.add(token)
            while len(current.tokens) > MAX_STARTED_SCORES:
                await self._end_buffer(current, current.tokens.pop(0))
        await self.send_group(watch_group(conn.user_id), "UserBeganPlaying", conn.user_id, state)

    async def _frames(self, conn: Connection, token: int | None, bundle: FrameDataBundle) -> None:
        user_id = conn.user_id
        # One encode, the same bytes to every watcher on every worker.
        frame = encode_frame(Invocation("UserSentFrames", [user_id, bundle]))
        await self.host.send_group_frame(watch_group(user_id), frame)
        current = session(conn)
        if token is not None:
            if token in current.recording:
                await self.buffers.append(
                    token, replay.pack_frames(bundle.frames), bundle.header.pauses
                )
            elif token not in current.tokens:
                logger.info("user {} sent frames under unknown token {}", user_id, token)
        if current.state is not None and (
            clock_of(self.services).monotonic() - current.state_refreshed > STATE_REFRESH
        ):
            await self._store_state(conn, current.state)

    async def _end_buffer(self, current: Session, token: int) -> None:
        if token in current.recording:
            current.recording.discard(token)
            await self.buffers.end(token)
            self.spawn(self.finish_replay(token))

    async def _end(self, conn: Connection, token: int | None, final: SpectatedUserState) -> None:
        current = session(conn)
        if token is not None:
            if token not in current.tokens:
                raise HubError(
                    "Cannot end a play session that was not begun.", "InvalidStateException"
                )
            current.tokens.remove(token)
            await self._end_buffer(current, token)
        if token is None or token == current.token:
            await self._finish_playing(conn, final)

    async def _finish_playing(self, conn: Connection, final: SpectatedUserState) -> None:
        current = session(conn)
        state = current.state
        current.state = None
        current.token = None
        if state is None:
            return
        await self._clear_state(conn)
        # A play that is still "playing" when it ends was abandoned (e.g. the client crashed).
        state.state = SpectatedUserState.QUIT if final == SpectatedUserState.PLAYING else final
        await self.send_group(watch_group(conn.user_id), "UserFinishedPlaying", conn.user_id, state)

    @hub_method
    async def BeginPlaySessionV2(
        self, conn: Connection, score_token: int | None, state: SpectatorState
    ) -> None:
        await self._begin(conn, score_token, state)

    @hub_method
    async def SendFrameDataV2(
        self, conn: Connection, score_token: int | None, data: FrameDataBundle
    ) -> None:
        await self._frames(conn, score_token, data)

    @hub_method
    async def EndPlaySessionV2(
        self, conn: Connection, score_token: int | None, final_state: int
    ) -> None:
        if final_state not in STATES:
            raise HubError("Invalid final state.", "InvalidStateException")
        await self._end(conn, score_token, SpectatedUserState(final_state))

    # V1 (clients before 2026.726.0-lazer): the token is remembered on the connection.

    @hub_method
    async def BeginPlaySession(
        self, conn: Connection, score_token: int | None, state: SpectatorState
    ) -> None:
        await self._begin(conn, score_token, state)
        session(conn).v1_token = score_token

    @hub_method
    async def SendFrameData(self, conn: Connection, data: FrameDataBundle) -> None:
        await self._frames(conn, session(conn).v1_token, data)

    @hub_method
    async def EndPlaySession(self, conn: Connection, state: SpectatorState) -> None:
        current = session(conn)
        token, current.v1_token = current.v1_token, None
        final = state.state if state.state in STATES else SpectatedUserState.QUIT
        await self._end(conn, token if token in current.tokens else None, final)

    # --- watching ---------------------------------------------------------------------------

    @hub_method
    async def StartWatchingUser(self, conn: Connection, user_id: int) -> None:
        # Watching oneself means nothing (the client never offers it); accepted and ignored.
        if user_id == conn.user_id:
            return
        current = session(conn)
        if user_id not in current.watching and len(current.watching) >= self.max_watched:
            raise HubError("Watching too many users.", "InvalidStateException")
        stored = await self.services.cache.hget(state_key(user_id), "state")
        if stored is not None:
            conn.send("UserBeganPlaying", user_id, decode(stored, SpectatorState))
        current.watching.add(user_id)
        await self.add_to_group(conn, watch_group(user_id))
        watcher = SpectatorUser(online_id=conn.user_id, username=str(conn.user["username"]))
        await self.send_user(user_id, "UserStartedWatching", [watcher])

    @hub_method
    async def EndWatchingUser(self, conn: Connection, user_id: int) -> None:
        current = session(conn)
        await self.remove_from_group(conn, watch_group(user_id))
        if user_id in current.watching:
            current.watching.discard(user_id)
            await self.send_user(user_id, "UserEndedWatching", conn.user_id)

    # --- connection lifetime ----------------------------------------------------------------

    async def on_disconnected(self, conn: Connection) -> None:
        current = session(conn)
        # Leaving ends the streams; a reconnect that begins the same token again resumes it.
        for token in current.tokens:
            await self._end_buffer(current, token)
        current.tokens.clear()
        if current.state is not None:
            await self._finish_playing(conn, current.state.state)
        for user_id in current.watching:
            await self.send_user(user_id, "UserEndedWatching", conn.user_id)
        current.watching.clear()

    # --- score processing (from the `score_processed` hook, on whichever worker stored it) ---

    async def score_processed(self, score: dict[str, Any]) -> None:
        user_id, score_id = int(score["user_id"]), int(score["id"])
        await self.send_user(user_id, "UserScoreProcessed", user_id, score_id)
        token = await scores_db.token_of_score(self.services.db, score_id)
        if token is not None:
            self.spawn(self.finish_replay(token))
