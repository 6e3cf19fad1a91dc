"""Moderation and admin under `/api/private/admin/`, and the `hitcircle` moderation commands.

Every route needs a full-access (`*`) token of a member of the `admin` or `gmt` group; the
scope alone is not enough. Moderators (`gmt`) may silence, restrict and handle reports; admins
may do everything (`core.moderation.audit`). Anyone else gets 403, a user or score that does not
exist 404, bad input 422, and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import api_route, require_user
from core.hooks import hookimpl
from core.http import ApiError, json, params
from core.moderation import (
    audit,
    identity,
    inputs,
    queue,
    recognition,
    sanctions,
    score_removal,
)
from core.moderation import store as moderation_db
from core.moderation.audit import Actor, ModerationError
from core.moderation.views import user_group
from core.openapi import describe
from core.openapi_schemas import array, obj
from core.services import services

PREFIX = "/api/private/admin"
MAX_PAGE = 100
Handler = Callable[[Request], Awaitable[Response]]


def moderation_errors(handler: Handler) -> Handler:
    """A refused action as the API's error: its status and message, nothing changed."""

    @wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ModerationError as exc:
            raise ApiError(exc.status, {"error": str(exc)}) from None

    return run


async def _actor(request: Request) -> Actor:
    return await inputs.staff(services(request).db, require_user(request))


async def _target(request: Request) -> dict[str, Any]:
    return await inputs.target(services(request).db, request.path_params["user"])


# --- sanctions ---------------------------------------------------------------------------------


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def silence(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "silence")
    p = await params(request)
    seconds = audit.parse_duration(p.get("duration"))
    reason = inputs.reason(p, required=True)
    target = await _target(request)
    return json(await sanctions.silence(services(request), actor, target, seconds, reason))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def unsilence(request: Request) -> Response:
    actor = await _actor(request)
    reason = inputs.reason(await params(request), required=False)
    target = await _target(request)
    return json(await sanctions.unsilence(services(request), actor, target, reason))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def restrict(request: Request) -> Response:
    actor = await _actor(request)
    reason = inputs.reason(await params(request), required=True)
    target = await _target(request)
    return json(await sanctions.restrict(services(request), actor, target, reason))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def ban(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "ban")
    reason = inputs.reason(await params(request), required=True)
    target = await _target(request)
    return json(await sanctions.ban(services(request), actor, target, reason))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def unrestrict(request: Request) -> Response:
    actor = await _actor(request)
    reason = inputs.reason(await params(request), required=False)
    target = await _target(request)
    return json(await sanctions.unrestrict(services(request), actor, target, reason))


# --- scores ------------------------------------------------------------------------------------


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def delete_score(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "score_delete")
    score_id = inputs.object_id(request.path_params["score"], "Solo\\Score")
    reason = inputs.reason(await params(request), required=False)
    return json(await score_removal.delete_score(services(request), actor, score_id, reason))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def wipe_scores(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "scores_wipe")
    p = await params(request)
    reason = inputs.reason(p, required=False)
    ruleset = inputs.text(p, "ruleset", max_length=16)
    target = await _target(request)
    return json(await score_removal.wipe_scores(services(request), actor, target, ruleset, reason))


# --- identity ----------------------------------------------------------------------------------


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def rename(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "rename")
    p = await params(request)
    username = inputs.text(p, "username", max_length=64)
    if username is None:
        raise ModerationError("username is required")
    reason = inputs.reason(p, required=False)
    target = await _target(request)
    return json(await identity.rename(services(request), actor, target, username, reason))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def add_group(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "group_add")
    p = await params(request)
    modes = inputs.playmodes(p)
    probationary = p.bool("probationary", False)
    target = await _target(request)
    entry = await identity.add_to_group(
        services(request),
        actor,
        target,
        inputs.text(p, "group", max_length=64),
        playmodes=modes,
        probationary=bool(probationary),
        reason=inputs.reason(p, required=False),
    )
    return json(entry)


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def remove_group(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "group_remove")
    target = await _target(request)
    group = request.path_params["group"]
    return json(await identity.remove_from_group(services(request), actor, target, group))


@moderation_errors
@describe(responses={200: array("Group")})
async def list_groups(request: Request) -> Response:
    await _actor(request)
    rows = await moderation_db.all_groups(services(request).db)
    return json([user_group(r) | {"builtin": bool(r["builtin"])} for r in rows])


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def create_group(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "group_create")
    p = await params(request)
    entry = await identity.create_group(
        services(request),
        actor,
        identifier=inputs.text(p, "identifier", max_length=64),
        name=inputs.text(p, "name", max_length=255),
        short_name=inputs.text(p, "short_name", max_length=64),
        colour=inputs.text(p, "colour", max_length=16),
        description=inputs.text(p, "description", max_length=1000),
        has_playmodes=bool(p.bool("has_playmodes", False)),
        has_listing=bool(p.bool("has_listing", True)),
    )
    return json(entry)


