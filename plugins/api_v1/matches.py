"""API v1 `get_match` (ppy/osu-api wiki): a realtime (lazer multiplayer) room and its games.

A game is a `game_started` room event and the `game_completed`/`game_aborted` that ends it; its
scores are the plays linked to the playlist item. What the legacy format has and lazer rooms do
not keep is sent as its neutral value: `slot` is the order the scores arrived in, `team` is 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core import mods as mods_domain
from core.http import json, params
from core.http import time_v1 as v1_date
from core.openapi import describe
from core.openapi_schemas import STR, nullable, obj, ref
from core.rooms import store as rooms_db
from core.scores import store as scores_db
from core.scores import views as score_views
from core.services import services
from core.users import store as users_db
from plugins.api_v1.scores import INVALID_KEY

NO_MATCH = {"match": 0, "games": []}
# v1 team_type: 0 head-to-head, 1 tag co-op, 2 team vs, 3 tag team vs.
TEAM_TYPES = {"head_to_head": "0", "team_versus": "2"}


def _score(slot: int, score: Mapping[str, Any], free_mods: bool) -> dict[str, Any]:
    row = score_views.v1_row(score, beatmap_id=False, pp=False)
    return {
        "slot": str(slot),
        "team": "0",
        "user_id": row["user_id"],
        "score": row["score"],
        "maxcombo": row["maxcombo"],
        "rank": "0",
        "count50": row["count50"],
        "count100": row["count100"],
        "count300": row["count300"],
        "countmiss": row["countmiss"],
        "countgeki": row["countgeki"],
        "countkatu": row["countkatu"],
        "perfect": row["perfect"],
        "pass": "1" if score["passed"] else "0",
        "enabled_mods": row["enabled_mods"] if free_mods else None,
    }


def _games(
    room: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    items: Mapping[int, Mapping[str, Any]],
    links: Mapping[int, list[int]],
    scores: Mapping[int, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    games = []
    open_games: dict[int, dict[str, Any]] = {}
    for event in events:
        item = items.get(int(event["playlist_item_id"] or 0))
        if item is None:
            continue
        item_id = int(item["id"])
        if event["event_type"] == "game_started":
            free = bool(item["freestyle"]) or bool(item["allowed_mods"])
            game = {
                "game_id": str(item_id),
                "start_time": v1_date(event["created_at"]),
                "end_time": None,
                "beatmap_id": str(item["beatmap_id"]),
                "play_mode": str(item["ruleset_id"]),
                "match_type": "0",
                "scoring_type": "0",
                "team_type": TEAM_TYPES.get(str(room["type"]), "0"),
                "mods": str(mods_domain.to_bitmask(item["required_mods"])),
                "scores": [
                    _score(slot, scores[s], free)
                    for slot, s in enumerate(links.get(item_id, []))
                    if s in scores
                ],
            }
            open_games[item_id] = game
            games.append(game)
        elif item_id in open_games:
            open_games.pop(item_id)["end_time"] = v1_date(event["created_at"])
    return games


@describe(
    responses={
        200: obj(
            {
                "games": ref("V1Rows"),
                "match": {
                    "anyOf": [
                        {"const": 0},
                        obj(
                            {
                                "end_time": nullable(STR),
                                "match_id": STR,
                                "name": STR,
                                "start_time": nullable(STR),
                            }
                        ),
                    ]
                },
            }
        )
    }
)
async def get_match(request: Request) -> Response:
    p = await params(request)
    key = p.get("k")
    db = services(request).db
    if not isinstance(key, str) or await users_db.api_key_owner(db, key) is None:
        return json(INVALID_KEY, 401)
    raw = str(p.get("mp", "")).strip()
    if not raw.isdecimal() or len(raw) > 18:
        return json(NO_MATCH)
    room = await rooms_db.get_room(db, int(raw))
    if room is None or not rooms_db.is_realtime(room):
        return json(NO_MATCH)
    room_id = int(room["id"])
    events = await rooms_db.game_events(db, room_id)
    items = {int(i["id"]): i for i in (await rooms_db.items_of(db, [room_id]))[room_id]}
    played = sorted({int(e["playlist_item_id"]) for e in events if e["playlist_item_id"]})
    links = await rooms_db.item_score_links(db, played)
    found = await scores_db.get_scores(db, [s for ids in links.values() for s in ids])
    visible = {
        int(u["id"])
        for u in await users_db.get_users(db, sorted({int(s["user_id"]) for s in found.values()}))
        if not u["restricted"] and not u["is_deleted"]
    }
    scores = {i: s for i, s in found.items() if int(s["user_id"]) in visible}
    return json(
        {
            "match": {
                "match_id": str(room_id),
                "name": room["name"],
                "start_time": v1_date(room["starts_at"]),
                "end_time": v1_date(room["ends_at"]) if room["ends_at"] is not None else None,
            },
            "games": _games(room, events, items, links, scores),
        }
    )


ROUTES = [Route("/api/get_match", get_match, methods=["GET", "HEAD"])]
