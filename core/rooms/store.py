"""Rooms (realtime multiplayer and playlists): rooms, playlist items, participants, score links,
per-item high scores and room events.

Tables here, and the SQL that reads and writes them. A room score is a normal score (the
`scores` table, stored by `core.scores.submit`) linked to its room and playlist item by
`room_scores`; `room_item_bests` keeps each user's best passed score per item and
`room_participants` each user's aggregate over the room (osu-web `multiplayer_rooms_high`).

Live state of realtime rooms is in the cache (plugins/multiplayer); these rows are what the HTTP
API reads, kept in step by the hub.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata
from core.scores.store import score_tokens
from core.users.store import users

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

PLAYLISTS = "playlists"
REALTIME_TYPES = ("head_to_head", "team_versus")
TYPE_GROUPS = {"playlists": (PLAYLISTS,), "realtime": REALTIME_TYPES}
CATEGORIES = ("normal", "spotlight", "featured_artist", "daily_challenge")
QUEUE_MODES = ("host_only", "all_players", "all_players_round_robin")

# The metadata hub relays these (MultiplayerRoomScoreSet); the payload is the JSON of
# `score_set_event` below.
ROOM_SCORE_CHANNEL = "multiplayer:room_scores"
# MultiplayerPlaylistItemStats.TotalScoreDistribution: 13 bins of 100 000 points.
SCORE_BINS = 13
SCORE_BIN_SIZE = 100_000

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(255), nullable=True),
    sa.Column("category", sa.String(32), nullable=False),
    # playlists, head_to_head, team_versus (matchmaking and ranked_play are not created here).
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
    # A bcrypt hash (core.rooms.access: live realtime rooms keep the clear one in their state).
    sa.Column("password", sa.String(255), nullable=True),
    sa.Column("queue_mode", sa.String(32), nullable=False),
    sa.Column("auto_skip", sa.Boolean(), nullable=False),
    sa.Column("auto_start_duration", sa.Integer(), nullable=False),
    sa.Column("max_attempts", sa.Integer(), nullable=True),
    sa.Column("max_participants", sa.Integer(), nullable=True),
    sa.Column("participant_count", sa.Integer(), nullable=False),
    sa.Column("channel_id", sa.BigInteger(), nullable=True),
    sa.Column("pinned", sa.Boolean(), nullable=False),
    sa.Column("starts_at", sa.DateTime(), nullable=False),
    sa.Column("ends_at", sa.DateTime(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Index("ix_rooms_type_ends", "type", "ends_at"),
    **TABLE_ARGS,
)

room_playlist_items = sa.Table(
    "room_playlist_items",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "room_id",
        sa.BigInteger(),
        sa.ForeignKey("rooms.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("owner_id", sa.BigInteger(), nullable=False),
    sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
    sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
    # JSON arrays of lazer Mod objects ({acronym, settings?}).
    sa.Column("required_mods", sa.Text(), nullable=False),
    sa.Column("allowed_mods", sa.Text(), nullable=False),
    sa.Column("freestyle", sa.Boolean(), nullable=False),
    sa.Column("expired", sa.Boolean(), nullable=False),
    sa.Column("playlist_order", sa.Integer(), nullable=True),
    sa.Column("played_at", sa.DateTime(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

room_participants = sa.Table(
    "room_participants",
    metadata,
    sa.Column(
        "room_id",
        sa.BigInteger(),
        sa.ForeignKey("rooms.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("user_id", sa.BigInteger(), primary_key=True, index=True),
    sa.Column("in_room", sa.Boolean(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("completed", sa.Integer(), nullable=False),
    sa.Column("total_score", sa.BigInteger(), nullable=False),
    # Sums over the completed items; the averages are these divided by `completed`.
    sa.Column("accuracy", sa.Float(), nullable=False),
    # Double: the aggregate's pp is shown; MariaDB's FLOAT keeps about 6 digits.
    sa.Column("pp", sa.Double(), nullable=False),
    sa.Column("last_score_id", sa.BigInteger(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Index("ix_room_participants_board", "room_id", "total_score"),
    **TABLE_ARGS,
)

room_scores = sa.Table(
    "room_scores",
    metadata,
    sa.Column(
        "score_id",
        sa.BigInteger(),
        sa.ForeignKey("scores.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("room_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("playlist_item_id", sa.BigInteger(), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Index("ix_room_scores_item_user", "playlist_item_id", "user_id"),
    **TABLE_ARGS,
)

room_item_bests = sa.Table(
    "room_item_bests",
    metadata,
    sa.Column("playlist_item_id", sa.BigInteger(), primary_key=True),
    sa.Column("user_id", sa.BigInteger(), primary_key=True),
    sa.Column("room_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("score_id", sa.BigInteger(), nullable=False, unique=True),
    sa.Column("total_score", sa.BigInteger(), nullable=False),
    sa.Column("accuracy", sa.Float(), nullable=False),
    sa.Column("pp", sa.Double(), nullable=False),
    sa.Index("ix_room_item_bests_board", "playlist_item_id", "total_score", "score_id"),
    **TABLE_ARGS,
)

room_events = sa.Table(
    "room_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("room_id", sa.BigInteger(), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=True),
    # osu-web event types: room_created, room_disbanded, player_joined, player_left,
    # player_kicked, host_changed, game_started, game_completed, game_aborted.
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("playlist_item_id", sa.BigInteger(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Index("ix_room_events_room", "room_id", "id"),
    **TABLE_ARGS,
)


def _dict(row: Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {str(k): row[k] for k in row.keys()}


def _room(row: Row | None) -> dict[str, Any] | None:
    room = _dict(row)
    if room is not None:
        for name in ("auto_skip", "pinned"):
            room[name] = bool(room[name])
    return room


def _item(row: Row) -> dict[str, Any]:
    item = _dict(row)
    assert item is not None
    for name in ("required_mods", "allowed_mods"):
        item[name] = orjson.loads(item[name])
    item["freestyle"] = bool(item["freestyle"])
    item["expired"] = bool(item["expired"])
    return item


def is_realtime(room: Row) -> bool:
    return room["type"] in REALTIME_TYPES


def has_ended(room: Row, now: dt.datetime | None = None) -> bool:
    return room["ends_at"] is not None and (now or utcnow()) >= room["ends_at"]


# --- rooms -------------------------------------------------------------------------------------


async def create_room(db: Database, values: Mapping[str, Any]) -> int:
    now = utcnow()
    row = {
        "description": None,
        "category": "normal",
        "status": "idle",
        "password": None,
        "queue_mode": "host_only",
        "auto_skip": False,
        "auto_start_duration": 0,
        "max_attempts": None,
        "max_participants": None,
        "participant_count": 0,
        "channel_id": None,
        "pinned": False,
        "starts_at": now,
        "ends_at": None,
        "created_at": now,
        **values,
    }
    return int(await db.execute(rooms.insert().values(**row)))


async def get_room(db: Database, room_id: int) -> dict[str, Any] | None:
    return _room(as_row(await db.fetch_one(rooms.select().where(rooms.c.id == room_id))))


async def update_room(db: Database, room_id: int, **values: Any) -> None:
    await db.execute(rooms.update().where(rooms.c.id == room_id).values(**values))


async def search_rooms(
    db: Database,
    *,
    types: Sequence[str],
    mode: str,
    user_id: int | None,
    category: str | None,
    status: str | None,
    sort: str,
    cursor: Mapping[str, Any],
    limit: int,
) -> list[dict[str, Any]]:
    """osu-web `Room::search`: `mode` active/all/ended/participated/owned, sorts created/ended.

    `user_id` is the viewer: rooms of restricted hosts are listed to their host only
    (`core.rooms.access`).
    """
    now = utcnow()
    restricted_host = sa.exists().where(users.c.id == rooms.c.user_id, users.c.restricted.is_(True))
    visible = ~restricted_host
    if user_id is not None:
        visible = sa.or_(rooms.c.user_id == user_id, visible)
    query = rooms.select().where(rooms.c.type.in_(list(types)), visible)
    if category is not None:
        query = query.where(rooms.c.category == category)
    if status is not None:
        query = query.where(rooms.c.status == status)
    if mode == "ended":
        query = query.where(rooms.c.ends_at <= now)
    elif mode == "participated":
        linked = sa.select(room_scores.c.room_id).where(room_scores.c.user_id == (user_id or 0))
        query = query.where(rooms.c.id.in_(linked))
    elif mode == "owned":
        query = query.where(rooms.c.user_id == (user_id or 0))
    elif mode != "all":
        query = query.where(
            rooms.c.starts_at <= now, sa.or_(rooms.c.ends_at.is_(None), rooms.c.ends_at > now)
        )
    last_id = _int(cursor.get("id"))
    if sort == "ended":
        ends = _time(cursor.get("ends_at"))
        if ends is not None and last_id is not None:
            query = query.where(
                sa.or_(
                    rooms.c.ends_at < ends, sa.and_(rooms.c.ends_at == ends, rooms.c.id < last_id)
                )
            )
        query = query.order_by(rooms.c.ends_at.desc(), rooms.c.id.desc())
    else:
        if last_id is not None:
            query = query.where(rooms.c.id < last_id)
        query = query.order_by(rooms.c.id.desc())
    rows = await db.fetch_all(query.limit(limit))
    return [r for r in map(_room, as_rows(rows)) if r is not None]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


async def open_realtime_rooms(db: Database, min_age_seconds: float) -> list[dict[str, Any]]:
    """Realtime rooms not ended, created more than `min_age_seconds` ago."""
    before = utcnow() - dt.timedelta(seconds=min_age_seconds)
    query = rooms.select().where(
        rooms.c.type.in_(REALTIME_TYPES), rooms.c.ends_at.is_(None), rooms.c.created_at < before
    )
    return [r for r in map(_room, as_rows(await db.fetch_all(query))) if r is not None]


async def count_active_playlists(db: Database, user_id: int) -> int:
    now = utcnow()
    query = (
        sa.select(sa.func.count())
        .select_from(rooms)
        .where(
            rooms.c.user_id == user_id,
            rooms.c.type == PLAYLISTS,
            sa.or_(rooms.c.ends_at.is_(None), rooms.c.ends_at > now),
        )
    )
    return int(await db.fetch_val(query) or 0)


# --- playlist items ----------------------------------------------------------------------------


async def insert_item(db: Database, room_id: int, item: Mapping[str, Any]) -> int:
    values = {
        "room_id": room_id,
        "owner_id": item["owner_id"],
        "beatmap_id": item["beatmap_id"],
        "ruleset_id": item["ruleset_id"],
        "required_mods": orjson.dumps(item.get("required_mods") or []).decode(),
        "allowed_mods": orjson.dumps(item.get("allowed_mods") or []).decode(),
        "freestyle": bool(item.get("freestyle", False)),
        "expired": bool(item.get("expired", False)),
        "playlist_order": item.get("playlist_order"),
        "played_at": item.get("played_at"),
        "created_at": item.get("created_at") or utcnow(),
    }
    return int(await db.execute(room_playlist_items.insert().values(**values)))


async def update_item(db: Database, item_id: int, **values: Any) -> None:
    for name in ("required_mods", "allowed_mods"):
        if name in values:
            values[name] = orjson.dumps(values[name]).decode()
    await db.execute(
        room_playlist_items.update().where(room_playlist_items.c.id == item_id).values(**values)
    )


async def delete_item(db: Database, item_id: int) -> None:
    await db.execute(room_playlist_items.delete().where(room_playlist_items.c.id == item_id))


async def get_item(db: Database, room_id: int, item_id: int) -> dict[str, Any] | None:
    row = as_row(
        await db.fetch_one(
            room_playlist_items.select().where(
                room_playlist_items.c.id == item_id, room_playlist_items.c.room_id == room_id
            )
        )
    )
    return None if row is None else _item(row)


async def items_of(db: Database, room_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each room's items in id order."""
    ids = list(set(room_ids))
    result: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = as_rows(
        await db.fetch_all(
            room_playlist_items.select()
            .where(room_playlist_items.c.room_id.in_(ids))
            .order_by(room_playlist_items.c.id)
        )
    )
    for row in rows:
        result[int(row["room_id"])].append(_item(row))
    return result


