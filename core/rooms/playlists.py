"""Playlists rooms over HTTP (osu-web `Room::startGame`, `join`, `part`, `endGame`), and the chat
channel every room has."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette

from core.chat import service as chat
from core.chat import store as chat_db
from core.config import Key, Section, Settings
from core.db import utcnow
from core.http import unprocessable
from core.rooms import access, listing
from core.rooms import store as rooms_db
from core.rooms.items import InvalidItem, check_item, star_rating
from core.services import services

Row = Mapping[str, Any]
MAX_NAME = 100
MAX_ITEMS = 50
# osu-web: ends_at at least 30 minutes after the start.
MIN_DURATION = dt.timedelta(minutes=30)
CLOSE_WINDOW = dt.timedelta(minutes=5)


SECTION = Section(
    "rooms",
    (
        Key("max_playlist_days", 14, "Longest playlist a user may open, in days.", min=1),
        Key("max_active_playlists", 3, "Playlists one user may have open at once.", min=0),
        Key("max_attempts_limit", 128, "Highest max_attempts a playlist may set.", min=1),
    ),
    "Multiplayer and playlist rooms.",
)


def rooms_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


async def create_channel(app: Starlette, room_id: int, name: str, host: Row) -> int:
    """The room's MULTIPLAYER chat channel, with the host in it."""
    channel_id = await chat_db.create_channel(
        services(app).db,
        name=f"#lazermp_{room_id}",
        type_=chat_db.MULTIPLAYER,
        description=name[:255],
        room_id=room_id,
    )
    await rooms_db.update_room(services(app).db, room_id, channel_id=channel_id)
    await join_channel(app, channel_id, host)
    return channel_id


async def join_channel(app: Starlette, channel_id: int | None, user: Row) -> None:
    channel = await chat_db.get_channel(services(app).db, channel_id) if channel_id else None
    if channel is not None:
        await chat.join(services(app), channel, user)


async def part_channel(app: Starlette, channel_id: int | None, user: Row) -> None:
    channel = await chat_db.get_channel(services(app).db, channel_id) if channel_id else None
    if channel is not None:
        await chat.part(services(app), channel, user)