# --- recognition -------------------------------------------------------------------------------


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def add_badge(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "badge_add")
    p = await params(request)
    target = await _target(request)
    entry = await recognition.add_badge(
        services(request),
        actor,
        target,
        description=inputs.text(p, "description", max_length=1000),
        image_url=inputs.text(p, "image_url", max_length=1000),
        url=inputs.text(p, "url", max_length=1000),
    )
    return json(entry)


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def remove_badge(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "badge_remove")
    target = await _target(request)
    badge_id = inputs.object_id(request.path_params["badge"], "UserBadge")
    return json(await recognition.remove_badge(services(request), actor, target, badge_id))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def supporter(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "supporter")
    p = await params(request)
    on = inputs.supporter(p)
    target = await _target(request)
    return json(await recognition.set_supporter(services(request), actor, target, on))


# --- reports and the audit log -----------------------------------------------------------------


@moderation_errors
@describe(responses={200: obj({"reports": array("Report")})})
async def list_reports(request: Request) -> Response:
    actor = await _actor(request)
    p = await params(request)
    status = inputs.text(p, "status", max_length=16) or "open"
    before = p.int("before", minimum=1)
    limit = p.int("limit", 50, minimum=1, maximum=MAX_PAGE) or 50
    reports = await queue.list_reports(services(request), actor, status, before, limit)
    return json({"reports": reports})


async def _close(request: Request, resolution: str) -> Response:
    actor = await _actor(request)
    report_id = inputs.object_id(request.path_params["report"], "UserReport")
    p = await params(request)
    note = inputs.note(p)
    return json(await queue.close(services(request), actor, report_id, resolution, note))


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def resolve_report(request: Request) -> Response:
    return await _close(request, "resolved")


@moderation_errors
@describe(responses={200: "AuditEntry"})
async def dismiss_report(request: Request) -> Response:
    return await _close(request, "dismissed")


@moderation_errors
@describe(responses={200: obj({"entries": array("AuditEntry")})})
async def read_audit(request: Request) -> Response:
    actor = await _actor(request)
    audit.require(actor, "audit_read")
    p = await params(request)
    user_id = p.int("user_id", minimum=1)
    action = inputs.text(p, "action", max_length=32)
    before = p.int("before", minimum=1)
    limit = p.int("limit", 50, minimum=1, maximum=MAX_PAGE) or 50
    entries = await moderation_db.log_entries(
        services(request).db, user_id=user_id, action=action, before_id=before, limit=limit
    )
    return json({"entries": [audit.entry_json(e) for e in entries]})


@hookimpl
def routes() -> list[BaseRoute]:
    user = f"{PREFIX}/users/{{user}}"
    post = ["POST"]
    return [
        api_route(f"{user}/silence", silence, methods=post, scope="*"),
        api_route(f"{user}/unsilence", unsilence, methods=post, scope="*"),
        api_route(f"{user}/restrict", restrict, methods=post, scope="*"),
        api_route(f"{user}/unrestrict", unrestrict, methods=post, scope="*"),
        api_route(f"{user}/ban", ban, methods=post, scope="*"),
        api_route(f"{user}/rename", rename, methods=post, scope="*"),
        api_route(f"{user}/groups", add_group, methods=post, scope="*"),
        api_route(f"{user}/groups/{{group}}", remove_group, methods=["DELETE"], scope="*"),
        api_route(f"{user}/badges", add_badge, methods=post, scope="*"),
        api_route(f"{user}/badges/{{badge}}", remove_badge, methods=["DELETE"], scope="*"),
        api_route(f"{user}/supporter", supporter, methods=["PUT", "POST"], scope="*"),
        api_route(f"{user}/wipe-scores", wipe_scores, methods=post, scope="*"),
        api_route(f"{PREFIX}/scores/{{score}}", delete_score, methods=["DELETE"], scope="*"),
        api_route(f"{PREFIX}/groups", list_groups, scope="*"),
        api_route(f"{PREFIX}/groups", create_group, methods=post, scope="*"),
        api_route(f"{PREFIX}/reports", list_reports, scope="*"),
        api_route(f"{PREFIX}/reports/{{report}}/resolve", resolve_report, methods=post, scope="*"),
        api_route(f"{PREFIX}/reports/{{report}}/dismiss", dismiss_report, methods=post, scope="*"),
        api_route(f"{PREFIX}/audit", read_audit, scope="*"),
    ]


@hookimpl
def startup(app: Any) -> Any:
    return moderation_db.ensure_builtin_groups(services(app).db)


@hookimpl
def commands(cli: Any) -> None:
    from plugins.admin.cli import add_commands

    add_commands(cli)
