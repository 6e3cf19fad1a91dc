"""What a moderation request names, read the same way by the admin API (`plugins.admin`) and the
web site's admin pages (`plugins.web.admin_pages`): the acting staff member, the target user,
ids and text fields. A refusal is a ModerationError with the API's status and message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from databases import Database

from core.http import Params
from core.moderation import audit
from core.moderation.audit import Actor, ModerationError
from core.users import store as users_db

# Usernames are at most 32 characters (core.users.store.username_errors allows fewer).
MAX_NAME = 32
# Ids are BIGINT: 18 decimal digits always fit.
MAX_ID_DIGITS = 18


async def staff(db: Database, user: Mapping[str, Any]) -> Actor:
    """The signed-in user as an actor; 403 unless they are an admin or a moderator."""
    actor = await audit.actor_for(db, user)
    if not actor.is_moderator:
        raise ModerationError("You must be an admin or moderator to do that.", 403)
    return actor


def object_id(raw: str, model: str) -> int:
    """A path's id; 404 for anything that names no row (osu-web's "couldn't be found")."""
    if not raw.isdecimal() or len(raw) > MAX_ID_DIGITS:
        raise ModerationError(f"Specified {model} couldn't be found.", 404)
    return int(raw)


async def target(db: Database, raw: str) -> dict[str, Any]:
    """The user named by id, by current username, or by `@username`; 404 when there is none."""
    row = None
    if raw.isdecimal() and len(raw) <= MAX_ID_DIGITS:
        row = await users_db.get_user(db, int(raw))
    elif 0 < len(raw) <= MAX_NAME:
        row = await users_db.find_by_username(db, raw.removeprefix("@"), previous=False)
    if row is None or row["is_deleted"]:
        raise ModerationError("Specified User couldn't be found.", 404)
    return row


def text(p: Params, key: str, *, max_length: int = 255) -> Any:
    """An optional text field (None when absent)."""
    value = p.get(key)
    if value is not None and not isinstance(value, str):
        raise ModerationError(f"{key} must be text")
    if isinstance(value, str) and len(value) > max_length:
        raise ModerationError(f"{key} is at most {max_length} characters")
    return value


def reason(p: Params, *, required: bool) -> str | None:
    return audit.clean_reason(p.get("reason"), required=required)


def note(p: Params) -> str | None:
    """A report's closing note (`note`, or `reason` as the API also accepts)."""
    return audit.clean_reason(p.get("note") or p.get("reason"), required=False)


def supporter(p: Params) -> bool:
    on = p.bool("supporter")
    if on is None:
        raise ModerationError("supporter (true or false) is required")
    return on


def playmodes(p: Params) -> list[str]:
    """A group membership's rulesets (`core.moderation.identity` checks the names)."""
    modes = p.list("playmodes", max_items=4)
    if not all(isinstance(m, str) for m in modes):
        raise ModerationError("playmodes must be ruleset names")
    return modes
