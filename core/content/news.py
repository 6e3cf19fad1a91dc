"""News posts from `<content>/news/<slug>.md` (ppy/osu-web app/Models/NewsPost.php,
app/Transformers/NewsPostTransformer.php, app/Http/Controllers/NewsController.php).

Front matter: `title`, `date` (publication time; a post dated in the future is not shown yet),
optionally `id`, `author` and `first_image`. The slug is the file name without `.md`. Without an
`id` a post gets a stable one from its slug.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from core.content import documents, render
from core.http import encode_cursor, time_offset, time_z

DEFAULT_LIMIT = 12
MAX_LIMIT = 21
SORT = "published_desc"
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# An em dash or an en dash starts the line naming the author.
DASHES = ("\u2014", "\u2013")
_DATE_PREFIX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class NewsPost:
    id: int
    slug: str
    title: str
    author: str
    published_at: dt.datetime
    updated_at: dt.datetime
    first_image: str | None
    markdown: str

    def content_html(self) -> str:
        # The operator's own file: its HTML is kept, as osu-wiki news posts embed some.
        return render.to_html(self.markdown, allow_html=True)


def slug_id(slug: str) -> int:
    """A post's id when its front matter gives none: stable for the slug, 31 bits, never 0."""
    return zlib.crc32(slug.encode()) % (2**31 - 1) + 1


def _author(meta: dict[str, Any], body: str) -> str:
    given = documents.meta_str(meta, "author")
    if given:
        return given
    # osu-web NewsPost::author: a last line starting with a dash names the author.
    lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if last[:1] in DASHES and len(last) > 1 and last[1] not in DASHES:
        return last[1:].strip()
    return "osu!news Team"


def _post(path: Path) -> NewsPost | None:
    doc = documents.read(path)
    if doc is None:
        return None
    slug = path.name[:-3]
    if not SLUG.match(slug):
        return None
    meta = doc.meta
    published = documents.meta_time(meta.get("date"))
    if published is None:
        prefix = _DATE_PREFIX.match(slug)
        if prefix:
            try:
                year, month, day = (int(p) for p in prefix.groups())
                published = dt.datetime(year, month, day)
            except ValueError:
                published = None
    if published is None:
        logger.warning("news post {} has no `date`: not shown", path)
        return None
    return NewsPost(
        id=documents.meta_int(meta, "id") or slug_id(slug),
        slug=slug,
        title=documents.meta_str(meta, "title") or "Title-less news post",
        author=_author(meta, doc.body),
        published_at=published,
        updated_at=max(doc.modified, published),
        first_image=documents.meta_str(meta, "first_image") or render.first_image(doc.body),
        markdown=doc.body,
    )


def load(folder: Path, now: dt.datetime) -> list[NewsPost]:
    """Published posts, newest first (then highest id, as osu-web's `published_desc`)."""
    posts: dict[int, NewsPost] = {}
    for path in documents.markdown_files(folder):
        post = _post(path)
        if post is None or post.published_at > now:
            continue
        if post.id in posts:
            logger.warning(
                "news posts {} and {} share id {}", posts[post.id].slug, post.slug, post.id
            )
            continue
        posts[post.id] = post
    return sorted(posts.values(), key=lambda p: (p.published_at, p.id), reverse=True)


def in_year(post: NewsPost, year: int, now: dt.datetime) -> bool:
    """osu-web NewsPost::scopeYear: the current year's list also shows the last two months of
    the previous year until April."""
    start = dt.datetime(year, 1, 1)
    if now.year == year and now.month < 4:
        start = dt.datetime(year - 1, 11, 1)
    return start <= post.published_at < dt.datetime(year + 1, 1, 1)


def _cursor_key(cursor: dict[str, Any] | None) -> tuple[dt.datetime, int] | None:
    """The position a cursor names, or None for no usable cursor (start at the beginning)."""
    if not cursor:
        return None
    published = documents.meta_time(cursor.get("published_at"))
    raw_id = cursor.get("id")
    post_id: int | None = None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        post_id = raw_id
    elif isinstance(raw_id, str) and raw_id.isdecimal() and len(raw_id) <= 18:
        post_id = int(raw_id)
    if published is None or post_id is None:
        return None
    return published, post_id


def shape(post: NewsPost, public_url: str) -> dict[str, Any]:
    image = post.first_image
    if image and image.startswith("/"):
        image = public_url + image
    return {
        "id": post.id,
        "author": post.author,
        "edit_url": f"{public_url}/home/news/{post.slug}",
        "first_image": image,
        "first_image@2x": image,
        "published_at": time_offset(post.published_at),
        "updated_at": time_offset(post.updated_at),
        "slug": post.slug,
        "title": post.title,
    }


def listing(
    posts: list[NewsPost],
    *,
    public_url: str,
    now: dt.datetime,
    limit: int | None,
    year: int | None,
    cursor: dict[str, Any] | None,
) -> dict[str, Any]:
    """GET /news: a page of posts, the sidebar and the next cursor."""
    limit = max(1, min(MAX_LIMIT, limit if limit is not None else DEFAULT_LIMIT))
    chosen = [p for p in posts if year is None or in_year(p, year, now)]
    after = _cursor_key(cursor)
    if after is not None:
        chosen = [p for p in chosen if (p.published_at, p.id) < after]
    page, has_more = chosen[:limit], len(chosen) > limit
    next_cursor = None
    if has_more:
        last = page[-1]
        next_cursor = {"published_at": time_z(last.published_at), "id": last.id}
    current_year = page[0].published_at.year if page else now.year
    return {
        "news_posts": [
            shape(p, public_url) | {"preview": render.first_paragraph(p.content_html())}
            for p in page
        ],
        "news_sidebar": {
            "current_year": current_year,
            "news_posts": [shape(p, public_url) for p in posts if in_year(p, current_year, now)],
            "years": sorted({p.published_at.year for p in posts}, reverse=True),
        },
        "search": {"limit": limit, "sort": SORT, "year": year},
        "cursor": next_cursor,
        "cursor_string": encode_cursor(next_cursor),
    }


def find(posts: list[NewsPost], key: str, by_id: bool) -> NewsPost | None:
    if by_id:
        if not key.isdecimal() or len(key) > 19:
            return None
        return next((p for p in posts if p.id == int(key)), None)
    return next((p for p in posts if p.slug == key), None)


def show(posts: list[NewsPost], post: NewsPost, public_url: str) -> dict[str, Any]:
    """GET /news/{news}: the post with `content` and `navigation` (newer and older)."""
    index = posts.index(post)
    navigation: dict[str, Any] = {}
    if index > 0:
        navigation["newer"] = shape(posts[index - 1], public_url)
    if index + 1 < len(posts):
        navigation["older"] = shape(posts[index + 1], public_url)
    return shape(post, public_url) | {"content": post.content_html(), "navigation": navigation}
