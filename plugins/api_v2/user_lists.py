"""API v2 lists on a profile: beatmapsets by kind, recent activity, kudosu, own favourites, and
the kudosu ranking (ppy/osu-web UsersController `beatmapsets`, `recentActivity`, `kudosu`;
BeatmapsetsController favourites; RankingController `kudosu`)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, require_user
from core.beatmaps import responses as beatmap_responses
from core.beatmaps import store as beatmaps_db
from core.beatmaps import views as beatmap_views
from core.http import Params, json, not_found, params
from core.openapi import describe
from core.openapi_schemas import INT, array, obj, ref
from core.services import services
from core.users import activity, events
from plugins.api_v2._beatmap_common import viewer
from plugins.api_v2._score_common import find_user

# `offset + limit` may not pass this for recent activity and kudosu (osu-web's 100).
HISTORY_MAX = 100
# The furthest a set list pages (an offset past any real list, kept small for the database).
LIST_MAX_OFFSET = 100_000


def _page(p: Params, *, default: int = 5, cap: int | None = None) -> tuple[int, int]:
    """(limit, offset) as osu-web reads them: out-of-range values are clamped, not refused."""
    limit = max(1, min(_lenient_int(p, "limit", default), 100))
    offset = max(0, min(_lenient_int(p, "offset", 0), LIST_MAX_OFFSET))
    if cap is not None:
        limit = max(0, min(limit, cap - offset))
    return limit, offset


def _lenient_int(p: Params, key: str, default: int) -> int:
    raw = p.get(key)
    if isinstance(raw, str) and raw.strip().lstrip("-").isdecimal() and len(raw) <= 18:
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    return default


async def _user(request: Request) -> dict[str, Any]:
    user = await find_user(request, request.path_params["user"])
    if user is None:
        raise not_found("User")
    return user


@describe(
    responses={
        200: {
            "type": "array",
            "items": {"anyOf": [ref("BeatmapPlaycount"), ref("BeatmapsetExtended")]},
        }
    }
)
async def beatmapsets(request: Request) -> Response:
    kind = request.path_params["type"]
    kind = activity.SET_LIST_ALIASES.get(kind, kind)
    if kind not in (*activity.SET_LIST_KINDS, "most_played"):
        raise not_found()
    user = await _user(request)
    limit, offset = _page(await params(request))
    db = services(request).db
    uid = int(user["id"])
    if kind == "most_played":
        counts = await activity.most_played(db, uid, limit=limit, offset=offset)
        found = await beatmaps_db.beatmaps_by_ids(db, [b for b, _ in counts])
        maps = {int(m["id"]): m for m in found}
        sets = await beatmaps_db.beatmapsets_by_ids(
            db, {int(m["beatmapset_id"]) for m in maps.values()}
        )
        result = []
        for beatmap_id, count in counts:
            beatmap = maps.get(beatmap_id)
            if beatmap is None or int(beatmap["beatmapset_id"]) not in sets:
                continue
            result.append(
                {
                    "beatmap_id": beatmap_id,
                    "count": count,
                    "beatmap": beatmap_views.beatmap_compact(beatmap),
                    "beatmapset": beatmap_views.beatmapset_compact(
                        sets[int(beatmap["beatmapset_id"])]
                    ),
                }
            )
        return json(result)
    rows = await activity.set_list(db, uid, kind, limit=limit, offset=offset)
    return json(await beatmap_responses.search_sets(request.app, viewer(request), rows))


@describe(responses={200: array("Event")})
async def recent_activity(request: Request) -> Response:
    user = await _user(request)
    limit, offset = _page(await params(request), cap=HISTORY_MAX)
    if limit == 0:
        return json([])
    rows = await events.of_user(services(request).db, int(user["id"]), limit=limit, offset=offset)
    return json([events.shape(r) for r in rows])


@describe(responses={200: array("KudosuHistory")})
async def kudosu(request: Request) -> Response:
    """KudosuHistory[]: kudosu comes from modding and forum posts, which this server has not;
    the honest history is empty."""
    await _user(request)
    _page(await params(request), cap=HISTORY_MAX)
    return json([])


@describe(responses={200: obj({"ranking": array("User")})})
async def kudosu_ranking(request: Request) -> Response:
    """`{ranking: User[]}` of users with kudosu, most first: nobody has any here."""
    return json({"ranking": []})


@describe(responses={200: obj({"beatmapset_ids": {"type": "array", "items": INT}})})
async def own_favourites(request: Request) -> Response:
    user = require_user(request)
    ids = await beatmaps_db.favourite_set_ids(services(request).db, int(user["id"]))
    return json({"beatmapset_ids": ids})


ROUTES = [
    api_route("/api/v2/me/beatmapset-favourites", own_favourites, scope="identify"),
    api_route("/api/v2/users/{user}/beatmapsets/{type}", beatmapsets, methods=["GET", "HEAD"]),
    api_route("/api/v2/users/{user}/recent_activity", recent_activity, methods=["GET", "HEAD"]),
    api_route("/api/v2/users/{user}/kudosu", kudosu, methods=["GET", "HEAD"]),
    api_route("/api/v2/rankings/kudosu", kudosu_ranking, methods=["GET", "HEAD"]),
]
