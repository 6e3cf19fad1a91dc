"""Match types (ppy/osu-server-spectator Hubs/Multiplayer/Standard/, ppy/osu
MatchUserRequest.cs): head-to-head and team versus room and user states, slots, and the match
requests that are not about countdowns."""

from __future__ import annotations

import secrets
from typing import Any

from core.lazer.types import (
    ChangeSlotRequest,
    ChangeTeamRequest,
    MatchmakingAvatarActionRequest,
    MatchType,
    MultiplayerRoomUser,
    MultiplayerRoomUserRole,
    RankedPlayCardHandReplayRequest,
    RollEvent,
    RollRequest,
    SetLockStateRequest,
    StandardMatchRoomState,
    TeamVersusRoomState,
    TeamVersusUserState,
)
from plugins.multiplayer.context import Ctx, invalid

TEAMS = (0, 1)
ROLL_DEFAULT = 100


def initial_state(match_type: MatchType, max_participants: int | None) -> Any:
    slots: list[int | None] | None = [None] * max_participants if max_participants else None
    if match_type == MatchType.TEAM_VERSUS:
        return TeamVersusRoomState(locked=False, slots=slots)
    return StandardMatchRoomState(locked=False, slots=slots)


def _players(ctx: Ctx, exclude: int | None = None) -> list[MultiplayerRoomUser]:
    return [
        u
        for u in ctx.room.users
        if u.role == MultiplayerRoomUserRole.PLAYER and u.user_id != exclude
    ]


def _pick_team(ctx: Ctx, user_id: int) -> int:
    """A team without players first, else the smallest (ties to the lower id)."""
    counts = dict.fromkeys(TEAMS, 0)
    for user in _players(ctx, exclude=user_id):
        if isinstance(user.match_state, TeamVersusUserState) and user.match_state.team_id in counts:
            counts[user.match_state.team_id] += 1
    return min(TEAMS, key=lambda team: (counts[team], team))


def _team_of(user: MultiplayerRoomUser) -> int | None:
    state = user.match_state
    return state.team_id if isinstance(state, TeamVersusUserState) else None


def _place_in_slot(ctx: Ctx, user: MultiplayerRoomUser) -> bool:
    """Put the user in the first free slot (a slot of its team in team versus); True if the
    slots changed."""
    slots = ctx.room.match_state.slots
    if slots is None or user.user_id in slots:
        return False
    team = _team_of(user)
    free = [i for i, holder in enumerate(slots) if holder is None]
    # Team versus aligns teams with slot columns: even slots red, odd slots blue.
    aligned = [i for i in free if team is None or i % 2 == team]
    choice = aligned[0] if aligned else free[0] if free else None
    if choice is None:
        return False
    slots[choice] = user.user_id
    return True


def _free_slot(ctx: Ctx, user_id: int) -> bool:
    slots = ctx.room.match_state.slots
    if slots is None or user_id not in slots:
        return False
    slots[slots.index(user_id)] = None
    return True


def user_joined(ctx: Ctx, user: MultiplayerRoomUser) -> None:
    """Team and slot of a new member, announced to the room."""
    if ctx.room.settings.match_type == MatchType.TEAM_VERSUS:
        user.match_state = TeamVersusUserState(team_id=_pick_team(ctx, user.user_id))
        ctx.out.room("MatchUserStateChanged", user.user_id, user.match_state)
    if _place_in_slot(ctx, user):
        ctx.out.room("MatchRoomStateChanged", ctx.room.match_state)


def user_left(ctx: Ctx, user_id: int) -> None:
    if _free_slot(ctx, user_id):
        ctx.out.room("MatchRoomStateChanged", ctx.room.match_state)


def reset(ctx: Ctx) -> None:
    """After a match type or size change: a fresh room state, every member placed again."""
    settings = ctx.room.settings
    previous = ctx.room.match_state
    ctx.room.match_state = initial_state(settings.match_type, settings.max_participants)
    if previous is not None and hasattr(previous, "locked"):
        ctx.room.match_state.locked = previous.locked
    team_versus = settings.match_type == MatchType.TEAM_VERSUS
    changed_users = []
    for user in ctx.room.users:
        before = user.match_state
        if team_versus:
            if _team_of(user) is None:
                user.match_state = TeamVersusUserState(team_id=_pick_team(ctx, user.user_id))
        else:
            user.match_state = None
        if user.match_state != before:
            changed_users.append(user)
    for user in ctx.room.users:
        if user.role == MultiplayerRoomUserRole.PLAYER:
            _place_in_slot(ctx, user)
    ctx.out.room("MatchRoomStateChanged", ctx.room.match_state)
    for user in changed_users:
        ctx.out.room("MatchUserStateChanged", user.user_id, user.match_state)


def handle(ctx: Ctx, user: MultiplayerRoomUser, request: Any) -> None:
    """Match requests of the standard room types (countdown requests are handled elsewhere)."""
    state = ctx.room.match_state
    if isinstance(request, ChangeTeamRequest):
        if not isinstance(state, TeamVersusRoomState):
            raise invalid("Teams can only be changed in team versus rooms.")
        if state.locked:
            raise invalid("Teams are locked.")
        if user.role != MultiplayerRoomUserRole.PLAYER:
            raise invalid("Referees cannot join a team.")
        if request.team_id not in {t.id for t in state.teams}:
            raise invalid("Attempted to set team out of valid range")
        if _team_of(user) == request.team_id:
            return
        user.match_state = TeamVersusUserState(team_id=request.team_id)
        ctx.out.room("MatchUserStateChanged", user.user_id, user.match_state)
        if state.slots is not None and user.user_id in state.slots:
            index = state.slots.index(user.user_id)
            if index % 2 != request.team_id:
                _free_slot(ctx, user.user_id)
                _place_in_slot(ctx, user)
                ctx.out.room("MatchRoomStateChanged", state)
        return
    if isinstance(request, SetLockStateRequest):
        if state.locked != request.locked:
            state.locked = request.locked
            ctx.out.room("MatchRoomStateChanged", state)
        return
    if isinstance(request, RollRequest):
        top = ROLL_DEFAULT if request.max is None else request.max
        if not 2 <= top <= ROLL_DEFAULT:
            raise invalid("Roll maximum must be between 2 and 100.")
        result = 1 + secrets.randbelow(top)
        ctx.out.room("MatchEvent", RollEvent(user_id=user.user_id, max=top, result=result))
        return
    if isinstance(request, ChangeSlotRequest):
        if state.slots is None:
            raise invalid("This room has no slots.")
        if state.locked:
            raise invalid("Slots are locked.")
        if not 0 <= request.slot_id < len(state.slots):
            raise invalid("Attempted to move to a slot that does not exist.")
        holder = state.slots[request.slot_id]
        if holder == user.user_id:
            return
        if holder is not None:
            raise invalid("That slot is taken.")
        _free_slot(ctx, user.user_id)
        state.slots[request.slot_id] = user.user_id
        ctx.out.room("MatchRoomStateChanged", state)
        return
    if isinstance(request, MatchmakingAvatarActionRequest | RankedPlayCardHandReplayRequest):
        raise invalid("This request is only valid in matchmaking rooms.")
    raise invalid("Unsupported match request.")
