"""What can be commented on: news posts (the operator's files, core.content.news) and
beatmapsets; their `commentable_meta` (osu-web CommentableMetaTransformer)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from core.beatmaps import store as beatmaps_db
from core.comments.store import Commentable
from core.content import news, site
from core.db import utcnow
from core.services import Services

TYPES = ("beatmapset", "news_post")
# osu-web comments.commentable_name._deleted.
DELETED_TITLE = "Deleted Item"


@dataclass(frozen=True)
class Target:
    """A commentable that exists: its title, page and owner."""

    commentable: Commentable
    title: str
    url: str
    owner_id: int | None = None
    owner_title: str | None = None


async def find(svc: Services, commentable: Commentable) -> Target | None:
    public = svc.settings.public_url
    if commentable.type == "news_post":
        posts = await asyncio.to_thread(news.load, site.news_dir(svc.settings), utcnow())
        post = next((p for p in posts if p.id == commentable.id), None)
        if post is None:
            return None
        return Target(commentable, post.title, f"{public}/home/news/{post.slug}")
    if commentable.type == "beatmapset":
        row = await beatmaps_db.beatmapset_by_id(svc.db, commentable.id)
        if row is None or row["deleted_at"] is not None:
            return None
        return Target(
            commentable,
            f"{row['artist']} - {row['title']}",
            f"{public}/beatmapsets/{commentable.id}",
            owner_id=int(row["user_id"]),
            owner_title="MAPPER",
        )
    return None


def meta(target: Target | None, can_new_comment_reason: str | None) -> dict[str, Any]:
    if target is None:
        return {"title": DELETED_TITLE}
    return {
        "current_user_attributes": {"can_new_comment_reason": can_new_comment_reason},
        "id": target.commentable.id,
        "type": target.commentable.type,
        "title": target.title,
        "url": target.url,
        "owner_id": target.owner_id,
        "owner_title": target.owner_title,
        "locked": False,
    }
