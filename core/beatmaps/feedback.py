"""Players' feedback on beatmaps: set ratings and tag votes, and the operator's tag list.

beatmapset_ratings  one rating (1..10) per user and set (osu-web `osu_user_beatmapset_ratings`)
beatmap_tags        the tags players may vote for (osu-web `tags`), kept by the operator
beatmap_tag_votes   one row per user, beatmap and tag (osu-web `beatmap_tags`)

The counts of a set's ratings are written to `beatmapsets.ratings` on every rating, so the views
that carry `ratings` (set, lookup) read them from the set row like every other field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.beatmaps.store import beatmaps, beatmapsets
from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata
from core.scores.store import scores

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

# osu-web BeatmapsetsController::updateRating: rating between 1 and 10; ratings[0] stays 0.
MIN_RATING = 1
MAX_RATING = 10
# osu-web Tag: the name is at most 100 characters.
MAX_TAG_NAME = 100
MAX_TAG_DESCRIPTION = 1000
# How many tags `top_tag_ids` lists per beatmap (osu-web Beatmap::topTagIds takes the top 50).
TOP_TAGS = 50

ratings = sa.Table(
    "beatmapset_ratings",
    metadata,
    sa.Column(
        "beatmapset_id",
        sa.BigInteger(),
        sa.ForeignKey("beatmapsets.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("rating", sa.SmallInteger(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

tags = sa.Table(
    "beatmap_tags",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(MAX_TAG_NAME), nullable=False, unique=True),
    sa.Column("ruleset_id", sa.SmallInteger(), nullable=True),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

tag_votes = sa.Table(
    "beatmap_tag_votes",
    metadata,
    sa.Column("beatmap_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column(
        "tag_id",
        sa.BigInteger(),
        sa.ForeignKey("beatmap_tags.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)


# --- passes --------------------------------------------------------------------------------


async def passed_any(db: Database, user_id: int, beatmap_ids: Sequence[int]) -> bool:
    """Whether the user has a passed score on any of these beatmaps."""
    if not beatmap_ids:
        return False
    query = (
        sa.select(scores.c.id)
        .where(
            scores.c.user_id == user_id,
            scores.c.beatmap_id.in_(list(beatmap_ids)),
            scores.c.passed.is_(True),
        )
        .limit(1)
    )
    return await db.fetch_val(query) is not None


async def set_beatmap_ids(db: Database, set_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(beatmaps.c.id).where(
            beatmaps.c.beatmapset_id == set_id, beatmaps.c.deleted_at.is_(None)
        )
    )
    return [int(r["id"]) for r in rows]


# --- ratings -------------------------------------------------------------------------------


async def user_rating(db: Database, set_id: int, user_id: int) -> int | None:
    value = await db.fetch_val(
        sa.select(ratings.c.rating).where(
            ratings.c.beatmapset_id == set_id, ratings.c.user_id == user_id
        )
    )
    return None if value is None else int(value)


async def has_ratings(db: Database, set_id: int) -> bool:
    query = sa.select(ratings.c.user_id).where(ratings.c.beatmapset_id == set_id).limit(1)
    return await db.fetch_val(query) is not None


async def rate(db: Database, set_id: int, user_id: int, rating: int) -> list[int]:
    """Store the user's rating (replacing an earlier one); returns the set's 11 new counts."""
    async with db.transaction():
        await db.execute(
            ratings.delete().where(ratings.c.beatmapset_id == set_id, ratings.c.user_id == user_id)
        )
        await db.execute(
            ratings.insert().values(
                beatmapset_id=set_id, user_id=user_id, rating=rating, updated_at=utcnow()
            )
        )
        rows = await db.fetch_all(
            sa.select(ratings.c.rating, sa.func.count().label("n"))
            .where(ratings.c.beatmapset_id == set_id)
            .group_by(ratings.c.rating)
        )
        counts = [0] * 11
        for row in rows:
            if 0 <= int(row["rating"]) <= MAX_RATING:
                counts[int(row["rating"])] = int(row["n"])
        total = sum(counts)
        # `rating` (the mean, what search sorts by) follows the counts, as osu-web's does.
        mean = sum(i * n for i, n in enumerate(counts)) / total if total else 0.0
        await db.execute(
            beatmapsets.update()
            .where(beatmapsets.c.id == set_id)
            .values(ratings=orjson.dumps(counts).decode(), rating=mean)
        )
    return counts


# --- tags ----------------------------------------------------------------------------------


def tag_view(row: Row) -> dict[str, Any]:
    """osu-web TagTransformer."""

    def iso(value: dt.datetime) -> str:
        return value.replace(microsecond=0).isoformat() + "Z"

    return {
        "id": int(row["id"]),
        "name": row["name"],
        "ruleset_id": row["ruleset_id"],
        "description": row["description"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


async def all_tags(db: Database) -> list[Row]:
    return as_rows(await db.fetch_all(sa.select(tags).order_by(tags.c.name)))


async def tag_by_id(db: Database, tag_id: int) -> Row | None:
    return as_row(await db.fetch_one(sa.select(tags).where(tags.c.id == tag_id)))


async def tag_by_name(db: Database, name: str) -> Row | None:
    row = as_row(await db.fetch_one(sa.select(tags).where(tags.c.name == name)))
    # MariaDB's collation matches names that differ in case: a name names one tag exactly.
    return row if row is not None and row["name"] == name else None


async def add_tag(db: Database, name: str, description: str, ruleset_id: int | None) -> int:
    now = utcnow()
    return int(
        await db.execute(
            tags.insert().values(
                name=name,
                description=description,
                ruleset_id=ruleset_id,
                created_at=now,
                updated_at=now,
            )
        )
    )


async def remove_tag(db: Database, tag_id: int) -> bool:
    async with db.transaction():
        # Votes go first: SQLite only cascades with foreign keys switched on.
        await db.execute(tag_votes.delete().where(tag_votes.c.tag_id == tag_id))
        found = await tag_by_id(db, tag_id)
        await db.execute(tags.delete().where(tags.c.id == tag_id))
    return found is not None


async def vote(db: Database, beatmap_id: int, tag_id: int, user_id: int, on: bool) -> None:
    """Add (`on`) or remove the user's vote; doing it twice changes nothing."""
    where = (
        tag_votes.c.beatmap_id == beatmap_id,
        tag_votes.c.tag_id == tag_id,
        tag_votes.c.user_id == user_id,
    )
    async with db.transaction():
        await db.execute(tag_votes.delete().where(*where))
        if on:
            await db.execute(
                tag_votes.insert().values(
                    beatmap_id=beatmap_id, tag_id=tag_id, user_id=user_id, created_at=utcnow()
                )
            )


