"""Beatmaps: sets, difficulties, their `.osu` files (storage keys), favourites and play counts.

Tables here, and the SQL that reads and writes them. Rows come from a beatmap source (the local
importer or the upstream osu! API); handlers read them through these functions and shape them with
`core.beatmaps.views`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata

# Ids come from the files or from upstream, never from the database: no autoincrement.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

STATUS_NAMES = {
    -2: "graveyard",
    -1: "wip",
    0: "pending",
    1: "ranked",
    2: "approved",
    3: "qualified",
    4: "loved",
}
STATUS_IDS = {name: value for value, name in STATUS_NAMES.items()}
# Statuses an operator gives (import, `beatmaps status`); `wip` is the mapper's own.
OPERATOR_STATUSES = ("ranked", "approved", "qualified", "loved", "pending", "graveyard")
# Sets whose status no longer changes by itself: refreshed from upstream only on demand.
SETTLED_STATUSES = frozenset({1, 2, 4})

beatmapsets = sa.Table(
    "beatmapsets",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column("artist", sa.String(255), nullable=False),
    sa.Column("artist_unicode", sa.String(255), nullable=False),
    sa.Column("title", sa.String(255), nullable=False),
    sa.Column("title_unicode", sa.String(255), nullable=False),
    sa.Column("creator", sa.String(255), nullable=False),
    # The mapper's id upstream (or a local user's); no foreign key: they may not exist here.
    sa.Column("user_id", sa.BigInteger(), nullable=False),
    sa.Column("source", sa.String(255), nullable=False),
    sa.Column("tags", sa.Text(), nullable=False),
    sa.Column("status", sa.SmallInteger(), nullable=False, index=True),
    sa.Column("genre_id", sa.SmallInteger(), nullable=False),
    sa.Column("language_id", sa.SmallInteger(), nullable=False),
    sa.Column("bpm", sa.Float(), nullable=False),
    sa.Column("nsfw", sa.Boolean(), nullable=False),
    sa.Column("video", sa.Boolean(), nullable=False),
    sa.Column("storyboard", sa.Boolean(), nullable=False),
    sa.Column("spotlight", sa.Boolean(), nullable=False),
    sa.Column("download_disabled", sa.Boolean(), nullable=False),
    # `offset` in the API; not the column name: OFFSET is reserved on MariaDB.
    sa.Column("audio_offset", sa.Integer(), nullable=False),
    sa.Column("track_id", sa.BigInteger(), nullable=True),
    sa.Column("rating", sa.Float(), nullable=False),
    # JSON list of 11 ints (votes per rating 0-10), as upstream reports them.
    sa.Column("ratings", sa.Text(), nullable=True),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("favourite_count", sa.Integer(), nullable=False),
    sa.Column("play_count", sa.BigInteger(), nullable=False),
    sa.Column("submitted_date", sa.DateTime(), nullable=True),
    sa.Column("ranked_date", sa.DateTime(), nullable=True),
    sa.Column("last_updated", sa.DateTime(), nullable=False, index=True),
    sa.Column("deleted_at", sa.DateTime(), nullable=True),
    # "local" (imported) or "upstream"; upstream rows are refreshed when stale.
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("fetched_at", sa.DateTime(), nullable=False),
    # Storage key of the imported `.osz`, served for download.
    sa.Column("osz_key", sa.String(255), nullable=True),
    **TABLE_ARGS,
)

beatmaps = sa.Table(
    "beatmaps",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=False),
    sa.Column(
        "beatmapset_id",
        sa.BigInteger(),
        sa.ForeignKey("beatmapsets.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("checksum", sa.String(32), nullable=True, index=True),
    sa.Column("filename", sa.String(255), nullable=True, index=True),
    sa.Column("mode", sa.SmallInteger(), nullable=False),
    sa.Column("status", sa.SmallInteger(), nullable=False),
    sa.Column("version", sa.String(255), nullable=False),
    sa.Column("user_id", sa.BigInteger(), nullable=False),
    sa.Column("difficulty_rating", sa.Float(), nullable=False),
    sa.Column("total_length", sa.Integer(), nullable=False),
    sa.Column("hit_length", sa.Integer(), nullable=False),
    sa.Column("bpm", sa.Float(), nullable=False),
    sa.Column("cs", sa.Float(), nullable=False),
    sa.Column("ar", sa.Float(), nullable=False),
    sa.Column("accuracy", sa.Float(), nullable=False),
    sa.Column("drain", sa.Float(), nullable=False),
    sa.Column("count_circles", sa.Integer(), nullable=False),
    sa.Column("count_sliders", sa.Integer(), nullable=False),
    sa.Column("count_spinners", sa.Integer(), nullable=False),
    sa.Column("max_combo", sa.Integer(), nullable=True),
    sa.Column("playcount", sa.BigInteger(), nullable=False),
    sa.Column("passcount", sa.BigInteger(), nullable=False),
    sa.Column("last_updated", sa.DateTime(), nullable=False),
    sa.Column("deleted_at", sa.DateTime(), nullable=True),
    # Storage key of the `.osu` file; empty until the file was fetched or imported.
    sa.Column("osu_key", sa.String(255), nullable=True),
    **TABLE_ARGS,
)

beatmapset_favourites = sa.Table(
    "beatmapset_favourites",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "beatmapset_id",
        sa.BigInteger(),
        sa.ForeignKey("beatmapsets.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

# An osu! difficulty played in another ruleset (osu-web BeatmapsetTransformer includeConverts):
# its nomod star rating, max combo and `cs` (mania's key count) there, from rosu-pp-py. Kept with
# the checksum of the `.osu` they came from: a changed file makes them stale, not wrong.
beatmap_converts = sa.Table(
    "beatmap_converts",
    metadata,
    sa.Column(
        "beatmap_id",
        sa.BigInteger(),
        sa.ForeignKey("beatmaps.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ruleset", sa.SmallInteger(), primary_key=True, autoincrement=False),
    sa.Column("checksum", sa.String(32), nullable=False),
    sa.Column("difficulty_rating", sa.Float(), nullable=False),
    sa.Column("max_combo", sa.Integer(), nullable=False),
    sa.Column("cs", sa.Float(), nullable=False),
    **TABLE_ARGS,
)

beatmap_playcounts = sa.Table(
    "beatmap_playcounts",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "beatmap_id",
        sa.BigInteger(),
        sa.ForeignKey("beatmaps.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("playcount", sa.Integer(), nullable=False),
    **TABLE_ARGS,
)

# The change queue lazer follows through the metadata hub (GetChangesSince, BeatmapSetsUpdated):
# every stored set gets a new entry; clients remember the last id they processed.
beatmapset_updates = sa.Table(
    "beatmapset_updates",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("beatmapset_id", sa.BigInteger(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

Row = Mapping[str, Any]


# --- reads ---------------------------------------------------------------------------------


async def beatmap_by_id(db: Database, beatmap_id: int) -> Row | None:
    return as_row(await db.fetch_one(beatmaps.select().where(beatmaps.c.id == beatmap_id)))


async def beatmap_by_checksum(db: Database, checksum: str) -> Row | None:
    return as_row(
        await db.fetch_one(
            beatmaps.select()
            .where(beatmaps.c.checksum == checksum)
            .order_by(beatmaps.c.id)
            .limit(1)
        )
    )


async def beatmap_by_filename(db: Database, filename: str) -> Row | None:
    return as_row(
        await db.fetch_one(
            beatmaps.select()
            .where(beatmaps.c.filename == filename)
            .order_by(beatmaps.c.id)
            .limit(1)
        )
    )


async def beatmaps_by_ids(db: Database, ids: Iterable[int]) -> list[Row]:
    ids = list(ids)
    if not ids:
        return []
    query = beatmaps.select().where(beatmaps.c.id.in_(ids)).order_by(beatmaps.c.id)
    return list(as_rows(await db.fetch_all(query)))


async def beatmaps_of_sets(db: Database, set_ids: Iterable[int]) -> dict[int, list[Row]]:
    set_ids = list(set_ids)
    result: dict[int, list[Row]] = {i: [] for i in set_ids}
    if not set_ids:
        return result
    query = (
        beatmaps.select()
        .where(beatmaps.c.beatmapset_id.in_(set_ids), beatmaps.c.deleted_at.is_(None))
        .order_by(beatmaps.c.mode, beatmaps.c.difficulty_rating, beatmaps.c.id)
    )
    for row in as_rows(await db.fetch_all(query)):
        result[row["beatmapset_id"]].append(row)
    return result


async def beatmapset_by_id(db: Database, set_id: int) -> Row | None:
    return as_row(await db.fetch_one(beatmapsets.select().where(beatmapsets.c.id == set_id)))


async def beatmapsets_by_ids(db: Database, set_ids: Iterable[int]) -> dict[int, Row]:
    set_ids = list(set_ids)
    if not set_ids:
        return {}
    rows = as_rows(await db.fetch_all(beatmapsets.select().where(beatmapsets.c.id.in_(set_ids))))
    return {row["id"]: row for row in rows}


async def user_playcounts(db: Database, user_id: int, beatmap_ids: Sequence[int]) -> dict[int, int]:
    if not beatmap_ids:
        return {}
    query = sa.select(beatmap_playcounts.c.beatmap_id, beatmap_playcounts.c.playcount).where(
        beatmap_playcounts.c.user_id == user_id,
        beatmap_playcounts.c.beatmap_id.in_(list(beatmap_ids)),
    )
    return {row[0]: row[1] for row in await db.fetch_all(query)}


async def viewer_state(
    db: Database, user_id: int, beatmap_id: int, set_id: int, favourites: bool
) -> tuple[int, bool]:
    """A user's play count on a beatmap and whether they favourited its set, in one query."""
    playcount = (
        sa.select(beatmap_playcounts.c.playcount)
        .where(
            beatmap_playcounts.c.user_id == user_id,
            beatmap_playcounts.c.beatmap_id == beatmap_id,
        )
        .scalar_subquery()
    )
    columns: list[Any] = [playcount.label("playcount")]
    if favourites:
        favourited = sa.exists(
            sa.select(beatmapset_favourites.c.user_id).where(
                beatmapset_favourites.c.user_id == user_id,
                beatmapset_favourites.c.beatmapset_id == set_id,
            )
        )
        columns.append(favourited.label("favourited"))
    row = await db.fetch_one(sa.select(*columns))
    if row is None:
        return 0, False
    return int(row["playcount"] or 0), bool(favourites and row["favourited"])