def _int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, list | dict):
        raise unprocessable(f"field '{name}' must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise unprocessable(f"field '{name}' must be an integer") from None


def _time(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    parsed = rooms_db._time(value) if isinstance(value, str) else None
    if parsed is None:
        raise unprocessable("field 'ends_at' must be a time")
    return parsed


async def _items(app: Starlette, host_id: int, raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise unprocessable("field 'playlist' must an an array")
    if not raw:
        raise unprocessable("room must have at least one playlist item")
    if len(raw) > MAX_ITEMS:
        raise unprocessable(f"room can have at most {MAX_ITEMS} playlist items")
    items = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise unprocessable("playlist items must be objects")
        beatmap_id = _int(entry.get("beatmap_id"), "beatmap_id")
        if beatmap_id is None and isinstance(entry.get("beatmap"), dict):
            beatmap_id = _int(entry["beatmap"].get("id"), "beatmap_id")
        ruleset_id = _int(entry.get("ruleset_id"), "ruleset_id")
        if beatmap_id is None or ruleset_id is None:
            raise unprocessable("playlist items need beatmap_id and ruleset_id")
        required, allowed = entry.get("required_mods") or [], entry.get("allowed_mods") or []
        if not isinstance(required, list) or not isinstance(allowed, list):
            raise unprocessable("mods must be arrays")
        try:
            beatmap, req, alw = await check_item(
                app,
                beatmap_id=beatmap_id,
                ruleset_id=ruleset_id,
                checksum=None,
                required=required,
                allowed=allowed,
                freestyle=bool(entry.get("freestyle", False)),
            )
        except InvalidItem as exc:
            raise unprocessable(str(exc)) from None
        items.append(
            {
                "owner_id": host_id,
                "beatmap_id": int(beatmap["id"]),
                "ruleset_id": ruleset_id,
                "required_mods": req,
                "allowed_mods": alw,
                "freestyle": bool(entry.get("freestyle", False)),
                "star_rating": star_rating(beatmap),
            }
        )
    return items


async def create(app: Starlette, host: Row, body: Mapping[str, Any]) -> dict[str, Any]:
    """A playlists room from a lazer `Room` JSON body; returns the stored row."""
    refusal = access.create_refusal(host)
    if refusal is not None:
        # osu-web answers 403, but lazer signs the user out on any 403 (ppy/osu APIAccess.cs).
        raise unprocessable(refusal)
    db = services(app).db
    conf = rooms_settings(services(app).settings)
    type_ = body.get("type")
    if body.get("category") == "realtime" or type_ in rooms_db.REALTIME_TYPES:
        raise unprocessable("realtime rooms are created through the multiplayer server")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise unprocessable("'name' is required")
    if len(name) > MAX_NAME:
        raise unprocessable(f"'name' must be at most {MAX_NAME} characters")
    now = utcnow()
    ends_at = _time(body.get("ends_at"))
    duration = _int(body.get("duration"), "duration")
    if ends_at is None and duration is not None:
        if not 0 < duration <= 60 * 24 * 366:
            raise unprocessable("field 'duration' is out of range")
        ends_at = now + dt.timedelta(minutes=duration)
    if ends_at is None:
        raise unprocessable("'ends_at' is required")
    if ends_at < now + MIN_DURATION:
        raise unprocessable("'ends_at' must be at least 30 minutes after 'starts_at'")
    if ends_at > now + dt.timedelta(days=int(conf["max_playlist_days"])):
        raise unprocessable("The duration of the playlist is too long.")
    max_attempts = _int(body.get("max_attempts"), "max_attempts")
    limit = int(conf["max_attempts_limit"])
    if max_attempts is not None and not 1 <= max_attempts <= limit:
        raise unprocessable(f"field 'max_attempts' must be between 1 and {limit}")
    if await rooms_db.count_active_playlists(db, int(host["id"])) >= conf["max_active_playlists"]:
        raise unprocessable("number of simultaneously active rooms reached")
    password = body.get("password")
    password = password if isinstance(password, str) and password else None
    items = await _items(app, int(host["id"]), body.get("playlist"))
    room_id = await rooms_db.create_room(
        db,
        {
            "name": name,
            "category": "normal",
            "type": rooms_db.PLAYLISTS,
            "user_id": int(host["id"]),
            "password": await access.password_hash(services(app), password),
            "max_attempts": max_attempts,
            "starts_at": now,
            "ends_at": ends_at,
        },
    )
    for order, item in enumerate(items):
        await rooms_db.insert_item(db, room_id, {**item, "playlist_order": order})
    await create_channel(app, room_id, name, host)
    await listing.changed(services(app))
    room = await rooms_db.get_room(db, room_id)
    assert room is not None
    return room


async def join(app: Starlette, user: Row, room: Row, password: str | None) -> None:
    if not await access.password_matches(room, password):
        raise unprocessable("Invalid password")
    await join_channel(app, room["channel_id"], user)
    await rooms_db.set_in_room(services(app).db, room, int(user["id"]), True, count_realtime=False)
    await listing.changed(services(app))


async def part(app: Starlette, user: Row, room: Row) -> None:
    await part_channel(app, room["channel_id"], user)
    if await rooms_db.participant(services(app).db, int(room["id"]), int(user["id"])) is not None:
        await rooms_db.set_in_room(
            services(app).db, room, int(user["id"]), False, count_realtime=False
        )
        await listing.changed(services(app))


async def close(app: Starlette, user: Row, room: Row) -> None:
    """osu-web `endGame`: the host closes a playlist early, within minutes of opening it."""
    if int(room["user_id"]) != int(user["id"]):
        raise unprocessable("Only the host can close this room.")
    if rooms_db.is_realtime(room):
        raise unprocessable("Realtime rooms close when everyone has left.")
    now = utcnow()
    if rooms_db.has_ended(room, now):
        raise unprocessable("This room has already ended.")
    if now - room["starts_at"] > CLOSE_WINDOW:
        raise unprocessable("Playlists can only be closed within 5 minutes of opening them.")
    await rooms_db.update_room(services(app).db, int(room["id"]), ends_at=now)
    await listing.changed(services(app))
