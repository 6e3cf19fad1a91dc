"""API v2 `beatmapsets/events` (osu-web BeatmapsetEventsController / ModdingHistoryEventsBundle):
the modding history of sets, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route
from core.beatmaps import set_events, views
from core.beatmaps import store as beatmaps_db
from core.http import Params, json, params, unprocessable
from core.openapi import describe
from core.openapi_schemas import INT, array, obj
from core.services import services

# osu-web ModdingHistoryEventsBundle: 10 a page by default, at most 50.
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
# osu-web BeatmapsetDiscussionReview::config()
MAX_BLOCKS = 50


def _date(p: Params, key: str) -> dt.datetime | None:
    text = p.str(key, max_length=64)
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise unprocessable(f"{key} must be a date") from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


@describe(
    responses={
        200: obj(
            {
                "events": array("BeatmapsetEvent"),
                "reviewsConfig": obj({"max_blocks": INT}),
                "users": array("UserCompact"),
            }
        )
    }
)
async def index(request: Request) -> Response:
    p = await params(request)
    types = [str(t) for t in p.list("types", max_items=len(set_events.TYPES) * 2)]
    single = p.str("type", max_length=32)
    if single is not None:
        types.append(single)
    limit = p.int("limit", DEFAULT_LIMIT, minimum=1) or DEFAULT_LIMIT
    page = p.int("page", 1, minimum=1, maximum=10_000) or 1
    user_id = p.int("user", minimum=1)
    set_id = p.int("beatmapset_id", minimum=1)
    db = services(request).db
    rows = await set_events.search(
        db,
        types=types,
        user_id=user_id,
        set_id=set_id,
        min_date=_date(p, "min_date"),
        max_date=_date(p, "max_date"),
        limit=min(limit, MAX_LIMIT),
        page=page,
    )
    sets = await beatmaps_db.beatmapsets_by_ids(db, {int(r["beatmapset_id"]) for r in rows})
    # osu-web includes `beatmapset.user`: the mapper, as on search results.
    compact = {}
    for set_id, row in sets.items():
        mapper = views.stub_user(row["user_id"], row["creator"])
        compact[set_id] = {**views.beatmapset_compact(row), "user": mapper}
    users: list[dict[str, Any]] = []
    user_ids = sorted({int(r["user_id"]) for r in rows if r["user_id"] is not None})
    if user_ids:
        from core.users import profiles
        from core.users import store as users_db

        conf = profiles.accounts_settings(services(request).settings)
        users = [
            profiles.user_compact(u, conf)
            for u in await users_db.get_users(db, user_ids)
            if not u["restricted"]
        ]
    body = {
        "events": [set_events.view(r, compact.get(int(r["beatmapset_id"]))) for r in rows],
        "reviewsConfig": {"max_blocks": MAX_BLOCKS},
        "users": users,
    }
    return json(orjson.dumps(body))


ROUTES = [
    api_route("/api/v2/beatmapsets/events", index, methods=("GET", "HEAD")),
]
