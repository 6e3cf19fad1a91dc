"""API v1 `get_scores`, `get_user_best`, `get_user_recent` (ppy/osu-api wiki) from lazer-format
scores, converted like osu-web's `app/Models/Solo/Score.php` makeLegacyEntry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.beatmaps import store as beatmaps_db
from core.db import utcnow
from core.http import Params, json, params
from core.openapi import describe
from core.scores import store as scores_db
from core.scores import views
from core.services import services
from core.users import store as users_db

INVALID_KEY = {"error": "Please provide a valid API key."}


async def _authorised(request: Request) -> Params | None:
    p = await params(request)
    key = p.get("k")
    if not isinstance(key, str) or await users_db.api_key_owner(services(request).db, key) is None:
        return None
    return p


def _ruleset(p: Params) -> int | None:
    raw = p.get("m", "0")
    text = str(raw).strip()
    return int(text) if text in ("0", "1", "2", "3") else None


def _limit(p: Params, default: int, maximum: int) -> int:
    raw = p.get("limit")
    try:
        value = int(str(raw)) if raw is not None else default
    except ValueError:
        value = default
    return max(1, min(value, maximum))


async def _user(request: Request, p: Params) -> dict[str, Any] | None:
    u = p.get("u")
    if not isinstance(u, str) or not u or len(u) > 32:
        return None
    db = services(request).db
    kind = p.get("type")
    row = None
    if kind == "id" or (kind != "string" and u.isdecimal()):
        row = await users_db.get_user(db, int(u)) if u.isdecimal() and len(u) <= 18 else None
    if row is None and kind != "id":
        row = await users_db.find_by_username(db, u, previous=False)
    if row is None or row["restricted"] or row["is_deleted"]:
        return None
    return row


async def _rows(
    request: Request, ids: list[int], *, beatmap_id: bool, pp: bool, usernames: bool = False
) -> list[dict[str, Any]]:
    db = services(request).db
    found = await scores_db.get_scores(db, ids)
    ordered = [found[i] for i in ids if i in found]
    names: dict[int, str] = {}
    if usernames:
        names = {
            int(u["id"]): u["username"]
            for u in await users_db.get_users(db, [int(s["user_id"]) for s in ordered])
        }
    return [
        views.v1_row(
            s,
            beatmap_id=beatmap_id,
            pp=pp,
            username=names.get(int(s["user_id"]), "") if usernames else None,
        )
        for s in ordered
    ]


@describe(responses={200: "V1Rows"})
async def get_scores(request: Request) -> Response:
    p = await _authorised(request)
    if p is None:
        return json(INVALID_KEY, 401)
    ruleset = _ruleset(p)
    raw_b = str(p.get("b", "")).strip()
    if ruleset is None or not raw_b.isdecimal() or len(raw_b) > 18:
        return json([])
    db = services(request).db
    beatmap = await beatmaps_db.beatmap_by_id(db, int(raw_b))
    if beatmap is None or int(beatmap["status"]) not in scores_db.LEADERBOARD_STATUSES:
        return json([])
    limit = _limit(p, 50, 100)
    user_ids = None
    if p.get("u") is not None:
        user = await _user(request, p)
        if user is None:
            return json([])
        user_ids = [int(user["id"])]
    mods_raw = str(p.get("mods", "")).strip()
    legacy_mods = int(mods_raw) if mods_raw.isdecimal() and len(mods_raw) < 12 else None
    ids = await scores_db.leaderboard(
        db, int(beatmap["id"]), ruleset, limit=limit, user_ids=user_ids, legacy_mods=legacy_mods
    )
    return json(await _rows(request, ids, beatmap_id=False, pp=True, usernames=True))


@describe(responses={200: "V1Rows"})
async def get_user_best(request: Request) -> Response:
    p = await _authorised(request)
    if p is None:
        return json(INVALID_KEY, 401)
    ruleset = _ruleset(p)
    user = await _user(request, p)
    if ruleset is None or user is None:
        return json([])
    ids = await scores_db.best_ids(
        services(request).db, int(user["id"]), ruleset, _limit(p, 10, 100)
    )
    return json(await _rows(request, ids, beatmap_id=True, pp=True))


@describe(responses={200: "V1Rows"})
async def get_user_recent(request: Request) -> Response:
    p = await _authorised(request)
    if p is None:
        return json(INVALID_KEY, 401)
    ruleset = _ruleset(p)
    user = await _user(request, p)
    if ruleset is None or user is None:
        return json([])
    since = utcnow() - dt.timedelta(hours=24)
    ids = await scores_db.recent_ids(
        services(request).db,
        int(user["id"]),
        ruleset,
        since=since,
        include_fails=True,
        limit=_limit(p, 10, 50),
        offset=0,
    )
    return json(await _rows(request, ids, beatmap_id=True, pp=False))


ROUTES = [
    Route("/api/get_scores", get_scores, methods=["GET", "HEAD"]),
    Route("/api/get_user_best", get_user_best, methods=["GET", "HEAD"]),
    Route("/api/get_user_recent", get_user_recent, methods=["GET", "HEAD"]),
]
