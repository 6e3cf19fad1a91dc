"""API v1 `get_beatmaps` (every value a string, MySQL-format dates) and `GET /osu/{id}`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import mods
from core.beatmaps import attributes, difficulty, resolve
from core.beatmaps import store as beatmaps_db
from core.http import json, params
from core.http import time_v1 as _date
from core.openapi import describe
from core.services import services
from core.users import store as users_db

INVALID_KEY = {"error": "Please provide a valid API key."}
MAX_LIMIT = 500
_CHECKSUM = re.compile(r"^[0-9a-fA-F]{32}$")
# Mods that change star rating; others are ignored for the difficulty fields.
DIFFICULTY_MODS = frozenset({"EZ", "HR", "DT", "NC", "HT", "DC", "FL", "HD", "TD"})


def _num(value: Any) -> str:
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def _int_param(value: Any) -> int | None:
    """A v1 id parameter; anything that is not a plain non-negative integer is None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 18:
        return int(value)
    return None


def _mods(value: Any) -> list[str] | None:
    """aiosu sends acronyms (`HDDT`, `NM`), others the bitmask; unknown text counts as none."""
    if value is None or value == "":
        return []
    try:
        return mods.parse_acronyms(value, 0)
    except mods.InvalidMods:
        return None


@describe(responses={200: "V1Rows"})
async def get_beatmaps(request: Request) -> Response:
    db = services(request).db
    p = await params(request)
    key = p.get("k")
    if not isinstance(key, str) or await users_db.api_key_owner(db, key) is None:
        return json(INVALID_KEY, 401)
    raw_limit = p.get("limit")
    limit = MAX_LIMIT
    if raw_limit is not None:
        parsed = _int_param(raw_limit)
        if parsed is None or parsed < 1:
            return json({"error": "limit must be a whole number from 1 to 500"}, 422)
        limit = min(parsed, MAX_LIMIT)
    since = None
    if p.get("since") is not None:
        text = p.get("since")
        try:
            since = dt.datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S")
        except ValueError:
            try:
                since = dt.datetime.strptime(str(text), "%Y-%m-%d")
            except ValueError:
                return json({"error": "since must be a date as YYYY-MM-DD HH:MM:SS"}, 422)
    filters: dict[str, Any] = {"since": since, "limit": limit}
    for name, column in (("s", "set_id"), ("b", "beatmap_id")):
        if p.get(name) is not None:
            value = _int_param(p.get(name))
            if value is None:
                return json([])
            filters[column] = value
    user = p.get("u")
    if user is not None:
        if not isinstance(user, str) or len(user) > 255:
            return json([])
        kind = p.get("type")
        if kind == "id" or (kind != "string" and user.isdecimal()):
            value = _int_param(user)
            if value is None:
                return json([])
            filters["user_id"] = value
        else:
            filters["creator"] = user
    ruleset: int | None = None
    if p.get("m") is not None:
        ruleset = _int_param(p.get("m"))
        if ruleset not in (0, 1, 2, 3):
            return json([])
    converts = ruleset not in (None, 0) and p.get("a") in ("1", 1)
    if ruleset is not None:
        filters["modes"] = [ruleset, 0] if converts else [ruleset]
    checksum = p.get("h")
    if checksum is not None:
        if not isinstance(checksum, str) or not _CHECKSUM.match(checksum):
            return json([])
        filters["checksum"] = checksum.lower()
    acronyms = _mods(p.get("mods"))
    if acronyms is None:
        return json([])
    wanted = [m for m in acronyms if m in DIFFICULTY_MODS]
    rows = await beatmaps_db.legacy_listing(db, **filters)
    out = []
    for beatmap, beatmapset in rows:
        mode = ruleset if converts and beatmap["mode"] == 0 and ruleset else beatmap["mode"]
        attrs = await _attributes(request, beatmap, mode, wanted)
        out.append(_entry(beatmap, beatmapset, mode, attrs))
    return json(out)


