"""API v2 users: Get User, Get Own Data, users by ids, lookup, friends and blocks."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, claimed_user_id, current_token, current_user, require_user
from core.auth import cached as auth_cached
from core.chat import service as chat
from core.http import JSONResponse, json, no_content, not_found, params, unprocessable
from core.openapi import describe
from core.openapi_schemas import array, obj, ref
from core.scores.scoring import RULESETS
from core.services import services
from core.users import profiles, user_statistics
from core.users import store as users_db

RELATIONS_VERSION = 20241022
PROFILE_CACHE_SECONDS = 60
# Get Own Data fields that differ per request, spliced into the cached body.
PER_REQUEST = (
    "current_user_attributes",
    "session_verification_method",
    "session_verified",
    "unread_pm_count",
)


def api_version(request: Request) -> int:
    raw = request.headers.get("x-api-version", "")
    return int(raw) if raw.isdecimal() else 0


def _visible(row: dict[str, Any] | None, viewer_id: int | None) -> bool:
    if row is None or row["is_deleted"]:
        return False
    return not row["restricted"] or viewer_id == int(row["id"])


async def _find(request: Request, key: str, lookup: str | None) -> dict[str, Any] | None:
    db = services(request).db
    if lookup == "id" or (lookup != "username" and key.isdecimal()):
        if not key.isdecimal() or len(key) > 18:
            return None
        row = await users_db.get_user(db, int(key))
        if row is not None or lookup == "id":
            return row
    return await users_db.find_by_username(db, key.removeprefix("@"))


def _with_viewer(body: bytes, attributes: dict[str, Any] | None) -> bytes:
    """Splice the per-viewer `current_user_attributes` into cached profile bytes."""
    return body[:-1] + b',"current_user_attributes":' + orjson.dumps(attributes) + b"}"


@describe(responses={200: "User"})
async def show(request: Request) -> Response:
    svc = services(request)
    viewer = current_user(request)
    viewer_id = None if viewer is None else int(viewer["id"])
    key = request.path_params["user"]
    p = await params(request)
    lookup = p.get("key")
    mode = request.path_params.get("mode")
    by_id = key.isdecimal() and len(key) <= 18 and lookup != "username"
    if by_id:
        # Warm path: the encoded profile from the cache, plus the viewer's attributes.
        cached = await auth_cached(request, profiles.profile_key(int(key), mode))
        if cached is not None:
            attributes = await _attributes(request, int(key), viewer_id)
            return JSONResponse(_with_viewer(cached, attributes))
    row = await _find(request, key, lookup if isinstance(lookup, str) else None)
    if not _visible(row, viewer_id):
        raise not_found()
    assert row is not None
    ruleset = mode or RULESETS[row["playmode"]]
    user = await profiles.profile(
        svc.db, row, ruleset, svc.settings, own=False, viewer_id=viewer_id
    )
    attributes = user.pop("current_user_attributes")
    body = orjson.dumps(user)
    # Restricted profiles are only ever shown to their owner: never cache those.
    if not row["restricted"]:
        await svc.cache.set(
            profiles.profile_key(int(row["id"]), mode), body, ex=PROFILE_CACHE_SECONDS
        )
    return JSONResponse(_with_viewer(body, attributes))


async def _attributes(request: Request, target: int, viewer_id: int | None) -> Any:
    if viewer_id is None:
        return None
    if viewer_id == target:
        return {"has_blocked": False}
    relation = await users_db.relation(services(request).db, target, viewer_id)
    return {"has_blocked": relation == users_db.RELATION_BLOCK}


@describe(responses={200: "User"})
async def me(request: Request) -> Response:
    svc = services(request)
    user = require_user(request)
    uid = int(user["id"])
    mode = request.path_params.get("mode")
    key = profiles.own_profile_key(uid, mode)
    body = await auth_cached(request, key)
    if body is None:
        row = await users_db.get_user(svc.db, uid)
        if row is None:
            raise not_found()
        ruleset = mode or RULESETS[row["playmode"]]
        own = await profiles.profile(svc.db, row, ruleset, svc.settings, own=True, viewer_id=uid)
        for name in PER_REQUEST:
            own.pop(name, None)
        body = orjson.dumps(own)
        # Dropped with the other profile bodies by every write (`profiles.invalidate`).
        await svc.cache.set(key, body, ex=PROFILE_CACHE_SECONDS)
    # A password sign-in may still wait for its second factor (plugins/account_security).
    token = current_token(request)
    method = token.verification if token is not None else None
    fields = {
        "current_user_attributes": {"has_blocked": False},
        "session_verification_method": method,
        "session_verified": method is None,
        # Kept apart from the body: every message to the player changes it.
        "unread_pm_count": await chat.unread_pm_count(
            svc, uid, await auth_cached(request, chat.unread_key(uid))
        ),
    }
    return JSONResponse(body[:-1] + b"," + orjson.dumps(fields)[1:])


@describe(responses={200: "Users"})
async def index(request: Request) -> Response:
    p = await params(request)
    keys = [str(k) for k in p.list("ids")][:50]
    ids = [int(k) for k in keys if k.isdecimal() and len(k) <= 18]
    variants = bool(p.bool("include_variant_statistics", False))
    db = services(request).db
    viewer = current_user(request)
    viewer_id = None if viewer is None else int(viewer["id"])
    rows = [r for r in await users_db.get_users(db, ids) if _visible(r, viewer_id)]
    order = {uid: i for i, uid in enumerate(ids)}
    rows.sort(key=lambda r: order.get(int(r["id"]), 0))
    users = await profiles.cards(
        db, rows, services(request).settings, statistics_rulesets=True, variants=variants
    )
    return json({"users": users})


@describe(responses={200: "Users"})
async def lookup(request: Request) -> Response:
    p = await params(request)
    keys = [str(k) for k in p.list("ids", max_items=50)]
    exclude_bots = bool(p.bool("exclude_bots", False))
    ruleset = p.get("ruleset_id")
    ruleset_number = None
    if ruleset is not None:
        ruleset_number = p.int("ruleset_id", minimum=0, maximum=3)
    db = services(request).db
    viewer = current_user(request)
    viewer_id = None if viewer is None else int(viewer["id"])
    rows = [
        r
        for r in await users_db.find_many(db, [k for k in keys if len(k) <= 32])
        if _visible(r, viewer_id) and not (exclude_bots and r["is_bot"])
    ]
    users = await profiles.cards(db, rows, services(request).settings)
    if ruleset_number is not None:
        ranks = await user_statistics.global_ranks(db, [u["id"] for u in users], ruleset_number)
        for user in users:
            user["global_rank"] = {"rank": ranks[user["id"]], "ruleset_id": ruleset_number}
    return json({"users": users})


# --- relations ---------------------------------------------------------------------------------


async def _relation_objects(
    request: Request, user_id: int, relation: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(relations with `target`, targets) sorted by the target's username."""
    db = services(request).db
    items = await users_db.relations(db, user_id, relation)
    me_row = current_user(request)
    ruleset = RULESETS[me_row["playmode"]] if me_row else "osu"
    rows = await users_db.get_users(db, [i["target_id"] for i in items])
    rows = [r for r in rows if not r["is_deleted"]]
    rows.sort(key=lambda r: r["username"].lower())
    targets = await profiles.cards(db, rows, services(request).settings, statistics_ruleset=ruleset)
    by_id = {i["target_id"]: i for i in items}
    result = [
        {
            "target_id": t["id"],
            "relation_type": relation,
            "mutual": by_id[t["id"]]["mutual"] if relation == users_db.RELATION_FRIEND else False,
            "target": t,
        }
        for t in targets
    ]
    return result, targets


