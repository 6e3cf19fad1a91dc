"""The CommentBundle every comment route answers (osu-web app/Libraries/CommentBundle.php,
CommentBundleParams.php, app/Transformers/CommentTransformer.php)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.comments import commentables, posting
from core.comments import store as comments_db
from core.comments.store import Commentable
from core.content import render
from core.db import Row
from core.http import time_z
from core.services import Services
from core.users import profiles
from core.users import store as users_db

DEFAULT_SORT = "new"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# Levels of replies a listing with `parent_id` carries along (CommentBundle::$depth).
DEPTH = 2


@dataclass(frozen=True)
class Params:
    """CommentBundleParams: what a listing asks for."""

    parent_id: int | None = None
    user_id: int | None = None
    sort: str = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    page: int = 1
    cursor: dict[str, Any] | None = None
    # The comment whose position the page starts after (`after`).
    after: Row | None = None


def comment_shape(row: Row) -> dict[str, Any]:
    """CommentTransformer. A deleted comment keeps its place but not its text."""
    out: dict[str, Any] = {
        "id": int(row["id"]),
        "parent_id": row["parent_id"],
        "user_id": row["user_id"],
        "pinned": bool(row["pinned"]),
        "replies_count": int(row["replies_count_cache"]),
        "votes_count": int(row["votes_count_cache"]),
        "commentable_type": row["commentable_type"],
        "commentable_id": int(row["commentable_id"]),
        "legacy_name": None,
        "created_at": time_z(row["created_at"]),
        "updated_at": time_z(row["updated_at"]),
        "deleted_at": time_z(row["deleted_at"]),
        "edited_at": time_z(row["edited_at"]),
        "edited_by_id": row["edited_by_id"],
    }
    if row["deleted_at"] is None:
        out["message"] = row["message"]
        # Players' text: any HTML in it is escaped, never passed through.
        out["message_html"] = render.to_html(row["message"])
    return out


def cursor_of(sort: str, row: Row) -> dict[str, Any]:
    """DbCursorHelper::itemToCursor: the sort's values of the page's last comment."""
    out: dict[str, Any] = {}
    for name in comments_db.SORTS[sort][0]:
        value = row[name]
        key = "votes_count" if name == "votes_count_cache" else name
        out[key] = time_z(value) if name == "created_at" else int(value)
    return out


def cursor_position(sort: str, cursor: Mapping[str, Any] | None) -> list[Any] | None:
    """The cursor's values in the sort's column order, or None when any is missing or of the
    wrong kind (osu-web DbCursorHelper::prepare: then the page starts at the beginning)."""
    if not cursor:
        return None
    values: list[Any] = []
    for name in comments_db.SORTS[sort][0]:
        key = "votes_count" if name == "votes_count_cache" else name
        raw = cursor.get(key)
        if name == "created_at":
            value: Any = comments_db.as_time(raw)
        elif isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and raw.lstrip("-").isdecimal() and len(raw) <= 18:
            value = int(raw)
        else:
            value = None
        if value is None:
            return None
        values.append(value)
    return values


async def _users(svc: Services, rows: Sequence[Row]) -> list[dict[str, Any]]:
    ids = {int(r["user_id"]) for r in rows} | {
        int(r["edited_by_id"]) for r in rows if r["edited_by_id"] is not None
    }
    found = await users_db.get_users(svc.db, sorted(ids))
    conf = profiles.accounts_settings(svc.settings)
    return [profiles.user_compact(u, conf) for u in found]


async def _commentable_meta(
    svc: Services,
    rows: Sequence[Row],
    commentable: Commentable | None,
    viewer: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    wanted: list[Commentable] = []
    for row in rows:
        wanted.append(Commentable(row["commentable_type"], int(row["commentable_id"])))
    # The asked-for commentable is always there, with or without comments.
    if commentable is not None:
        wanted.append(commentable)
    reason = posting.record_refusal(viewer)
    out = []
    for item in dict.fromkeys(wanted):
        out.append(commentables.meta(await commentables.find(svc, item), reason))
    out.append(commentables.meta(None, None))
    return out


async def bundle(
    svc: Services,
    viewer: Mapping[str, Any] | None,
    *,
    commentable: Commentable | None,
    params: Params | None = None,
    comment: Row | None = None,
) -> dict[str, Any]:
    """CommentBundle::toArray, for a listing (`params`) or for one comment (`comment`, with its
    parent in `included_comments`)."""
    p = params or Params()
    db = svc.db
    has_more = False
    included: list[Row] = []
    if comment is not None:
        rows = [comment]
        if comment["parent_id"] is not None:
            included += await comments_db.get_comments(db, [int(comment["parent_id"])])
    else:
        position = cursor_position(p.sort, p.cursor)
        if p.after is not None:
            position = comments_db.cursor_values(p.sort, p.after)
        rows = await comments_db.list_comments(
            db,
            commentable=commentable,
            user_id=p.user_id,
            parent_id=p.parent_id,
            sort=p.sort,
            cursor=position,
            offset=(p.page - 1) * p.limit,
            limit=p.limit + 1,
            include_deleted=commentable is not None,
        )
        if len(rows) > p.limit:
            has_more = True
            rows = rows[: p.limit]
    if commentable is None or p.parent_id is not None:
        parent_ids = {int(r["parent_id"]) for r in rows if r["parent_id"] is not None}
        included += await comments_db.get_comments(db, sorted(parent_ids))
    listed = {int(r["id"]) for r in rows}
    if p.parent_id is not None:
        level = sorted(listed)
        for _ in range(DEPTH):
            nested = await comments_db.replies(db, level, p.sort, p.limit)
            included += nested
            level = [int(r["id"]) for r in nested]
            if not level:
                break
    seen: set[int] = set(listed)
    unique_included = []
    for row in included:
        if int(row["id"]) not in seen:
            seen.add(int(row["id"]))
            unique_included.append(row)
    pinned = await comments_db.pinned(db, commentable) if commentable is not None else []
    everything = [*rows, *unique_included, *pinned]
    votes: list[int] = []
    if viewer is not None:
        votes = await comments_db.voted(db, int(viewer["id"]), [int(r["id"]) for r in everything])
    result: dict[str, Any] = {
        "comments": [comment_shape(r) for r in rows],
        "has_more": has_more,
        "has_more_id": p.parent_id,
        "included_comments": [comment_shape(r) for r in unique_included],
        "pinned_comments": [comment_shape(r) for r in pinned],
        "user_votes": votes,
        "user_follow": False,
        "users": await _users(svc, everything),
        "sort": p.sort,
        "cursor": cursor_of(p.sort, rows[-1]) if rows else None,
    }
    if p.parent_id in (0, None):
        for key, top_level in (("top_level_count", True), ("total", False)):
            result[key] = await comments_db.count(
                db, commentable, top_level=top_level, user_id=p.user_id
            )
    result["commentable_meta"] = await _commentable_meta(svc, rows, commentable, viewer)
    return result


async def for_comment(
    svc: Services, viewer: Mapping[str, Any] | None, comment_id: int, *, nested: bool = False
) -> dict[str, Any]:
    """CommentBundle::forComment: the comment as stored now and its parent; `nested` (GET
    /comments/{id}) adds two levels of its replies."""
    row = await posting.existing(svc, comment_id)
    commentable = Commentable(row["commentable_type"], int(row["commentable_id"]))
    params = Params(parent_id=comment_id) if nested else None
    return await bundle(svc, viewer, commentable=commentable, params=params, comment=row)
