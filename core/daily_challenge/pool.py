"""Editing the daily challenge pool: queueing a map and dropping a queued one, for the command
line (`hitcircle daily-challenge pool`) and the web admin pages alike. Each checks the map and
mods as a playlist item is checked (`core.rooms.items.check_item`) and writes an audit entry.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette

from core.daily_challenge import store as dc_db
from core.http import in_int64
from core.moderation.audit import Actor, ModerationError, record, require
from core.rooms.items import InvalidItem, check_item
from core.services import services

# Mods as typed: `HD,HR`, or a JSON array; a day's item has few, so this is ample.
MAX_MODS_TEXT = 2000


def parse_mods(value: str) -> list[Any]:
    """`HD,HR` or a JSON array of lazer mods (`[{"acronym": "DT", "settings": {...}}]`)."""
    value = value.strip()
    if not value:
        return []
    if len(value) > MAX_MODS_TEXT:
        raise InvalidItem(f"mods are at most {MAX_MODS_TEXT} characters")
    if value.startswith(("[", "{")):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidItem(f"mods are not valid JSON: {exc}") from None
        if not isinstance(parsed, list):
            raise InvalidItem("mods must be a JSON array")
        return parsed
    return [{"acronym": part.strip()} for part in value.split(",") if part.strip()]


def _acronyms(mods: list[dict[str, Any]]) -> list[str]:
    return [str(m["acronym"]) for m in mods]


async def add(
    app: Starlette,
    actor: Actor,
    beatmap_id: int,
    ruleset_id: int | None,
    required: str,
    allowed: str,
) -> dict[str, Any]:
    """Queue `beatmap_id` (in `ruleset_id`, default the map's own); the audit entry."""
    from core.beatmaps import resolve

    require(actor, "daily_challenge_add")
    try:
        req_mods, alw_mods = parse_mods(required), parse_mods(allowed)
        if not in_int64(beatmap_id):
            raise InvalidItem("Attempted to add a beatmap which does not exist online.")
        if ruleset_id is None:
            found = None
            if beatmap_id > 0:
                found = await resolve.find_beatmap(app, beatmap_id=beatmap_id)
            ruleset_id = int(found["mode"]) if found is not None else 0
        beatmap, req, alw = await check_item(
            app,
            beatmap_id=beatmap_id,
            ruleset_id=ruleset_id,
            checksum=None,
            required=req_mods,
            allowed=alw_mods,
            freestyle=False,
        )
    except InvalidItem as exc:
        raise ModerationError(str(exc)) from None
    db = services(app).db
    entry_id = await dc_db.add_entry(db, int(beatmap["id"]), ruleset_id, req, alw)
    return await record(
        db,
        actor,
        "daily_challenge_add",
        user_id=None,
        reason=None,
        entry_id=entry_id,
        beatmap_id=int(beatmap["id"]),
        ruleset_id=ruleset_id,
        required=_acronyms(req),
        allowed=_acronyms(alw),
    )


async def remove(app: Starlette, actor: Actor, entry_id: int) -> dict[str, Any]:
    """Drop a queued entry (a used one is history and stays); the audit entry."""
    require(actor, "daily_challenge_remove")
    db = services(app).db
    if not in_int64(entry_id) or not await dc_db.remove_entry(db, entry_id):
        raise ModerationError(f"no queued pool entry {entry_id}", 404)
    return await record(
        db, actor, "daily_challenge_remove", user_id=None, reason=None, entry_id=entry_id
    )
