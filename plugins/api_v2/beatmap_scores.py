"""API v2 beatmap leaderboards: global/country/friend, the user's own entry, a user's scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core import mods as mods_domain
from core.auth import api_route, claimed_user_id, current_user, reader
from core.beatmaps import resolve
from core.http import ORJSON_OPTIONS, error, json, not_found, params, path_id, unprocessable
from core.openapi import describe
from core.scores import leaderboard as board_cache
from core.scores import scoring, views
from core.scores import store as scores_db
from core.services import services
from core.teams import store as teams_db
from core.users import profiles
from core.users import store as users_db
from plugins.api_v2._score_common import api_version, find_user, ruleset_id, viewer_id

SUPPORTER_ONLY = "You must be an osu!supporter to use this feature."
# Leaderboard types other than the global one (any other name reads the global board).
FILTERED = ("country", "friend", "team")


async def _beatmap(request: Request) -> Any:
    beatmap_id = path_id(request.path_params["beatmap"])
    beatmap = None
    if beatmap_id is not None:
        beatmap = await resolve.find_beatmap(request.app, beatmap_id=beatmap_id)
    if beatmap is None or beatmap["deleted_at"] is not None:
        raise not_found("beatmap difficulty")
    return beatmap


async def _board_beatmap(request: Request) -> Any:
    """id, mode and status of the beatmap, through a short-lived cache entry (hot boards)."""
    beatmap_id = path_id(request.path_params["beatmap"])
    if beatmap_id is not None:
        cached = await board_cache.beatmap_meta(
            services(request).cache, beatmap_id, read=reader(request)
        )
        if cached is not None:
            return cached
    beatmap = await _beatmap(request)
    meta = {"id": beatmap["id"], "mode": beatmap["mode"], "status": beatmap["status"]}
    await board_cache.store_beatmap_meta(services(request).cache, meta)
    return meta


def _ruleset(beatmap: Any, name: Any, message: str, status: int = 422) -> int:
    if name is None:
        return int(beatmap["mode"])
    found = ruleset_id(name)
    if found is None:
        raise error(status, message)
    return found


class BoardFilters(TypedDict, total=False):
    """The keyword filters every leaderboard query of `core.scores.store` takes (absent: None)."""

    mods_key: str | None
    country: str | None
    user_ids: Sequence[int] | None


async def _filters(request: Request, kind: str) -> tuple[str | None, Sequence[int] | None]:
    """(country, user ids) for a leaderboard type (osu-web ScoreSearchParams, ScoreSearch).

    `country` and `friend` need a supporter (osu-web BeatmapsController
    assertSupporterOnlyOptions); `team` is open to all and holds the members of the caller's
    team (empty for a guest or a player in no team). An unknown type is global.
    """
    if kind not in FILTERED:
        return None, None
    user = current_user(request)
    if kind == "team":
        if user is None:
            return None, []
        db = services(request).db
        team_id = await teams_db.team_of(db, int(user["id"]))
        return None, [] if team_id is None else await teams_db.member_ids(db, team_id)
    if user is None or not profiles.is_supporter(user, services(request).settings):
        raise unprocessable(SUPPORTER_ONLY)
    if kind == "country":
        return str(user["country_code"]), None
    friends = await users_db.relations(services(request).db, int(user["id"]), "friend")
    return None, [int(user["id"]), *(f["target_id"] for f in friends)]


async def _scores_by_ids(request: Request, ids: Sequence[int]) -> list[dict[str, Any]]:
    found = await scores_db.get_scores(services(request).db, ids)
    return [found[i] for i in ids if i in found]


@describe(responses={200: "BeatmapScores"})
async def leaderboard(request: Request, *, force_new_format: bool = False) -> Response:
    beatmap = await _board_beatmap(request)
    p = await params(request)
    ruleset = _ruleset(beatmap, p.str("mode"), "invalid mode specified")
    if int(beatmap["status"]) not in scores_db.LEADERBOARD_STATUSES:
        return json({"scores": []})
    limit = max(1, min(p.int("limit", 50) or 50, 100))
    kind = p.str("type", "global") or "global"
    country, user_ids = await _filters(request, kind)
    if kind not in FILTERED:
        kind = "global"
    if user_ids is not None and not user_ids:
        # A board of nobody (a team board of a player in no team): nothing to rank.
        return json({"scores": [], "score_count": 0})
    mods_key = mods_domain.parse_filter(p.list("mods"), scoring.ruleset_name(ruleset))
    db = services(request).db
    filters: BoardFilters = {"mods_key": mods_key, "country": country, "user_ids": user_ids}
    if p.bool("legacy_only", False):
        # Every score here was set on lazer: a stable-only board is empty.
        return json({"scores": [], "score_count": 0})
    version = views.NEW_FORMAT_VERSION if force_new_format else api_version(request)
    me = viewer_id(request)
    if kind == "global" and mods_key is None:
        named = None if p.str("mode") is None else ruleset
        return await _cached_board(request, beatmap["id"], ruleset, named, version, limit, me)
    ids = await scores_db.leaderboard(db, beatmap["id"], ruleset, limit=limit, **filters)
    rendered = await views.render(
        request.app, await _scores_by_ids(request, ids), version=version, user=True, viewer_id=me
    )
    body: dict[str, Any] = {
        "scores": rendered,
        "score_count": await scores_db.leaderboard_count(db, beatmap["id"], ruleset, **filters),
    }
    if me is not None:
        own = await _own_entry(request, beatmap["id"], ruleset, me, version, filters)
        if own is not None:
            body["user_score"] = body["userScore"] = own
    return json(body)


async def _own_entry(
    request: Request, beatmap_id: int, ruleset: int, me: int, version: int, filters: BoardFilters
) -> dict[str, Any] | None:
    db = services(request).db
    entry = await scores_db.user_board_entry(db, beatmap_id, ruleset, me, **filters)
    score = await scores_db.get_score(db, entry[0]) if entry is not None else None
    if entry is None or score is None:
        return None
    [own] = await views.render(request.app, [score], version=version, user=True, viewer_id=me)
    return {"position": entry[1], "score": own}


async def _cached_board(
    request: Request,
    beatmap_id: int,
    ruleset: int,
    named: int | None,
    version: int,
    limit: int,
    me: int | None,
) -> Response:
    """The unfiltered board from the encoded cache, with the viewer's pins and own entry
    (`board_cache.keys`, read with the token); `named`: the ruleset the request named, None
    for the beatmap's own."""
    svc = services(request)
    fmt = 1 if version >= views.NEW_FORMAT_VERSION else 0
    board_reader = board_cache.Reader(svc.cache, reader(request), beatmap_id, named, fmt, limit)
    board = await board_reader.board()
    if board is None:
        db = svc.db
        ids = await scores_db.leaderboard(db, beatmap_id, ruleset, limit=limit)
        found = await _scores_by_ids(request, ids)
        rendered = await views.render(request.app, found, version=version, user=True)
        board = board_cache.Board(
            count=await scores_db.leaderboard_count(db, beatmap_id, ruleset),
            score_ids=[int(s["id"]) for s in found],
            user_ids=[int(s["user_id"]) for s in found],
            parts=[orjson.dumps(r, option=ORJSON_OPTIONS) for r in rendered],
        )
        await board_reader.store(board)
    parts = list(board.parts)
    user_score = None
    if me is not None and me in board.user_ids:
        index = board.user_ids.index(me)
        score_id = board.score_ids[index]
        parts[index] = board_cache.with_pin(
            parts[index], score_id, score_id in await _pins(request, board_reader, me)
        )
        user_score = board_cache.entry(index + 1, parts[index])
    elif me is not None:
        own = await _cached_own_entry(request, board_reader, beatmap_id, ruleset, me, version)
        if own is not None:
            part = board_cache.with_pin(
                own.part, own.score_id, own.score_id in await _pins(request, board_reader, me)
            )
            user_score = board_cache.entry(own.position, part)
    return json(board_cache.body(parts, board.count, user_score))


