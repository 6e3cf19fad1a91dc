"""Team tables and their SQL.

teams          a team: names, flag, colours, leader (osu-web `teams`)
team_members   who is in which team; the primary key on user_id keeps one team per user
team_requests  pending invitations (from the leader) and applications (from a player)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata
from core.users.store import users
from core.users.user_statistics import user_statistics

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Row = Mapping[str, Any]

INVITE = "invite"
APPLY = "apply"

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(50), nullable=False, unique=True),
    sa.Column("short_name", sa.String(10), nullable=False, unique=True),
    # An http(s) URL of the flag image, chosen by the leader; None: no flag.
    sa.Column("flag_url", sa.String(255), nullable=True),
    # `#rrggbb`, or None.
    sa.Column("colour_primary", sa.String(7), nullable=True),
    sa.Column("colour_secondary", sa.String(7), nullable=True),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("leader_id", sa.BigInteger(), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

team_members = sa.Table(
    "team_members",
    metadata,
    sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column(
        "team_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("teams.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    **TABLE_ARGS,
)

team_requests = sa.Table(
    "team_requests",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "team_id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        sa.ForeignKey("teams.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
    # INVITE (the leader asked the user) or APPLY (the user asked the team).
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.UniqueConstraint("team_id", "user_id"),
    **TABLE_ARGS,
)


async def get_team(db: Database, team_id: int) -> Row | None:
    return as_row(await db.fetch_one(sa.select(teams).where(teams.c.id == team_id)))


async def list_teams(db: Database) -> list[Row]:
    return as_rows(await db.fetch_all(sa.select(teams).order_by(teams.c.id)))


async def name_taken(db: Database, name: str, short_name: str, except_team: int = 0) -> str | None:
    """Which field ("name" or "short_name") another team already uses, case-insensitively."""
    for field, value in (("name", name), ("short_name", short_name)):
        column = teams.c[field]
        found = await db.fetch_val(
            sa.select(teams.c.id).where(
                sa.func.lower(column) == value.lower(), teams.c.id != except_team
            )
        )
        if found is not None:
            return field
    return None


async def insert_team(db: Database, values: Mapping[str, Any]) -> int:
    """A new team with its leader as first member, in one transaction."""
    async with db.transaction():
        team_id = int(await db.execute(sa.insert(teams).values(**values, created_at=utcnow())))
        await db.execute(
            sa.insert(team_members).values(
                user_id=values["leader_id"], team_id=team_id, created_at=utcnow()
            )
        )
        await db.execute(
            sa.delete(team_requests).where(team_requests.c.user_id == values["leader_id"])
        )
    return team_id


async def update_team(db: Database, team_id: int, **values: Any) -> None:
    await db.execute(sa.update(teams).where(teams.c.id == team_id).values(**values))


async def delete_team(db: Database, team_id: int) -> None:
    # Explicit deletes: the cascade is there too, but the order makes it independent of it.
    async with db.transaction():
        await db.execute(sa.delete(team_requests).where(team_requests.c.team_id == team_id))
        await db.execute(sa.delete(team_members).where(team_members.c.team_id == team_id))
        await db.execute(sa.delete(teams).where(teams.c.id == team_id))


async def team_of(db: Database, user_id: int) -> int | None:
    found = await db.fetch_val(
        sa.select(team_members.c.team_id).where(team_members.c.user_id == user_id)
    )
    return None if found is None else int(found)


async def teams_of(db: Database, user_ids: Sequence[int]) -> dict[int, Row]:
    """The team row of each given user that is in one (one query)."""
    if not user_ids:
        return {}
    query = (
        sa.select(team_members.c.user_id.label("member_id"), teams)
        .select_from(team_members.join(teams, teams.c.id == team_members.c.team_id))
        .where(team_members.c.user_id.in_(list(set(user_ids))))
    )
    return {int(r["member_id"]): r for r in as_rows(await db.fetch_all(query))}


async def member_ids(db: Database, team_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(team_members.c.user_id)
        .where(team_members.c.team_id == team_id)
        .order_by(team_members.c.created_at, team_members.c.user_id)
    )
    return [int(r["user_id"]) for r in rows]


async def add_member(db: Database, team_id: int, user_id: int) -> None:
    """Join a team and drop the user's other requests; a duplicate key if already in one."""
    async with db.transaction():
        await db.execute(
            sa.insert(team_members).values(user_id=user_id, team_id=team_id, created_at=utcnow())
        )
        await db.execute(sa.delete(team_requests).where(team_requests.c.user_id == user_id))


async def remove_member(db: Database, team_id: int, user_id: int) -> bool:
    result = await db.execute(
        sa.delete(team_members).where(
            team_members.c.team_id == team_id, team_members.c.user_id == user_id
        )
    )
    return bool(result)


# --- requests ----------------------------------------------------------------------------------