def current_item(room: Row, items: Sequence[Row]) -> Row | None:
    """osu-web `findAndSetCurrentPlaylistItem`: realtime rooms play the first item not expired
    by playlist order, else the one played last; playlists show their first item."""
    if not items:
        return None
    if not is_realtime(room):
        return items[0]
    open_items = [i for i in items if not i["expired"]]
    if open_items:
        return min(open_items, key=lambda i: (i["playlist_order"] or 0, i["id"]))
    return max(items, key=lambda i: (i["played_at"] or dt.datetime.min, i["id"]))


async def attach_token_item(db: Database, token_id: int, item_id: int) -> None:
    """Mark a score token as a play of a playlist item."""
    await db.execute(
        score_tokens.update().where(score_tokens.c.id == token_id).values(playlist_item_id=item_id)
    )


# --- participants ------------------------------------------------------------------------------


async def participant(db: Database, room_id: int, user_id: int) -> dict[str, Any] | None:
    row = as_row(
        await db.fetch_one(
            room_participants.select().where(
                room_participants.c.room_id == room_id, room_participants.c.user_id == user_id
            )
        )
    )
    result = _dict(row)
    if result is not None:
        result["in_room"] = bool(result["in_room"])
    return result


async def _ensure_participant(db: Database, room_id: int, user_id: int) -> bool:
    """Create the aggregate row if missing; True when it was created."""
    if await participant(db, room_id, user_id) is not None:
        return False
    now = utcnow()
    try:
        await db.execute(
            room_participants.insert().values(
                room_id=room_id,
                user_id=user_id,
                in_room=False,
                attempts=0,
                completed=0,
                total_score=0,
                accuracy=0.0,
                pp=0.0,
                last_score_id=None,
                created_at=now,
                updated_at=now,
            )
        )
    except Exception:
        # Created concurrently by another request of the same user.
        if await participant(db, room_id, user_id) is None:
            raise
        return False
    return True


