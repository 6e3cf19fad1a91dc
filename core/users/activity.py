"""What a profile counts about a user: plays and replay views per month, the account history,
and the counts of sets, favourites and messages shown on the profile.

Tables here, and the SQL that reads and writes them. The monthly counters follow
ppy/osu-web `app/Models/UserMonthlyPlaycount.php` and `UserReplaysWatchedCount.php` (one row per
user and month); the account history follows `app/Models/UserAccountHistory.php`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import as_rows, utcnow
from core.http import time_offset
from core.schema import TABLE_ARGS, metadata

Row = Mapping[str, Any]

# `user_monthly_counts.kind`
PLAYS = 0
REPLAYS_WATCHED = 1

user_monthly_counts = sa.Table(
    "user_monthly_counts",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.SmallInteger(), primary_key=True),
    # The first day of the month (UTC).
    sa.Column("month", sa.Date(), primary_key=True),
    sa.Column("count", sa.Integer(), nullable=False),
    **TABLE_ARGS,
)

# Restrictions, silences and notes on an account (written by moderation; `restrict` today).
ACCOUNT_HISTORY_TYPES = ("note", "restriction", "silence", "tournament_ban")
# osu-web shows the history of the last `osu.user.ban_persist_days` days (28 by default).
ACCOUNT_HISTORY_DAYS = 28

account_history = sa.Table(
    "account_history",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("description", sa.String(255), nullable=True),
    # Seconds; 0 with `permanent` for restrictions without an end.
    sa.Column("length", sa.Integer(), nullable=False),
    sa.Column("permanent", sa.Boolean(), nullable=False),
    sa.Column("actor_id", sa.BigInteger(), nullable=True),
    sa.Column("timestamp", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)


def month_of(when: dt.datetime | dt.date) -> dt.date:
    return dt.date(when.year, when.month, 1)


async def add_to_month(
    db: Database, user_id: int, kind: int, when: dt.datetime, amount: int = 1
) -> None:
    """Add to the user's counter of `kind` for the month of `when` (inside the caller's
    transaction when there is one)."""
    month = month_of(when)
    where = sa.and_(
        user_monthly_counts.c.user_id == user_id,
        user_monthly_counts.c.kind == kind,
        user_monthly_counts.c.month == month,
    )
    increment = user_monthly_counts.update().where(where)
    for _ in range(2):
        if await db.execute(increment.values(count=user_monthly_counts.c.count + amount)):
            return
        try:
            await db.execute(
                user_monthly_counts.insert().values(
                    user_id=user_id, kind=kind, month=month, count=amount
                )
            )
            return
        except sa.exc.IntegrityError:
            # Another request inserted the month first: add to its row.
            continue


async def monthly(db: Database, user_id: int, kind: int) -> list[dict[str, Any]]:
    """`[{start_date, count}]` oldest first (UserMonthlyPlaycountTransformer)."""
    rows = await db.fetch_all(
        sa.select(user_monthly_counts.c.month, user_monthly_counts.c.count)
        .where(user_monthly_counts.c.user_id == user_id, user_monthly_counts.c.kind == kind)
        .order_by(user_monthly_counts.c.month)
    )
    return [{"start_date": r[0].isoformat(), "count": int(r[1])} for r in rows]


async def count_replay_view(db: Database, score: Row, viewer_id: int | None) -> bool:
    """A replay download: counted for the score and its player when someone else watches it
    (osu-web ScoresController::download). True when it was counted."""
    from core.scores.store import scores
    from core.users.user_statistics import user_statistics

    owner = int(score["user_id"])
    if viewer_id is None or viewer_id == owner:
        return False
    async with db.transaction():
        await db.execute(
            scores.update()
            .where(scores.c.id == int(score["id"]))
            .values(replay_views=scores.c.replay_views + 1)
        )
        await db.execute(
            user_statistics.update()
            .where(
                user_statistics.c.user_id == owner,
                user_statistics.c.ruleset_id == int(score["ruleset_id"]),
            )
            .values(replays_watched=user_statistics.c.replays_watched + 1)
        )
        await add_to_month(db, owner, REPLAYS_WATCHED, utcnow())
    return True


# --- account history ---------------------------------------------------------------------------


async def add_history(
    db: Database,
    user_id: int,
    kind: str,
    *,
    description: str | None = None,
    length: int = 0,
    permanent: bool = False,
    actor_id: int | None = None,
) -> int:
    """Record a restriction, silence or note on an account; returns its id."""
    if kind not in ACCOUNT_HISTORY_TYPES:
        raise ValueError(f"unknown account history type {kind!r}")
    return int(
        await db.execute(
            account_history.insert().values(
                user_id=user_id,
                type=kind,
                description=description,
                length=max(0, length),
                permanent=permanent,
                actor_id=actor_id,
                timestamp=utcnow(),
            )
        )
    )


async def history(db: Database, user_id: int, *, own: bool) -> list[dict[str, Any]]:
    """UserAccountHistory[] of the recent window, newest first (UserAccountHistoryTransformer).

    Others see silences only (osu-web's `default` scope); the user sees every entry.
    """
    since = utcnow() - dt.timedelta(days=ACCOUNT_HISTORY_DAYS)
    query = sa.select(account_history).where(
        account_history.c.user_id == user_id,
        sa.or_(account_history.c.timestamp > since, account_history.c.permanent.is_(True)),
    )
    if not own:
        query = query.where(account_history.c.type == "silence")
    rows = await db.fetch_all(
        query.order_by(account_history.c.timestamp.desc(), account_history.c.id.desc())
    )
    return [
        {
            "description": r["description"],
            "id": int(r["id"]),
            "length": int(r["length"]),
            "permanent": bool(r["permanent"]),
            "timestamp": time_offset(r["timestamp"]),
            "type": r["type"],
        }
        for r in rows
    ]


# --- profile counts ----------------------------------------------------------------------------

# Status groups of the profile's set lists (ppy/osu-web app/Models/User.php profileBeatmapsets*).
SET_GROUPS: dict[str, tuple[int, ...]] = {
    "graveyard": (-2,),
    "loved": (4,),
    "pending": (0, -1),
    "ranked": (1, 2, 3),
}


def owned_sets(user_id: int) -> Any:
    """Sets this server's account owns: imported here (an upstream set's `user_id` is an
    upstream account, not ours) and not deleted."""
    from core.beatmaps.store import beatmapsets

    return sa.and_(
        beatmapsets.c.user_id == user_id,
        beatmapsets.c.origin == "local",
        beatmapsets.c.deleted_at.is_(None),
    )


def guest_sets(user_id: int) -> Any:
    """Sets with a difficulty by this account in a set someone else owns."""
    from core.beatmaps.store import beatmaps, beatmapsets

    return sa.and_(
        beatmapsets.c.origin == "local",
        beatmapsets.c.deleted_at.is_(None),
        beatmapsets.c.user_id != user_id,
        sa.select(beatmaps.c.id)
        .where(
            beatmaps.c.beatmapset_id == beatmapsets.c.id,
            beatmaps.c.user_id == user_id,
            beatmaps.c.deleted_at.is_(None),
        )
        .exists(),
    )


async def profile_counts(db: Database, user_id: int) -> dict[str, int]:
    """The `*_beatmapset_count` fields and `beatmap_playcounts_count` of a profile."""
    from core.beatmaps.store import beatmap_playcounts, beatmapset_favourites, beatmapsets

    by_status = await db.fetch_all(
        sa.select(beatmapsets.c.status, sa.func.count())
        .where(owned_sets(user_id))
        .group_by(beatmapsets.c.status)
    )
    statuses = {int(r[0]): int(r[1]) for r in by_status}
    counts = {
        f"{group}_beatmapset_count": sum(statuses.get(s, 0) for s in members)
        for group, members in SET_GROUPS.items()
    }
    counts["guest_beatmapset_count"] = int(
        await db.fetch_val(
            sa.select(sa.func.count()).select_from(beatmapsets).where(guest_sets(user_id))
        )
        or 0
    )
    counts["favourite_beatmapset_count"] = int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(
                beatmapset_favourites.join(
                    beatmapsets, beatmapsets.c.id == beatmapset_favourites.c.beatmapset_id
                )
            )
            .where(beatmapset_favourites.c.user_id == user_id, beatmapsets.c.deleted_at.is_(None))
        )
        or 0
    )
    counts["beatmap_playcounts_count"] = int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(beatmap_playcounts)
            .where(beatmap_playcounts.c.user_id == user_id)
        )
        or 0
    )
    return counts


async def unread_pm_count(db: Database, user_id: int) -> int:
    """Messages from others in the user's private channels after what they last read."""
    from core.chat.store import chat_channel_users, chat_channels, chat_messages

    query = (
        sa.select(sa.func.count())
        .select_from(
            chat_messages.join(
                chat_channel_users, chat_channel_users.c.channel_id == chat_messages.c.channel_id
            ).join(chat_channels, chat_channels.c.id == chat_messages.c.channel_id)
        )
        .where(
            chat_channel_users.c.user_id == user_id,
            chat_channels.c.type == "PM",
            chat_messages.c.user_id != user_id,
            sa.or_(
                chat_channel_users.c.last_read_id.is_(None),
                chat_messages.c.id > chat_channel_users.c.last_read_id,
            ),
        )
    )
    return int(await db.fetch_val(query) or 0)


