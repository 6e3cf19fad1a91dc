"""Comments on news posts and beatmapsets (API v2 `/comments`; ppy/osu-web CommentsController):
list with sort and cursor, post, edit and delete one's own, vote and unvote. Reading needs no
token; writing needs lazer's (`*`) and a clean record. Every answer is a CommentBundle
(core/comments/bundle.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import api_route, current_user, require_user
from core.comments import bundle, commentables, posting
from core.comments.store import SORTS, Commentable
from core.config import Key, Section, Settings, rate_limit
from core.hooks import hookimpl
from core.http import Params, decode_cursor, json, not_found, params, unprocessable
from core.openapi import describe
from core.ratelimit import throttle
from core.services import services
from core.users import profiles
from core.users import store as users_db

SECTION = Section(
    "comments",
    (
        Key(
            "post_limit",
            "10/minute",
            "New and edited comments one token may send ('none': no limit).",
            check=rate_limit,
        ),
        Key(
            "vote_limit",
            "60/minute",
            "Votes, unvotes and deletions one token may send ('none': no limit).",
            check=rate_limit,
        ),
    ),
    "Comments on news posts and beatmapsets.",
)


@hookimpl
def settings_sections() -> list[Section]:
    return [SECTION]


def _limits(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


@describe(responses={200: "CommentBundle"})
async def index(request: Request) -> Response:
    """GET /comments: a page of comments, of one commentable or of all."""
    svc = services(request)
    p = await params(request)
    kind = p.str("commentable_type", max_length=64)
    commentable_id = p.int("commentable_id")
    commentable = None
    if kind is not None and commentable_id is not None:
        if kind not in commentables.TYPES:
            raise unprocessable("invalid commentable_type")
        commentable = Commentable(kind, commentable_id)
        if await commentables.find(svc, commentable) is None:
            raise not_found()
    user_id = p.int("user_id")
    author = None
    if user_id is not None:
        # osu-web answers 404 for a user the viewer may not see.
        author = await users_db.get_user(svc.db, user_id)
        if author is None or author["restricted"] or author["is_deleted"]:
            raise not_found()
    sort = p.str("sort", max_length=16)
    after_id = p.int("after")
    after = None
    if after_id is not None:
        after = await posting.existing(svc, after_id)
    # lazer and osu-web send `cursor[...]`; a `cursor_string` is read as well.
    cursor = p.dict("cursor") or decode_cursor(p.str("cursor_string"))
    limit = p.int("limit")
    listing = bundle.Params(
        parent_id=p.int("parent_id", minimum=0),
        user_id=user_id,
        sort=sort if sort is not None and sort in SORTS else bundle.DEFAULT_SORT,
        limit=bundle.DEFAULT_LIMIT if limit is None else max(1, min(bundle.MAX_LIMIT, limit)),
        page=p.int("page", 1, minimum=1, maximum=10_000) or 1,
        cursor=cursor,
        after=after,
    )
    body = await bundle.bundle(svc, current_user(request), commentable=commentable, params=listing)
    if author is not None:
        body["user"] = profiles.user_compact(author, profiles.accounts_settings(svc.settings))
    return json(body)


@describe(responses={200: "CommentBundle"})
async def show(request: Request) -> Response:
    """GET /comments/{comment}: the comment, its parent and two levels of its replies."""
    comment_id = request.path_params["comment"]
    return json(
        await bundle.for_comment(services(request), current_user(request), comment_id, nested=True)
    )


def _fields(p: Params) -> Params:
    """The `comment[...]` fields (form or JSON) as parameters of their own."""
    fields = p.dict("comment")
    return Params(fields)


@describe(responses={200: "CommentBundle"})
async def store(request: Request) -> Response:
    """POST /comments."""
    user = require_user(request)
    svc = services(request)
    await throttle(request, "comments", _limits(svc.settings)["post_limit"])
    fields = _fields(await params(request))
    comment_id = await posting.post(
        svc,
        user,
        commentable_type=fields.str("commentable_type", max_length=64),
        commentable_id=fields.int("commentable_id", minimum=1),
        parent_id=fields.int("parent_id", minimum=1),
        message=fields.get("message"),
    )
    return json(await bundle.for_comment(svc, user, comment_id))


@describe(responses={200: "CommentBundle"})
async def update(request: Request) -> Response:
    """PUT/PATCH /comments/{comment}: a new message for one's own comment."""
    user = require_user(request)
    svc = services(request)
    await throttle(request, "comments", _limits(svc.settings)["post_limit"])
    comment = await posting.existing(svc, request.path_params["comment"])
    fields = _fields(await params(request))
    await posting.edit(svc, user, comment, fields.get("message"))
    return json(await bundle.for_comment(svc, user, int(comment["id"])))


@describe(responses={200: "CommentBundle"})
async def destroy(request: Request) -> Response:
    """DELETE /comments/{comment}: one's own comment is hidden (its replies stay)."""
    user = require_user(request)
    svc = services(request)
    await throttle(request, "comment-votes", _limits(svc.settings)["vote_limit"])
    comment = await posting.existing(svc, request.path_params["comment"])
    await posting.delete(svc, user, comment)
    return json(await bundle.for_comment(svc, user, int(comment["id"])))


@describe(responses={200: "CommentBundle"})
async def vote(request: Request) -> Response:
    """POST /comments/{comment}/vote (up) and DELETE (take it back)."""
    user = require_user(request)
    svc = services(request)
    await throttle(request, "comment-votes", _limits(svc.settings)["vote_limit"])
    comment = await posting.existing(svc, request.path_params["comment"])
    await posting.vote(svc, user, comment, up=request.method == "POST")
    return json(await bundle.for_comment(svc, user, int(comment["id"])))


@hookimpl
def routes() -> list[BaseRoute]:
    return [
        api_route("/api/v2/comments", index, scope=None),
        api_route("/api/v2/comments", store, methods=["POST"], scope="*"),
        api_route("/api/v2/comments/{comment:int}", show, scope=None),
        api_route("/api/v2/comments/{comment:int}", update, methods=["PUT", "PATCH"], scope="*"),
        api_route("/api/v2/comments/{comment:int}", destroy, methods=["DELETE"], scope="*"),
        api_route(
            "/api/v2/comments/{comment:int}/vote", vote, methods=["POST", "DELETE"], scope="*"
        ),
    ]
