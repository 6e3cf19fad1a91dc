"""API v2 players' feedback on beatmaps: set ratings, the tag list and tag votes.

osu-web BeatmapsetsController (ratings), TagsController and BeatmapTagsController: only a user
who passed a difficulty may rate its set or vote for tags on it.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, require_user
from core.beatmaps import feedback, resolve
from core.beatmaps import store as beatmaps_db
from core.http import error, json, no_content, not_found, params, unprocessable
from core.openapi import describe
from core.openapi_schemas import INT, array, nullable, obj
from core.services import services

NOT_PASSED = "You have to play this beatmap first."


async def _live_set(request: Request) -> int:
    set_id: int = request.path_params["beatmapset"]
    row = await beatmaps_db.beatmapset_by_id(services(request).db, set_id)
    if row is None or row["deleted_at"] is not None:
        raise not_found("beatmap")
    return set_id


@describe(responses={200: obj({"rating": nullable(INT)})})
async def own_rating(request: Request) -> Response:
    user = require_user(request)
    set_id = await _live_set(request)
    rating = await feedback.user_rating(services(request).db, set_id, int(user["id"]))
    return json(orjson.dumps({"rating": rating}))


@describe(responses={200: obj({"rating": INT, "ratings": {"type": "array", "items": INT}})})
async def rate(request: Request) -> Response:
    user = require_user(request)
    p = await params(request)
    if "rating" not in p:
        raise unprocessable("rating is required")
    rating = p.int("rating")
    if rating is None or not feedback.MIN_RATING <= rating <= feedback.MAX_RATING:
        raise unprocessable(
            f"rating must be between {feedback.MIN_RATING} and {feedback.MAX_RATING}"
        )
    set_id = await _live_set(request)
    db = services(request).db
    ids = await feedback.set_beatmap_ids(db, set_id)
    if not await feedback.passed_any(db, int(user["id"]), ids):
        raise error(403, NOT_PASSED)
    counts = await feedback.rate(db, set_id, int(user["id"]), rating)
    # `ratings` is in the cached set and lookup views.
    await resolve.invalidate(request.app, set_id, ids)
    return json(orjson.dumps({"rating": rating, "ratings": counts}))


@describe(responses={200: obj({"tags": array("Tag")})})
async def tag_list(request: Request) -> Response:
    rows = await feedback.all_tags(services(request).db)
    return json(orjson.dumps({"tags": [feedback.tag_view(r) for r in rows]}))


async def _vote(request: Request, on: bool) -> Response:
    user = require_user(request)
    db = services(request).db
    beatmap_id: int = request.path_params["beatmap"]
    tag_id: int = request.path_params["tag"]
    rows = await beatmaps_db.beatmaps_by_ids(db, [beatmap_id])
    if not rows or rows[0]["deleted_at"] is not None:
        raise not_found("beatmap")
    beatmap = rows[0]
    tag = await feedback.tag_by_id(db, tag_id)
    if tag is None:
        raise not_found("tag")
    if on and tag["ruleset_id"] is not None and int(tag["ruleset_id"]) != int(beatmap["mode"]):
        raise unprocessable("This tag is for another ruleset.")
    if not await feedback.passed_any(db, int(user["id"]), [beatmap_id]):
        raise error(403, NOT_PASSED)
    await feedback.vote(db, beatmap_id, tag_id, int(user["id"]), on)
    # `top_tag_ids` is in the cached set view.
    await services(request).cache.delete(resolve.set_view_key(int(beatmap["beatmapset_id"])))
    return no_content()


async def vote_tag(request: Request) -> Response:
    return await _vote(request, True)


async def unvote_tag(request: Request) -> Response:
    return await _vote(request, False)


ROUTES = [
    api_route("/api/v2/tags", tag_list, methods=("GET", "HEAD")),
    api_route(
        "/api/v2/beatmapsets/{beatmapset:int}/ratings",
        own_rating,
        methods=("GET", "HEAD"),
        scope="*",
    ),
    api_route("/api/v2/beatmapsets/{beatmapset:int}/ratings", rate, methods=("POST",), scope="*"),
    api_route(
        "/api/v2/beatmaps/{beatmap:int}/tags/{tag:int}",
        vote_tag,
        methods=("PUT", "PATCH"),
        scope="*",
        name="vote_tag",
    ),
    api_route(
        "/api/v2/beatmaps/{beatmap:int}/tags/{tag:int}",
        unvote_tag,
        methods=("DELETE",),
        scope="*",
        name="unvote_tag",
    ),
]
