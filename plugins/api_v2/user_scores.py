"""API v2 `/users/{user}/scores/{type}`: best, firsts, recent and pinned scores."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route
from core.db import utcnow
from core.http import json, not_found, params
from core.openapi import describe
from core.openapi_schemas import array
from core.scores import store as scores_db
from core.scores import views
from core.services import services
from plugins.api_v2._score_common import api_version, find_user, ruleset_id, viewer_id

TYPES = ("best", "firsts", "recent", "pinned")
BEST_MAX = 200
RECENT_MAX = 100


@describe(responses={200: array("AnyScore")})
async def user_scores(request: Request) -> Response:
    kind = request.path_params["type"]
    if kind not in TYPES:
        raise not_found()
    user = await find_user(request, request.path_params["user"])
    if user is None:
        raise not_found()
    p = await params(request)
    mode = p.str("mode")
    ruleset = int(user["playmode"]) if mode is None else ruleset_id(mode)
    if ruleset is None:
        raise not_found()
    limit = max(1, min(p.int("limit", 5) or 5, 100))
    offset = max(0, p.int("offset", 0) or 0)
    db = services(request).db
    uid = int(user["id"])
    weight_offset = None
    if kind == "best":
        all_ids = await scores_db.best_ids(db, uid, ruleset, BEST_MAX)
        ids = all_ids[offset : offset + limit]
        weight_offset = offset
    elif kind == "firsts":
        if p.bool("legacy_only", False):
            ids = []
        else:
            statuses = scores_db.LEADERBOARD_STATUSES
            ids = await scores_db.first_place_ids(db, uid, ruleset, statuses, limit, offset)
    elif kind == "recent":
        limit = max(0, min(limit, RECENT_MAX - offset))
        since = utcnow() - dt.timedelta(hours=24)
        include_fails = bool(p.bool("include_fails", False))
        ids = (
            await scores_db.recent_ids(
                db,
                uid,
                ruleset,
                since=since,
                include_fails=include_fails,
                limit=limit,
                offset=offset,
            )
            if limit
            else []
        )
    else:
        ids = await scores_db.pinned_ids(db, uid, ruleset, limit, offset)
    found = await scores_db.get_scores(db, ids)
    rendered = await views.render(
        request.app,
        [found[i] for i in ids if i in found],
        version=api_version(request),
        beatmap=True,
        beatmapset=True,
        user=True,
        viewer_id=viewer_id(request),
        weight_offset=weight_offset,
    )
    return json(rendered)


ROUTES = [
    api_route("/api/v2/users/{user}/scores/{type}", user_scores, methods=["GET", "HEAD"]),
]
