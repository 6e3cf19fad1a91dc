"""API v2 beatmapsets: one, lookup, search, download, favourites (osu-web BeatmapsetsController)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from core.auth import api_route, require_user
from core.beatmaps import resolve, responses, search
from core.beatmaps import store as beatmaps_db
from core.http import (
    encode_cursor,
    error,
    json,
    not_found,
    params,
    parse_bool,
    unprocessable,
)
from core.openapi import describe
from core.openapi_schemas import CURSOR, INT, NUM, STR, array, nullable, obj
from core.services import services

from ._beatmap_common import viewer


@describe(responses={200: "Beatmapset"})
async def show(request: Request) -> Response:
    row = await resolve.find_set(request.app, request.path_params["beatmapset"])
    if row is None or row["deleted_at"] is not None:
        raise not_found("beatmap")
    return json(await responses.beatmapset(request.app, viewer(request), row))


@describe(responses={200: "Beatmapset"})
async def lookup(request: Request) -> Response:
    p = await params(request)
    beatmap_id = p.int("beatmap_id")
    if beatmap_id is None or beatmap_id <= 0:
        raise not_found()
    beatmap = await resolve.find_beatmap(request.app, beatmap_id=beatmap_id)
    if beatmap is None:
        raise not_found()
    row = await beatmaps_db.beatmapset_by_id(services(request).db, beatmap["beatmapset_id"])
    if row is None or row["deleted_at"] is not None:
        raise not_found("beatmap")
    return json(await responses.beatmapset(request.app, viewer(request), row))


# The search parameters a source is told (osu-web's names); the rest stay local.
_FORWARDED = ("q", "query", "m", "s", "sort", "g", "l", "nsfw", "e", "c", "r")


def _forwarded(p: Any) -> dict[str, str]:
    out = {}
    for name in _FORWARDED:
        value = p.get(name)
        if isinstance(value, (str, int, float, bool)) and str(value) != "":
            out[name] = str(value)[:200]
    return out


@describe(
    responses={
        200: obj(
            {
                "beatmapsets": array("BeatmapsetExtended"),
                "cursor": CURSOR,
                "cursor_string": nullable(STR),
                "error": nullable(STR),
                "recommended_difficulty": nullable(NUM),
                "search": obj({"sort": STR}),
                "total": INT,
            }
        )
    }
)
async def search_sets(request: Request) -> Response:
    p = await params(request)
    has_text = bool(p.get("q") or p.get("query"))
    query = search.query_from_params(p, has_text)
    who = viewer(request)
    if query.cursor is None:
        # First page only: later pages page through what is stored, so the cursor is stable.
        await resolve.search_sources(request.app, _forwarded(p))
    rows, total, cursor = await search.run(services(request).db, query, who.user_id)
    body = {
        "beatmapsets": await responses.search_sets(request.app, who, rows),
        "search": {"sort": query.sort},
        "recommended_difficulty": None,
        "error": None,
        "total": total,
        "cursor": cursor,
        "cursor_string": encode_cursor(cursor),
    }
    return json(body)


@describe(content_type="application/x-osu-beatmap-archive")
async def download(request: Request) -> Response:
    require_user(request)
    p = await params(request)
    row = await resolve.find_set(request.app, request.path_params["beatmapset"])
    if row is None or row["deleted_at"] is not None or row["download_disabled"]:
        raise not_found("beatmap")
    no_video = parse_bool(p.get("noVideo")) or False
    result = await resolve.download(request.app, row, no_video)
    if result is None:
        raise not_found("beatmap")
    if result.url is not None:
        return RedirectResponse(result.url, status_code=302)
    headers = {"Content-Disposition": f'attachment; filename="{result.filename}"'}
    media = "application/x-osu-beatmap-archive"
    if result.path is not None:
        return FileResponse(result.path, media_type=media, headers=headers)
    return Response(result.data or b"", media_type=media, headers=headers)


@describe(responses={200: obj({"favourite_count": INT})})
async def favourite(request: Request) -> Response:
    user = require_user(request)
    p = await params(request)
    action = p.str("action", max_length=32)
    if action not in ("favourite", "unfavourite"):
        raise unprocessable("invalid action specified")
    set_id: int = request.path_params["beatmapset"]
    app = request.app
    row = await beatmaps_db.beatmapset_by_id(services(app).db, set_id)
    if row is None or row["deleted_at"] is not None:
        raise not_found("beatmap")
    if action == "favourite":
        count = len(await beatmaps_db.favourite_set_ids(services(app).db, int(user["id"])))
        if count >= FAVOURITE_LIMIT:
            raise error(422, "You have reached the favourite limit.")
    await resolve.set_favourite(app, int(user["id"]), set_id, action == "favourite")
    fresh = await beatmaps_db.beatmapset_by_id(services(app).db, set_id)
    return json(orjson.dumps({"favourite_count": fresh["favourite_count"] if fresh else 0}))


FAVOURITE_LIMIT = 1000

ROUTES = [
    api_route("/api/v2/beatmapsets/search", search_sets, methods=("GET", "HEAD")),
    api_route("/api/v2/beatmapsets/lookup", lookup, methods=("GET", "HEAD")),
    api_route("/api/v2/beatmapsets/{beatmapset:int}", show, methods=("GET", "HEAD")),
    api_route(
        "/api/v2/beatmapsets/{beatmapset:int}/download",
        download,
        methods=("GET", "HEAD"),
        scope="*",
    ),
    api_route(
        "/api/v2/beatmapsets/{beatmapset:int}/favourites",
        favourite,
        methods=("POST",),
        scope="*",
    ),
]
