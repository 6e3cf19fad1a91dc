"""API v2 beatmaps: lookup, one, many, difficulty attributes (osu-web BeatmapsController.php)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core import mods
from core.auth import api_route, claimed_user_id, reader
from core.beatmaps import attributes as attributes_mod
from core.beatmaps import difficulty, resolve, responses
from core.http import INT64_MAX, json, not_found, params, unprocessable
from core.openapi import describe
from core.openapi_schemas import INT, NUM, obj
from core.scores.scoring import RULESETS

from ._beatmap_common import viewer

MAX_IDS = 50
# More than this many ids is not a client mistake but abuse: refused before any work.
HARD_MAX_IDS = 1000
_CHECKSUM = re.compile(r"^[0-9a-fA-F]{32}$")


@describe(responses={200: "Beatmap"})
async def lookup(request: Request) -> Response:
    p = await params(request)
    checksum = p.str("checksum", max_length=64)
    filename = p.str("filename", max_length=255)
    beatmap_id = p.int("id", minimum=None)
    if beatmap_id is not None and beatmap_id <= 0:
        beatmap_id = None  # lazer sends id only when > 0; anything else means "no id"
    if checksum is not None and not _CHECKSUM.match(checksum):
        checksum = None  # cannot match any file
    if checksum is None and filename is None and beatmap_id is None:
        raise not_found()
    who = viewer(request)
    app = request.app
    if checksum:
        body = await responses.beatmap_by_cache(
            app, who, checksum=checksum.lower(), read=reader(request)
        )
        if body is not None:
            return json(body)
    row = await resolve.find_beatmap(
        app,
        beatmap_id=beatmap_id,
        checksum=checksum.lower() if checksum else None,
        filename=filename,
    )
    if row is None or row["deleted_at"] is not None:
        raise not_found()
    body = await responses.beatmap(app, who, row, checksum.lower() if checksum else None)
    if body is None:
        raise not_found()
    return json(body)


def _lookup_prefetch(request: Request) -> list[str]:
    """The cached view and the viewer's fields a checksum lookup reads, named before the beatmap
    is found, so they come in the token's round trip."""
    checksum = request.query_params.get("checksum", "").lower()
    if not _CHECKSUM.match(checksum):
        return []
    return _with_viewer(request, checksum=checksum)


def _show_prefetch(request: Request) -> list[str]:
    beatmap_id = request.path_params.get("beatmap")
    return _with_viewer(request, beatmap_id=beatmap_id) if isinstance(beatmap_id, int) else []


def _with_viewer(request: Request, **name: Any) -> list[str]:
    keys = responses.lookup_keys(**name)
    uid = claimed_user_id(request)
    if uid is not None:
        keys.append(resolve.viewer_key(uid, **name))
    return keys


@describe(responses={200: "Beatmap"})
async def show(request: Request) -> Response:
    beatmap_id: int = request.path_params["beatmap"]
    who = viewer(request)
    body = await responses.beatmap_by_cache(
        request.app, who, beatmap_id=beatmap_id, read=reader(request)
    )
    if body is not None:
        return json(body)
    row = await resolve.find_beatmap(request.app, beatmap_id=beatmap_id)
    if row is None or row["deleted_at"] is not None:
        raise not_found("beatmap difficulty")
    body = await responses.beatmap(request.app, who, row)
    if body is None:
        raise not_found("beatmap difficulty")
    return json(body)


@describe(responses={200: "Beatmaps"})
async def index(request: Request) -> Response:
    p = await params(request)
    raw = p.list("ids", max_items=HARD_MAX_IDS)
    ids: list[int] = []
    for value in raw:
        # osu-web's get_int: anything that is not an integer is dropped.
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().lstrip("-").isdecimal() and len(value) < 40:
            number = int(value.strip())
        else:
            continue
        if 0 < number <= INT64_MAX and number not in ids:
            ids.append(number)
    ids = ids[:MAX_IDS]
    return json(await responses.beatmaps(request.app, viewer(request), ids))


def _ruleset(p: object, default: int) -> int:
    from core.http import Params

    assert isinstance(p, Params)
    name = p.str("ruleset", max_length=32)
    if name is not None:
        if name not in RULESETS:
            raise unprocessable("invalid ruleset specified")
        return RULESETS.index(name)
    raw = p.get("ruleset_id")
    if raw is not None:
        try:
            number = int(str(raw).strip())
        except ValueError:
            raise unprocessable("invalid ruleset_id specified") from None
        if number not in range(4):
            raise unprocessable("invalid ruleset_id specified")
        return number
    return default


@describe(responses={200: obj({"attributes": obj({"max_combo": INT, "star_rating": NUM})})})
async def attributes(request: Request) -> Response:
    beatmap_id: int = request.path_params["beatmap"]
    p = await params(request)
    app = request.app
    row = await resolve.find_beatmap(app, beatmap_id=beatmap_id)
    if row is None or row["deleted_at"] is not None:
        raise not_found("beatmap difficulty")
    ruleset = _ruleset(p, row["mode"])
    if ruleset != row["mode"] and row["mode"] != 0:
        raise unprocessable("specified beatmap can't be converted to the specified ruleset")
    raw_mods = p.get("mods")
    if raw_mods is None:
        raw_mods = p.get("mods[]")
    try:
        acronyms = mods.parse_acronyms(raw_mods, ruleset)
    except mods.InvalidMods as exc:
        raise unprocessable(str(exc)) from None
    try:
        body = await attributes_mod.encoded(app, row, ruleset, acronyms)
    except attributes_mod.NoFile:
        raise not_found("beatmap difficulty") from None
    except difficulty.DifficultyError as exc:
        raise unprocessable(str(exc)) from None
    return json(body)


ROUTES = [
    api_route(
        "/api/v2/beatmaps/lookup", lookup, methods=("GET", "HEAD"), prefetch=_lookup_prefetch
    ),
    api_route("/api/v2/beatmaps", index, methods=("GET", "HEAD")),
    api_route(
        "/api/v2/beatmaps/{beatmap:int}", show, methods=("GET", "HEAD"), prefetch=_show_prefetch
    ),
    api_route("/api/v2/beatmaps/{beatmap:int}/attributes", attributes, methods=("POST",)),
]