@describe(
    responses={
        200: {"type": "array", "items": {"anyOf": [ref("UserRelation"), ref("UserCompact")]}}
    }
)
async def friends(request: Request) -> Response:
    user = require_user(request)
    result, targets = await _relation_objects(request, int(user["id"]), users_db.RELATION_FRIEND)
    return json(result if api_version(request) >= RELATIONS_VERSION else targets)


@describe(responses={200: array("UserRelation")})
async def blocks(request: Request) -> Response:
    user = require_user(request)
    result, _ = await _relation_objects(request, int(user["id"]), users_db.RELATION_BLOCK)
    return json(result)


async def _target(request: Request, user_id: int) -> dict[str, Any]:
    p = await params(request)
    target_id = p.int("target", minimum=1, maximum=2**62)
    if target_id is None:
        raise unprocessable("target is required")
    if target_id == user_id:
        raise unprocessable("You can't add yourself.")
    row = await users_db.get_user(services(request).db, target_id)
    if row is None or row["is_deleted"] or row["restricted"]:
        raise not_found("User")
    return row


async def _relation_response(
    request: Request, user_id: int, target: dict[str, Any], relation: str
) -> Response:
    db = services(request).db
    mutual = False
    if relation == users_db.RELATION_FRIEND:
        mutual = await users_db.relation(db, int(target["id"]), user_id) == relation
    me_row = current_user(request)
    ruleset = RULESETS[me_row["playmode"]] if me_row else "osu"
    card = (
        await profiles.cards(db, [target], services(request).settings, statistics_ruleset=ruleset)
    )[0]
    return json(
        {
            "user_relation": {
                "target_id": card["id"],
                "relation_type": relation,
                "mutual": mutual,
                "target": card,
            }
        }
    )