async def set_in_room(
    db: Database, room: Row, user_id: int, in_room: bool, *, count_realtime: bool = True
) -> None:
    """Record a join or part. participant_count counts the users inside a realtime room and
    everyone who ever joined a playlist."""
    room_id = int(room["id"])
    created = await _ensure_participant(db, room_id, user_id)
    await db.execute(
        room_participants.update()
        .where(room_participants.c.room_id == room_id, room_participants.c.user_id == user_id)
        .values(in_room=in_room, updated_at=utcnow())
    )
    if is_realtime(room) and count_realtime:
        count = await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(room_participants)
            .where(room_participants.c.room_id == room_id, room_participants.c.in_room.is_(True))
        )
        await update_room(db, room_id, participant_count=int(count or 0))
    elif created:
        await db.execute(
            rooms.update()
            .where(rooms.c.id == room_id)
            .values(participant_count=rooms.c.participant_count + 1)
        )


async def add_attempt(db: Database, room: Row, user_id: int) -> None:
    """A play started (score token issued): one more attempt, and a participant if new."""
    room_id = int(room["id"])
    if await _ensure_participant(db, room_id, user_id) and not is_realtime(room):
        await db.execute(
            rooms.update()
            .where(rooms.c.id == room_id)
            .values(participant_count=rooms.c.participant_count + 1)
        )
    await db.execute(
        room_participants.update()
        .where(room_participants.c.room_id == room_id, room_participants.c.user_id == user_id)
        .values(attempts=room_participants.c.attempts + 1, updated_at=utcnow())
    )


