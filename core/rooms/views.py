"""JSON shapes of rooms (ppy/osu-web app/Transformers/Multiplayer/, read by ppy/osu
osu.Game/Online/Rooms/Room.cs): Room, PlaylistItem, UserScoreAggregate and multiplayer scores,
each list built with batched queries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.applications import Starlette

from core.beatmaps import store as beatmaps_db
from core.beatmaps import views as beatmap_views
from core.http import time_z
from core.rooms import store as rooms_db
from core.services import services
from core.users import profiles
from core.users import store as users_db

Row = Mapping[str, Any]


async def _users(app: Starlette, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = await users_db.get_users(services(app).db, sorted(ids))
    cards = await profiles.cards(services(app).db, rows, services(app).settings)
    return {int(c["id"]): c for c in cards}


async def _beatmaps(app: Starlette, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Beatmap (compact + checksum, max_combo, beatmapset) by id, as lazer requires."""
    if not ids:
        return {}
    db = services(app).db
    rows = await beatmaps_db.beatmaps_by_ids(db, ids)
    sets = await beatmaps_db.beatmapsets_by_ids(db, {int(r["beatmapset_id"]) for r in rows})
    result = {}
    for row in rows:
        out = beatmap_views.beatmap_compact(row)
        out["checksum"] = row["checksum"]
        out["max_combo"] = row["max_combo"] or 0
        beatmapset = sets.get(int(row["beatmapset_id"]))
        if beatmapset is not None:
            out["beatmapset"] = beatmap_views.beatmapset_compact(beatmapset)
        result[int(row["id"])] = out
    return result


def playlist_item(item: Row, beatmaps: Mapping[int, dict[str, Any]]) -> dict[str, Any]:
    out = {
        "id": int(item["id"]),
        "room_id": int(item["room_id"]),
        "beatmap_id": int(item["beatmap_id"]),
        "created_at": time_z(item["created_at"]),
        "ruleset_id": int(item["ruleset_id"]),
        "allowed_mods": item["allowed_mods"],
        "required_mods": item["required_mods"],
        "freestyle": bool(item["freestyle"]),
        "expired": bool(item["expired"]),
        "owner_id": int(item["owner_id"]),
        "playlist_order": item["playlist_order"],
        "played_at": time_z(item["played_at"]),
    }
    beatmap = beatmaps.get(int(item["beatmap_id"]))
    if beatmap is not None:
        out["beatmap"] = beatmap
    return out


def room_base(room: Row) -> dict[str, Any]:
    return {
        "id": int(room["id"]),
        "name": room["name"],
        "category": room["category"],
        "description": room["description"],
        "status": room["status"],
        "type": room["type"],
        "user_id": int(room["user_id"]),
        "starts_at": time_z(room["starts_at"]),
        "ends_at": time_z(room["ends_at"]),
        "max_attempts": room["max_attempts"],
        "max_participants": room["max_participants"],
        "participant_count": int(room["participant_count"]),
        "channel_id": int(room["channel_id"] or 0),
        "active": not rooms_db.has_ended(room),
        "has_password": bool(room["password"]),
        "queue_mode": room["queue_mode"],
        "auto_skip": bool(room["auto_skip"]),
        "auto_start_duration": int(room["auto_start_duration"]),
        "pinned": bool(room["pinned"]),
    }


def _difficulty_range(
    items: Sequence[Row], beatmaps: Mapping[int, dict[str, Any]]
) -> dict[str, Any]:
    ratings = [
        beatmaps[int(i["beatmap_id"])]["difficulty_rating"]
        for i in items
        if int(i["beatmap_id"]) in beatmaps
    ]
    return {"min": min(ratings, default=0), "max": max(ratings, default=0)}


def _item_stats(items: Sequence[Row]) -> dict[str, Any]:
    active = [i for i in items if not i["expired"]]
    source = active or items
    return {
        "count_active": len(active),
        "count_total": len(items),
        "ruleset_ids": sorted({int(i["ruleset_id"]) for i in source}),
    }