async def _attributes(
    request: Request, beatmap: Mapping[str, Any], mode: int, wanted: list[str]
) -> dict[str, Any] | None:
    try:
        return await attributes.get(request.app, beatmap, mode, wanted)
    except (attributes.NoFile, difficulty.DifficultyError):
        return None


def _entry(
    beatmap: Mapping[str, Any],
    beatmapset: Mapping[str, Any],
    mode: int,
    attrs: dict[str, Any] | None,
) -> dict[str, Any]:
    status = int(beatmapset["status"])
    stars = attrs["star_rating"] if attrs else beatmap["difficulty_rating"]
    aim = attrs.get("aim_difficulty") if attrs and mode == 0 else None
    speed = attrs.get("speed_difficulty") if attrs and mode == 0 else None
    max_combo = attrs["max_combo"] if attrs else beatmap["max_combo"]
    return {
        "beatmapset_id": str(beatmap["beatmapset_id"]),
        "beatmap_id": str(beatmap["id"]),
        "approved": str(status),
        "total_length": str(beatmap["total_length"]),
        "hit_length": str(beatmap["hit_length"]),
        "version": beatmap["version"],
        "file_md5": beatmap["checksum"] or "",
        "diff_size": _num(beatmap["cs"]),
        "diff_overall": _num(beatmap["accuracy"]),
        "diff_approach": _num(beatmap["ar"]),
        "diff_drain": _num(beatmap["drain"]),
        "mode": str(mode),
        "count_normal": str(beatmap["count_circles"]),
        "count_slider": str(beatmap["count_sliders"]),
        "count_spinner": str(beatmap["count_spinners"]),
        "submit_date": _date(beatmapset["submitted_date"] or beatmapset["last_updated"]),
        "approved_date": _date(beatmapset["ranked_date"]) if status > 0 else None,
        "last_update": _date(beatmap["last_updated"]),
        "artist": beatmapset["artist"],
        "artist_unicode": beatmapset["artist_unicode"] or None,
        "title": beatmapset["title"],
        "title_unicode": beatmapset["title_unicode"] or None,
        "creator": beatmapset["creator"],
        "creator_id": str(beatmapset["user_id"]),
        "bpm": _num(beatmap["bpm"]),
        "source": beatmapset["source"],
        "tags": beatmapset["tags"],
        "genre_id": str(beatmapset["genre_id"]),
        "language_id": str(beatmapset["language_id"]),
        "favourite_count": str(beatmapset["favourite_count"]),
        "rating": _num(float(beatmapset["rating"])),
        "storyboard": "1" if beatmapset["storyboard"] else "0",
        "video": "1" if beatmapset["video"] else "0",
        "download_unavailable": "1" if beatmapset["download_disabled"] else "0",
        "audio_unavailable": "0",
        "playcount": str(beatmap["playcount"]),
        "passcount": str(beatmap["passcount"]),
        "packs": None,
        "max_combo": None if max_combo is None else str(max_combo),
        "diff_aim": None if aim is None else _num(float(aim)),
        "diff_speed": None if speed is None else _num(float(speed)),
        "difficultyrating": _num(float(stars)),
    }


@describe(content_type="text/plain")
async def osu_file(request: Request) -> Response:
    """The `.osu` text; no key needed (a website route)."""
    app = request.app
    beatmap = await resolve.find_beatmap(app, beatmap_id=request.path_params["beatmap"])
    if beatmap is None or beatmap["deleted_at"] is not None:
        return Response(b"", 404, media_type="text/plain")
    data = await resolve.osu_file(app, beatmap)
    if data is None:
        return Response(b"", 404, media_type="text/plain")
    return Response(data, media_type="text/plain")


ROUTES = [
    Route("/api/get_beatmaps", get_beatmaps, methods=["GET", "HEAD"]),
    Route("/api/v1/get_beatmaps", get_beatmaps, methods=["GET", "HEAD"]),
    Route("/osu/{beatmap:int}", osu_file, methods=["GET", "HEAD"]),
]
