"""The `comments` and `comment_votes` tables (osu-web app/Models/Comment.php, CommentVote.php)
and their SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import Row, as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# osu-web Comment::MAX_FIELD_LENGTHS.
MAX_MESSAGE = 10000

comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    # osu-web morph names: news_post, beatmapset.
    sa.Column("commentable_type", sa.String(32), nullable=False),
    sa.Column("commentable_id", sa.BigInteger(), nullable=False),
    sa.Column("parent_id", sa.BigInteger(), nullable=True, index=True),
    sa.Column(
        "user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("message", sa.Text(), nullable=False),
    sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("replies_count_cache", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("votes_count_cache", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Column("deleted_at", sa.DateTime(), nullable=True),
    sa.Column("deleted_by_id", sa.BigInteger(), nullable=True),
    sa.Column("edited_at", sa.DateTime(), nullable=True),
    sa.Column("edited_by_id", sa.BigInteger(), nullable=True),
    sa.Index("ix_comments_commentable", "commentable_type", "commentable_id", "created_at"),
    sa.Index("ix_comments_user_id", "user_id"),
    **TABLE_ARGS,
)

comment_votes = sa.Table(
    "comment_votes",
    metadata,
    sa.Column(
        "comment_id",
        Id,
        sa.ForeignKey("comments.id", ondelete="CASCADE"),
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
    sa.Index("ix_comment_votes_user_id", "user_id"),
    **TABLE_ARGS,
)

c = comments.c

# osu-web Comment::SORTS: the columns each sort orders by, all descending or all ascending.
SORTS: dict[str, tuple[tuple[str, ...], bool]] = {
    "new": (("created_at", "id"), True),
    "old": (("created_at", "id"), False),
    "top": (("votes_count_cache", "created_at", "id"), True),
}


@dataclass(frozen=True)
class Commentable:
    type: str
    id: int


async def get_comment(db: Database, comment_id: int) -> Row | None:
    return as_row(await db.fetch_one(comments.select().where(c.id == comment_id)))


async def get_comments(db: Database, ids: Iterable[int]) -> list[Row]:
    ids = list(ids)
    if not ids:
        return []
    return as_rows(await db.fetch_all(comments.select().where(c.id.in_(ids))))


def _scope(commentable: Commentable | None, user_id: int | None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if commentable is not None:
        where += [c.commentable_type == commentable.type, c.commentable_id == commentable.id]
    if user_id is not None:
        where.append(c.user_id == user_id)
    return where


def _after(sort: str, cursor: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Rows after the cursor's position in `sort` order (a row-value comparison, spelled out)."""
    columns, descending = SORTS[sort]
    terms: list[sa.ColumnElement[bool]] = []
    for i, name in enumerate(columns):
        column = c[name]
        past = column < cursor[i] if descending else column > cursor[i]
        same = [c[earlier] == cursor[j] for j, earlier in enumerate(columns[:i])]
        terms.append(sa.and_(*same, past))
    return sa.or_(*terms)


async def list_comments(
    db: Database,
    *,
    commentable: Commentable | None,
    user_id: int | None,
    parent_id: int | None,
    sort: str,
    cursor: Sequence[Any] | None,
    offset: int,
    limit: int,
    include_deleted: bool,
) -> list[Row]:
    """One page; `parent_id` None: any, 0: top level only, n: the replies to n."""
    where = _scope(commentable, user_id)
    if parent_id == 0:
        where.append(c.parent_id.is_(None))
    elif parent_id is not None:
        where.append(c.parent_id == parent_id)
    if not include_deleted:
        where.append(c.deleted_at.is_(None))
    if cursor is not None:
        where.append(_after(sort, cursor))
    columns, descending = SORTS[sort]
    order = [c[n].desc() if descending else c[n].asc() for n in columns]
    query = comments.select().where(*where).order_by(*order).limit(limit)
    if cursor is None and offset:
        query = query.offset(offset)
    return as_rows(await db.fetch_all(query))


async def replies(db: Database, parent_ids: Sequence[int], sort: str, limit: int) -> list[Row]:
    """Replies to any of `parent_ids`, deleted ones included, in `sort` order, at most `limit`."""
    if not parent_ids:
        return []
    columns, descending = SORTS[sort]
    order = [c[n].desc() if descending else c[n].asc() for n in columns]
    query = comments.select().where(c.parent_id.in_(parent_ids)).order_by(*order).limit(limit)
    return as_rows(await db.fetch_all(query))


