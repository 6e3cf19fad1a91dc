"""The operator's own content for lazer's overlays: news, wiki, changelog and seasonal
backgrounds (API v2, no token needed; ppy/osu-web NewsController, WikiController,
ChangelogController, SeasonalBackgroundsController).

News, wiki pages and releases are Markdown files under `[content] dir` (see core/content); they
are read on request, so an edited file shows without a restart. The seasonal backgrounds are a
list of image addresses in the configuration.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import api_route
from core.content import changelog, documents, news, site, wiki
from core.db import utcnow
from core.hooks import hookimpl
from core.http import decode_cursor, json, not_found, params, time_offset
from core.openapi import describe
from core.openapi_schemas import CURSOR, INT, STR, array, nullable, obj
from core.services import services
from core.users import profiles
from core.users import store as users_db

# --- news ------------------------------------------------------------------------------------


async def _posts(request: Request) -> list[news.NewsPost]:
    folder = site.content_dir(services(request).settings) / "news"
    # File reads stay off the event loop.
    return await asyncio.to_thread(news.load, folder, utcnow())


@describe(
    responses={
        200: obj(
            {
                "cursor": CURSOR,
                "cursor_string": nullable(STR),
                "news_posts": array("NewsPost"),
                "news_sidebar": obj(
                    {
                        "current_year": INT,
                        "news_posts": array("NewsPost"),
                        "years": {"type": "array", "items": INT},
                    }
                ),
                "search": obj({"limit": INT, "sort": STR, "year": nullable(INT)}),
            }
        )
    }
)
async def news_index(request: Request) -> Response:
    p = await params(request)
    limit = p.int("limit", minimum=None)
    year = p.int("year", minimum=1, maximum=9999)
    # lazer sends `cursor[published_at]`, `cursor[id]`; the Python clients `cursor_string`.
    cursor = decode_cursor(p.str("cursor_string")) if "cursor_string" in p else p.dict("cursor")
    svc = services(request)
    body = news.listing(
        await _posts(request),
        public_url=svc.settings.public_url,
        now=utcnow(),
        limit=limit,
        year=year,
        cursor=cursor,
    )
    return json(body)


@describe(responses={200: "NewsPost"})
async def news_show(request: Request) -> Response:
    p = await params(request)
    posts = await _posts(request)
    post = news.find(posts, request.path_params["news"], p.str("key") == "id")
    if post is None:
        raise not_found()
    return json(news.show(posts, post, services(request).settings.public_url))


# --- wiki ------------------------------------------------------------------------------------


@describe(responses={200: "WikiPage"})
async def wiki_show(request: Request) -> Response:
    locale = wiki.clean_locale(request.path_params["locale"])
    path = wiki.clean_path(request.path_params.get("path", ""))
    if locale is None or path is None:
        raise not_found()
    folder = site.content_dir(services(request).settings) / "wiki"
    page = await asyncio.to_thread(wiki.page, folder, locale, path)
    if page is None:
        raise not_found()
    return json(page)


# --- changelog -------------------------------------------------------------------------------


async def _builds(request: Request) -> list[changelog.Build]:
    folder = site.content_dir(services(request).settings) / "changelog"
    return await asyncio.to_thread(changelog.load, folder)


def _formats(p: Any) -> tuple[str, ...]:
    return changelog.message_formats(p.list("message_formats", max_items=10))


@describe(responses={200: "ChangelogListing"})
async def changelog_index(request: Request) -> Response:
    p = await params(request)
    body = changelog.listing(
        await _builds(request),
        site.stream(services(request).settings),
        stream_name=p.str("stream", max_length=100),
        from_version=p.str("from", max_length=100),
        to_version=p.str("to", max_length=100),
        max_id=p.int("max_id"),
        formats=_formats(p),
    )
    return json(body)


@describe(responses={200: "ChangelogBuild"})
async def changelog_lookup(request: Request) -> Response:
    p = await params(request)
    builds = await _builds(request)
    stream = site.stream(services(request).settings)
    key = request.path_params["changelog"]
    build = changelog.lookup(builds, stream, key, p.str("key") == "id")
    if build is None:
        raise not_found()
    return json(changelog.build_shape(build, stream, formats=_formats(p), builds=builds))


@describe(responses={200: "ChangelogBuild"})
async def changelog_build(request: Request) -> Response:
    p = await params(request)
    builds = await _builds(request)
    stream = site.stream(services(request).settings)
    version = request.path_params["build"]
    build = next((b for b in builds if b.version == version), None)
    if request.path_params["stream"] != stream.name or build is None:
        raise not_found()
    return json(changelog.build_shape(build, stream, formats=_formats(p), builds=builds))


# --- seasonal backgrounds --------------------------------------------------------------------

# Credited when `seasonal_user_id` names nobody (or a user that is gone).
NOBODY = {
    "avatar_url": "",
    "country_code": "XX",
    "default_group": "default",
    "id": 0,
    "is_active": False,
    "is_bot": False,
    "is_deleted": True,
    "is_online": False,
    "is_supporter": False,
    "last_visit": None,
    "pm_friends_only": False,
    "profile_colour": None,
    "username": "[deleted user]",
}


@describe(responses={200: "SeasonalBackgrounds"})
async def seasonal_backgrounds(request: Request) -> Response:
    svc = services(request)
    conf = site.content_settings(svc.settings)
    urls: tuple[str, ...] = conf["seasonal_backgrounds"]
    if not urls:
        # osu-web answers an empty object when no season is running.
        return json({})
    accounts = profiles.accounts_settings(svc.settings)
    user = NOBODY | {"avatar_url": accounts["default_avatar_url"]}
    if conf["seasonal_user_id"]:
        row = await users_db.get_user(svc.db, conf["seasonal_user_id"])
        if row is not None and not row["restricted"]:
            user = profiles.user_compact(row, accounts)
    ends_at = documents.meta_time(conf["seasonal_ends_at"]) if conf["seasonal_ends_at"] else None
    if ends_at is None:
        ends_at = dt.datetime(utcnow().year, 12, 31, 23, 59, 59)
    return json(
        {
            "ends_at": time_offset(ends_at),
            "backgrounds": [{"url": url, "user": user} for url in urls],
        }
    )


@hookimpl
def routes() -> list[BaseRoute]:
    return [
        api_route("/api/v2/news", news_index, scope=None),
        api_route("/api/v2/news/{news}", news_show, scope=None),
        api_route("/api/v2/wiki/{locale}", wiki_show, scope=None),
        api_route("/api/v2/wiki/{locale}/{path:path}", wiki_show, scope=None),
        api_route("/api/v2/changelog", changelog_index, scope=None),
        api_route("/api/v2/changelog/{changelog}", changelog_lookup, scope=None),
        api_route("/api/v2/changelog/{stream}/{build}", changelog_build, scope=None),
        api_route("/api/v2/seasonal-backgrounds", seasonal_backgrounds, scope=None),
    ]
