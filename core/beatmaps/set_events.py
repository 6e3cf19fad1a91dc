"""The modding history of beatmapsets (osu-web `beatmapset_events`): status changes and
nominations, written where they happen (import, `hitcircle beatmaps status`/`nominate`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.db import as_rows, utcnow
from core.schema import TABLE_ARGS, metadata

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

# osu-web BeatmapsetEvent constants this server writes.
NOMINATE = "nominate"
QUALIFY = "qualify"
DISQUALIFY = "disqualify"
APPROVE = "approve"
RANK = "rank"
LOVE = "love"
REMOVE_FROM_LOVED = "remove_from_loved"
TYPES = (NOMINATE, QUALIFY, DISQUALIFY, APPROVE, RANK, LOVE, REMOVE_FROM_LOVED)

# The event a set's new status makes (osu-web Beatmapset::setApproved and friends).
STATUS_EVENTS = {"ranked": RANK, "approved": APPROVE, "loved": LOVE, "qualified": QUALIFY}

events = sa.Table(
    "beatmapset_events",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("beatmapset_id", sa.BigInteger(), nullable=False, index=True),
    # None: done by the operator from the command line (no account).
    sa.Column("user_id", sa.BigInteger(), nullable=True, index=True),
    # JSON, as osu-web keeps `comment`.
    sa.Column("comment", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
    **TABLE_ARGS,
)


def status_events(old: str | None, new: str) -> list[str]:
    """The events of a status change from `old` (None: a new set) to `new`, in order."""
    if old == new:
        return []
    out: list[str] = []
    if old == "loved":
        out.append(REMOVE_FROM_LOVED)
    elif old == "qualified" and new in ("pending", "graveyard"):
        out.append(DISQUALIFY)
    if new in STATUS_EVENTS:
        out.append(STATUS_EVENTS[new])
    return out


async def record(
    db: Database,
    set_id: int,
    type: str,
    user_id: int | None = None,
    comment: Any = None,
) -> None:
    await db.execute(
        events.insert().values(
            type=type,
            beatmapset_id=set_id,
            user_id=user_id,
            comment=None if comment is None else orjson.dumps(comment).decode(),
            created_at=utcnow(),
        )
    )


async def search(
    db: Database,
    *,
    types: list[str],
    user_id: int | None,
    set_id: int | None,
    min_date: dt.datetime | None,
    max_date: dt.datetime | None,
    limit: int,
    page: int,
) -> list[Row]:
    """Events newest first, filtered as osu-web BeatmapsetEvent::search does."""
    query = sa.select(events).order_by(events.c.created_at.desc(), events.c.id.desc())
    if types:
        query = query.where(events.c.type.in_(types))
    if user_id is not None:
        query = query.where(events.c.user_id == user_id)
    if set_id is not None:
        query = query.where(events.c.beatmapset_id == set_id)
    if min_date is not None:
        query = query.where(events.c.created_at >= min_date)
    if max_date is not None:
        query = query.where(events.c.created_at < max_date)
    query = query.limit(limit).offset((page - 1) * limit)
    return as_rows(await db.fetch_all(query))


def view(row: Row, beatmapset: dict[str, Any] | None) -> dict[str, Any]:
    """osu-web BeatmapsetEventTransformer."""
    created: dt.datetime = row["created_at"]
    return {
        "id": int(row["id"]),
        "type": row["type"],
        "comment": None if row["comment"] is None else orjson.loads(row["comment"]),
        "created_at": created.replace(microsecond=0).isoformat() + "Z",
        "user_id": row["user_id"],
        "beatmapset": beatmapset,
        "discussion": None,
    }
