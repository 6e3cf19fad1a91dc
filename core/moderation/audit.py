"""Who may moderate, and the audit log every moderation action writes.

Roles come from group membership (`core.moderation.store`): the `admin` group may do every
action; the `gmt` group (the Global Moderation Team) may do the player-moderation ones (see
MODERATOR_ACTIONS). The command line acts as the operator: every action, logged with no actor id
and the name "cli".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from databases import Database

from core.http import time_offset
from core.moderation import store as moderation_db

ADMIN = "admin"
MODERATOR = "gmt"

# What a moderator (gmt) may do; admins may do these and everything else.
MODERATOR_ACTIONS = frozenset(
    {
        "silence",
        "unsilence",
        "restrict",
        "unrestrict",
        "report_list",
        "report_resolve",
        "report_dismiss",
        "audit_read",
    }
)
ADMIN_ACTIONS = MODERATOR_ACTIONS | {
    "ban",
    "score_delete",
    "scores_wipe",
    "rename",
    "group_add",
    "group_remove",
    "group_create",
    "badge_add",
    "badge_remove",
    "supporter",
    "spotlight_create",
    "spotlight_add_set",
    "daily_challenge_add",
    "daily_challenge_remove",
}


class ModerationError(Exception):
    """An action refused; `status` is the HTTP status the API answers (404, 422, 403)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Actor:
    """Who acts: a user with their group identifiers, or the operator (`user_id` None)."""

    user_id: int | None
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_operator(self) -> bool:
        return self.user_id is None

    @property
    def is_admin(self) -> bool:
        return self.is_operator or ADMIN in self.roles

    @property
    def is_moderator(self) -> bool:
        return self.is_admin or MODERATOR in self.roles

    def may(self, action: str) -> bool:
        if self.is_admin:
            return action in ADMIN_ACTIONS
        return self.is_moderator and action in MODERATOR_ACTIONS


OPERATOR = Actor(None, "cli")


async def actor_for(db: Database, user: Mapping[str, Any]) -> Actor:
    roles = await moderation_db.group_identifiers(db, int(user["id"]))
    return Actor(int(user["id"]), str(user["username"]), frozenset(roles))


def require(actor: Actor, action: str) -> None:
    if not actor.may(action):
        raise ModerationError("You don't have permission to do that.", 403)


async def check_target(db: Database, actor: Actor, target: Mapping[str, Any]) -> None:
    """A moderator may not act on staff (admins or moderators), nor anyone on themselves."""
    if actor.user_id is not None and int(target["id"]) == actor.user_id:
        raise ModerationError("You can't do that to yourself.")
    if actor.is_admin:
        return
    roles = await moderation_db.group_identifiers(db, int(target["id"]))
    if roles & {ADMIN, MODERATOR}:
        raise ModerationError("Only an admin may do that to a member of staff.", 403)


async def record(
    db: Database,
    actor: Actor,
    action: str,
    *,
    user_id: int | None,
    reason: str | None,
    **details: Any,
) -> dict[str, Any]:
    """Write one audit entry; returns it as `entry_json` shapes it."""
    entry_id = await moderation_db.log(
        db,
        actor_id=actor.user_id,
        actor_name=actor.name,
        user_id=user_id,
        action=action,
        reason=reason,
        details=details,
    )
    (entry,) = await moderation_db.log_entries(db, before_id=entry_id + 1, limit=1)
    return entry_json(entry)


def entry_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": int(entry["id"]),
        "action": entry["action"],
        "actor_id": entry["actor_id"],
        "actor_name": entry["actor_name"],
        "user_id": entry["user_id"],
        "reason": entry["reason"],
        "details": entry["details"],
        "created_at": time_offset(entry["created_at"]),
    }


# --- input shared by the command line and the API ----------------------------------------------

_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# osu-web silences last at most a few weeks; a year is past any sensible silence.
MAX_SILENCE = 366 * 86400


def parse_duration(value: Any) -> int:
    """Seconds from `90`, `90s`, `15m`, `1h`, `7d`, `2w`; ModerationError otherwise."""
    if isinstance(value, bool) or value is None:
        raise ModerationError("duration is required, e.g. 1h, 30m, 7d")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (match := _DURATION.match(value.lower())):
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ModerationError("duration must be a number of seconds or like 1h, 30m, 7d")
    if seconds <= 0:
        raise ModerationError("duration must be positive")
    if seconds > MAX_SILENCE:
        raise ModerationError("duration is at most 366 days")
    return seconds


def clean_reason(value: Any, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ModerationError("reason is required")
        return None
    if not isinstance(value, str):
        raise ModerationError("reason must be text")
    text = value.strip()
    if len(text) > moderation_db.MAX_REASON:
        raise ModerationError(f"reason is at most {moderation_db.MAX_REASON} characters")
    return text