async def has_favourited(db: Database, user_id: int, set_id: int) -> bool:
    query = sa.select(beatmapset_favourites.c.user_id).where(
        beatmapset_favourites.c.user_id == user_id,
        beatmapset_favourites.c.beatmapset_id == set_id,
    )
    return await db.fetch_one(query) is not None


async def converts_of(db: Database, beatmap_ids: Sequence[int]) -> dict[tuple[int, int], Row]:
    """Stored converts by (beatmap id, ruleset)."""
    if not beatmap_ids:
        return {}
    rows = await db.fetch_all(
        sa.select(beatmap_converts).where(beatmap_converts.c.beatmap_id.in_(list(beatmap_ids)))
    )
    return {(int(r["beatmap_id"]), int(r["ruleset"])): as_row(r) for r in rows}


async def store_converts(
    db: Database, beatmap_id: int, checksum: str, values: Sequence[Mapping[str, Any]]
) -> None:
    """Replace a beatmap's converts with `values` (`ruleset`, `difficulty_rating`, ...)."""
    async with db.transaction():
        await db.execute(
            beatmap_converts.delete().where(beatmap_converts.c.beatmap_id == beatmap_id)
        )
        for value in values:
            await db.execute(
                beatmap_converts.insert().values(
                    beatmap_id=beatmap_id,
                    ruleset=value["ruleset"],
                    checksum=checksum,
                    difficulty_rating=value["difficulty_rating"],
                    max_combo=value["max_combo"],
                    cs=value["cs"],
                )
            )


