"""Spotlight tables and their SQL.

spotlights              a chart: name, type, window, whether each ruleset has its own maps
spotlight_beatmapsets   the beatmapsets of a spotlight
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.beatmaps.store import Id as BeatmapsetId
from core.db import as_row, as_rows, duplicate_errors, utcnow
from core.schema import TABLE_ARGS, metadata

Row = Mapping[str, Any]

# osu-web Spotlight types (app/Models/Spotlight.php).
TYPES = ("monthly", "spotlight", "theme", "special", "bestof")
# Ids are INT on both backends; anything larger names no spotlight.
MAX_ID = 2**31 - 1

spotlights = sa.Table(
    "spotlights",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    # True: in each ruleset only the beatmaps made for it count (no converts), as monthly
    # charts are per ruleset; False: every ruleset plays every map of the sets.
    sa.Column("mode_specific", sa.Boolean(), nullable=False),
    # Scores set in [start_date, end_date] count (both inclusive).
    sa.Column("start_date", sa.DateTime(), nullable=False),
    sa.Column("end_date", sa.DateTime(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

spotlight_beatmapsets = sa.Table(
    "spotlight_beatmapsets",
    metadata,
    sa.Column(
        "spotlight_id",
        sa.Integer(),
        sa.ForeignKey("spotlights.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column(
        "beatmapset_id",
        BeatmapsetId,
        sa.ForeignKey("beatmapsets.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
        index=True,
    ),
    **TABLE_ARGS,
)


async def create(
    db: Database,
    *,
    name: str,
    type: str,
    start: dt.datetime,
    end: dt.datetime,
    mode_specific: bool,
) -> int:
    return int(
        await db.execute(
            spotlights.insert().values(
                name=name,
                type=type,
                mode_specific=mode_specific,
                start_date=start,
                end_date=end,
                created_at=utcnow(),
            )
        )
    )


async def get(db: Database, spotlight_id: int) -> Row | None:
    if not 0 < spotlight_id <= MAX_ID:
        return None
    return as_row(await db.fetch_one(sa.select(spotlights).where(spotlights.c.id == spotlight_id)))


async def latest(db: Database) -> Row | None:
    """The newest spotlight (osu-web orders spotlights by id, newest first)."""
    return as_row(
        await db.fetch_one(sa.select(spotlights).order_by(spotlights.c.id.desc()).limit(1))
    )


async def listing(db: Database) -> list[Row]:
    """Every spotlight, newest first."""
    return as_rows(await db.fetch_all(sa.select(spotlights).order_by(spotlights.c.id.desc())))


async def add_set(db: Database, spotlight_id: int, beatmapset_id: int) -> bool:
    """Add a beatmapset; False when it is already in the spotlight."""
    try:
        await db.execute(
            spotlight_beatmapsets.insert().values(
                spotlight_id=spotlight_id, beatmapset_id=beatmapset_id
            )
        )
    except duplicate_errors():
        return False
    return True


async def set_ids(db: Database, spotlight_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(spotlight_beatmapsets.c.beatmapset_id)
        .where(spotlight_beatmapsets.c.spotlight_id == spotlight_id)
        .order_by(spotlight_beatmapsets.c.beatmapset_id)
    )
    return [int(r[0]) for r in rows]


async def set_counts(db: Database) -> dict[int, int]:
    """How many beatmapsets each spotlight has."""
    rows = await db.fetch_all(
        sa.select(spotlight_beatmapsets.c.spotlight_id, sa.func.count()).group_by(
            spotlight_beatmapsets.c.spotlight_id
        )
    )
    return {int(r[0]): int(r[1]) for r in rows}
