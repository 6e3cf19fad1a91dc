"""API v1 `get_user`: every value a string, the exact error strings of the legacy API."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.db import utcnow
from core.http import json, params
from core.http import time_v1 as v1_date
from core.openapi import describe
from core.scores.scoring import RULESETS
from core.services import services
from core.users import events, statistics
from core.users import store as users_db

INVALID_KEY = {"error": "Please provide a valid API key."}
# `event_days` is clamped to 1-31 (default 1); the newest events of that window are listed.
EVENT_DAYS_MAX = 31
EVENTS_MAX = 100


@describe(responses={200: "V1Rows"})
async def get_user(request: Request) -> Response:
    db = services(request).db
    p = await params(request)
    key = p.get("k")
    if not isinstance(key, str) or await users_db.api_key_owner(db, key) is None:
        return json(INVALID_KEY, 401)
    u = p.get("u")
    if not isinstance(u, str) or not u or len(u) > 32:
        return json([])
    mode_raw = p.get("m", "0")
    if not isinstance(mode_raw, str) or mode_raw not in ("0", "1", "2", "3"):
        return json([])
    kind = p.get("type")
    row = None
    if kind == "id" or (kind != "string" and u.isdecimal()):
        row = await users_db.get_user(db, int(u)) if u.isdecimal() and len(u) <= 18 else None
    if row is None and kind != "id":
        row = await users_db.find_by_username(db, u, previous=False)
    if row is None or row["restricted"] or row["is_deleted"]:
        return json([])
    ruleset = RULESETS[int(mode_raw)]
    uid = int(row["id"])
    stats = (await statistics.statistics_for(db, [uid], ruleset))[uid]
    days = p.get("event_days", "1")
    days = int(days) if isinstance(days, str) and days.isdecimal() and len(days) <= 4 else 1
    since = utcnow() - dt.timedelta(days=max(1, min(days, EVENT_DAYS_MAX)))
    recent = await events.of_user(db, uid, limit=EVENTS_MAX, since=since)
    body = {
        "user_id": str(uid),
        "username": row["username"],
        "join_date": v1_date(row["join_date"]),
        **statistics.v1_fields(stats),
        "country": row["country_code"],
        "events": [events.v1_shape(e) for e in recent],
    }
    ordered = {
        k: body[k]
        for k in (
            "user_id",
            "username",
            "join_date",
            "count300",
            "count100",
            "count50",
            "playcount",
            "ranked_score",
            "total_score",
            "pp_rank",
            "level",
            "pp_raw",
            "accuracy",
            "count_rank_ss",
            "count_rank_ssh",
            "count_rank_s",
            "count_rank_sh",
            "count_rank_a",
            "country",
            "total_seconds_played",
            "pp_country_rank",
            "events",
        )
    }
    return json([ordered])


ROUTES = [
    Route("/api/get_user", get_user, methods=["GET"]),
    Route("/api/v1/get_user", get_user, methods=["GET"]),
]