async def recent_favourite_user_ids(db: Database, set_id: int, limit: int = 50) -> list[int]:
    """Who favourited a set, newest first (osu-web Beatmapset::recentFavourites, 50 users)."""
    query = (
        sa.select(beatmapset_favourites.c.user_id)
        .where(beatmapset_favourites.c.beatmapset_id == set_id)
        .order_by(beatmapset_favourites.c.created_at.desc(), beatmapset_favourites.c.user_id.desc())
        .limit(limit)
    )
    return [int(r[0]) for r in await db.fetch_all(query)]


async def favourite_set_ids(db: Database, user_id: int) -> list[int]:
    query = (
        sa.select(beatmapset_favourites.c.beatmapset_id)
        .where(beatmapset_favourites.c.user_id == user_id)
        .order_by(beatmapset_favourites.c.created_at.desc())
    )
    return [row[0] for row in await db.fetch_all(query)]


async def known_checksums(db: Database, checksums: Iterable[str]) -> set[str]:
    checksums = list(checksums)
    if not checksums:
        return set()
    query = sa.select(beatmaps.c.checksum).where(beatmaps.c.checksum.in_(checksums))
    return {row[0] for row in await db.fetch_all(query)}


async def max_ids(db: Database) -> tuple[int, int]:
    set_max = await db.fetch_val(sa.select(sa.func.max(beatmapsets.c.id)))
    map_max = await db.fetch_val(sa.select(sa.func.max(beatmaps.c.id)))
    return int(set_max or 0), int(map_max or 0)