async def recent_participants(
    db: Database, rooms_: Sequence[Row], limit: int = 50
) -> dict[int, list[int]]:
    """User ids by room, latest activity first: users inside for open realtime rooms, else
    everyone who took part. One query for all the rooms."""
    inside_only = {int(r["id"]) for r in rooms_ if is_realtime(r) and r["ends_at"] is None}
    result: dict[int, list[int]] = {int(r["id"]): [] for r in rooms_}
    if not result:
        return result
    p = room_participants.c
    rows = await db.fetch_all(
        sa.select(p.room_id, p.user_id, p.in_room)
        .where(p.room_id.in_(list(result)))
        .order_by(p.updated_at.desc(), p.user_id)
    )
    for row in rows:
        room_id = int(row[0])
        if room_id in inside_only and not row[2]:
            continue
        if len(result[room_id]) < limit:
            result[room_id].append(int(row[1]))
    return result


async def leaderboard(db: Database, room_id: int, limit: int) -> list[dict[str, Any]]:
    query = (
        room_participants.select()
        .where(room_participants.c.room_id == room_id, room_participants.c.completed > 0)
        .order_by(room_participants.c.total_score.desc(), room_participants.c.last_score_id)
        .limit(limit)
    )
    return [r for r in map(_dict, as_rows(await db.fetch_all(query))) if r is not None]