async def _pins(request: Request, board_reader: board_cache.Reader, me: int) -> set[int]:
    pinned = await board_reader.pins(me)
    if pinned is None:
        pinned = set(await scores_db.all_pinned_ids(services(request).db, me))
        await board_reader.store_pins(me, sorted(pinned))
    return pinned


async def _cached_own_entry(
    request: Request,
    board_reader: board_cache.Reader,
    beatmap_id: int,
    ruleset: int,
    me: int,
    version: int,
) -> board_cache.OwnEntry | None:
    """The viewer's best score off the board, rendered for no viewer, cached at the board's
    version (a passed score anyone sets on the beatmap may move it)."""
    cached, own = await board_reader.own(me)
    if cached:
        return own
    db = services(request).db
    entry = await scores_db.user_board_entry(db, beatmap_id, ruleset, me)
    score = await scores_db.get_score(db, entry[0]) if entry is not None else None
    if entry is not None and score is not None:
        [rendered] = await views.render(request.app, [score], version=version, user=True)
        part = orjson.dumps(rendered, option=ORJSON_OPTIONS)
        own = board_cache.OwnEntry(entry[1], int(score["id"]), part)
    await board_reader.store_own(me, own)
    return own


def _board_prefetch(force_new_format: bool) -> Any:
    """What an unfiltered board reads (`board_cache.keys`), named from the request alone."""

    def prefetch(request: Request) -> list[str]:
        beatmap_id = path_id(request.path_params["beatmap"])
        query = request.query_params
        if beatmap_id is None or any(k in query for k in ("type", "mods", "mods[]")):
            if query.get("type", "global") != "global" or beatmap_id is None:
                return []
        mode = query.get("mode")
        ruleset = None if mode is None else ruleset_id(mode)
        if mode is not None and ruleset is None:
            return []
        raw_limit = query.get("limit", "50")
        limit = (
            max(1, min(int(raw_limit), 100)) if raw_limit.isdecimal() and len(raw_limit) < 4 else 50
        )
        version = views.NEW_FORMAT_VERSION if force_new_format else api_version(request)
        fmt = 1 if version >= views.NEW_FORMAT_VERSION else 0
        return board_cache.keys(beatmap_id, ruleset, fmt, limit, claimed_user_id(request))

    return prefetch