# --- writes --------------------------------------------------------------------------------

SET_COLUMNS = frozenset(c.name for c in beatmapsets.columns)
MAP_COLUMNS = frozenset(c.name for c in beatmaps.columns)
# Counters this server keeps itself: a refresh from upstream never resets them.
LOCAL_SET_COUNTERS = frozenset({"favourite_count", "play_count"})
LOCAL_MAP_COUNTERS = frozenset({"playcount", "passcount"})


async def store_set(
    db: Database, beatmapset: Row, difficulties: Sequence[Row], *, replace_missing: bool = True
) -> tuple[list[int], list[str]]:
    """Insert or update a set and its difficulties in one transaction.

    Difficulties that the set no longer has are marked deleted when `replace_missing` is set.
    Returns the ids and checksums of the difficulties that existed before (for cache invalidation).
    """
    set_values = {k: v for k, v in beatmapset.items() if k in SET_COLUMNS}
    set_id = set_values["id"]
    async with db.transaction():
        existing_set = await beatmapset_by_id(db, set_id)
        if existing_set is None:
            await db.execute(beatmapsets.insert().values(**set_values))
        else:
            values = {k: v for k, v in set_values.items() if k not in LOCAL_SET_COUNTERS}
            from core.beatmaps import feedback

            # Once players here rate a set, its ratings are theirs: a refresh keeps them.
            if await feedback.has_ratings(db, set_id):
                values.pop("ratings", None)
                values.pop("rating", None)
            if values.get("osz_key") is None:
                values.pop("osz_key", None)
            await db.execute(beatmapsets.update().where(beatmapsets.c.id == set_id).values(values))
        # Upload and status-change events on the owner's recent activity.
        from core.users import events

        await events.beatmapset_changed(db, existing_set, {**(existing_set or {}), **set_values})
        await db.execute(
            beatmapset_updates.insert().values(beatmapset_id=set_id, created_at=utcnow())
        )
        old = await db.fetch_all(
            sa.select(beatmaps.c.id, beatmaps.c.checksum, beatmaps.c.beatmapset_id).where(
                sa.or_(
                    beatmaps.c.beatmapset_id == set_id,
                    beatmaps.c.id.in_([d["id"] for d in difficulties]),
                )
            )
        )
        old_ids = {row[0] for row in old}
        for difficulty in difficulties:
            values = {k: v for k, v in difficulty.items() if k in MAP_COLUMNS}
            values["beatmapset_id"] = set_id
            if values["id"] in old_ids:
                values = {k: v for k, v in values.items() if k not in LOCAL_MAP_COUNTERS}
                if values.get("osu_key") is None:
                    values.pop("osu_key", None)
                values["deleted_at"] = None
                await db.execute(
                    beatmaps.update().where(beatmaps.c.id == values["id"]).values(values)
                )
            else:
                values.setdefault("playcount", 0)
                values.setdefault("passcount", 0)
                await db.execute(beatmaps.insert().values(**values))
        if replace_missing:
            keep = [d["id"] for d in difficulties]
            await db.execute(
                beatmaps.update()
                .where(
                    beatmaps.c.beatmapset_id == set_id,
                    beatmaps.c.id.not_in(keep),
                    beatmaps.c.deleted_at.is_(None),
                )
                .values(deleted_at=utcnow())
            )
    return [row[0] for row in old], [row[1] for row in old if row[1]]


