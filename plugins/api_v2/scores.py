"""API v2 scores: solo submission (token, then PUT), the recent scores feed, score by id (or by
legacy id and ruleset), replay download, pins."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, require_user
from core.http import (
    INT64_MAX,
    Params,
    decode_cursor,
    encode_cursor,
    error,
    json,
    no_content,
    not_found,
    params,
    path_id,
    time_z,
    unprocessable,
)
from core.openapi import describe
from core.openapi_schemas import CURSOR, STR, array, nullable, obj
from core.ratelimit import throttle
from core.scores import leaderboard, scoring, views
from core.scores import store as scores_db
from core.scores import submit as submission
from core.services import services
from core.users import profiles
from plugins.api_v2._score_common import api_version, ruleset_id, viewer_id

SCORE_MODEL = "Solo\\Score"
# osu-web ScoresController::index: up to 1000 scores a page; a cursor further than this many
# ids behind the newest score is refused (config osu.scores.index_max_id_distance).
FEED_LIMIT = 1000
FEED_MAX_ID_DISTANCE = 10_000_000


@describe(responses={200: "ScoreToken"})
async def create_token(request: Request) -> Response:
    user = require_user(request)
    beatmap_id = path_id(request.path_params["beatmap"])
    if beatmap_id is None:
        raise not_found("beatmap difficulty")
    p = await params(request)
    ruleset_id = p.int("ruleset_id", minimum=0, maximum=len(scoring.RULESETS) - 1)
    token = await submission.create_token(
        request.app,
        int(user["id"]),
        beatmap_id,
        ruleset_id,
        p.str("beatmap_hash", max_length=32),
        p.str("version_hash", max_length=64),
    )
    return json(
        {
            "id": token["id"],
            "beatmap_id": token["beatmap_id"],
            "created_at": time_z(token["created_at"]),
            "playlist_item_id": None,
            "user_id": token["user_id"],
        }
    )


@describe(responses={200: "Score"})
async def submit_score(request: Request) -> Response:
    user = require_user(request)
    beatmap_id = path_id(request.path_params["beatmap"])
    token_id = path_id(request.path_params["token"])
    if beatmap_id is None:
        raise not_found("beatmap difficulty")
    if token_id is None:
        raise submission.invalid_token()
    p = await params(request)
    score, position = await submission.submit(request.app, user, beatmap_id, token_id, p.data)
    # Submission answers in the new format whatever x-api-version says, as osu-web does.
    [body] = await views.render(
        request.app, [score], version=views.NEW_FORMAT_VERSION, user=True, viewer_id=int(user["id"])
    )
    body["position"] = position
    return json(body)


def _feed_cursor(p: Params) -> tuple[dict | None, int | None]:
    """(the cursor as sent, its score id); an unreadable cursor counts as none."""
    cursor = decode_cursor(p.str("cursor_string", max_length=1000)) or p.dict("cursor") or None
    raw = None if cursor is None else cursor.get("id")
    text = str(raw).strip() if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not text.isdecimal() or len(text) > 19 or int(text) > INT64_MAX:
        return cursor, None
    return cursor, int(text)


@describe(
    responses={
        200: obj({"cursor": CURSOR, "cursor_string": nullable(STR), "scores": array("Score")})
    }
)
async def index(request: Request) -> Response:
    """The newest passed scores, oldest first, with an id cursor (osu-web ScoresController)."""
    p = await params(request)
    db = services(request).db
    cursor, after = _feed_cursor(p)
    if after is not None and await scores_db.max_score_id(db) - after > FEED_MAX_ID_DISTANCE:
        raise unprocessable("cursor is too old")
    ruleset = None
    if p.get("ruleset") is not None:
        ruleset = ruleset_id(p.get("ruleset"))
        if ruleset is None:
            raise unprocessable("invalid ruleset parameter")
    rows = await scores_db.feed(db, ruleset_id=ruleset, after_id=after, limit=FEED_LIMIT)
    rendered = await views.render(request.app, rows, version=views.NEW_FORMAT_VERSION)
    # With nothing new, the cursor sent comes back, so a tracker polls from the same place.
    next_cursor = {"id": int(rows[-1]["id"])} if rows else (cursor if after is not None else None)
    return json(
        {"scores": rendered, "cursor": next_cursor, "cursor_string": encode_cursor(next_cursor)}
    )


async def _score(request: Request) -> dict:
    score_id = path_id(request.path_params["score"])
    if score_id is None:
        raise error(404, "Invalid score id.")
    db = services(request).db
    if "ruleset" in request.path_params:
        ruleset = ruleset_id(request.path_params["ruleset"])
        if ruleset is None:
            raise error(404, "unknown ruleset name")
        score = await scores_db.by_legacy_id(db, ruleset, score_id)
    else:
        score = await scores_db.get_score(db, score_id)
    if score is None:
        raise not_found(SCORE_MODEL)
    return score


@describe(responses={200: "AnyScore"})
async def show(request: Request) -> Response:
    score = await _score(request)
    [body] = await views.render(
        request.app,
        [score],
        version=api_version(request),
        beatmap=True,
        beatmapset=True,
        user=True,
        viewer_id=viewer_id(request),
    )
    position = await scores_db.position(services(request).db, score) if score["passed"] else None
    body["rank_global"] = position
    body["replay_views"] = int(score["replay_views"])
    return json(body)


@describe(content_type="application/x-osu-replay")
async def download(request: Request) -> Response:
    limit = submission.score_settings(services(request).settings)["download_limit"]
    await throttle(request, "scores-download", limit)
    score = await _score(request)
    data = await services(request).storage.get(scores_db.replay_key(int(score["id"])))
    if data is None:
        raise not_found()
    if request.method == "GET":
        await profiles.count_replay_view(services(request), score, viewer_id(request))
    ruleset = scoring.ruleset_name(score["ruleset_id"])
    filename = f"solo-replay-{ruleset}_{score['beatmap_id']}_{score['id']}.osr"
    return Response(
        data,
        media_type="application/x-osu-replay",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _own_score(request: Request) -> tuple[int, dict]:
    user = require_user(request)
    score = await _score(request)
    # Someone else's score is "not found" here: a 403 would log lazer out.
    if int(score["user_id"]) != int(user["id"]):
        raise not_found(SCORE_MODEL)
    return int(user["id"]), score


async def pin(request: Request) -> Response:
    user_id, score = await _own_score(request)
    if not score["passed"] or not score["preserve"]:
        raise unprocessable("only passed scores can be pinned")
    await scores_db.pin(services(request).db, user_id, score)
    await _pins_changed(request, user_id)
    return no_content()


async def unpin(request: Request) -> Response:
    user_id, score = await _own_score(request)
    await scores_db.unpin(services(request).db, user_id, int(score["id"]))
    await _pins_changed(request, user_id)
    return no_content()


async def _pins_changed(request: Request, user_id: int) -> None:
    """Leaderboards show the owner's pins, and the profile counts them."""
    svc = services(request)
    await leaderboard.forget_pins(svc.cache, [user_id])
    await profiles.invalidate(svc, user_id)