async def leaderboard_position(db: Database, row: Row) -> int | None:
    if not row["completed"] or row["last_score_id"] is None:
        return None
    ahead = await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(room_participants)
        .where(
            room_participants.c.room_id == row["room_id"],
            room_participants.c.completed > 0,
            sa.or_(
                room_participants.c.total_score > row["total_score"],
                sa.and_(
                    room_participants.c.total_score == row["total_score"],
                    room_participants.c.last_score_id < row["last_score_id"],
                ),
            ),
        )
    )
    return 1 + int(ahead or 0)


async def item_attempts(db: Database, room_id: int, user_id: int) -> list[dict[str, Any]]:
    """`playlist_item_attempts`: per item, the user's plays and whether one passed."""
    items = sa.select(room_playlist_items.c.id).where(room_playlist_items.c.room_id == room_id)
    rows = await db.fetch_all(
        sa.select(score_tokens.c.playlist_item_id, sa.func.count())
        .where(
            score_tokens.c.user_id == user_id,
            score_tokens.c.playlist_item_id.in_(items),
        )
        .group_by(score_tokens.c.playlist_item_id)
    )
    passed = {
        int(r[0])
        for r in await db.fetch_all(
            sa.select(room_item_bests.c.playlist_item_id).where(
                room_item_bests.c.room_id == room_id, room_item_bests.c.user_id == user_id
            )
        )
    }
    return [
        {"id": int(r[0]), "attempts": int(r[1]), "passed": int(r[0]) in passed}
        for r in sorted(rows, key=lambda r: int(r[0]))
    ]


# --- scores ------------------------------------------------------------------------------------


