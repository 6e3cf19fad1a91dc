"""API v2 beatmap leaderboards: global/country/friend, the user's own entry, a user's scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, current_user
from core.beatmaps import resolve
from core.domain import mods as mods_domain
from core.domain import scores as scores_db
from core.domain import scoring
from core.domain import users as users_db
from core.http import error, json, not_found, params, unprocessable
from core.scores import views
from plugins.api_v2._score_common import api_version, find_user, path_id, ruleset_id, viewer_id

SUPPORTER_ONLY = "You must be an osu!supporter to use this feature."


async def _beatmap(request: Request) -> Any:
    beatmap_id = path_id(request.path_params["beatmap"])
    beatmap = None
    if beatmap_id is not None:
        beatmap = await resolve.find_beatmap(request.app, beatmap_id=beatmap_id)
    if beatmap is None or beatmap["deleted_at"] is not None:
        raise not_found("beatmap difficulty")
    return beatmap


def _ruleset(beatmap: Any, name: Any, message: str, status: int = 422) -> int:
    if name is None:
        return int(beatmap["mode"])
    found = ruleset_id(name)
    if found is None:
        raise error(status, message)
    return found


async def _filters(request: Request, kind: str) -> tuple[str | None, Sequence[int] | None]:
    """(country, user ids) for a leaderboard type; supporter-only types need a supporter."""
    if kind == "global":
        return None, None
    user = current_user(request)
    if kind not in ("country", "friend", "team"):
        raise unprocessable("invalid leaderboard type")
    if user is None or int(user["support_level"]) <= 0:
        raise unprocessable(SUPPORTER_ONLY)
    if kind == "country":
        return str(user["country_code"]), None
    if kind == "friend":
        friends = await users_db.relations(request.app.state.db, int(user["id"]), "friend")
        return None, [int(user["id"]), *(f["target_id"] for f in friends)]
    # Teams do not exist on this server: a team board holds only the caller.
    return None, [int(user["id"])]


async def _scores_by_ids(request: Request, ids: Sequence[int]) -> list[dict[str, Any]]:
    found = await scores_db.get_scores(request.app.state.db, ids)
    return [found[i] for i in ids if i in found]


async def leaderboard(request: Request, *, force_new_format: bool = False) -> Response:
    beatmap = await _beatmap(request)
    p = await params(request)
    ruleset = _ruleset(beatmap, p.str("mode"), "invalid mode specified")
    if int(beatmap["status"]) not in scores_db.LEADERBOARD_STATUSES:
        return json({"scores": []})
    limit = max(1, min(p.int("limit", 50) or 50, 100))
    kind = p.str("type", "global") or "global"
    country, user_ids = await _filters(request, kind)
    mods_key = mods_domain.parse_filter(p.list("mods"), scoring.ruleset_name(ruleset))
    db = request.app.state.db
    filters = {"mods_key": mods_key, "country": country, "user_ids": user_ids}
    if p.bool("legacy_only", False):
        # Every score here was set on lazer: a stable-only board is empty.
        return json({"scores": [], "score_count": 0})
    ids = await scores_db.leaderboard(db, beatmap["id"], ruleset, limit=limit, **filters)
    version = views.NEW_FORMAT_VERSION if force_new_format else api_version(request)
    me = viewer_id(request)
    rendered = await views.render(
        request.app, await _scores_by_ids(request, ids), version=version, user=True, viewer_id=me
    )
    body: dict[str, Any] = {
        "scores": rendered,
        "score_count": await scores_db.leaderboard_count(db, beatmap["id"], ruleset, **filters),
    }
    if me is not None:
        entry = await scores_db.user_board_entry(db, beatmap["id"], ruleset, me, **filters)
        if entry is not None:
            score = await scores_db.get_score(db, entry[0])
            if score is not None:
                [own] = await views.render(
                    request.app, [score], version=version, user=True, viewer_id=me
                )
                body["user_score"] = body["userScore"] = {"position": entry[1], "score": own}
    return json(body)


async def solo_leaderboard(request: Request) -> Response:
    return await leaderboard(request, force_new_format=True)


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
    db = request.app.state.db
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
        request.app.state.db, int(user["id"]), beatmap["id"], ruleset
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
    api_route("/api/v2/beatmaps/{beatmap}/scores", leaderboard, methods=["GET", "HEAD"]),
    api_route("/api/v2/beatmaps/{beatmap}/solo-scores", solo_leaderboard, methods=["GET", "HEAD"]),
]
