"""The web site: server-rendered pages for players (home, accounts, profiles, beatmapsets,
search, rankings, scores, settings), with Jinja2 templates and hand-written CSS, no JavaScript.

Sign-in is a server-side session (`plugins.web.sessions`) with a CSRF token checked on every
form. Settings: `[web]`. Switch the whole site off with `[plugins] disabled = ["web"]`; the API
is unaffected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from core.auth.authorize import Authorization
from core.config import Section
from core.hooks import hookimpl
from core.http import ApiError
from core.openapi import describe
from core.services import services
from plugins.web import (
    accounts,
    admin_pages,
    comment_pages,
    community_pages,
    consent,
    pages,
    settings_pages,
)
from plugins.web.render import SECTION, not_found, page, redirect

Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler) -> Handler:
    """Refusals (CSRF, rate limits, bad input) as pages, not JSON."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except accounts.Refused as refused:
            return await page(request, "message.html", {"message": refused.message}, refused.status)
        except ApiError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            message = str(body.get("error") or "That did not work.")
            response = await page(request, "message.html", {"message": message}, exc.status)
            for name, value in (exc.headers or {}).items():
                response.headers[name] = value
            return response

    run.__wrapped__ = handler  # type: ignore[attr-defined]
    return run


async def favourite(request: Request) -> Response:
    form = await accounts.checked_form(request)
    me = await accounts.signed_in(request)
    if me is None:
        return redirect(request, "/login")
    return await pages.beatmapset_favourite(request, form, me)


@describe(responses={303: None})
async def rankings_index(request: Request) -> Response:
    return redirect(request, "/rankings/osu/performance")


@hookimpl
def routes() -> list[BaseRoute]:
    get = ["GET", "HEAD"]
    table: list[tuple[str, Handler, list[str]]] = [
        ("/", pages.home, get),
        ("/register", accounts.register_page, get),
        ("/register", accounts.register_submit, ["POST"]),
        ("/login", accounts.login_page, get),
        ("/login", accounts.login_submit, ["POST"]),
        ("/login/verify", accounts.login_verify, ["POST"]),
        ("/logout", accounts.logout, ["POST"]),
        ("/verify-email", accounts.verify_email_page, get),
        ("/verify-email", accounts.verify_email_submit, ["POST"]),
        ("/password-reset", accounts.reset_page, get),
        ("/password-reset", accounts.reset_submit, ["POST"]),
        ("/users/{user}", pages.profile, get),
        ("/users/{user}/{mode}", pages.profile, get),
        ("/beatmapsets", pages.beatmapset_search, get),
        ("/beatmapsets/{beatmapset}", pages.beatmapset, get),
        ("/beatmapsets/{beatmapset}/download", pages.beatmapset_download, get),
        ("/beatmapsets/{beatmapset}/favourite", favourite, ["POST"]),
        ("/rankings", rankings_index, get),
        ("/rankings/{mode}/team", community_pages.rankings, get),
        ("/rankings/{mode}/charts", community_pages.rankings, get),
        ("/rankings/{mode}/{type}", pages.rankings, get),
        ("/medals", community_pages.medals, get),
        ("/teams/{team}", community_pages.team, get),
        ("/daily-challenge", community_pages.daily_challenge, get),
        ("/home/news", community_pages.news_index, get),
        ("/home/news/{slug}", community_pages.news_post, get),
        ("/comments", comment_pages.comment_submit, ["POST"]),
        ("/scores/{score}", pages.score_page, get),
        ("/scores/{score}/download", pages.score_download, get),
        ("/settings", settings_pages.settings_page, get),
        ("/settings", settings_pages.settings_submit, ["POST"]),
        ("/admin", admin_pages.index, get),
        ("/admin/users", admin_pages.find_user, get),
        ("/admin/users/{user}", admin_pages.user_page, get),
        ("/admin/users/{user}", admin_pages.user_submit, ["POST"]),
        ("/admin/reports", admin_pages.reports, get),
        ("/admin/reports/{report}", admin_pages.report_submit, ["POST"]),
        ("/admin/audit", admin_pages.audit_log, get),
        ("/admin/spotlights", admin_pages.spotlights, get),
        ("/admin/spotlights", admin_pages.spotlight_submit, ["POST"]),
        ("/admin/daily-challenge", admin_pages.daily_challenge, get),
        ("/admin/daily-challenge", admin_pages.daily_challenge_submit, ["POST"]),
    ]
    static = StaticFiles(directory=Path(__file__).parent / "static")
    return [
        *(Route(path, guarded(handler), methods=methods) for path, handler, methods in table),
        Mount("/assets", static, name="web-assets"),
    ]


# Paths whose clients read JSON (the APIs, OAuth, the hubs' negotiation) keep the JSON 404
# whatever they accept.
NOT_PAGES = ("/api/", "/oauth/", "/signalr/")


@hookimpl
async def not_found_page(request: Request) -> Response | None:
    """The site's "not found" page for a browser asking for a path nothing serves."""
    if request.url.path.startswith(NOT_PAGES) or "text/html" not in request.headers.get(
        "accept", ""
    ):
        return None
    return await not_found(request)


@hookimpl
async def authorize_page(request: Request, authorization: Authorization) -> Response | None:
    """The site's OAuth consent page for its signed-in users (`plugins.web.consent`)."""
    return await consent.answer(request, authorization)


@hookimpl
def score_processed(app: Any, score: dict[str, Any]) -> Any:
    # The player's profile page, as signed-out visitors see it, shows the new score at once.
    return pages.forget_profile(services(app), int(score["user_id"]))


@hookimpl
def settings_sections() -> list[Section]:
    return [SECTION]