@describe(responses={200: obj({"user_relation": ref("UserRelation")})})
async def add_friend(request: Request) -> Response:
    user = require_user(request)
    uid = int(user["id"])
    db = services(request).db
    target = await _target(request, uid)
    tid = int(target["id"])
    if await users_db.relation(db, tid, uid) == users_db.RELATION_BLOCK:
        raise unprocessable("This user is blocking you.")
    if await users_db.relation(db, uid, tid) != users_db.RELATION_FRIEND:
        limit = 500 if profiles.is_supporter(user, services(request).settings) else 250
        if await users_db.count_relations(db, uid, users_db.RELATION_FRIEND) >= limit:
            raise unprocessable("You have reached the friend limit.")
        await users_db.set_relation(db, uid, tid, users_db.RELATION_FRIEND)
        await profiles.invalidate(services(request), tid)
    return await _relation_response(request, uid, target, users_db.RELATION_FRIEND)


@describe(responses={200: obj({"user_relation": ref("UserRelation")})})
async def add_block(request: Request) -> Response:
    user = require_user(request)
    uid = int(user["id"])
    db = services(request).db
    target = await _target(request, uid)
    tid = int(target["id"])
    if await users_db.relation(db, uid, tid) != users_db.RELATION_BLOCK:
        limit = 100 if profiles.is_supporter(user, services(request).settings) else 50
        if await users_db.count_relations(db, uid, users_db.RELATION_BLOCK) >= limit:
            raise unprocessable("You have reached the block limit.")
        await users_db.set_relation(db, uid, tid, users_db.RELATION_BLOCK)
        await profiles.invalidate(services(request), tid)
    return await _relation_response(request, uid, target, users_db.RELATION_BLOCK)


async def _remove(request: Request, param: str, relation: str) -> Response:
    user = require_user(request)
    raw = request.path_params[param]
    if not raw.isdecimal() or len(raw) > 18:
        raise not_found("User")
    removed = await users_db.delete_relation(
        services(request).db, int(user["id"]), int(raw), relation
    )
    if not removed:
        raise not_found("User")
    await profiles.invalidate(services(request), int(raw))
    return no_content()


async def remove_friend(request: Request) -> Response:
    return await _remove(request, "friend", users_db.RELATION_FRIEND)


async def remove_block(request: Request) -> Response:
    return await _remove(request, "block", users_db.RELATION_BLOCK)


def _profile_prefetch(mode: str | None) -> Any:
    """The cached profile `show` will read, fetched with the token in one round trip."""

    def keys(request: Request) -> list[str]:
        key = request.path_params["user"]
        if key.isdecimal() and len(key) <= 18 and request.query_params.get("key") != "username":
            return [profiles.profile_key(int(key), mode)]
        return []

    return keys


def _own_prefetch(mode: str | None) -> Any:
    """What `me` reads from the cache, fetched with the token in one round trip."""

    def keys(request: Request) -> list[str]:
        uid = claimed_user_id(request)
        if uid is None:
            return []
        return [profiles.own_profile_key(uid, mode), chat.unread_key(uid)]

    return keys


def _in_mode(endpoint: Any, mode: str) -> Any:
    """The endpoint for one ruleset segment (a literal path, so `/users/1/kudosu` is not a mode)."""

    async def handler(request: Request) -> Response:
        request.path_params["mode"] = mode
        return await endpoint(request)

    handler.__name__ = f"{endpoint.__name__}_{mode}"
    # The document reads the endpoint's parameters and declared shape through this.
    handler.__wrapped__ = endpoint  # type: ignore[attr-defined]
    return handler


ROUTES = [
    api_route("/api/v2/me", me, scope="identify", prefetch=_own_prefetch(None)),
    *(
        api_route(f"/api/v2/me/{r}", _in_mode(me, r), scope="identify", prefetch=_own_prefetch(r))
        for r in RULESETS
    ),
    api_route("/api/v2/users", index, scope="public"),
    api_route("/api/v2/users/lookup", lookup, scope="public"),
    api_route("/api/v2/users/{user}", show, scope="public", prefetch=_profile_prefetch(None)),
    *(
        api_route(
            f"/api/v2/users/{{user}}/{r}",
            _in_mode(show, r),
            scope="public",
            prefetch=_profile_prefetch(r),
        )
        for r in RULESETS
    ),
    api_route("/api/v2/friends", friends, scope="friends.read"),
    api_route("/api/v2/friends", add_friend, methods=["POST"], scope="*"),
    api_route("/api/v2/friends/{friend}", remove_friend, methods=["DELETE"], scope="*"),
    api_route("/api/v2/blocks", blocks, scope="*"),
    api_route("/api/v2/blocks", add_block, methods=["POST"], scope="*"),
    api_route("/api/v2/blocks/{block}", remove_block, methods=["DELETE"], scope="*"),
]