async def link_score(
    db: Database, room_id: int, item_id: int, score: Mapping[str, Any]
) -> tuple[bool, bool]:
    """Link a stored score to its room and item, and fold it into the user's high score and
    aggregate. Returns (newly linked, improved the user's best on the item). Idempotent."""
    score_id = int(score["id"])
    user_id = int(score["user_id"])
    async with db.transaction():
        exists = await db.fetch_val(
            sa.select(room_scores.c.score_id).where(room_scores.c.score_id == score_id)
        )
        if exists is not None:
            return False, False
        await db.execute(
            room_scores.insert().values(
                score_id=score_id,
                room_id=room_id,
                playlist_item_id=item_id,
                user_id=user_id,
                created_at=utcnow(),
            )
        )
        await _ensure_participant(db, room_id, user_id)
        if not score["passed"]:
            return True, False
        best = await db.fetch_one(
            room_item_bests.select().where(
                room_item_bests.c.playlist_item_id == item_id,
                room_item_bests.c.user_id == user_id,
            )
        )
        total = int(score["total_score"])
        if best is not None and total <= int(best["total_score"]):
            return True, False
        accuracy = float(score["accuracy"])
        pp = float(score.get("pp") or 0.0)
        values = {"score_id": score_id, "total_score": total, "accuracy": accuracy, "pp": pp}
        p = room_participants.c
        if best is None:
            await db.execute(
                room_item_bests.insert().values(
                    playlist_item_id=item_id, user_id=user_id, room_id=room_id, **values
                )
            )
            delta = {
                "total_score": p.total_score + total,
                "accuracy": p.accuracy + accuracy,
                "pp": p.pp + pp,
                "completed": p.completed + 1,
            }
        else:
            await db.execute(
                room_item_bests.update()
                .where(
                    room_item_bests.c.playlist_item_id == item_id,
                    room_item_bests.c.user_id == user_id,
                )
                .values(**values)
            )
            delta = {
                "total_score": p.total_score + (total - int(best["total_score"])),
                "accuracy": p.accuracy + (accuracy - float(best["accuracy"])),
                "pp": p.pp + (pp - float(best["pp"])),
            }
        await db.execute(
            room_participants.update()
            .where(p.room_id == room_id, p.user_id == user_id)
            .values(last_score_id=score_id, updated_at=utcnow(), **delta)
        )
    return True, True


async def score_link(db: Database, item_id: int, score_id: int) -> dict[str, Any] | None:
    return _dict(
        as_row(
            await db.fetch_one(
                room_scores.select().where(
                    room_scores.c.score_id == score_id, room_scores.c.playlist_item_id == item_id
                )
            )
        )
    )


async def user_best(db: Database, item_id: int, user_id: int) -> dict[str, Any] | None:
    return _dict(
        as_row(
            await db.fetch_one(
                room_item_bests.select().where(
                    room_item_bests.c.playlist_item_id == item_id,
                    room_item_bests.c.user_id == user_id,
                )
            )
        )
    )


def _after(desc: bool, total: int, score_id: int) -> Any:
    b = room_item_bests.c
    if desc:
        return sa.or_(b.total_score < total, sa.and_(b.total_score == total, b.score_id > score_id))
    return sa.or_(b.total_score > total, sa.and_(b.total_score == total, b.score_id < score_id))


async def item_bests(
    db: Database,
    item_id: int,
    *,
    desc: bool = True,
    after: tuple[int, int] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """High scores of an item: `score_desc` is total desc then older first; `score_asc` the
    reverse. `after` is the (total_score, score_id) cursor of the last row seen."""
    b = room_item_bests.c
    query = room_item_bests.select().where(b.playlist_item_id == item_id)
    if after is not None:
        query = query.where(_after(desc, *after))
    if desc:
        query = query.order_by(b.total_score.desc(), b.score_id)
    else:
        query = query.order_by(b.total_score, b.score_id.desc())
    rows = await db.fetch_all(query.limit(limit))
    return [r for r in map(_dict, as_rows(rows)) if r is not None]


async def item_best_count(db: Database, item_id: int) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(room_item_bests)
            .where(room_item_bests.c.playlist_item_id == item_id)
        )
        or 0
    )


async def item_position(db: Database, item_id: int, total_score: int, score_id: int) -> int:
    """1-based place of a (total, id) among the item's high scores."""
    b = room_item_bests.c
    ahead = await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(room_item_bests)
        .where(b.playlist_item_id == item_id, _after(False, total_score, score_id))
    )
    return 1 + int(ahead or 0)