async def get_request(db: Database, request_id: int) -> Row | None:
    return as_row(
        await db.fetch_one(sa.select(team_requests).where(team_requests.c.id == request_id))
    )


async def find_request(db: Database, team_id: int, user_id: int) -> Row | None:
    return as_row(
        await db.fetch_one(
            sa.select(team_requests).where(
                team_requests.c.team_id == team_id, team_requests.c.user_id == user_id
            )
        )
    )


async def add_request(db: Database, team_id: int, user_id: int, kind: str) -> int:
    return int(
        await db.execute(
            sa.insert(team_requests).values(
                team_id=team_id, user_id=user_id, kind=kind, created_at=utcnow()
            )
        )
    )


async def delete_request(db: Database, request_id: int) -> None:
    await db.execute(sa.delete(team_requests).where(team_requests.c.id == request_id))


async def requests_for(db: Database, user_id: int, team_id: int | None) -> list[Row]:
    """The user's own requests (invitations and applications) and, for a leader, the team's."""
    condition = team_requests.c.user_id == user_id
    if team_id is not None:
        condition = sa.or_(condition, team_requests.c.team_id == team_id)
    return as_rows(
        await db.fetch_all(sa.select(team_requests).where(condition).order_by(team_requests.c.id))
    )


# --- statistics and rankings -------------------------------------------------------------------


def _visible() -> Any:
    return sa.and_(users.c.restricted.is_(False), users.c.is_deleted.is_(False))


def _sums() -> list[Any]:
    return [
        team_members.c.team_id,
        user_statistics.c.ruleset_id,
        sa.func.count().label("member_count"),
        sa.func.sum(user_statistics.c.play_count).label("play_count"),
        sa.func.sum(user_statistics.c.ranked_score).label("ranked_score"),
        sa.func.sum(user_statistics.c.pp).label("performance"),
    ]


def _joined() -> Any:
    return team_members.join(
        user_statistics, user_statistics.c.user_id == team_members.c.user_id
    ).join(users, users.c.id == team_members.c.user_id)


def _stat(row: Row) -> dict[str, Any]:
    return {
        "team_id": int(row["team_id"]),
        "ruleset_id": int(row["ruleset_id"]),
        "member_count": int(row["member_count"]),
        "play_count": int(row["play_count"] or 0),
        "ranked_score": int(row["ranked_score"] or 0),
        "performance": float(row["performance"] or 0),
    }


async def statistics(db: Database, team_id: int) -> list[dict[str, Any]]:
    """The team's sums per ruleset its visible members played, with the team's rank in each."""
    query = (
        sa.select(*_sums())
        .select_from(_joined())
        .where(team_members.c.team_id == team_id, _visible())
        .group_by(team_members.c.team_id, user_statistics.c.ruleset_id)
        .order_by(user_statistics.c.ruleset_id)
    )
    found = [_stat(r) for r in as_rows(await db.fetch_all(query))]
    for stat in found:
        stat["rank"] = await rank(db, stat["ruleset_id"], stat["performance"])
    return found


def _performance_sums(ruleset_id: int) -> Any:
    return (
        sa.select(team_members.c.team_id, sa.func.sum(user_statistics.c.pp).label("performance"))
        .select_from(_joined())
        .where(user_statistics.c.ruleset_id == ruleset_id, user_statistics.c.pp > 0, _visible())
        .group_by(team_members.c.team_id)
        .subquery()
    )


async def rank(db: Database, ruleset_id: int, performance: float) -> int | None:
    """1 + teams with strictly more performance in the ruleset; None at 0."""
    if performance <= 0:
        return None
    sums = _performance_sums(ruleset_id)
    ahead = await db.fetch_val(
        sa.select(sa.func.count()).select_from(sums).where(sums.c.performance > performance)
    )
    return int(ahead or 0) + 1


async def ranking(
    db: Database, ruleset_id: int, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """(one page of team sums by performance, number of ranked teams) for a ruleset."""
    performance = sa.func.sum(user_statistics.c.pp)
    query = (
        sa.select(*_sums())
        .select_from(_joined())
        .where(user_statistics.c.ruleset_id == ruleset_id, user_statistics.c.pp > 0, _visible())
        .group_by(team_members.c.team_id, user_statistics.c.ruleset_id)
        .order_by(performance.desc(), team_members.c.team_id)
        .limit(limit)
        .offset(offset)
    )
    rows = [_stat(r) for r in as_rows(await db.fetch_all(query))]
    total = await db.fetch_val(
        sa.select(sa.func.count()).select_from(_performance_sums(ruleset_id))
    )
    return rows, int(total or 0)


async def get_teams(db: Database, team_ids: Sequence[int]) -> dict[int, Row]:
    if not team_ids:
        return {}
    rows = as_rows(await db.fetch_all(sa.select(teams).where(teams.c.id.in_(list(set(team_ids))))))
    return {int(r["id"]): r for r in rows}
