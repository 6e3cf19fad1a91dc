"""JSON shapes: UserGroup (ppy/osu-web app/Transformers/UserGroupTransformer.php) and
UserBadge (`UserBadgeTransformer`), as `groups` and `badges` of user objects."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from databases import Database

from core.http import time_offset
from core.moderation import store as moderation_db


def user_group(row: Mapping[str, Any]) -> dict[str, Any]:
    """A group as one member has it: the membership's playmodes and probation."""
    description = row["description"]
    modes = row.get("member_playmodes")
    return {
        "colour": row["colour"],
        "description": (
            None
            if description is None
            else {"html": html.escape(description), "markdown": description}
        ),
        "has_listing": bool(row["has_listing"]),
        "has_playmodes": bool(row["has_playmodes"]),
        "id": int(row["id"]),
        "identifier": row["identifier"],
        "is_probationary": bool(row.get("is_probationary", False)),
        "name": row["name"],
        "playmodes": (modes.split(",") if modes else []) if row["has_playmodes"] else None,
        "short_name": row["short_name"],
    }


def badge(row: Mapping[str, Any]) -> dict[str, Any]:
    image = str(row["image_url"])
    # osu-web serves a double-size image beside each badge image, named with @2x.
    stem, dot, ext = image.rpartition(".")
    double = f"{stem}@2x.{ext}" if dot and "/" not in ext else image
    return {
        "awarded_at": time_offset(row["awarded_at"]),
        "description": row["description"],
        "image_url": image,
        "image@2x_url": double,
        "url": row["url"],
    }


async def groups_of(db: Database, user_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found = await moderation_db.memberships(db, user_ids)
    return {uid: [user_group(r) for r in rows] for uid, rows in found.items()}


async def badges_of(db: Database, user_id: int) -> list[dict[str, Any]]:
    return [badge(r) for r in await moderation_db.user_badges(db, user_id)]
