"""Making a spotlight, for the command line (`hitcircle spotlights create`) and the web admin
pages alike: the same checks, and an audit entry. Its beatmapsets are added afterwards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.moderation.audit import Actor, ModerationError, record, require
from core.services import Services
from core.spotlights import store as spotlights_db

MAX_NAME = 255


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
