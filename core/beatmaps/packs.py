"""Beatmap packs, defined by the operator (`hitcircle packs ...`).

beatmap_packs       one row per pack (osu-web `osu_beatmappacks`); `tag` names it (`S1`, `T12`)
beatmap_pack_items  the sets of each pack (osu-web `osu_beatmappacks_items`)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata
from core.scores.store import scores

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

# osu-web BeatmapPack::$tagPrefixes: the `type` filter of `GET beatmaps/packs` by tag prefix.
TYPE_PREFIXES = {
    "standard": "S",
    "featured": "F",
    "tournament": "P",
    "loved": "L",
    "chart": "R",
    "theme": "T",
    "artist": "A",
}
MAX_TAG = 32
# osu-web BeatmapPack: mods that do not count towards a `no_diff_reduction` pack.
DIFF_REDUCTION_MODS = ("DC", "EZ", "HT", "NF")
# What a tag may hold: it is a URL path segment (`beatmaps/packs/{tag}`).
TAG_PATTERN = re.compile(r"[A-Z][A-Za-z0-9_-]*")
PAGE_SIZE = 100

packs = sa.Table(
    "beatmap_packs",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("tag", sa.String(MAX_TAG), nullable=False, unique=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("ruleset_id", sa.SmallInteger(), nullable=True),
    sa.Column("no_diff_reduction", sa.Boolean(), nullable=False),
    sa.Column("url", sa.String(512), nullable=False),
    sa.Column("date", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

pack_items = sa.Table(
    "beatmap_pack_items",
    metadata,
    sa.Column(
        "pack_id",
        sa.BigInteger(),
        sa.ForeignKey("beatmap_packs.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("beatmapset_id", sa.BigInteger(), primary_key=True, autoincrement=False, index=True),
    **TABLE_ARGS,
)


def view(row: Row) -> dict[str, Any]:
    """osu-web BeatmapPackTransformer."""
    date: dt.datetime = row["date"]
    return {
        "author": row["author"],
        "date": date.replace(microsecond=0).isoformat() + "Z",
        "name": row["name"],
        "no_diff_reduction": bool(row["no_diff_reduction"]),
        "ruleset_id": row["ruleset_id"],
        "tag": row["tag"],
        "url": row["url"],
    }


async def create(
    db: Database,
    tag: str,
    name: str,
    author: str,
    ruleset_id: int | None,
    url: str = "",
    no_diff_reduction: bool = False,
) -> int:
    return int(
        await db.execute(
            packs.insert().values(
                tag=tag,
                name=name,
                author=author,
                ruleset_id=ruleset_id,
                url=url,
                no_diff_reduction=no_diff_reduction,
                date=utcnow(),
            )
        )
    )


async def by_tag(db: Database, tag: str) -> Row | None:
    row = as_row(await db.fetch_one(sa.select(packs).where(packs.c.tag == tag)))
    # MariaDB's collation matches `s1` or `S1\0` to `S1`: a tag names one pack exactly.
    return row if row is not None and row["tag"] == tag else None


async def delete(db: Database, pack_id: int) -> None:
    async with db.transaction():
        await db.execute(pack_items.delete().where(pack_items.c.pack_id == pack_id))
        await db.execute(packs.delete().where(packs.c.id == pack_id))


async def add_set(db: Database, pack_id: int, set_id: int) -> bool:
    """Put a set in a pack; False when it is there already."""
    async with db.transaction():
        present = await db.fetch_val(
            sa.select(pack_items.c.pack_id).where(
                pack_items.c.pack_id == pack_id, pack_items.c.beatmapset_id == set_id
            )
        )
        if present is not None:
            return False
        await db.execute(pack_items.insert().values(pack_id=pack_id, beatmapset_id=set_id))
    return True


async def listing(db: Database, prefix: str | None, before_id: int | None) -> list[Row]:
    """A page of packs, newest first (`PAGE_SIZE` + 1 rows to tell whether more follow)."""
    query = sa.select(packs).order_by(packs.c.id.desc()).limit(PAGE_SIZE + 1)
    if prefix is not None:
        query = query.where(packs.c.tag.like(prefix + "%"))
    if before_id is not None:
        query = query.where(packs.c.id < before_id)
    return as_rows(await db.fetch_all(query))


async def all_packs(db: Database) -> list[Row]:
    return as_rows(await db.fetch_all(sa.select(packs).order_by(packs.c.tag)))


async def set_ids(db: Database, pack_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(pack_items.c.beatmapset_id)
        .where(pack_items.c.pack_id == pack_id)
        .order_by(pack_items.c.beatmapset_id)
    )
    return [int(r["beatmapset_id"]) for r in rows]


async def tags_of_sets(db: Database, set_ids: Sequence[int]) -> dict[int, list[str]]:
    """`pack_tags` of each set (one query for all of them)."""
    out: dict[int, list[str]] = {int(i): [] for i in set_ids}
    if not set_ids:
        return out
    rows = await db.fetch_all(
        sa.select(pack_items.c.beatmapset_id, packs.c.tag)
        .select_from(pack_items.join(packs, packs.c.id == pack_items.c.pack_id))
        .where(pack_items.c.beatmapset_id.in_(list(set_ids)))
        .order_by(packs.c.tag)
    )
    for row in rows:
        out[int(row["beatmapset_id"])].append(row["tag"])
    return out


async def passed_set_ids(
    db: Database,
    user_id: int,
    set_ids: Sequence[int],
    ruleset_id: int | None,
    no_diff_reduction: bool = False,
) -> list[int]:
    """The sets among `set_ids` where the user passed a difficulty (in the pack's ruleset;
    without a difficulty-reducing mod for a `no_diff_reduction` pack)."""
    from core.beatmaps.store import beatmaps

    if not set_ids:
        return []
    query = (
        sa.select(beatmaps.c.beatmapset_id)
        .select_from(scores.join(beatmaps, beatmaps.c.id == scores.c.beatmap_id))
        .where(
            scores.c.user_id == user_id,
            scores.c.passed.is_(True),
            beatmaps.c.beatmapset_id.in_(list(set_ids)),
        )
        .distinct()
    )
    if ruleset_id is not None:
        query = query.where(scores.c.ruleset_id == ruleset_id)
    if no_diff_reduction:
        # `mods_key` is the comma-joined acronyms ("EZ,HD"): a whole-acronym match each.
        padded = sa.literal(",") + scores.c.mods_key + sa.literal(",")
        for acronym in DIFF_REDUCTION_MODS:
            query = query.where(~padded.like(f"%,{acronym},%"))
    return sorted(int(r["beatmapset_id"]) for r in await db.fetch_all(query))