async def set_osu_key(db: Database, beatmap_id: int, key: str) -> None:
    await db.execute(beatmaps.update().where(beatmaps.c.id == beatmap_id).values(osu_key=key))


async def set_favourite(
    db: Database, user_id: int, set_id: int, favourite: bool, now: dt.datetime | None = None
) -> bool:
    """Add or remove a favourite; keeps `favourite_count` in step. True when something changed.

    `now` (naive UTC, from the app's clock) dates it: `recent_favourites` is newest first."""
    async with db.transaction():
        present = await has_favourited(db, user_id, set_id)
        if present == favourite:
            return False
        if favourite:
            await db.execute(
                beatmapset_favourites.insert().values(
                    user_id=user_id, beatmapset_id=set_id, created_at=now or utcnow()
                )
            )
            delta = 1
        else:
            await db.execute(
                beatmapset_favourites.delete().where(
                    beatmapset_favourites.c.user_id == user_id,
                    beatmapset_favourites.c.beatmapset_id == set_id,
                )
            )
            delta = -1
        await db.execute(
            beatmapsets.update()
            .where(beatmapsets.c.id == set_id)
            .values(favourite_count=beatmapsets.c.favourite_count + delta)
        )
    return True


async def add_playcount(db: Database, user_id: int, beatmap_id: int, passed: bool) -> None:
    """One play: the user's count, the beatmap's play/pass counts and the set's play count."""
    async with db.transaction():
        await db.execute(
            beatmap_playcounts.update()
            .where(
                beatmap_playcounts.c.user_id == user_id,
                beatmap_playcounts.c.beatmap_id == beatmap_id,
            )
            .values(playcount=beatmap_playcounts.c.playcount + 1)
        )
        current = await db.fetch_val(
            sa.select(beatmap_playcounts.c.playcount).where(
                beatmap_playcounts.c.user_id == user_id,
                beatmap_playcounts.c.beatmap_id == beatmap_id,
            )
        )
        if current is None:
            await db.execute(
                beatmap_playcounts.insert().values(
                    user_id=user_id, beatmap_id=beatmap_id, playcount=1
                )
            )
        await db.execute(
            beatmaps.update()
            .where(beatmaps.c.id == beatmap_id)
            .values(
                playcount=beatmaps.c.playcount + 1,
                passcount=beatmaps.c.passcount + (1 if passed else 0),
            )
        )
        set_id = await db.fetch_val(
            sa.select(beatmaps.c.beatmapset_id).where(beatmaps.c.id == beatmap_id)
        )
        if set_id is not None:
            await db.execute(
                beatmapsets.update()
                .where(beatmapsets.c.id == set_id)
                .values(play_count=beatmapsets.c.play_count + 1)
            )


