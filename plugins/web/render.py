"""Jinja2 templates, rendered on the server: one environment per process, autoescaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from core.config import Key, Section, Settings, rate_limit
from core.moderation import audit
from core.moderation import store as moderation_db
from core.services import services
from core.users import store as users_db
from plugins.web import sessions

if TYPE_CHECKING:
    import jinja2

HERE = Path(__file__).parent

SECTION = Section(
    "web",
    (
        Key("site_name", "hitcircle", "The name in every page's title and header."),
        Key(
            "description",
            "An osu! server. Play with osu!lazer pointed at this server.",
            "One paragraph on the home page saying what this server is.",
        ),
        Key("session_days", 30, "Days a web sign-in lasts.", min=1, max=365),
        Key(
            "comment_limit",
            "10/minute",
            "Comments one visitor may post from the pages ('none': no limit).",
            check=rate_limit,
        ),
    ),
    "The web site: home, accounts, profiles, beatmaps, rankings and settings pages.",
)


def web_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


def _number(value: Any, digits: int = 0) -> str:
    import jinja2  # loaded by `environment()`, which this filter belongs to

    if value is None or isinstance(value, jinja2.Undefined):
        return "-"
    try:
        return f"{float(value):,.{digits}f}"
    except (TypeError, ValueError):
        return "-"


def _when(value: Any) -> str:
    if isinstance(value, str):
        return value.replace("T", " ").replace("Z", " UTC").replace("+00:00", " UTC")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return "-"


@cache
def environment() -> jinja2.Environment:
    """The process's template environment, made for the first page rendered: jinja2 is imported
    then, not when the plugin loads (memory at start-up of workers that serve no page)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        enable_async=True,
    )
    env.filters["number"] = _number
    env.filters["when"] = _when
    env.globals["urlencode"] = urlencode
    return env


def lifetime(request: Request) -> float:
    return float(web_settings(services(request).settings)["session_days"]) * 86400


async def viewer(request: Request) -> dict[str, Any] | None:
    """The signed-in user's row, or None (also for a banned or deleted account's session: the
    session stays, the pages treat it as signed out). A restricted player still sees their own
    pages, as on osu-web."""
    if "web_viewer" in request.state._state:
        found: dict[str, Any] | None = request.state.web_viewer
        return found
    session = await sessions.current(request)
    row = None
    if session is not None and session.user_id is not None:
        row = await users_db.get_user(services(request).db, session.user_id)
        if row is not None and (row["is_deleted"] or row["banned"]):
            row = None
    request.state.web_viewer = row
    return row


async def viewer_is_admin(request: Request) -> bool:
    """Whether the signed-in user is in the `admin` group (the nav then links to /admin)."""
    me = await viewer(request)
    if me is None:
        return False
    roles = await moderation_db.group_identifiers(services(request).db, int(me["id"]))
    return audit.ADMIN in roles


async def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
    *,
    form: bool = False,
) -> Response:
    """An HTML page; `form`: it has forms, so the session (and its CSRF token) must exist."""
    svc = services(request)
    conf = web_settings(svc.settings)
    session = await sessions.ensure(request) if form else await sessions.current(request)
    values = {
        "site": conf,
        "public_url": svc.settings.public_url,
        "me": await viewer(request),
        "me_admin": await viewer_is_admin(request),
        "csrf": session.csrf if session is not None else "",
        "path": request.url.path,
        **(context or {}),
    }
    body = await environment().get_template(template).render_async(values)
    response = HTMLResponse(body, status)
    response.headers["x-frame-options"] = "DENY"
    response.headers["referrer-policy"] = "same-origin"
    sessions.set_cookie(request, response, lifetime(request))
    return response


async def not_found(request: Request, what: str = "page") -> Response:
    return await page(request, "404.html", {"what": what}, 404)


def redirect(request: Request, url: str) -> Response:
    response = RedirectResponse(url, 303)
    sessions.set_cookie(request, response, lifetime(request))
    return response