# --- the profile's set lists -------------------------------------------------------------------

SET_LIST_KINDS = ("favourite", "graveyard", "guest", "loved", "nominated", "pending", "ranked")
# Deprecated names osu-web still answers.
SET_LIST_ALIASES = {"ranked_and_approved": "ranked", "unranked": "pending"}


async def set_list(db: Database, user_id: int, kind: str, *, limit: int, offset: int) -> list[Row]:
    """The beatmapset rows of one profile list, in osu-web's order (UsersController
    `beatmapsets`): favourites newest first, ranked and loved by ranked date, the others by
    last update."""
    from core.beatmaps.store import beatmapset_favourites, beatmapsets

    if kind == "nominated":
        # Nominations need a modding process this server does not have.
        return []
    if kind == "favourite":
        query = (
            sa.select(beatmapsets)
            .select_from(
                beatmapset_favourites.join(
                    beatmapsets, beatmapsets.c.id == beatmapset_favourites.c.beatmapset_id
                )
            )
            .where(beatmapset_favourites.c.user_id == user_id, beatmapsets.c.deleted_at.is_(None))
            .order_by(beatmapset_favourites.c.created_at.desc(), beatmapsets.c.id.desc())
        )
    elif kind == "guest":
        query = (
            sa.select(beatmapsets)
            .where(guest_sets(user_id))
            .order_by(beatmapsets.c.last_updated.desc(), beatmapsets.c.id.desc())
        )
    else:
        by_rank_date = kind in ("ranked", "loved")
        order = beatmapsets.c.ranked_date if by_rank_date else beatmapsets.c.last_updated
        query = (
            sa.select(beatmapsets)
            .where(owned_sets(user_id), beatmapsets.c.status.in_(SET_GROUPS[kind]))
            .order_by(order.desc(), beatmapsets.c.id.desc())
        )
    rows = await db.fetch_all(query.limit(limit).offset(offset))
    return [{str(k): r[k] for k in r.keys()} for r in as_rows(rows)]


async def most_played(
    db: Database, user_id: int, *, limit: int, offset: int
) -> list[tuple[int, int]]:
    """(beatmap id, the user's play count) of their most played beatmaps."""
    from core.beatmaps.store import beatmap_playcounts, beatmaps

    rows = await db.fetch_all(
        sa.select(beatmap_playcounts.c.beatmap_id, beatmap_playcounts.c.playcount)
        .select_from(
            beatmap_playcounts.join(beatmaps, beatmaps.c.id == beatmap_playcounts.c.beatmap_id)
        )
        .where(beatmap_playcounts.c.user_id == user_id, beatmaps.c.deleted_at.is_(None))
        .order_by(beatmap_playcounts.c.playcount.desc(), beatmap_playcounts.c.beatmap_id)
        .limit(limit)
        .offset(offset)
    )
    return [(int(r[0]), int(r[1])) for r in rows]
