"""Renaming a player, and groups: creating custom ones and adding or removing members.

A rename follows the rules a player's own rename follows (`core.users.store.username_errors`,
names used before stay reserved for their owner) and keeps the old name in
`previous_usernames`. Group memberships show in `groups` of every user object
(`core.moderation.views.user_group`); the `bot` group also sets the account's `is_bot`, as
osu-web's `User::isBot` reads the group.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.auth import forget_user
from core.moderation import store as moderation_db
from core.moderation.audit import Actor, ModerationError, check_target, record, require
from core.scores.scoring import RULESETS
from core.services import Services
from core.users import profiles
from core.users import store as users_db

Row = Mapping[str, Any]
IDENTIFIER = re.compile(r"^[a-z0-9_]{2,32}$")
COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
BOT = "bot"


async def rename(
    svc: Services, actor: Actor, target: Row, username: str, reason: str | None
) -> dict[str, Any]:
    require(actor, "rename")
    await check_target(svc.db, actor, target)
    user_id = int(target["id"])
    old = str(target["username"])
    problems = users_db.username_errors(username)
    if problems:
        raise ModerationError(" ".join(problems))
    if username == old:
        raise ModerationError("That is already the user's name.")
    if await users_db.username_taken(svc.db, username, except_user=user_id):
        raise ModerationError("Username is already in use!")
    try:
        await users_db.rename(svc.db, user_id, old, username)
    except Exception:
        # A registration or rename took the name after the check; the unique index decided.
        if await users_db.username_taken(svc.db, username, except_user=user_id):
            raise ModerationError("Username is already in use!") from None
        raise
    await profiles.invalidate(svc, user_id)
    return await record(
        svc.db, actor, "rename", user_id=user_id, reason=reason, old=old, new=username
    )


async def find_group(svc: Services, identifier: Any) -> dict[str, Any]:
    if not isinstance(identifier, str) or not identifier.strip():
        raise ModerationError("group is required")
    group = await moderation_db.group_by_identifier(svc.db, identifier.strip()[:64])
    if group is None:
        raise ModerationError("Specified Group couldn't be found.", 404)
    return group


def _playmodes(group: Row, playmodes: Sequence[str] | None) -> list[str] | None:
    if not playmodes:
        return None
    if not group["has_playmodes"]:
        raise ModerationError("This group has no playmodes.")
    wrong = [p for p in playmodes if p not in RULESETS]
    if wrong:
        raise ModerationError(f"playmodes must be among {', '.join(RULESETS)}")
    return sorted(set(playmodes), key=RULESETS.index)


async def add_to_group(
    svc: Services,
    actor: Actor,
    target: Row,
    identifier: Any,
    *,
    playmodes: Sequence[str] | None = None,
    probationary: bool = False,
    reason: str | None = None,
) -> dict[str, Any]:
    require(actor, "group_add")
    await check_target(svc.db, actor, target)
    group = await find_group(svc, identifier)
    modes = _playmodes(group, playmodes)
    user_id = int(target["id"])
    new = await moderation_db.add_member(
        svc.db, user_id, int(group["id"]), playmodes=modes, probationary=probationary
    )
    if group["identifier"] == BOT:
        await users_db.update_user(svc.db, user_id, is_bot=True)
    await profiles.invalidate(svc, user_id)
    await forget_user(svc, user_id)
    return await record(
        svc.db,
        actor,
        "group_add",
        user_id=user_id,
        reason=reason,
        group=group["identifier"],
        playmodes=modes,
        probationary=probationary,
        updated=not new,
    )


async def remove_from_group(
    svc: Services, actor: Actor, target: Row, identifier: Any, reason: str | None = None
) -> dict[str, Any]:
    require(actor, "group_remove")
    await check_target(svc.db, actor, target)
    group = await find_group(svc, identifier)
    user_id = int(target["id"])
    if not await moderation_db.remove_member(svc.db, user_id, int(group["id"])):
        raise ModerationError("That user is not in this group.")
    if group["identifier"] == BOT:
        await users_db.update_user(svc.db, user_id, is_bot=False)
    await profiles.invalidate(svc, user_id)
    await forget_user(svc, user_id)
    return await record(
        svc.db, actor, "group_remove", user_id=user_id, reason=reason, group=group["identifier"]
    )


async def create_group(
    svc: Services,
    actor: Actor,
    *,
    identifier: Any,
    name: Any,
    short_name: Any,
    colour: Any = None,
    description: Any = None,
    has_playmodes: bool = False,
    has_listing: bool = True,
) -> dict[str, Any]:
    """A custom group (`identifier` lower case letters, digits, `_`)."""
    require(actor, "group_create")
    if not isinstance(identifier, str) or not IDENTIFIER.match(identifier):
        raise ModerationError("identifier must be 2-32 of a-z, 0-9 and _")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 64:
        raise ModerationError("name is required (at most 64 characters)")
    if not isinstance(short_name, str) or not short_name.strip() or len(short_name.strip()) > 8:
        raise ModerationError("short_name is required (at most 8 characters)")
    if colour is not None and (not isinstance(colour, str) or not COLOUR.match(colour)):
        raise ModerationError("colour must be like #99EB47")
    if description is not None and (not isinstance(description, str) or len(description) > 255):
        raise ModerationError("description must be text of at most 255 characters")
    if await moderation_db.group_by_identifier(svc.db, identifier) is not None:
        raise ModerationError("A group with that identifier exists already.")
    try:
        group_id = await moderation_db.create_group(
            svc.db,
            identifier=identifier,
            name=name.strip(),
            short_name=short_name.strip(),
            colour=None if colour is None else colour.upper(),
            description=description,
            has_listing=has_listing,
            has_playmodes=has_playmodes,
        )
    except Exception:
        if await moderation_db.group_by_identifier(svc.db, identifier) is not None:
            raise ModerationError("A group with that identifier exists already.") from None
        raise
    return await record(
        svc.db,
        actor,
        "group_create",
        user_id=None,
        reason=None,
        group=identifier,
        group_id=group_id,
        colour=colour,
    )
