"""API v2 `GET search`: users and wiki pages (osu-web HomeController::search, AllSearch).

`mode` is `all` (default: 6 users and 8 wiki pages, `page` ignored), `user` (20 a page) or
`wiki_page`; another mode answers `{}`, as osu-web's JSON for a mode it has no transformer for.
This server has no wiki yet, so `wiki_page` is always the empty result.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route
from core.http import json, params
from core.openapi import describe
from core.openapi_schemas import INT, array, obj
from core.services import services
from core.users import profiles
from core.users import search as user_search
from plugins.api_v2._score_common import viewer_id

ALL_MODE_SIZES = {"user": 6, "wiki_page": 8}


async def _users(request: Request, query: str, page: int, size: int) -> dict[str, Any]:
    found = await user_search.users_by_name(
        services(request).db,
        query,
        viewer_id=viewer_id(request),
        offset=size * (page - 1),
        limit=size,
    )
    conf = profiles.accounts_settings(services(request).settings)
    return {"data": [profiles.user_compact(r, conf) for r in found.rows], "total": found.total}


@describe(
    responses={
        200: obj(
            {},
            {
                "user": obj({"data": array("UserCompact"), "total": INT}),
                "wiki_page": obj({"data": array("WikiPage"), "total": INT}),
            },
        )
    }
)
async def search(request: Request) -> Response:
    p = await params(request)
    mode = (p.str("mode", max_length=100) or "").strip() or "all"
    query = (p.str("query", max_length=4096) or "").strip()
    raw_page = p.get("page")
    page = 1
    if isinstance(raw_page, str) and raw_page.strip().isdecimal() and len(raw_page.strip()) < 10:
        page = max(1, int(raw_page.strip()))
    body: dict[str, Any] = {}
    if mode in ("all", "user"):
        if mode == "all":
            body["user"] = await _users(request, query, 1, ALL_MODE_SIZES["user"])
        else:
            body["user"] = await _users(request, query, page, user_search.PAGE_SIZE)
    if mode in ("all", "wiki_page"):
        # No wiki on this server yet: the official shape, empty.
        body["wiki_page"] = {"data": [], "total": 0}
    return json(body)


ROUTES = [api_route("/api/v2/search", search, methods=["GET", "HEAD"])]
