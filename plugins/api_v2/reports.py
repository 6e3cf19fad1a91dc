"""API v2 `POST reports` (osu-web ReportsController::store): lazer's user and chat reports,
and scores and beatmapsets. Answers 204; refusals are 404 or 422 with osu-web's words."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, require_user
from core.http import no_content, params
from core.openapi import describe
from core.ratelimit import throttle
from core.reports import filing
from core.services import services
from plugins.api_v2._score_common import path_id


@describe(responses={204: None, 404: "Error", 422: "Error"})
async def store(request: Request) -> Response:
    """Report a user, a chat message, a score or a beatmapset."""
    reporter = require_user(request)
    svc = services(request)
    await throttle(request, "reports", filing.reports_settings(svc.settings)["limit"])
    p = await params(request)
    raw_id = p.get("reportable_id")
    reportable_id = path_id(raw_id.strip()) if isinstance(raw_id, str) else None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        reportable_id = path_id(str(raw_id))
    await filing.file_report(
        svc,
        reporter,
        reportable_type=p.str("reportable_type", max_length=64),
        reportable_id=reportable_id,
        reason=p.str("reason", max_length=64),
        comments=p.str("comments", max_length=4096) or "",
    )
    return no_content()


ROUTES = [api_route("/api/v2/reports", store, methods=["POST"], scope="*")]
