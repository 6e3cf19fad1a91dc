"""`user_achievements`: which user holds which medal since when; one row per (user, medal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import duplicate_errors, utcnow
from core.schema import TABLE_ARGS, metadata
from core.users.store import users

user_achievements = sa.Table(
    "user_achievements",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    # A catalogue id (core/medals/catalogue.json); no table of its own, so no foreign key.
    sa.Column("achievement_id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("achieved_at", sa.DateTime(), nullable=False),
    # The score that earned it (None when given otherwise); kept so a recalc can tell why.
    sa.Column("score_id", sa.BigInteger(), nullable=True),
    **TABLE_ARGS,
)


async def held(db: Database, user_id: int) -> set[int]:
    rows = await db.fetch_all(
        sa.select(user_achievements.c.achievement_id).where(user_achievements.c.user_id == user_id)
    )
    return {int(r[0]) for r in rows}


async def award(
    db: Database, user_id: int, achievement_id: int, score_id: int | None = None
) -> bool:
    """Give the medal unless the user holds it; True when this call gave it.

    The primary key decides between concurrent awards: exactly one insert wins.
    """
    try:
        await db.execute(
            user_achievements.insert().values(
                user_id=user_id,
                achievement_id=achievement_id,
                achieved_at=utcnow(),
                score_id=score_id,
            )
        )
    except duplicate_errors():
        return False
    return True


async def of_user(db: Database, user_id: int) -> list[dict[str, Any]]:
    """The user's medals, oldest first: `{id, achieved_at}` rows."""
    rows = await db.fetch_all(
        sa.select(user_achievements.c.achievement_id, user_achievements.c.achieved_at)
        .where(user_achievements.c.user_id == user_id)
        .order_by(user_achievements.c.achieved_at, user_achievements.c.achievement_id)
    )
    return [{"id": int(r[0]), "achieved_at": r[1]} for r in rows]


async def revoke(db: Database, user_ids: Sequence[int], achievement_id: int) -> None:
    """Take a medal back (operators, tests)."""
    await db.execute(
        user_achievements.delete().where(
            user_achievements.c.user_id.in_(list(user_ids)),
            user_achievements.c.achievement_id == achievement_id,
        )
    )


async def holder_counts(db: Database) -> dict[int, int]:
    """How many players hold each medal (the medals page), not counting restricted or deleted
    accounts, whose medals stay hidden as their profiles do."""
    rows = await db.fetch_all(
        sa.select(user_achievements.c.achievement_id, sa.func.count())
        .select_from(user_achievements.join(users, users.c.id == user_achievements.c.user_id))
        .where(users.c.restricted.is_(False), users.c.is_deleted.is_(False))
        .group_by(user_achievements.c.achievement_id)
    )
    return {int(r[0]): int(r[1]) for r in rows}
