"""Badges (osu-web `app/Models/UserBadge.php`) and osu!supporter status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.http import in_int64
from core.moderation import store as moderation_db
from core.moderation.audit import Actor, ModerationError, record, require
from core.services import Services
from core.users import profiles
from core.users import store as users_db

Row = Mapping[str, Any]


def _url(value: Any, field: str, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            raise ModerationError(f"{field} is required")
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise ModerationError(f"{field} must be a URL of at most 255 characters")
    if not value.startswith(("http://", "https://")):
        raise ModerationError(f"{field} must be an http(s) URL")
    return value


async def add_badge(
    svc: Services,
    actor: Actor,
    target: Row,
    *,
    description: Any,
    image_url: Any,
    url: Any = None,
) -> dict[str, Any]:
    require(actor, "badge_add")
    if not isinstance(description, str) or not description.strip() or len(description) > 255:
        raise ModerationError("description is required (at most 255 characters)")
    image = _url(image_url, "image_url", required=True)
    link = _url(url, "url", required=False)
    user_id = int(target["id"])
    badge_id = await moderation_db.add_badge(
        svc.db, user_id, description=description.strip(), image_url=image, url=link
    )
    await profiles.invalidate(svc, user_id)
    return await record(
        svc.db,
        actor,
        "badge_add",
        user_id=user_id,
        reason=None,
        badge_id=badge_id,
        description=description.strip(),
        image_url=image,
    )


async def remove_badge(svc: Services, actor: Actor, target: Row, badge_id: int) -> dict[str, Any]:
    require(actor, "badge_remove")
    badge = await moderation_db.get_badge(svc.db, badge_id) if in_int64(badge_id) else None
    # Another user's badge is "not found" for this user, as osu-web scopes the lookup.
    if badge is None or int(badge["user_id"]) != int(target["id"]):
        raise ModerationError("Specified UserBadge couldn't be found.", 404)
    await moderation_db.remove_badge(svc.db, badge_id)
    await profiles.invalidate(svc, int(target["id"]))
    return await record(
        svc.db,
        actor,
        "badge_remove",
        user_id=int(target["id"]),
        reason=None,
        badge_id=badge_id,
        description=badge["description"],
    )


async def set_supporter(svc: Services, actor: Actor, target: Row, on: bool) -> dict[str, Any]:
    """Make the account an osu!supporter (level 1 at least, `has_supported` kept), or stop."""
    require(actor, "supporter")
    user_id = int(target["id"])
    if on:
        level = max(int(target["support_level"]), 1)
        await users_db.update_user(svc.db, user_id, support_level=level, has_supported=True)
    else:
        await users_db.update_user(svc.db, user_id, support_level=0)
    await profiles.invalidate(svc, user_id)
    return await record(svc.db, actor, "supporter", user_id=user_id, reason=None, supporter=on)