async def legacy_listing(
    db: Database,
    *,
    since: dt.datetime | None = None,
    set_id: int | None = None,
    beatmap_id: int | None = None,
    user_id: int | None = None,
    creator: str | None = None,
    modes: Sequence[int] | None = None,
    checksum: str | None = None,
    limit: int = 500,
) -> list[tuple[Row, Row]]:
    """(beatmap, beatmapset) rows for API v1 `get_beatmaps`, in one joined query."""
    set_columns = [c.label(f"set_{c.name}") for c in beatmapsets.columns]
    query = (
        sa.select(beatmaps, *set_columns)
        .select_from(beatmaps.join(beatmapsets, beatmaps.c.beatmapset_id == beatmapsets.c.id))
        .where(beatmaps.c.deleted_at.is_(None), beatmapsets.c.deleted_at.is_(None))
    )
    if since is not None:
        query = query.where(beatmapsets.c.ranked_date > since, beatmapsets.c.status.in_((1, 2, 4)))
    if set_id is not None:
        query = query.where(beatmaps.c.beatmapset_id == set_id)
    if beatmap_id is not None:
        query = query.where(beatmaps.c.id == beatmap_id)
    if user_id is not None:
        query = query.where(beatmapsets.c.user_id == user_id)
    if creator is not None:
        query = query.where(sa.func.lower(beatmapsets.c.creator) == creator.lower())
    if modes is not None:
        query = query.where(beatmaps.c.mode.in_(list(modes)))
    if checksum is not None:
        query = query.where(beatmaps.c.checksum == checksum)
    order = [beatmapsets.c.ranked_date, beatmaps.c.id] if since is not None else [beatmaps.c.id]
    rows = await db.fetch_all(query.order_by(*order).limit(limit))
    result: list[tuple[Row, Row]] = []
    for row in rows:
        data = dict(row._mapping)
        beatmap = {c.name: data[c.name] for c in beatmaps.columns}
        beatmapset = {c.name: data[f"set_{c.name}"] for c in beatmapsets.columns}
        result.append((beatmap, beatmapset))
    return result


async def set_status(db: Database, set_id: int, status: int, now: dt.datetime) -> list[int]:
    """Give a set and its difficulties a new status, queued for clients, in one transaction.

    `ranked_date` follows setApproved in osu-web's app/Models/Beatmapset.php: the time of the
    change for a status above pending, none otherwise. Returns the ids of the set's difficulties
    (empty when there is no such set).
    """
    async with db.transaction():
        before = await beatmapset_by_id(db, set_id)
        if before is None:
            return []
        values = {"status": status, "ranked_date": now if status > 0 else None}
        await db.execute(beatmapsets.update().where(beatmapsets.c.id == set_id).values(values))
        # The mapper's `beatmapsetApprove` event, as an import's status change writes it.
        from core.users import events

        await events.beatmapset_changed(db, before, {**before, **values})
        await db.execute(
            beatmaps.update().where(beatmaps.c.beatmapset_id == set_id).values(status=status)
        )
        await db.execute(beatmapset_updates.insert().values(beatmapset_id=set_id, created_at=now))
        rows = await db.fetch_all(
            sa.select(beatmaps.c.id).where(beatmaps.c.beatmapset_id == set_id)
        )
    return [int(row[0]) for row in rows]


# --- the change queue ----------------------------------------------------------------------


async def latest_set_update(db: Database) -> int:
    """The newest queue id, 0 when nothing was ever stored."""
    return int(await db.fetch_val(sa.select(sa.func.max(beatmapset_updates.c.id))) or 0)


async def set_updates_since(db: Database, queue_id: int, limit: int = 100) -> tuple[list[int], int]:
    """Set ids changed after `queue_id` (each once, oldest first) and the last queue id read.

    At most `limit` entries are read; the caller asks again from the returned id until the list
    comes back empty, which is how lazer walks it.
    """
    rows = await db.fetch_all(
        sa.select(beatmapset_updates.c.id, beatmapset_updates.c.beatmapset_id)
        .where(beatmapset_updates.c.id > queue_id)
        .order_by(beatmapset_updates.c.id)
        .limit(limit)
    )
    if not rows:
        return [], queue_id
    return list(dict.fromkeys(int(row[1]) for row in rows)), int(rows[-1][0])


# --- editor submissions (plugin `beatmap_submission`) --------------------------------------
# osu-server-beatmap-submission hands out a set id and beatmap ids before the package arrives
# (PUT beatmapsets). Here they are rows at once, so no import can take the same ids: a set not
# yet uploaded is hidden (`deleted_at` set), and a difficulty reserved but not yet uploaded is
# a hidden row without a checksum.


def _is_member(set_id: int) -> Any:
    return sa.and_(
        beatmaps.c.beatmapset_id == set_id,
        sa.or_(beatmaps.c.deleted_at.is_(None), beatmaps.c.checksum.is_(None)),
    )


async def submission_members(db: Database, set_id: int) -> list[int]:
    """The difficulties a submitted set is made of: live ones and reserved ones."""
    rows = await db.fetch_all(
        sa.select(beatmaps.c.id).where(_is_member(set_id)).order_by(beatmaps.c.id)
    )
    return [int(row[0]) for row in rows]


