"""API v2 beatmap packs (osu-web BeatmapPacksController): the operator's packs, with the
viewer's completion."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route
from core.beatmaps import packs, responses
from core.beatmaps import store as beatmaps_db
from core.http import decode_cursor, encode_cursor, json, not_found, params
from core.openapi import describe
from core.openapi_schemas import CURSOR, STR, array, nullable, obj
from core.services import services

from ._beatmap_common import viewer


@describe(
    responses={
        200: obj(
            {
                "beatmap_packs": array("BeatmapPack"),
                "cursor": CURSOR,
                "cursor_string": nullable(STR),
            }
        )
    }
)
async def index(request: Request) -> Response:
    p = await params(request)
    kind = p.str("type", "standard", max_length=32) or "standard"
    prefix = packs.TYPE_PREFIXES.get(kind)
    if prefix is None:
        raise not_found()
    cursor = decode_cursor(p.str("cursor_string", max_length=1000))
    before = cursor.get("pack_id") if cursor else None
    rows = await packs.listing(
        services(request).db, prefix, before if isinstance(before, int) else None
    )
    page = rows[: packs.PAGE_SIZE]
    next_cursor = {"pack_id": int(page[-1]["id"])} if len(rows) > packs.PAGE_SIZE else None
    body = {
        "beatmap_packs": [packs.view(r) for r in page],
        "cursor": next_cursor,
        "cursor_string": encode_cursor(next_cursor),
    }
    return json(orjson.dumps(body))


@describe(responses={200: "BeatmapPack"})
async def show(request: Request) -> Response:
    tag: str = request.path_params["pack"]
    db = services(request).db
    pack = await packs.by_tag(db, tag) if len(tag) <= packs.MAX_TAG else None
    if pack is None:
        raise not_found()
    ids = await packs.set_ids(db, int(pack["id"]))
    sets = await beatmaps_db.beatmapsets_by_ids(db, ids)
    rows = [sets[i] for i in ids if i in sets and sets[i]["deleted_at"] is None]
    who = viewer(request)
    body: dict[str, Any] = packs.view(pack)
    body["beatmapsets"] = await responses.search_sets(request.app, who, rows)
    if who.user_id is not None:
        live = [int(r["id"]) for r in rows]
        passed = await packs.passed_set_ids(
            db, who.user_id, live, pack["ruleset_id"], bool(pack["no_diff_reduction"])
        )
        body["user_completion_data"] = {
            "completed": bool(live) and len(passed) == len(live),
            "beatmapset_ids": passed,
        }
    return json(orjson.dumps(body))


ROUTES = [
    api_route("/api/v2/beatmaps/packs", index, methods=("GET", "HEAD")),
    api_route("/api/v2/beatmaps/packs/{pack}", show, methods=("GET", "HEAD")),
]
