"""Countdowns (ppy/osu MultiplayerCountdown.cs): match start, forced gameplay start, shutdown.

A countdown is an entry of the room's ActiveCountdowns plus a wall-clock deadline in the room
state. The worker that starts one arms a local timer; every worker also polls the `mp:deadlines`
sorted set (room id -> earliest deadline) and takes over deadlines overdue by more than a
moment, so a countdown still fires when the worker that started it has gone. Firing happens
under the room lock and removes the countdown from the state, so it fires exactly once.
"""

from __future__ import annotations

from datetime import timedelta

from core.lazer.types import (
    CountdownStartedEvent,
    CountdownStoppedEvent,
    MultiplayerRoomState,
    MultiplayerUserState,
)
from plugins.multiplayer.context import Ctx
from plugins.multiplayer.state import COUNTDOWN_KINDS, Deadline

MATCH_START = "match_start"
FORCE_START = "force_start"
SHUTDOWN = "shutdown"
FORCE_START_SECONDS = 30.0
# Timers armed locally fire this early at most; the state decides what is due.
EPSILON = 0.005


def find(ctx: Ctx, kind: str) -> int | None:
    for countdown_id, deadline in ctx.state.deadlines.items():
        if deadline.kind == kind:
            return countdown_id
    return None


def start(ctx: Ctx, kind: str, seconds: float) -> int:
    """Start a countdown; an exclusive one (all of ours are) replaces others of its kind."""
    stop_kind(ctx, kind)
    state = ctx.state
    countdown_id = state.next_countdown_id
    state.next_countdown_id += 1
    countdown = COUNTDOWN_KINDS[kind](id=countdown_id, time_remaining=timedelta(seconds=seconds))
    deadline = ctx.clock.time() + seconds
    state.room.active_countdowns.append(countdown)
    state.deadlines[countdown_id] = Deadline(kind, deadline)
    ctx.out.room("MatchEvent", CountdownStartedEvent(countdown=countdown))
    ctx.out.timers.append(deadline)
    return countdown_id


def stop(ctx: Ctx, countdown_id: int) -> None:
    state = ctx.state
    if state.deadlines.pop(countdown_id, None) is None:
        return
    state.room.active_countdowns = [c for c in state.room.active_countdowns if c.id != countdown_id]
    ctx.out.room("MatchEvent", CountdownStoppedEvent(id=countdown_id))


def stop_kind(ctx: Ctx, kind: str) -> None:
    for countdown_id, deadline in list(ctx.state.deadlines.items()):
        if deadline.kind == kind:
            stop(ctx, countdown_id)


def due(ctx: Ctx, now: float | None = None) -> list[tuple[int, str]]:
    moment = (ctx.clock.time() if now is None else now) + EPSILON
    return sorted((cid, d.kind) for cid, d in ctx.state.deadlines.items() if d.at <= moment)


def auto_start_seconds(ctx: Ctx) -> float:
    return ctx.room.settings.auto_start_duration.total_seconds()


def update_auto_start(ctx: Ctx) -> None:
    """With auto-start on, an Open room with a playable item and someone Ready counts down."""
    seconds = auto_start_seconds(ctx)
    if seconds <= 0 or ctx.room.state != MultiplayerRoomState.OPEN:
        return
    item = ctx.state.current_item
    if item is None or item.expired or find(ctx, MATCH_START) is not None:
        return
    if any(u.state == MultiplayerUserState.READY for u in ctx.room.users):
        start(ctx, MATCH_START, seconds)