class ItemStats(TypedDict):
    """One item's statistics: the fields of osu! `MultiplayerPlaylistItemStats`
    (osu.Game/Online/Metadata/MultiplayerPlaylistItemStats.cs)."""

    playlist_item_id: int
    total_score_distribution: list[int]
    cumulative_score: int
    last_processed_score_id: int


async def item_stats(db: Database, room_id: int) -> list[ItemStats]:
    """Per-item score statistics of a room (the metadata hub's BeginWatchingMultiplayerRoom):
    each dict has the fields of `MultiplayerPlaylistItemStats` (playlist_item_id,
    total_score_distribution of 13 bins of 100 000, cumulative_score, last_processed_score_id),
    over each user's best passed score per item."""
    item_ids = [
        int(r[0])
        for r in await db.fetch_all(
            sa.select(room_playlist_items.c.id)
            .where(room_playlist_items.c.room_id == room_id)
            .order_by(room_playlist_items.c.id)
        )
    ]
    stats: dict[int, ItemStats] = {
        i: {
            "playlist_item_id": i,
            "total_score_distribution": [0] * SCORE_BINS,
            "cumulative_score": 0,
            "last_processed_score_id": 0,
        }
        for i in item_ids
    }
    rows = await db.fetch_all(
        sa.select(room_item_bests.c.playlist_item_id, room_item_bests.c.total_score).where(
            room_item_bests.c.room_id == room_id
        )
    )
    for row in rows:
        item_id, total = row[0], row[1]
        entry = stats.get(int(item_id))
        if entry is None:
            continue
        bin_ = min(int(total) // SCORE_BIN_SIZE, SCORE_BINS - 1)
        entry["total_score_distribution"][bin_] += 1
        entry["cumulative_score"] += int(total)
    last = await db.fetch_all(
        sa.select(room_scores.c.playlist_item_id, sa.func.max(room_scores.c.score_id))
        .where(room_scores.c.room_id == room_id)
        .group_by(room_scores.c.playlist_item_id)
    )
    for row in last:
        item_id, score_id = row[0], row[1]
        if int(item_id) in stats:
            stats[int(item_id)]["last_processed_score_id"] = int(score_id or 0)
    return list(stats.values())


def score_set_event(
    room_id: int, item_id: int, score: Mapping[str, Any], new_rank: int | None
) -> dict[str, Any]:
    """The payload published on ROOM_SCORE_CHANNEL: the fields of
    `MultiplayerRoomScoreSetEvent` (new_rank: the user's room place when it improved)."""
    return {
        "room_id": room_id,
        "playlist_item_id": item_id,
        "score_id": int(score["id"]),
        "user_id": int(score["user_id"]),
        "total_score": int(score["total_score"]),
        "new_rank": new_rank,
    }


# --- events ------------------------------------------------------------------------------------


async def add_event(
    db: Database,
    room_id: int,
    event_type: str,
    user_id: int | None = None,
    playlist_item_id: int | None = None,
) -> None:
    await db.execute(
        room_events.insert().values(
            room_id=room_id,
            user_id=user_id,
            event_type=event_type,
            playlist_item_id=playlist_item_id,
            created_at=utcnow(),
        )
    )


async def events(
    db: Database, room_id: int, *, after: int | None, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """Oldest first: the `limit` after `after`, or the latest `limit` (before `before`)."""
    e = room_events.c
    query = room_events.select().where(e.room_id == room_id)
    if after is not None:
        query = query.where(e.id > after).order_by(e.id)
        rows = await db.fetch_all(query.limit(limit))
    else:
        if before is not None:
            query = query.where(e.id < before)
        rows = list(reversed(await db.fetch_all(query.order_by(e.id.desc()).limit(limit))))
    return [r for r in map(_dict, as_rows(rows)) if r is not None]


async def event_bounds(db: Database, room_id: int) -> tuple[int, int]:
    row = await db.fetch_one(
        sa.select(sa.func.min(room_events.c.id), sa.func.max(room_events.c.id)).where(
            room_events.c.room_id == room_id
        )
    )
    return (int(row[0] or 0), int(row[1] or 0)) if row is not None else (0, 0)


async def item_score_links(db: Database, item_ids: Sequence[int]) -> dict[int, list[int]]:
    """Score ids linked to each item, oldest first."""
    result: dict[int, list[int]] = {int(i): [] for i in item_ids}
    if not item_ids:
        return result
    rows = await db.fetch_all(
        sa.select(room_scores.c.playlist_item_id, room_scores.c.score_id)
        .where(room_scores.c.playlist_item_id.in_(list(item_ids)))
        .order_by(room_scores.c.score_id)
    )
    for row in rows:
        result[int(row[0])].append(int(row[1]))
    return result


GAME_EVENTS = ("game_started", "game_completed", "game_aborted")


async def game_events(db: Database, room_id: int, limit: int = 10_000) -> list[dict[str, Any]]:
    """A realtime room's game starts and ends, oldest first."""
    e = room_events.c
    rows = await db.fetch_all(
        room_events.select()
        .where(e.room_id == room_id, e.event_type.in_(GAME_EVENTS))
        .order_by(e.id)
        .limit(limit)
    )
    return [r for r in map(_dict, as_rows(rows)) if r is not None]


# --- scores removed by moderation --------------------------------------------------------------


async def rooms_of_scores(db: Database, score_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(room id, user id) of the room scores among `score_ids`."""
    if not score_ids:
        return []
    rows = await db.fetch_all(
        sa.select(room_scores.c.room_id, room_scores.c.user_id)
        .where(room_scores.c.score_id.in_(list(score_ids)))
        .distinct()
    )
    return [(int(r[0]), int(r[1])) for r in rows]


async def rebuild_aggregate(db: Database, room_id: int, user_id: int) -> None:
    """Rebuild a user's item bests and aggregate in a room from the room scores still stored
    (after scores were deleted): the best passed score per item, ties to the earlier, as
    `link_score` keeps them."""
    from core.scores.store import scores

    rows = as_rows(
        await db.fetch_all(
            sa.select(
                room_scores.c.playlist_item_id,
                scores.c.id,
                scores.c.total_score,
                scores.c.accuracy,
                scores.c.pp,
            )
            .select_from(room_scores.join(scores, scores.c.id == room_scores.c.score_id))
            .where(
                room_scores.c.room_id == room_id,
                room_scores.c.user_id == user_id,
                scores.c.passed.is_(True),
            )
            .order_by(scores.c.total_score.desc(), scores.c.id)
        )
    )
    best: dict[int, Row] = {}
    for row in rows:
        best.setdefault(int(row["playlist_item_id"]), row)
    last = await db.fetch_val(
        sa.select(sa.func.max(room_scores.c.score_id)).where(
            room_scores.c.room_id == room_id, room_scores.c.user_id == user_id
        )
    )
    values = [
        {
            "playlist_item_id": item_id,
            "user_id": user_id,
            "room_id": room_id,
            "score_id": int(row["id"]),
            "total_score": int(row["total_score"]),
            "accuracy": float(row["accuracy"]),
            "pp": float(row["pp"] or 0.0),
        }
        for item_id, row in best.items()
    ]
    async with db.transaction():
        await db.execute(
            room_item_bests.delete().where(
                room_item_bests.c.room_id == room_id, room_item_bests.c.user_id == user_id
            )
        )
        if values:
            await db.execute_many(room_item_bests.insert(), values)
        p = room_participants.c
        await db.execute(
            room_participants.update()
            .where(p.room_id == room_id, p.user_id == user_id)
            .values(
                total_score=sum(v["total_score"] for v in values),
                accuracy=sum(v["accuracy"] for v in values),
                pp=sum(v["pp"] for v in values),
                completed=len(values),
                last_score_id=None if last is None else int(last),
                updated_at=utcnow(),
            )
        )