async def reorder(request: Request) -> Response:
    user_id, score = await _own_score(request)
    p = await params(request)
    after = p.int("after_score_id", minimum=1)
    before = p.int("before_score_id", minimum=1)
    if (after is None) == (before is None):
        raise unprocessable("give one of after_score_id or before_score_id")
    moved = await scores_db.reorder_pin(
        services(request).db, user_id, int(score["id"]), after=after, before=before
    )
    if not moved:
        raise unprocessable("both scores must be pinned, in the same ruleset")
    return no_content()


ROUTES = [
    api_route("/api/v2/beatmaps/{beatmap}/solo/scores", create_token, methods=["POST"], scope="*"),
    api_route(
        "/api/v2/beatmaps/{beatmap}/solo/scores/{token}", submit_score, methods=["PUT"], scope="*"
    ),
    api_route("/api/v2/scores", index, methods=["GET", "HEAD"]),
    api_route("/api/v2/scores/{score}/download", download, methods=["GET", "HEAD"]),
    api_route("/api/v2/scores/{score}", show, methods=["GET", "HEAD"]),
    api_route("/api/v2/scores/{ruleset}/{score}/download", download, methods=["GET", "HEAD"]),
    api_route("/api/v2/scores/{ruleset}/{score}", show, methods=["GET", "HEAD"]),
    api_route("/api/v2/score-pins/{score}/reorder", reorder, methods=["POST"], scope="*"),
    api_route("/api/v2/score-pins/{score}", pin, methods=["PUT"], scope="*"),
    api_route("/api/v2/score-pins/{score}", unpin, methods=["DELETE"], scope="*"),
]