async def reserve_submission(
    db: Database,
    *,
    set_id: int | None,
    user_id: int,
    username: str,
    status: int,
    keep: Sequence[int],
    create: int,
    first_id: int,
    now: dt.datetime,
) -> tuple[int, list[int]]:
    """Create a set (`set_id` None) or reshape an existing one for a submission, in one
    transaction: difficulties not in `keep` leave the set, `create` new ids are reserved and
    the set takes `status` (WIP or pending, the mapper's choice). Returns the set id and the new
    beatmap ids. The caller checked ownership and that `keep` are members."""
    async with db.transaction():
        set_max, map_max = await max_ids(db)
        if set_id is None:
            set_id = max(set_max, first_id - 1) + 1
            await db.execute(
                beatmapsets.insert().values(
                    id=set_id,
                    artist="",
                    artist_unicode="",
                    title="",
                    title_unicode="",
                    creator=username,
                    user_id=user_id,
                    source="",
                    tags="",
                    status=status,
                    genre_id=1,
                    language_id=1,
                    bpm=0.0,
                    nsfw=False,
                    video=False,
                    storyboard=False,
                    spotlight=False,
                    download_disabled=False,
                    audio_offset=0,
                    track_id=None,
                    rating=0.0,
                    ratings=None,
                    description=None,
                    favourite_count=0,
                    play_count=0,
                    submitted_date=now,
                    ranked_date=None,
                    last_updated=now,
                    # Hidden until its first package is stored.
                    deleted_at=now,
                    origin="local",
                    fetched_at=now,
                    osz_key=None,
                )
            )
            visible = False
        else:
            current = await beatmapset_by_id(db, set_id)
            visible = current is not None and current["deleted_at"] is None
            await db.execute(
                beatmapsets.update()
                .where(beatmapsets.c.id == set_id)
                .values(status=status, ranked_date=None, last_updated=now)
            )
            gone = [i for i in await submission_members(db, set_id) if i not in set(keep)]
            if gone:
                # Reserved rows never had a file (nor scores): they go; uploaded ones are hidden.
                await db.execute(
                    beatmaps.delete().where(beatmaps.c.id.in_(gone), beatmaps.c.checksum.is_(None))
                )
                await db.execute(
                    beatmaps.update()
                    .where(beatmaps.c.id.in_(gone), beatmaps.c.deleted_at.is_(None))
                    .values(deleted_at=now)
                )
            await db.execute(
                beatmaps.update()
                .where(beatmaps.c.beatmapset_id == set_id, beatmaps.c.deleted_at.is_(None))
                .values(status=status)
            )
        new_ids = list(
            range(max(map_max, first_id - 1) + 1, max(map_max, first_id - 1) + 1 + create)
        )
        for beatmap_id in new_ids:
            await db.execute(
                beatmaps.insert().values(
                    id=beatmap_id,
                    beatmapset_id=set_id,
                    checksum=None,
                    filename=None,
                    mode=0,
                    status=status,
                    version="",
                    user_id=user_id,
                    difficulty_rating=0.0,
                    total_length=0,
                    hit_length=0,
                    bpm=0.0,
                    cs=0.0,
                    ar=0.0,
                    accuracy=0.0,
                    drain=0.0,
                    count_circles=0,
                    count_sliders=0,
                    count_spinners=0,
                    max_combo=None,
                    playcount=0,
                    passcount=0,
                    last_updated=now,
                    deleted_at=now,
                    osu_key=None,
                )
            )
        if visible:
            # Clients refresh the set (its status or difficulties changed).
            await db.execute(
                beatmapset_updates.insert().values(beatmapset_id=set_id, created_at=now)
            )
    return set_id, new_ids


async def pending_set_count(db: Database, user_id: int) -> int:
    """A mapper's sets in WIP or pending, those reserved but not yet uploaded included."""
    query = sa.select(sa.func.count()).where(
        beatmapsets.c.user_id == user_id, beatmapsets.c.status.in_((-1, 0))
    )
    return int(await db.fetch_val(query) or 0)
