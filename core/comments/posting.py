"""Who may post, edit, delete and vote, and the changes themselves (osu-web
CommentsController, OsuAuthorize::checkComment*, Comment::isValid). Refusals are 422 with
osu-web's words: a 403 would sign lazer out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.chat.service import is_silenced
from core.comments import commentables
from core.comments import store as comments_db
from core.comments.store import Commentable
from core.db import Row
from core.http import not_found, unprocessable
from core.services import Services

SIGN_IN = "Please sign in to proceed."
RESTRICTED = "Can't do that while restricted."
SILENCED = "Can't do that while silenced."
DENIED = "Access denied."


def record_refusal(user: Mapping[str, Any] | None) -> str | None:
    """osu-web `ensureLoggedIn` and `ensureCleanRecord`: why this user may not write comments
    now, or None. The one place comments check restrictions and silences."""
    if user is None:
        return SIGN_IN
    if user.get("restricted"):
        return RESTRICTED
    if is_silenced(user):
        return SILENCED
    return None


def _ensure_clean(user: Mapping[str, Any]) -> None:
    reason = record_refusal(user)
    if reason is not None:
        raise unprocessable(reason)


def _message(raw: Any) -> str:
    if raw is not None and not isinstance(raw, str | int | float):
        raise unprocessable("comment[message] must be text")
    message = "" if raw is None else str(raw).strip()
    if not message:
        raise unprocessable("The message is required.")
    if len(message) > comments_db.MAX_MESSAGE:
        raise unprocessable(
            "The message exceeded maximum length - can only be up to "
            f"{comments_db.MAX_MESSAGE} characters."
        )
    return message


async def existing(svc: Services, comment_id: int | None) -> Row:
    row = None if comment_id is None else await comments_db.get_comment(svc.db, comment_id)
    if row is None:
        raise not_found("comment")
    return row


async def post(
    svc: Services,
    user: Mapping[str, Any],
    *,
    commentable_type: Any,
    commentable_id: int | None,
    parent_id: int | None,
    message: Any,
) -> int:
    """Store a new comment (a reply takes its parent's commentable); its id."""
    _ensure_clean(user)
    text = _message(message)
    if parent_id is not None:
        parent = await comments_db.get_comment(svc.db, parent_id)
        if parent is None:
            raise unprocessable("Invalid parent id specified.")
        if parent["deleted_at"] is not None:
            raise unprocessable("Replying to deleted comment is not allowed.")
        commentable = Commentable(parent["commentable_type"], int(parent["commentable_id"]))
    elif commentable_type in commentables.TYPES and commentable_id is not None:
        commentable = Commentable(commentable_type, commentable_id)
    else:
        raise unprocessable("invalid commentable specified")
    if await commentables.find(svc, commentable) is None:
        raise unprocessable("invalid commentable specified")
    return await comments_db.insert_comment(
        svc.db, commentable=commentable, user_id=int(user["id"]), message=text, parent_id=parent_id
    )


def _ensure_own(user: Mapping[str, Any], comment: Row) -> None:
    _ensure_clean(user)
    if int(comment["user_id"]) != int(user["id"]):
        raise unprocessable(DENIED)


async def edit(svc: Services, user: Mapping[str, Any], comment: Row, message: Any) -> None:
    _ensure_own(user, comment)
    if comment["deleted_at"] is not None:
        raise unprocessable("Can't edit deleted post.")
    await comments_db.edit_message(svc.db, int(comment["id"]), _message(message), int(user["id"]))


async def delete(svc: Services, user: Mapping[str, Any], comment: Row) -> None:
    _ensure_own(user, comment)
    await comments_db.soft_delete(svc.db, int(comment["id"]), int(user["id"]))


async def vote(svc: Services, user: Mapping[str, Any], comment: Row, up: bool) -> None:
    """osu-web checkCommentVote: anyone with a clean record, on anyone's comment but their own."""
    _ensure_clean(user)
    if int(comment["user_id"]) == int(user["id"]):
        raise unprocessable(DENIED)
    if up:
        await comments_db.add_vote(svc.db, int(comment["id"]), int(user["id"]))
    else:
        await comments_db.remove_vote(svc.db, int(comment["id"]), int(user["id"]))
