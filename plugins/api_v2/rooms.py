"""API v2 rooms (osu-web app/Http/Controllers/Multiplayer/, as ppy/osu osu.Game/Online/Rooms/
calls them): listing, show, playlists create, join, part and close, the room leaderboard and
events, and room score tokens, submission and reads.

These routes live with the rest of API v2 rather than in the multiplayer plugin: playlists need
no hub, and realtime rooms are only read here (the hub keeps their rows current).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, claimed_user_id, current_user, reader, require_user
from core.beatmaps import store as beatmaps_db
from core.beatmaps import views as beatmap_views
from core.http import error, json, no_content, not_found, params, path_id, time_z, unprocessable
from core.openapi import describe
from core.openapi_schemas import INT, array, nullable, obj, ref
from core.rooms import access, listing, playlists, views
from core.rooms import scores as room_scores
from core.rooms import store as rooms_db
from core.scores import scoring
from core.scores import store as scores_db
from core.services import services
from core.users import profiles
from core.users import store as users_db
from plugins.api_v2._score_common import viewer_id

MODES = ("active", "all", "ended", "participated", "owned")


async def _room(request: Request) -> dict[str, Any]:
    room_id = path_id(request.path_params["room"])
    room = await rooms_db.get_room(services(request).db, room_id) if room_id else None
    if room is None:
        raise not_found(room_scores.ROOM_MODEL)
    return room


@describe(responses={200: array("Room")})
async def index(request: Request) -> Response:
    p = await params(request)
    category = p.str("category", max_length=32)
    type_group = p.str("type_group", max_length=32)
    if category == "realtime":
        type_group, category = "realtime", None
    types = rooms_db.TYPE_GROUPS.get(type_group or "", rooms_db.TYPE_GROUPS["playlists"])
    if category not in rooms_db.CATEGORIES:
        category = None
    mode = p.str("mode", max_length=32) or "active"
    mode = mode if mode in MODES else "active"
    user = current_user(request)
    if mode in ("participated", "owned") and user is None:
        return json([])
    svc = services(request)
    # A restricted viewer also sees their own hidden rooms: their listing is not shared.
    shared = user is None or not user["restricted"]
    viewer = viewer_id(request)
    key = listing.body_key(request.scope["query_string"], mode, viewer)
    read = reader(request)
    version = await listing.version(read)
    now = listing.now()
    if shared:
        body = listing.fresh(await read(key), version, now)
        if body is not None:
            return json(body)
    status = p.str("status", max_length=16)
    sort = p.str("sort", max_length=16) or ("ended" if mode == "ended" else "created")
    limit = max(1, min(250, p.int("limit", 250) or 250))
    rows = await rooms_db.search_rooms(
        services(request).db,
        types=types,
        mode=mode,
        user_id=viewer,
        category=category,
        status=status if status in ("idle", "playing") else None,
        sort="ended" if sort == "ended" else "created",
        cursor=p.dict("cursor"),
        limit=limit,
    )
    response = json(await views.rooms(request.app, rows))
    if shared:
        until = await listing.next_change(svc.db, now)
        await listing.store(svc, key, version, until, bytes(response.body))
    return response


def _index_prefetch(request: Request) -> list[str]:
    """What `index` reads (`listing.keys`), named from the request alone."""
    mode = request.query_params.get("mode")
    return listing.keys(request.scope["query_string"], mode, claimed_user_id(request))


@describe(responses={200: "Room"})
async def show(request: Request) -> Response:
    if request.path_params["room"] == "latest":
        rows = await rooms_db.search_rooms(
            services(request).db,
            types=rooms_db.TYPE_GROUPS["playlists"],
            mode="all",
            user_id=None,
            category="spotlight",
            status=None,
            sort="created",
            cursor={},
            limit=1,
        )
        if not rows:
            raise error(404)
        room = rows[0]
    else:
        room = await _room(request)
        if await access.hidden_from(services(request).db, room, viewer_id(request)):
            raise not_found(room_scores.ROOM_MODEL)
    [body] = await views.rooms(request.app, [room], full=True, viewer_id=viewer_id(request))
    return json(body)


@describe(responses={200: "Room"})
async def store(request: Request) -> Response:
    user = require_user(request)
    p = await params(request)
    room = await playlists.create(request.app, user, p.data)
    [body] = await views.rooms(request.app, [room], full=True, viewer_id=int(user["id"]))
    return json(body)


async def destroy(request: Request) -> Response:
    user = require_user(request)
    room = await _room(request)
    await playlists.close(request.app, user, room)
    return no_content()


def _own_path_user(request: Request) -> dict[str, Any]:
    user = dict(require_user(request))
    # Only oneself may be added or removed (osu-web answers 403; lazer would log out on it).
    if path_id(request.path_params["user"]) != int(user["id"]):
        raise unprocessable("You can only join or leave rooms yourself.")
    return user


@describe(responses={200: "Room"})
async def join(request: Request) -> Response:
    user = _own_path_user(request)
    room = await _room(request)
    p = await params(request)
    await playlists.join(request.app, user, room, p.str("password", max_length=255))
    fresh = await rooms_db.get_room(services(request).db, int(room["id"]))
    [body] = await views.rooms(request.app, [fresh or room], full=True, viewer_id=int(user["id"]))
    return json(body)


async def part(request: Request) -> Response:
    user = _own_path_user(request)
    room = await _room(request)
    await playlists.part(request.app, user, room)
    return no_content()


@describe(
    responses={
        200: obj(
            {
                "leaderboard": array("UserScoreAggregate"),
                "user_score": {"anyOf": [ref("UserScoreAggregate"), {"type": "null"}]},
            }
        )
    }
)
async def leaderboard(request: Request) -> Response:
    room = await _room(request)
    p = await params(request)
    limit = max(1, min(50, p.int("limit", 50) or 50))
    return json(await views.leaderboard(request.app, room, limit, viewer_id(request)))


@describe(
    responses={
        200: obj(
            {
                "beatmaps": array("BeatmapCompact"),
                "beatmapsets": array("BeatmapsetCompact"),
                "current_playlist_item_id": nullable(INT),
                "events": array("RealtimeRoomEvent"),
                "first_event_id": INT,
                "last_event_id": INT,
                "playlist_items": array("PlaylistItem"),
                "room": ref("Room"),
                "users": array("UserCompact"),
            }
        )
    }
)
async def events(request: Request) -> Response:
    room = await _room(request)
    if not rooms_db.is_realtime(room):
        raise unprocessable("retrieving events is only supported for realtime rooms")
    p = await params(request)
    limit = max(1, min(101, p.int("limit", 100) or 100))
    db = services(request).db
    rows = await rooms_db.events(
        db, int(room["id"]), after=p.int("after"), before=p.int("before"), limit=limit
    )
    items = {i["id"]: i for i in (await rooms_db.items_of(db, [int(room["id"])]))[room["id"]]}
    event_items = [items[e["playlist_item_id"]] for e in rows if e["playlist_item_id"] in items]
    unique_items = list({int(i["id"]): i for i in event_items}.values())
    links = await rooms_db.item_score_links(db, [int(i["id"]) for i in unique_items])
    score_rows = await scores_db.get_scores(db, [s for ids in links.values() for s in ids])
    user_ids = {int(e["user_id"]) for e in rows if e["user_id"]}
    user_ids |= {int(s["user_id"]) for s in score_rows.values()}
    beatmap_ids = {int(i["beatmap_id"]) for i in unique_items}
    beatmap_rows = await beatmaps_db.beatmaps_by_ids(db, beatmap_ids)
    set_rows = await beatmaps_db.beatmapsets_by_ids(
        db, {int(b["beatmapset_id"]) for b in beatmap_rows}
    )
    user_rows = await users_db.get_users(db, sorted(user_ids))
    cards = {
        int(c["id"]): c for c in await profiles.cards(db, user_rows, services(request).settings)
    }
    playlist_items = []
    for item in unique_items:
        out = views.playlist_item(item, {})
        out["details"] = {"room_type": room["type"], "teams": None}
        scored = [score_rows[s] for s in links[int(item["id"])] if s in score_rows]
        out["scores"] = await room_scores.render(request.app, room, item, scored, None)
        playlist_items.append(out)
    first, last = await rooms_db.event_bounds(db, int(room["id"]))
    current = rooms_db.current_item(room, list(items.values()))
    [room_json] = await views.rooms(request.app, [room])
    return json(
        {
            "beatmaps": [beatmap_views.beatmap_compact(b) for b in beatmap_rows],
            "beatmapsets": [beatmap_views.beatmapset_compact(s) for s in set_rows.values()],
            "current_playlist_item_id": None if current is None else int(current["id"]),
            "events": [
                {
                    "id": int(e["id"]),
                    "detail": {"type": e["event_type"]},
                    "created_at": time_z(e["created_at"]),
                    "event_type": e["event_type"],
                    "playlist_item_id": e["playlist_item_id"],
                    "user_id": e["user_id"],
                }
                for e in rows
            ],
            "first_event_id": first,
            "last_event_id": last,
            "playlist_items": playlist_items,
            "room": room_json,
            "users": [cards[u] for u in sorted(user_ids) if u in cards],
        }
    )


# --- scores ------------------------------------------------------------------------------------


async def _room_item(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    return await room_scores.room_and_item(
        request.app,
        path_id(request.path_params["room"]),
        path_id(request.path_params["item"]),
    )


@describe(responses={200: "ScoreToken"})
async def create_token(request: Request) -> Response:
    user = require_user(request)
    room, item = await _room_item(request)
    p = await params(request)
    token = await room_scores.create_token(
        request.app,
        user,
        room,
        item,
        beatmap_id=p.int("beatmap_id", minimum=1, maximum=2**31 - 1),
        ruleset_id=p.int("ruleset_id", minimum=0, maximum=len(scoring.RULESETS) - 1),
        beatmap_hash=p.str("beatmap_hash", max_length=32),
        version_hash=p.str("version_hash", max_length=64),
    )
    return json(token)


@describe(responses={200: "MultiplayerScore"})
async def submit(request: Request) -> Response:
    user = require_user(request)
    room, item = await _room_item(request)
    p = await params(request)
    token_id = path_id(request.path_params["token"])
    score = await room_scores.submit(request.app, user, room, item, token_id, p.data)
    return json(await room_scores.detailed(request.app, room, item, score, int(user["id"])))


@describe(responses={200: "MultiplayerScores"})
async def index_scores(request: Request) -> Response:
    room, item = await _room_item(request)
    p = await params(request)
    limit = max(1, min(50, p.int("limit", 50) or 50))
    desc = p.str("sort", max_length=16) != "score_asc"
    body = await room_scores.listing(
        request.app,
        room,
        item,
        limit=limit,
        desc=desc,
        after=room_scores.cursor_from(p),
        viewer_id=viewer_id(request),
    )
    return json(body)


@describe(responses={200: "MultiplayerScore"})
async def show_score(request: Request) -> Response:
    room, item = await _room_item(request)
    score = await room_scores.linked_score(request.app, item, path_id(request.path_params["score"]))
    return json(await room_scores.detailed(request.app, room, item, score, viewer_id(request)))


@describe(responses={200: "MultiplayerScore"})
async def show_user_score(request: Request) -> Response:
    room, item = await _room_item(request)
    score = await room_scores.user_high_score(
        request.app, item, path_id(request.path_params["user"])
    )
    return json(await room_scores.detailed(request.app, room, item, score, viewer_id(request)))


_SCORES = "/api/v2/rooms/{room}/playlist/{item}/scores"

ROUTES = [
    api_route("/api/v2/rooms", index, methods=["GET", "HEAD"], prefetch=_index_prefetch),
    api_route("/api/v2/rooms", store, methods=["POST"], scope="*"),
    api_route("/api/v2/rooms/{room}", show, methods=["GET", "HEAD"]),
    api_route("/api/v2/rooms/{room}", destroy, methods=["DELETE"], scope="*"),
    api_route("/api/v2/rooms/{room}/users/{user}", join, methods=["PUT"], scope="*"),
    api_route("/api/v2/rooms/{room}/users/{user}", part, methods=["DELETE"], scope="*"),
    api_route("/api/v2/rooms/{room}/leaderboard", leaderboard, methods=["GET", "HEAD"]),
    api_route("/api/v2/rooms/{room}/events", events, methods=["GET", "HEAD"]),
    api_route(_SCORES, index_scores, methods=["GET", "HEAD"]),
    api_route(_SCORES, create_token, methods=["POST"], scope="*"),
    api_route(_SCORES + "/users/{user}", show_user_score, methods=["GET", "HEAD"], scope="*"),
    api_route(_SCORES + "/{score}", show_score, methods=["GET", "HEAD"], scope="*"),
    api_route(_SCORES + "/{token}", submit, methods=["PUT", "PATCH"], scope="*"),
]
