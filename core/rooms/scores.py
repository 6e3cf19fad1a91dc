"""Room scores (ppy/osu osu.Game/Screens/Play/RoomSubmittingPlayer.cs): tokens for a playlist
item, submission through the solo flow, the link to the room, per-item listings with cursors,
and the score-set event.

A room score is a normal score (`core.scores.submit`), so it counts for the user's statistics
like any other; `core.rooms.store.link_score` then ties it to the room and item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from loguru import logger
from starlette.applications import Starlette

from core.beatmaps import store as beatmaps_db
from core.db import utcnow
from core.http import ApiError, decode_cursor, encode_cursor, not_found, time_z, unprocessable
from core.rooms import listing as rooms_listing
from core.rooms import store as rooms_db
from core.rooms.items import invalid_user_mods
from core.scores import store as scores_db
from core.scores import submit as submission
from core.scores import views as score_views
from core.services import services

Row = Mapping[str, Any]
ROOM_MODEL = "Multiplayer\\Room"
ITEM_MODEL = "Multiplayer\\PlaylistItem"
TOKEN_MODEL = "Solo\\ScoreToken"
SCORE_LINK_MODEL = "Multiplayer\\ScoreLink"
# Scores may still arrive this long after a room ends (osu-web's grace period).
SUBMIT_GRACE_SECONDS = 300
AROUND_LIMIT = 10


async def room_and_item(
    app: Starlette, room_id: int | None, item_id: int | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    db = services(app).db
    room = await rooms_db.get_room(db, room_id) if room_id is not None else None
    if room is None:
        raise not_found(ROOM_MODEL)
    item = await rooms_db.get_item(db, int(room["id"]), item_id) if item_id is not None else None
    if item is None:
        raise not_found(ITEM_MODEL)
    return room, item


async def create_token(
    app: Starlette,
    user: Row,
    room: Row,
    item: Row,
    *,
    beatmap_id: int | None,
    ruleset_id: int | None,
    beatmap_hash: str | None,
    version_hash: str | None,
) -> dict[str, Any]:
    """osu-web `Room::startPlay`: checks, one more attempt, then a token for the item."""
    db = services(app).db
    if rooms_db.has_ended(room):
        raise unprocessable("Room has already ended.")
    if room["max_attempts"] is not None:
        mine = await rooms_db.participant(db, int(room["id"]), int(user["id"]))
        if mine is not None and mine["attempts"] >= room["max_attempts"]:
            raise unprocessable("You have reached the maximum number of tries allowed.")
    if item["expired"]:
        raise unprocessable("Cannot play an expired playlist item.")
    if item["played_at"] is not None:
        raise unprocessable("Cannot play a playlist item that has already been played.")
    beatmap_id = int(item["beatmap_id"]) if beatmap_id is None else beatmap_id
    ruleset_id = int(item["ruleset_id"]) if ruleset_id is None else ruleset_id
    if beatmap_id != int(item["beatmap_id"]):
        if not item["freestyle"] or not await _same_set(app, beatmap_id, int(item["beatmap_id"])):
            raise unprocessable("beatmap_id does not match the playlist item")
    if ruleset_id != int(item["ruleset_id"]) and not item["freestyle"]:
        raise unprocessable("ruleset_id does not match the playlist item")
    token = await submission.create_token(
        app, int(user["id"]), beatmap_id, ruleset_id, beatmap_hash, version_hash
    )
    await rooms_db.attach_token_item(db, int(token["id"]), int(item["id"]))
    await rooms_db.add_attempt(db, room, int(user["id"]))
    await rooms_listing.changed(services(app))
    return {
        "id": int(token["id"]),
        "beatmap_id": beatmap_id,
        "created_at": time_z(token["created_at"]),
        "playlist_item_id": int(item["id"]),
        "user_id": int(user["id"]),
    }


async def _same_set(app: Starlette, beatmap_id: int, other_id: int) -> bool:
    db = services(app).db
    a = await beatmaps_db.beatmap_by_id(db, beatmap_id)
    b = await beatmaps_db.beatmap_by_id(db, other_id)
    return a is not None and b is not None and a["beatmapset_id"] == b["beatmapset_id"]


def _check_mods(body: Any, item: Row, ruleset_id: int) -> None:
    """The play's mods must include the item's required mods and otherwise be allowed."""
    mods = body.get("mods") if isinstance(body, dict) else None
    if not isinstance(mods, list):
        mods = []
    acronyms = {
        str(m.get("acronym") if isinstance(m, dict) else m).upper()
        for m in mods
        if isinstance(m, dict | str)
    }
    required = {m["acronym"] for m in item["required_mods"]}
    if not required <= acronyms:
        raise unprocessable("This play does not include the mods required.")
    others = [
        m for m in mods if isinstance(m, dict) and str(m.get("acronym")).upper() not in required
    ]
    if invalid_user_mods(
        others, item["required_mods"], item["allowed_mods"], ruleset_id, item["freestyle"]
    ):
        raise unprocessable("This play includes mods that are not allowed.")


async def submit(
    app: Starlette, user: Row, room: Row, item: Row, token_id: int | None, body: Any
) -> dict[str, Any]:
    """Store the play of a room token and link it; a repeated PUT answers with the same score."""
    db = services(app).db
    token = await scores_db.get_token(db, token_id) if token_id is not None else None
    if token is None or token["user_id"] != user["id"] or token["playlist_item_id"] != item["id"]:
        raise not_found(TOKEN_MODEL)
    if token["score_id"] is None:
        now = utcnow()
        if room["ends_at"] is not None and (now - room["ends_at"]).total_seconds() > (
            SUBMIT_GRACE_SECONDS
        ):
            raise unprocessable("Room is no longer accepting scores.")
        _check_mods(body, item, int(token["ruleset_id"]))
    score, _ = await submission.submit(app, user, int(token["beatmap_id"]), int(token["id"]), body)
    linked, improved = await rooms_db.link_score(db, int(room["id"]), int(item["id"]), score)
    if linked:
        await rooms_listing.changed(services(app))
    if linked:
        await publish_score_set(app, room, item, score, improved)
    return score


async def publish_score_set(
    app: Starlette, room: Row, item: Row, score: Row, improved: bool
) -> None:
    db = services(app).db
    new_rank = None
    if improved:
        mine = await rooms_db.participant(db, int(room["id"]), int(score["user_id"]))
        if mine is not None:
            new_rank = await rooms_db.leaderboard_position(db, mine)
    event = rooms_db.score_set_event(int(room["id"]), int(item["id"]), score, new_rank)
    try:
        await services(app).cache.publish(rooms_db.ROOM_SCORE_CHANNEL, orjson.dumps(event))
    except Exception:
        # The score is stored; watchers of the room miss one live update at worst.
        logger.exception("room score event for room {} not published", room["id"])


# --- reading -----------------------------------------------------------------------------------


async def render(
    app: Starlette, room: Row, item: Row, score_rows: Sequence[Row], viewer_id: int | None
) -> list[dict[str, Any]]:
    """MultiplayerScore objects: the new score format with its user, room and item ids."""
    rendered = await score_views.render(
        app, score_rows, version=score_views.NEW_FORMAT_VERSION, user=True, viewer_id=viewer_id
    )
    for out in rendered:
        out["playlist_item_id"] = int(item["id"])
        out["room_id"] = int(room["id"])
    return rendered


def cursor_from(params: Any) -> tuple[int, int] | None:
    """The (total_score, score_id) of `cursor_string` or `cursor[...]`; None to start over."""
    cursor = decode_cursor(params.str("cursor_string", max_length=1000)) or params.dict("cursor")
    try:
        total = int(cursor["total_score"])
        score_id = int(cursor["score_id"])
    except (KeyError, TypeError, ValueError):
        return None
    return total, score_id


async def listing(
    app: Starlette,
    room: Row,
    item: Row,
    *,
    limit: int,
    desc: bool,
    after: tuple[int, int] | None,
    viewer_id: int | None,
) -> dict[str, Any]:
    """MultiplayerScores: users' best scores on the item with a (total_score, score_id) cursor."""
    db = services(app).db
    rows = await rooms_db.item_bests(db, int(item["id"]), desc=desc, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    by_id = await scores_db.get_scores(db, [int(r["score_id"]) for r in rows])
    scores = [by_id[int(r["score_id"])] for r in rows if int(r["score_id"]) in by_id]
    cursor = None
    if more and rows:
        cursor = {
            "score_id": int(rows[-1]["score_id"]),
            "total_score": int(rows[-1]["total_score"]),
        }
    user_score = None
    if viewer_id is not None:
        best = await rooms_db.user_best(db, int(item["id"]), viewer_id)
        if best is not None:
            own = await scores_db.get_score(db, int(best["score_id"]))
            if own is not None:
                [user_score] = await render(app, room, item, [own], viewer_id)
                user_score["position"] = await rooms_db.item_position(
                    db, int(item["id"]), int(best["total_score"]), int(best["score_id"])
                )
    return {
        "params": {"limit": limit, "sort": "score_desc" if desc else "score_asc"},
        "scores": await render(app, room, item, scores, viewer_id),
        "total": await rooms_db.item_best_count(db, int(item["id"])),
        "user_score": user_score,
        "cursor": cursor,
        "cursor_string": encode_cursor(cursor),
    }


async def detailed(
    app: Starlette, room: Row, item: Row, score: Row, viewer_id: int | None
) -> dict[str, Any]:
    """One MultiplayerScore with `position` and `scores_around` (higher and lower)."""
    db = services(app).db
    [out] = await render(app, room, item, [score], viewer_id)
    best = await rooms_db.user_best(db, int(item["id"]), int(score["user_id"]))
    anchor = (int(score["total_score"]), int(score["id"]))
    position = None
    if best is not None and int(best["score_id"]) == int(score["id"]):
        position = await rooms_db.item_position(db, int(item["id"]), *anchor)
    out["position"] = position
    higher = await listing(
        app, room, item, limit=AROUND_LIMIT, desc=False, after=anchor, viewer_id=None
    )
    lower = await listing(
        app, room, item, limit=AROUND_LIMIT, desc=True, after=anchor, viewer_id=None
    )
    for part in (higher, lower):
        part.pop("user_score", None)
        part.pop("total", None)
    out["scores_around"] = {"higher": higher, "lower": lower}
    return out


async def linked_score(app: Starlette, item: Row, score_id: int | None) -> dict[str, Any]:
    db = services(app).db
    link = await rooms_db.score_link(db, int(item["id"]), score_id) if score_id else None
    score = await scores_db.get_score(db, int(score_id)) if link is not None and score_id else None
    if score is None:
        raise not_found(SCORE_LINK_MODEL)
    return score


async def user_high_score(app: Starlette, item: Row, user_id: int | None) -> dict[str, Any]:
    db = services(app).db
    best = await rooms_db.user_best(db, int(item["id"]), user_id) if user_id else None
    score = await scores_db.get_score(db, int(best["score_id"])) if best is not None else None
    if score is None:
        raise ApiError(404, {"error": None})
    return score
