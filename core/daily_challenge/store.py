"""Daily challenge tables and their SQL.

daily_challenge_pool        the operator's maps to come, in order (an entry is used once)
daily_challenge_rooms       which room is which UTC day's challenge (one row per day)
daily_challenge_user_stats  osu-web `daily_challenge_user_stats`: streaks, plays, placements
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.rooms.store import room_playlist_items
from core.schema import TABLE_ARGS, metadata
from core.scores.store import score_tokens

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

pool = sa.Table(
    "daily_challenge_pool",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("beatmap_id", sa.BigInteger(), nullable=False),
    sa.Column("ruleset_id", sa.SmallInteger(), nullable=False),
    # JSON arrays of lazer Mod objects ({acronym, settings?}), validated when added.
    sa.Column("required_mods", sa.Text(), nullable=False),
    sa.Column("allowed_mods", sa.Text(), nullable=False),
    # The UTC day whose room this entry became; None while it waits its turn.
    sa.Column("used_on", sa.Date(), nullable=True, index=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

days = sa.Table(
    "daily_challenge_rooms",
    metadata,
    # The primary key is what makes each day's room exist once, whoever creates it.
    sa.Column("day", sa.Date(), primary_key=True, autoincrement=False),
    sa.Column(
        "room_id",
        sa.BigInteger(),
        sa.ForeignKey("rooms.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    # Placements (top 10% / 50%) of the day are counted once its room no longer takes scores.
    sa.Column("finalised", sa.Boolean(), nullable=False),
    **TABLE_ARGS,
)

user_stats = sa.Table(
    "daily_challenge_user_stats",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("daily_streak_best", sa.Integer(), nullable=False),
    sa.Column("daily_streak_current", sa.Integer(), nullable=False),
    # The UTC day last played (osu-web keeps its start as a datetime).
    sa.Column("last_update", sa.Date(), nullable=True),
    # The Monday of the week last played.
    sa.Column("last_weekly_streak", sa.Date(), nullable=True),
    sa.Column("playcount", sa.Integer(), nullable=False),
    sa.Column("top_10p_placements", sa.Integer(), nullable=False),
    sa.Column("top_50p_placements", sa.Integer(), nullable=False),
    sa.Column("weekly_streak_best", sa.Integer(), nullable=False),
    sa.Column("weekly_streak_current", sa.Integer(), nullable=False),
    **TABLE_ARGS,
)

STAT_COUNTERS = (
    "daily_streak_best",
    "daily_streak_current",
    "playcount",
    "top_10p_placements",
    "top_50p_placements",
    "weekly_streak_best",
    "weekly_streak_current",
)


def _dict(row: Row | None) -> dict[str, Any] | None:
    return None if row is None else {str(k): row[k] for k in row.keys()}


def _entry(row: Row) -> dict[str, Any]:
    entry = _dict(row)
    assert entry is not None
    for name in ("required_mods", "allowed_mods"):
        entry[name] = orjson.loads(entry[name])
    return entry


# --- the pool ----------------------------------------------------------------------------------


async def add_entry(
    db: Database,
    beatmap_id: int,
    ruleset_id: int,
    required: Sequence[Mapping[str, Any]],
    allowed: Sequence[Mapping[str, Any]],
) -> int:
    return int(
        await db.execute(
            pool.insert().values(
                beatmap_id=beatmap_id,
                ruleset_id=ruleset_id,
                required_mods=orjson.dumps(list(required)).decode(),
                allowed_mods=orjson.dumps(list(allowed)).decode(),
                used_on=None,
                created_at=utcnow(),
            )
        )
    )


async def entries(db: Database, *, include_used: bool = False) -> list[dict[str, Any]]:
    query = pool.select().order_by(pool.c.id)
    if not include_used:
        query = query.where(pool.c.used_on.is_(None))
    return [_entry(r) for r in as_rows(await db.fetch_all(query))]


async def remove_entry(db: Database, entry_id: int) -> bool:
    """Drop an entry still waiting; a used one is history and stays."""
    removed = await db.execute(pool.delete().where(pool.c.id == entry_id, pool.c.used_on.is_(None)))
    return bool(removed)


async def next_entry(db: Database) -> dict[str, Any] | None:
    row = as_row(
        await db.fetch_one(
            pool.select().where(pool.c.used_on.is_(None)).order_by(pool.c.id).limit(1)
        )
    )
    return None if row is None else _entry(row)


async def mark_used(db: Database, entry_id: int, day: dt.date) -> None:
    await db.execute(pool.update().where(pool.c.id == entry_id).values(used_on=day))


# --- days --------------------------------------------------------------------------------------


async def room_of(db: Database, day: dt.date) -> int | None:
    value = await db.fetch_val(sa.select(days.c.room_id).where(days.c.day == day))
    return None if value is None else int(value)


async def day_of_room(db: Database, room_id: int) -> dt.date | None:
    value = await db.fetch_val(sa.select(days.c.day).where(days.c.room_id == room_id))
    return value if isinstance(value, dt.date) else None


async def day_of_score(db: Database, score_id: int) -> dt.date | None:
    """The day whose room the score was played in (through its token's playlist item), or None
    for a score of any other room or outside rooms. One query."""
    value = await db.fetch_val(
        sa.select(days.c.day)
        .select_from(
            score_tokens.join(
                room_playlist_items, room_playlist_items.c.id == score_tokens.c.playlist_item_id
            ).join(days, days.c.room_id == room_playlist_items.c.room_id)
        )
        .where(score_tokens.c.score_id == score_id)
    )
    return value if isinstance(value, dt.date) else None


async def add_day(db: Database, day: dt.date, room_id: int) -> None:
    """Raises IntegrityError when the day has its room already."""
    await db.execute(days.insert().values(day=day, room_id=room_id, finalised=False))


async def unfinalised(db: Database, before: dt.date) -> list[tuple[dt.date, int]]:
    """(day, room id) of days before `before` whose placements are not counted yet."""
    rows = await db.fetch_all(
        sa.select(days.c.day, days.c.room_id)
        .where(days.c.finalised.is_(False), days.c.day < before)
        .order_by(days.c.day)
    )
    return [(row[0], int(row[1])) for row in rows]


async def claim_finalise(db: Database, day: dt.date) -> bool:
    """Mark the day finalised; True only for the one caller that did."""
    changed = await db.execute(
        days.update().where(days.c.day == day, days.c.finalised.is_(False)).values(finalised=True)
    )
    return bool(changed)


# --- user stats --------------------------------------------------------------------------------


async def stats_of(db: Database, user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = as_rows(await db.fetch_all(user_stats.select().where(user_stats.c.user_id.in_(ids))))
    return {int(r["user_id"]): d for r in rows if (d := _dict(r)) is not None}


async def insert_stats(db: Database, values: Mapping[str, Any]) -> None:
    """Raises IntegrityError when the user has a row already."""
    await db.execute(user_stats.insert().values(**values))


async def update_stats_if(
    db: Database, user_id: int, last_update: dt.date | None, values: Mapping[str, Any]
) -> bool:
    """Write `values` unless the row moved on since it was read (its `last_update` changed)."""
    c = user_stats.c
    seen = c.last_update.is_(None) if last_update is None else c.last_update == last_update
    changed = await db.execute(
        user_stats.update().where(c.user_id == user_id, seen).values(**values)
    )
    return bool(changed)


async def add_placements(db: Database, column: str, user_ids: Sequence[int]) -> None:
    if not user_ids:
        return
    col = user_stats.c[column]
    await db.execute(
        user_stats.update().where(user_stats.c.user_id.in_(list(user_ids))).values({col: col + 1})
    )
