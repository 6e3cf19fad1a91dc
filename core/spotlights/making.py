"""Making a spotlight and adding its beatmapsets, for the command line (`hitcircle spotlights
create|add-set`) and the web admin pages alike: the same checks, and an audit entry each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.applications import Starlette

from core.moderation.audit import Actor, ModerationError, record, require
from core.services import Services, services
from core.spotlights import store as spotlights_db

MAX_NAME = 255
# Beatmapset ids are BIGINT; past this no set exists (and the drivers would refuse the number).
MAX_SET_ID = 2**63 - 1


def parse_window(start: str, end: str) -> tuple[dt.datetime, dt.datetime]:
    """[first day 00:00:00, last day 23:59:59] in naive UTC; ValueError when it is no window."""
    try:
        first = dt.date.fromisoformat(start)
        last = dt.date.fromisoformat(end)
    except ValueError:
        raise ValueError("dates are YYYY-MM-DD") from None
    if last < first:
        raise ValueError("the end date is before the start date")
    return (
        dt.datetime.combine(first, dt.time.min),
        dt.datetime.combine(last, dt.time(23, 59, 59)),
    )


def clean_name(name: Any) -> str:
    text = name.strip() if isinstance(name, str) else ""
    if not text or len(text) > MAX_NAME:
        raise ModerationError(f"the name must have 1 to {MAX_NAME} characters")
    return text


def check(name: Any, type: Any, start: Any, end: Any) -> tuple[str, dt.datetime, dt.datetime]:
    """(name, start, end) of a spotlight to make; ModerationError for the first problem."""
    text = clean_name(name)
    if type not in spotlights_db.TYPES:
        raise ModerationError(f"the type must be one of {', '.join(spotlights_db.TYPES)}")
    if not isinstance(start, str) or not isinstance(end, str):
        raise ModerationError("dates are YYYY-MM-DD")
    try:
        first, last = parse_window(start, end)
    except ValueError as exc:
        raise ModerationError(str(exc)) from None
    return text, first, last


async def create(
    svc: Services, actor: Actor, *, name: Any, type: Any, start: Any, end: Any, mode_specific: bool
) -> dict[str, Any]:
    """Make a spotlight; the audit entry (its `details` carry the new `spotlight_id`)."""
    require(actor, "spotlight_create")
    text, first, last = check(name, type, start, end)
    spotlight_id = await spotlights_db.create(
        svc.db, name=text, type=type, start=first, end=last, mode_specific=mode_specific
    )
    return await record(
        svc.db,
        actor,
        "spotlight_create",
        user_id=None,
        reason=None,
        spotlight_id=spotlight_id,
        name=text,
        type=type,
        start=first.date().isoformat(),
        end=last.date().isoformat(),
        mode_specific=mode_specific,
    )


async def add_set(app: Starlette, actor: Actor, spotlight_id: int, set_id: int) -> dict[str, Any]:
    """Add a beatmapset known here or found through the beatmap sources; the audit entry."""
    from core.beatmaps import resolve

    require(actor, "spotlight_add_set")
    db = services(app).db
    if await spotlights_db.get(db, spotlight_id) is None:
        raise ModerationError(f"no spotlight {spotlight_id}", 404)
    beatmapset = await resolve.find_set(app, set_id) if 0 < set_id <= MAX_SET_ID else None
    if beatmapset is None or beatmapset["deleted_at"] is not None:
        raise ModerationError(f"no beatmapset {set_id}", 404)
    if not await spotlights_db.add_set(db, spotlight_id, set_id):
        raise ModerationError(f"beatmapset {set_id} is already in spotlight {spotlight_id}")
    return await record(
        db,
        actor,
        "spotlight_add_set",
        user_id=None,
        reason=None,
        spotlight_id=spotlight_id,
        beatmapset_id=set_id,
        artist=beatmapset["artist"],
        title=beatmapset["title"],
    )
