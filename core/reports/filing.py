"""Filing a report: what may be reported, for which reasons, by whom (osu-web
app/Http/Controllers/ReportsController.php, app/Models/UserReport.php, app/Models/Traits/
Reportable.php, OsuAuthorize::checkUserReport). Errors are osu-web's words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from core.beatmaps import store as beatmaps_db
from core.chat import store as chat_db
from core.comments import store as comments_db
from core.config import Key, Section, Settings, rate_limit
from core.db import utcnow
from core.http import ApiError, error, not_found, unprocessable
from core.reports import store as reports_db
from core.scores import store as scores_db
from core.services import Services
from core.users import store as users_db

POST_REASONS = ("Insults", "Spam", "UnwantedContent", "Nonsense", "Other")
SCORE_REASONS = ("Cheating", "MultipleAccounts", "Other")
REASONS: dict[str, tuple[str, ...]] = {
    "beatmapset": ("UnwantedContent", "Other"),
    "comment": POST_REASONS,
    "message": POST_REASONS,
    "solo_score": SCORE_REASONS,
    "user": ("Cheating", "MultipleAccounts", "InappropriateChat", "UnwantedContent", "Other"),
}
# Models named in errors, as osu-web's findOrFail words them.
MODELS = {
    "beatmapset": "Beatmapset",
    "comment": "Comment",
    "message": "Chat\\Message",
    "solo_score": "Solo\\Score",
    "user": "User",
}
# Chat messages and comments need no comment unless the reason is Other.
COMMENT_OPTIONAL = ("message", "comment")
# Channels a user can only see as a member (osu-web Channel::isHideable).
HIDEABLE_CHANNELS = ("PM", "GROUP")
RECENT = dt.timedelta(days=1)


SECTION = Section(
    "reports",
    (
        Key(
            "limit",
            "10/hour",
            "Reports one token may file ('none': no limit beyond one per object a day).",
            check=rate_limit,
        ),
    ),
    "Player reports (`POST /api/v2/reports`).",
)


def reports_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


async def _owner(svc: Services, kind: str, object_id: int, reporter_id: int) -> int:
    """The user who owns the reported object; 404 for anything the reporter cannot see."""
    db = svc.db
    owner: int | None = None
    if kind == "user":
        owner = object_id
    elif kind == "solo_score":
        score = await scores_db.get_score(db, object_id)
        owner = None if score is None else int(score["user_id"])
    elif kind == "message":
        message = await chat_db.get_message(db, object_id)
        if message is not None:
            channel = await chat_db.get_channel(db, int(message["channel_id"]))
            if channel is None:
                raise not_found(MODELS[kind])
            if channel["type"] in HIDEABLE_CHANNELS and (
                await chat_db.membership(db, int(channel["id"]), reporter_id) is None
            ):
                raise unprocessable("You're not in this channel.")
            owner = int(message["user_id"])
    elif kind == "beatmapset":
        beatmapset = await beatmaps_db.beatmapset_by_id(db, object_id)
        if beatmapset is not None:
            if int(beatmapset["status"]) > 0:
                raise unprocessable("Ranked beatmaps cannot be reported")
            owner = int(beatmapset["user_id"])
    elif kind == "comment":
        comment = await comments_db.get_comment(db, object_id)
        if comment is not None and comment["deleted_at"] is None:
            owner = int(comment["user_id"])
    if owner is None:
        raise not_found(MODELS[kind])
    row = await users_db.get_user(db, owner)
    if kind == "user" and (row is None or row["restricted"] or row["is_deleted"]):
        raise not_found(MODELS[kind])
    return owner


def _reporter_may_report(reporter: Mapping[str, Any]) -> None:
    # osu-web answers 403 here; a 403 would sign lazer out, so it is a 422 with the same words.
    if reporter["restricted"]:
        raise unprocessable("You can't do that while restricted.")
    silenced = reporter.get("silenced_until")
    if isinstance(silenced, dt.datetime) and silenced > utcnow():
        raise unprocessable("You can't do that while silenced.")


async def file_report(
    svc: Services,
    reporter: Mapping[str, Any],
    *,
    reportable_type: str | None,
    reportable_id: int | None,
    reason: str | None,
    comments: str,
) -> int:
    """Store one report; returns its id. Raises ApiError for anything osu-web refuses."""
    if reportable_type not in REASONS:
        raise ApiError(404, {"error": None})
    if reportable_id is None:
        raise not_found(MODELS[reportable_type])
    reporter_id = int(reporter["id"])
    _reporter_may_report(reporter)
    owner = await _owner(svc, reportable_type, reportable_id, reporter_id)
    last = await reports_db.last_report_at(svc.db, reporter_id, reportable_type, reportable_id)
    if last is not None and last + RECENT > utcnow():
        raise unprocessable("You've already reported this recently.")
    comments = comments.strip()
    problems = []
    if not comments and not (reportable_type in COMMENT_OPTIONAL and reason != "Other"):
        problems.append("Comments is required.")
    if owner == reporter_id:
        problems.append("You can't report yourself!")
    if reason not in REASONS[reportable_type]:
        problems.append(f"{reason or ''} is not valid for this report type.")
    if len(comments) > reports_db.MAX_COMMENTS:
        limit = reports_db.MAX_COMMENTS
        problems.append(f"Comments exceeded maximum length - can only be up to {limit} characters.")
    if problems:
        raise error(422, "\n".join(problems))
    assert reason is not None
    return await reports_db.insert_report(
        svc.db,
        reporter_id=reporter_id,
        user_id=owner,
        reportable_type=reportable_type,
        reportable_id=reportable_id,
        reason=reason,
        comments=comments,
    )