async def rooms(
    app: Starlette,
    room_rows: Sequence[Row],
    *,
    full: bool = False,
    viewer_id: int | None = None,
) -> list[dict[str, Any]]:
    """Rooms as the listing shows them; `full` adds what `GET rooms/{id}` adds (the playlist,
    the viewer's score)."""
    db = services(app).db
    items_by_room = await rooms_db.items_of(db, [int(r["id"]) for r in room_rows])
    participants = await rooms_db.recent_participants(db, room_rows)
    beatmap_ids = {int(i["beatmap_id"]) for items in items_by_room.values() for i in items}
    beatmaps = await _beatmaps(app, beatmap_ids)
    user_ids = {int(r["user_id"]) for r in room_rows}
    for ids in participants.values():
        user_ids.update(ids)
    users = await _users(app, user_ids)
    result = []
    for room in room_rows:
        items = items_by_room.get(int(room["id"]), [])
        out = room_base(room)
        current = rooms_db.current_item(room, items)
        out["current_playlist_item"] = (
            playlist_item(current, beatmaps) if current is not None else None
        )
        out["difficulty_range"] = _difficulty_range(items, beatmaps)
        out["host"] = users.get(int(room["user_id"]))
        out["playlist_item_stats"] = _item_stats(items)
        out["recent_participants"] = [
            users[u] for u in participants.get(int(room["id"]), []) if u in users
        ]
        if full:
            out["playlist"] = [playlist_item(i, beatmaps) for i in items]
            # Absent for a guest (osu-web RoomTransformer includeCurrentUserScore).
            if viewer_id is not None:
                out["current_user_score"] = await user_score(app, room, viewer_id)
        result.append(out)
    return result


def aggregate(row: Row) -> dict[str, Any]:
    """UserScoreAggregate (osu-web UserScoreAggregateTransformer). `pp` is the sum of the pp of
    the user's best score on each item; osu-web sends 0 there, having no pp for room scores."""
    completed = int(row["completed"])
    return {
        "accuracy": float(row["accuracy"]) / completed if completed else 0.0,
        "attempts": int(row["attempts"]),
        "completed": completed,
        "pp": float(row["pp"]),
        "room_id": int(row["room_id"]),
        "total_score": int(row["total_score"]),
        "user_id": int(row["user_id"]),
    }


def empty_aggregate(room_id: int, user_id: int) -> dict[str, Any]:
    """The aggregate of a user without attempts (osu-web UserScoreAggregate::lookupOrDefault)."""
    return aggregate(
        {
            "accuracy": 0.0,
            "attempts": 0,
            "completed": 0,
            "pp": 0.0,
            "room_id": room_id,
            "total_score": 0,
            "user_id": user_id,
        }
    )


async def user_score(app: Starlette, room: Row, user_id: int) -> dict[str, Any]:
    """current_user_score: the viewer's aggregate with playlist_item_attempts, zeroed when the
    viewer has not played in the room."""
    db = services(app).db
    row = await rooms_db.participant(db, int(room["id"]), user_id)
    out = aggregate(row) if row is not None else empty_aggregate(int(room["id"]), user_id)
    out["playlist_item_attempts"] = await rooms_db.item_attempts(db, int(room["id"]), user_id)
    return out


async def leaderboard(
    app: Starlette, room: Row, limit: int, viewer_id: int | None
) -> dict[str, Any]:
    db = services(app).db
    rows = await rooms_db.leaderboard(db, int(room["id"]), limit)
    mine = await rooms_db.participant(db, int(room["id"]), viewer_id) if viewer_id else None
    if mine is not None and not mine["completed"]:
        mine = None
    # `mine` is only looked up for a viewer, so a viewer id is there whenever it is.
    own = {viewer_id} if mine and viewer_id is not None else set()
    users = await _users(app, {int(r["user_id"]) for r in rows} | own)
    board = []
    for row in rows:
        out = aggregate(row)
        out["user"] = users.get(int(row["user_id"]))
        board.append(out)
    user_score_json = None
    if mine is not None:
        user_score_json = aggregate(mine)
        user_score_json["position"] = await rooms_db.leaderboard_position(db, mine)
        user_score_json["user"] = users.get(int(mine["user_id"]))
    return {"leaderboard": board, "user_score": user_score_json}
