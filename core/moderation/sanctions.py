"""Silence, restrict, ban and lifting them again.

- A silence stops chat until it ends (`core.chat.service.record_error` answers the official
  error) and is listed in `silences` of `/chat/updates` and `/chat/ack`, which is how lazer
  learns of it and drops the silenced user's messages (ppy/osu osu.Game/Online/Chat/
  ChannelManager.cs; osu-web ChatController::updates).
- A restriction hides the player from others (rankings, leaderboards, search, profiles) and
  stops chat and multiplayer; they can still sign in (osu-web `User::isRestricted`).
- A ban is a restriction that also refuses sign-in (osu-web `User::isBanned`) and ends every
  session at once.

Silences, restrictions and bans write an account history entry (`core.users.activity`:
silences are shown to everyone, restrictions to the user only, as osu-web does); lifting one
writes none there (osu-web's history has no such type). Every action writes an audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.auth import forget_user, revoke_user_tokens
from core.chat import service as chat
from core.chat import store as chat_db
from core.moderation.audit import Actor, ModerationError, check_target, record, require
from core.scores import leaderboard
from core.scores import store as scores_db
from core.services import Services
from core.users import activity, profiles
from core.users import store as users_db

# What a banned user is told when signing in (the OAuth hint lazer shows).
Row = Mapping[str, Any]


async def _changed(svc: Services, user_id: int, *, boards: bool) -> None:
    """Forget the cached user and, when visibility changed, every leaderboard they are on."""
    await profiles.invalidate(svc, user_id)
    await forget_user(svc, user_id)
    if boards:
        for beatmap_id, ruleset_id in await scores_db.user_boards(svc.db, user_id):
            await leaderboard.changed(svc.cache, beatmap_id, ruleset_id)


async def silence(
    svc: Services, actor: Actor, target: Row, seconds: int, reason: str | None
) -> dict[str, Any]:
    require(actor, "silence")
    await check_target(svc.db, actor, target)
    user_id = int(target["id"])
    silence_id = await chat.silence(svc, user_id, seconds, reason, actor.user_id)
    await activity.add_history(
        svc.db, user_id, "silence", description=reason, length=seconds, actor_id=actor.user_id
    )
    await profiles.invalidate(svc, user_id)
    return await record(
        svc.db,
        actor,
        "silence",
        user_id=user_id,
        reason=reason,
        seconds=seconds,
        silence_id=silence_id,
    )


async def unsilence(svc: Services, actor: Actor, target: Row, reason: str | None) -> dict[str, Any]:
    require(actor, "unsilence")
    await check_target(svc.db, actor, target)
    if not chat.is_silenced(target):
        raise ModerationError("That user is not silenced.")
    user_id = int(target["id"])
    await chat_db.end_silences(svc.db, user_id)
    await users_db.update_user(svc.db, user_id, silenced_until=None)
    await _changed(svc, user_id, boards=False)
    return await record(svc.db, actor, "unsilence", user_id=user_id, reason=reason)


async def restrict(svc: Services, actor: Actor, target: Row, reason: str | None) -> dict[str, Any]:
    require(actor, "restrict")
    await check_target(svc.db, actor, target)
    if target["restricted"]:
        raise ModerationError("That user is already restricted.")
    user_id = int(target["id"])
    await users_db.update_user(svc.db, user_id, restricted=True)
    await activity.add_history(
        svc.db,
        user_id,
        "restriction",
        description=reason,
        permanent=True,
        actor_id=actor.user_id,
    )
    await _changed(svc, user_id, boards=True)
    return await record(svc.db, actor, "restrict", user_id=user_id, reason=reason)


async def ban(svc: Services, actor: Actor, target: Row, reason: str | None) -> dict[str, Any]:
    require(actor, "ban")
    await check_target(svc.db, actor, target)
    if target["banned"]:
        raise ModerationError("That user is already banned.")
    user_id = int(target["id"])
    await users_db.update_user(svc.db, user_id, restricted=True, banned=True)
    await activity.add_history(
        svc.db,
        user_id,
        "restriction",
        description=reason,
        permanent=True,
        actor_id=actor.user_id,
    )
    # Every session ends now; signing in again is refused (core.auth.signin.refusal).
    await revoke_user_tokens(svc, user_id)
    await _changed(svc, user_id, boards=not target["restricted"])
    return await record(svc.db, actor, "ban", user_id=user_id, reason=reason)


async def unrestrict(
    svc: Services, actor: Actor, target: Row, reason: str | None
) -> dict[str, Any]:
    """Lift a restriction or a ban (a ban only by an admin)."""
    require(actor, "unrestrict")
    if target["banned"]:
        require(actor, "ban")
    await check_target(svc.db, actor, target)
    if not target["restricted"] and not target["banned"]:
        raise ModerationError("That user is not restricted.")
    user_id = int(target["id"])
    await users_db.update_user(svc.db, user_id, restricted=False, banned=False)
    await _changed(svc, user_id, boards=True)
    return await record(
        svc.db,
        actor,
        "unrestrict",
        user_id=user_id,
        reason=reason,
        was_banned=bool(target["banned"]),
    )