async def pinned(db: Database, commentable: Commentable) -> list[Row]:
    query = (
        comments.select()
        .where(*_scope(commentable, None), c.pinned.is_(True))
        .order_by(c.created_at.desc(), c.id.desc())
    )
    return as_rows(await db.fetch_all(query))


async def count(
    db: Database, commentable: Commentable | None, *, top_level: bool, user_id: int | None = None
) -> int:
    where = _scope(commentable, user_id)
    if top_level:
        where.append(c.parent_id.is_(None))
    query = sa.select(sa.func.count()).select_from(comments)
    if where:
        query = query.where(*where)
    return int(await db.fetch_val(query) or 0)


async def insert_comment(
    db: Database,
    *,
    commentable: Commentable,
    user_id: int,
    message: str,
    parent_id: int | None,
) -> int:
    now = utcnow()
    async with db.transaction():
        comment_id = int(
            await db.execute(
                comments.insert().values(
                    commentable_type=commentable.type,
                    commentable_id=commentable.id,
                    parent_id=parent_id,
                    user_id=user_id,
                    message=message,
                    pinned=False,
                    replies_count_cache=0,
                    votes_count_cache=0,
                    created_at=now,
                    updated_at=now,
                )
            )
        )
        if parent_id is not None:
            await db.execute(
                comments.update()
                .where(c.id == parent_id)
                .values(replies_count_cache=c.replies_count_cache + 1, updated_at=now)
            )
    return comment_id


async def edit_message(db: Database, comment_id: int, message: str, editor_id: int) -> None:
    now = utcnow()
    await db.execute(
        comments.update()
        .where(c.id == comment_id)
        .values(message=message, edited_at=now, edited_by_id=editor_id, updated_at=now)
    )


async def soft_delete(db: Database, comment_id: int, deleted_by: int) -> None:
    """osu-web Comment::softDelete: hidden, unpinned, its votes no longer counted. A comment
    already deleted keeps its first deletion."""
    now = utcnow()
    await db.execute(
        comments.update()
        .where(c.id == comment_id, c.deleted_at.is_(None))
        .values(
            deleted_at=now,
            deleted_by_id=deleted_by,
            pinned=False,
            votes_count_cache=0,
            updated_at=now,
        )
    )


async def add_vote(db: Database, comment_id: int, user_id: int) -> bool:
    """Vote; False when the user had already voted (nothing changes)."""
    v = comment_votes.c
    async with db.transaction():
        exists = await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(comment_votes)
            .where(v.comment_id == comment_id, v.user_id == user_id)
        )
        if exists:
            return False
        await db.execute(
            comment_votes.insert().values(
                comment_id=comment_id, user_id=user_id, created_at=utcnow()
            )
        )
        await _recount(db, comment_id)
    return True


async def remove_vote(db: Database, comment_id: int, user_id: int) -> bool:
    """Take a vote back; False when there was none (nothing changes)."""
    v = comment_votes.c
    mine = (v.comment_id == comment_id, v.user_id == user_id)
    async with db.transaction():
        exists = await db.fetch_val(
            sa.select(sa.func.count()).select_from(comment_votes).where(*mine)
        )
        if not exists:
            return False
        await db.execute(comment_votes.delete().where(*mine))
        await _recount(db, comment_id)
    return True


async def _recount(db: Database, comment_id: int) -> None:
    # Counted again rather than incremented, so a retried request cannot drift the count; a
    # deleted comment counts no votes (osu-web Comment::save).
    v = comment_votes.c
    votes = sa.select(sa.func.count()).where(v.comment_id == comment_id).scalar_subquery()
    await db.execute(
        comments.update()
        .where(c.id == comment_id, c.deleted_at.is_(None))
        .values(votes_count_cache=votes)
    )


async def voted(db: Database, user_id: int, comment_ids: Sequence[int]) -> list[int]:
    if not comment_ids:
        return []
    v = comment_votes.c
    rows = await db.fetch_all(
        sa.select(v.comment_id).where(v.user_id == user_id, v.comment_id.in_(comment_ids))
    )
    return sorted(int(r[0]) for r in rows)


def cursor_values(sort: str, row: Row) -> list[Any]:
    return [row[name] for name in SORTS[sort][0]]


def as_time(value: Any) -> dt.datetime | None:
    """A cursor's time: ISO 8601 text, as naive UTC at second precision."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.replace(microsecond=0)
