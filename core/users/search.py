"""User search (`GET /search`, mode `user`) in SQL: visible users whose name starts with the query.

osu-web searches Elasticsearch (app/Libraries/Search/UserSearch.php); here a name prefix on the
lookup form of usernames (case-folded, space and underscore equal) stands in for its username
analysers, an exact id or name ranks first, and the rest come in name order. Restricted and
deleted users, and users the viewer blocked, are never found. At most 100 results are reachable,
20 a page (osu-web config osu.search.max.user, UserSearchParams::$size).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.users.store import (
    RELATION_BLOCK,
    USER_COLUMNS,
    clean_username,
    record,
    user_relations,
    users,
)

PAGE_SIZE = 20
MAX_RESULTS = 100
MAX_ID = 2**63 - 1


@dataclass
class Found:
    rows: list[dict[str, Any]]
    total: int


def _conditions(query: str, viewer_id: int | None) -> list[Any]:
    clean = clean_username(query)
    # The pattern is a bound value: `databases` formats the SQL text with %, so no literal %.
    escaped = clean.replace("/", "//").replace("%", "/%").replace("_", "/_")
    match: sa.ColumnElement[bool] = users.c.username_clean.like(escaped + "%", escape="/")
    if query.strip().isdecimal() and int(query.strip()) <= MAX_ID:
        match = sa.or_(match, users.c.id == int(query.strip()))
    conditions = [match, users.c.restricted.is_(False), users.c.is_deleted.is_(False)]
    if viewer_id is not None:
        blocked = sa.select(user_relations.c.target_id).where(
            user_relations.c.user_id == viewer_id, user_relations.c.relation == RELATION_BLOCK
        )
        conditions.append(users.c.id.not_in(blocked))
    return conditions


async def users_by_name(
    db: Database, query: str, *, viewer_id: int | None, offset: int, limit: int
) -> Found:
    """A page of users for `query` (an empty query finds everyone) and how many match in all."""
    query = query.strip()
    if len(clean_username(query)) > 32 and not query.isdecimal():
        return Found([], 0)
    conditions = _conditions(query, viewer_id)
    total = int(
        await db.fetch_val(sa.select(sa.func.count()).select_from(users).where(*conditions)) or 0
    )
    limit = min(limit, MAX_RESULTS - offset)
    if limit <= 0 or total == 0:
        return Found([], total)
    exact = [users.c.username_clean == clean_username(query)]
    if query.isdecimal() and int(query) <= MAX_ID:
        exact.append(users.c.id == int(query))
    rank = sa.case((sa.or_(*exact), 0), else_=1)
    rows = await db.fetch_all(
        sa.select(*USER_COLUMNS)
        .where(*conditions)
        .order_by(rank, users.c.username_clean, users.c.id)
        .offset(offset)
        .limit(limit)
    )
    return Found([_plain(record(r)) for r in rows], total)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    bools = {c.name for c in users.c if isinstance(c.type, sa.Boolean)}
    return {k: bool(v) if k in bools else v for k, v in row.items()}