@describe(responses={200: "BeatmapScores"})
async def solo_leaderboard(request: Request) -> Response:
    return await leaderboard(request, force_new_format=True)


@describe(responses={200: "BeatmapUserScore"})
async def user_score(request: Request) -> Response:
    beatmap = await _beatmap(request)
    if int(beatmap["status"]) <= 0:
        raise not_found()
    user = await find_user(request, request.path_params["user"])
    if user is None:
        raise not_found()
    p = await params(request)
    ruleset = _ruleset(beatmap, p.str("mode"), "invalid mode specified")
    mods_key = mods_domain.parse_filter(p.list("mods"), scoring.ruleset_name(ruleset))
    db = services(request).db
    entry = await scores_db.user_board_entry(
        db, beatmap["id"], ruleset, int(user["id"]), mods_key=mods_key
    )
    score = await scores_db.get_score(db, entry[0]) if entry is not None else None
    if entry is None or score is None:
        raise not_found()
    [body] = await views.render(
        request.app,
        [score],
        version=api_version(request),
        beatmap=True,
        user=True,
        viewer_id=viewer_id(request),
    )
    return json({"position": entry[1], "score": body})


@describe(responses={200: "BeatmapScores"})
async def user_scores(request: Request) -> Response:
    beatmap = await _beatmap(request)
    if int(beatmap["status"]) <= 0:
        raise not_found()
    user = await find_user(request, request.path_params["user"])
    if user is None:
        raise not_found()
    p = await params(request)
    name = p.str("ruleset") or p.str("mode")
    ruleset = _ruleset(beatmap, name, "unknown ruleset name", status=404)
    ids = await scores_db.user_beatmap_ids(
        services(request).db, int(user["id"]), beatmap["id"], ruleset
    )
    rendered = await views.render(
        request.app,
        await _scores_by_ids(request, ids),
        version=api_version(request),
        viewer_id=viewer_id(request),
    )
    return json({"scores": rendered})


ROUTES = [
    api_route(
        "/api/v2/beatmaps/{beatmap}/scores/users/{user}/all", user_scores, methods=["GET", "HEAD"]
    ),
    api_route(
        "/api/v2/beatmaps/{beatmap}/scores/users/{user}", user_score, methods=["GET", "HEAD"]
    ),
    api_route(
        "/api/v2/beatmaps/{beatmap}/scores",
        leaderboard,
        methods=["GET", "HEAD"],
        prefetch=_board_prefetch(False),
    ),
    api_route(
        "/api/v2/beatmaps/{beatmap}/solo-scores",
        solo_leaderboard,
        methods=["GET", "HEAD"],
        prefetch=_board_prefetch(True),
    ),
]