async def top_tags(db: Database, beatmap_ids: Sequence[int]) -> dict[int, list[dict[str, int]]]:
    """`top_tag_ids` of each beatmap, most votes first (one query for all of them)."""
    out: dict[int, list[dict[str, int]]] = {int(i): [] for i in beatmap_ids}
    if not beatmap_ids:
        return out
    count = sa.func.count().label("n")
    rows = await db.fetch_all(
        sa.select(tag_votes.c.beatmap_id, tag_votes.c.tag_id, count)
        .where(tag_votes.c.beatmap_id.in_(list(beatmap_ids)))
        .group_by(tag_votes.c.beatmap_id, tag_votes.c.tag_id)
        .order_by(tag_votes.c.beatmap_id, sa.desc(count), tag_votes.c.tag_id)
    )
    for row in rows:
        listed = out[int(row["beatmap_id"])]
        if len(listed) < TOP_TAGS:
            listed.append({"tag_id": int(row["tag_id"]), "count": int(row["n"])})
    return out


async def user_tag_ids(
    db: Database, user_id: int, beatmap_ids: Sequence[int]
) -> dict[int, list[int]]:
    """`current_user_tag_ids` of each beatmap (one query)."""
    out: dict[int, list[int]] = {int(i): [] for i in beatmap_ids}
    if not beatmap_ids:
        return out
    rows = await db.fetch_all(
        sa.select(tag_votes.c.beatmap_id, tag_votes.c.tag_id)
        .where(tag_votes.c.user_id == user_id, tag_votes.c.beatmap_id.in_(list(beatmap_ids)))
        .order_by(tag_votes.c.tag_id)
    )
    for row in rows:
        out[int(row["beatmap_id"])].append(int(row["tag_id"]))
    return out
