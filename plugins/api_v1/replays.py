"""API v1 `get_replay` (ppy/osu-api wiki): the replay-frame stream of a score, base64."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from limits import parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.beatmaps import store as beatmaps_db
from core.http import Params, json, params
from core.openapi import describe
from core.openapi_schemas import STR, obj
from core.scores import osr
from core.scores import store as scores_db
from core.scores import submit as submission
from core.services import services
from core.users import store as users_db
from plugins.api_v1.scores import INVALID_KEY, _ruleset, _user

NOT_AVAILABLE = {"error": "Replay not available."}
RETRIEVAL_FAILED = {"error": "Replay retrieval failed."}
TOO_FAST = {"error": "Requesting too fast! Slow your operation, cap'n!"}


def _number(p: Params, name: str) -> int | None:
    raw = str(p.get(name, "")).strip()
    return int(raw) if raw.isdecimal() and len(raw) <= 18 else None


async def _within_limit(request: Request, key: str) -> bool:
    """10 a minute per key, as the official API (the scores `download_limit` setting)."""
    limit = submission.score_settings(services(request).settings)["download_limit"]
    svc = services(request)
    limits = svc.ratelimits
    if limit == "none" or not limits.enabled:
        return True
    identity = "k:" + hashlib.sha256(key.encode()).hexdigest()
    result, _ = await limits.hit(svc.cache, parse(limit), "v1-get-replay", identity)
    return result is None or result[0]


async def _score(request: Request, p: Params) -> dict[str, Any] | None:
    db = services(request).db
    score_id = _number(p, "s")
    if score_id is not None:
        return await scores_db.get_score(db, score_id)
    beatmap_id = _number(p, "b")
    ruleset = _ruleset(p)
    user = await _user(request, p) if p.get("u") is not None else None
    if beatmap_id is None or ruleset is None or user is None:
        return None
    beatmap = await beatmaps_db.beatmap_by_id(db, beatmap_id)
    if beatmap is None:
        return None
    mods = _number(p, "mods") if p.get("mods") is not None else None
    ids = await scores_db.leaderboard(
        db, beatmap_id, ruleset, limit=1, user_ids=[int(user["id"])], legacy_mods=mods
    )
    return await scores_db.get_score(db, ids[0]) if ids else None


@describe(responses={200: obj({"content": STR, "encoding": {"const": "base64"}})})
async def get_replay(request: Request) -> Response:
    p = await params(request)
    key = p.get("k")
    db = services(request).db
    if not isinstance(key, str) or await users_db.api_key_owner(db, key) is None:
        return json(INVALID_KEY, 401)
    if not await _within_limit(request, key):
        return json(TOO_FAST, 429)
    score = await _score(request, p)
    if score is not None:
        owner = await users_db.get_user(db, int(score["user_id"]))
        if owner is None or owner["restricted"] or owner["is_deleted"]:
            score = None
    if score is None or not score["has_replay"]:
        return json(NOT_AVAILABLE, 404)
    data = await services(request).storage.get(scores_db.replay_key(int(score["id"])))
    if data is None:
        return json(NOT_AVAILABLE, 404)
    try:
        frames = osr.replay_data(data)
    except osr.BadReplay:
        return json(RETRIEVAL_FAILED, 500)
    return json({"content": base64.b64encode(frames).decode("ascii"), "encoding": "base64"})


ROUTES = [Route("/api/get_replay", get_replay, methods=["GET", "HEAD"])]
