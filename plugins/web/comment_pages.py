"""The comments under a beatmapset's and a news post's page (osu-web's comments section):
read with `core.comments.bundle` as `GET /api/v2/comments` reads them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from core.comments import bundle, commentables, posting
from core.comments.store import SORTS, Commentable
from core.http import params, unprocessable
from core.openapi import describe
from core.ratelimit import throttle
from core.services import services
from core.users import store as users_db
from plugins.web import accounts
from plugins.web.render import redirect, viewer, web_settings


async def visible_users(db: Any, user_ids: list[int], viewer_id: int | None) -> set[int]:
    """Of `user_ids`, those whose plays and comments others may see (a restricted player
    sees their own, as on their profile)."""
    rows = await users_db.get_users(db, user_ids)
    return {
        int(r["id"])
        for r in rows
        if not r["is_deleted"] and (not r["restricted"] or int(r["id"]) == viewer_id)
    }


COMMENTS_SORT = "comments_sort"


async def comments(request: Request, commentable: Commentable) -> dict[str, Any]:
    """The template values of a commentable's comments: the first page of top-level comments
    (sorted by `?comments_sort=`), each with two levels of replies, as `GET /comments` with
    `parent_id=0` answers them. A restricted author's comment shows as hidden, as a deleted
    one does (their replies stay in place)."""
    svc = services(request)
    p = await params(request)
    sort = p.str(COMMENTS_SORT, max_length=16) or bundle.DEFAULT_SORT
    if sort not in SORTS:
        raise unprocessable(f"{COMMENTS_SORT} must be one of {', '.join(SORTS)}")
    me = await viewer(request)
    listing = await bundle.bundle(
        svc, me, commentable=commentable, params=bundle.Params(parent_id=0, sort=sort)
    )
    everything = [
        *listing["comments"],
        *listing["included_comments"],
        *listing["pinned_comments"],
    ]
    viewer_id = int(me["id"]) if me is not None else None
    visible = await visible_users(svc.db, list({int(c["user_id"]) for c in everything}), viewer_id)
    users = {int(u["id"]): u for u in listing["users"]}
    replies: dict[int, list[dict[str, Any]]] = {}
    for comment in listing["included_comments"]:
        replies.setdefault(int(comment["parent_id"]), []).append(comment)
    for comment in everything:
        comment["hidden"] = int(comment["user_id"]) not in visible
        comment["user"] = None if comment["hidden"] else users.get(int(comment["user_id"]))
    return {
        "commentable": commentable,
        "comments": listing["comments"],
        "pinned_comments": listing["pinned_comments"],
        "replies": replies,
        "comments_total": listing.get("total", 0),
        "comments_more": listing["has_more"],
        "comments_sort": sort,
        # Each order's link keeps the page's other query values (the chosen difficulty).
        "comments_sorts": [
            (name, urlencode({**request.query_params, COMMENTS_SORT: name})) for name in SORTS
        ],
        "comment_refusal": posting.record_refusal(me),
    }


@describe(responses={303: None}, content_type="text/html")
async def comment_submit(request: Request) -> Response:
    """POST /comments from a page's form (sign-in and the session's CSRF token): a new comment
    or a reply, through `core.comments.posting` as the API's `POST /comments`, with its
    refusals (restricted, silenced, empty or too long) as a page."""
    form = await accounts.checked_form(request)
    me = await viewer(request)
    if me is None:
        return redirect(request, "/login")
    svc = services(request)
    await throttle(request, "web-comments", web_settings(svc.settings)["comment_limit"])
    comment_id = await posting.post(
        svc,
        me,
        commentable_type=form.str("commentable_type", max_length=64),
        commentable_id=form.int("commentable_id", minimum=1),
        parent_id=form.int("parent_id", minimum=1),
        message=form.get("message"),
    )
    row = await posting.existing(svc, comment_id)
    target = await commentables.find(
        svc, Commentable(row["commentable_type"], int(row["commentable_id"]))
    )
    path = urlsplit(target.url).path if target is not None else "/"
    return redirect(request, f"{path}#comment-{comment_id}")
