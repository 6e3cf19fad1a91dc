"""The community pages: medals, teams, the daily challenge, news, comments, and the team and
spotlight (charts) rankings.

Like `plugins.web.pages`, each page asks the functions the API handlers ask (`core.medals`,
`core.teams`, `core.daily_challenge`, `core.content.news`, `core.comments`,
`core.spotlights`) and renders their shapes; what the API hides (restricted players) stays
hidden here too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from core.beatmaps import responses
from core.beatmaps import store as beatmaps_db
from core.comments.store import Commentable
from core.content import news, site
from core.daily_challenge import rotation
from core.daily_challenge import stats as dc_stats
from core.daily_challenge import store as dc_db
from core.db import utcnow
from core.http import decode_cursor, params, path_id, unprocessable
from core.medals import catalogue
from core.medals import store as medals_db
from core.rooms import store as rooms_db
from core.scores import scoring, views
from core.scores import store as scores_db
from core.scores.scoring import RULESETS
from core.services import services
from core.spotlights import charts
from core.spotlights import store as spotlights_db
from core.spotlights import views as spotlight_views
from core.teams import shown
from core.teams import store as teams_db
from core.teams import views as team_views
from core.users import store as users_db
from core.users import user_statistics
from plugins.web.comment_pages import comments, visible_users
from plugins.web.pages import NEW_FORMAT, RANKING_TABS, _json, _viewer
from plugins.web.render import not_found, page, viewer

# --- medals --------------------------------------------------------------------------------

# The catalogue's groups in osu-web's order (resources/js/profile-page/medals.tsx).
MEDAL_GROUPS = ("Skill", "Dedication", "Mod Introduction")


def medal_groups(
    counts: Mapping[int, int], held: Mapping[int, Any] | None = None
) -> list[dict[str, Any]]:
    """The catalogue by group (then ruleset and order): each medal with its holder count and,
    given `held` (medal id to when), when the player got it."""
    order = {name: i for i, name in enumerate(MEDAL_GROUPS)}
    rulesets = {name: i for i, name in enumerate(RULESETS)}
    medals = sorted(
        catalogue.medals().values(),
        key=lambda m: (
            order.get(m["grouping"], len(order)),
            m["grouping"],
            -1 if m["mode"] is None else rulesets.get(m["mode"], 9),
            m["ordering"],
            m["id"],
        ),
    )
    groups: list[dict[str, Any]] = []
    for medal in medals:
        if not groups or groups[-1]["name"] != medal["grouping"]:
            groups.append({"name": medal["grouping"], "medals": []})
        entry = catalogue.view(medal) | {"holders": int(counts.get(medal["id"], 0))}
        if held is not None:
            entry["achieved_at"] = held.get(medal["id"])
        groups[-1]["medals"].append(entry)
    return groups


async def medals(request: Request) -> Response:
    db = services(request).db
    me = await viewer(request)
    held = None
    if me is not None:
        held = {m["id"]: m["achieved_at"] for m in await medals_db.of_user(db, int(me["id"]))}
    counts = await medals_db.holder_counts(db)
    context = {
        "groups": medal_groups(counts, held),
        "total": len(catalogue.medals()),
        "held_count": None if held is None else len(held),
    }
    return await page(request, "medals.html", context)


# --- teams ---------------------------------------------------------------------------------


async def team(request: Request) -> Response:
    team_id = path_id(str(request.path_params["team"]))
    found = None if team_id is None else await shown.team(services(request), team_id)
    if found is None:
        return await not_found(request, "team")
    by_ruleset = {int(s["ruleset_id"]): s for s in found["statistics"]}
    context = {
        "team": found,
        "statistics": [(name, by_ruleset.get(i)) for i, name in enumerate(RULESETS)],
    }
    return await page(request, "team.html", context)


# --- the daily challenge -------------------------------------------------------------------

DAILY_BOARD = 50


def _day(value: str | None, today: dt.date) -> dt.date:
    if not value:
        return today
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise unprocessable("day must be a date like 2026-12-04") from None
    if day > today:
        raise unprocessable("day must not be in the future")
    return day


async def daily_challenge(request: Request) -> Response:
    """The day's map and mods, its leaderboard (players' best scores, as the room's board in
    lazer), and the signed-in player's own best and streaks (osu-web DailyChallengeUserStats)."""
    svc = services(request)
    p = await params(request)
    today = rotation.day_of(svc.clock.time())
    day = _day(p.str("day", max_length=10), today)
    me = await viewer(request)
    viewer_id = int(me["id"]) if me is not None else None
    context: dict[str, Any] = {"day": day, "today": today, "streak": None}
    if me is not None:
        row = (await dc_db.stats_of(svc.db, [int(me["id"])])).get(int(me["id"]))
        context["streak"] = dc_stats.view(row, int(me["id"]), today, never="")
    room_id = await dc_db.room_of(svc.db, day)
    room = None if room_id is None else await rooms_db.get_room(svc.db, room_id)
    items = [] if room_id is None else (await rooms_db.items_of(svc.db, [room_id]))[room_id]
    if room is None or not items:
        if day != today:
            return await not_found(request, "daily challenge")
        return await page(request, "daily_challenge.html", context | {"room": None})
    item = items[0]
    found_maps = await beatmaps_db.beatmaps_by_ids(svc.db, {int(item["beatmap_id"])})
    beatmap = found_maps[0] if found_maps else None
    beatmapset = None
    if beatmap is not None:
        beatmapset = await beatmaps_db.beatmapset_by_id(svc.db, int(beatmap["beatmapset_id"]))
    bests = await rooms_db.item_bests(svc.db, int(item["id"]), limit=DAILY_BOARD)
    visible = await visible_users(svc.db, [int(b["user_id"]) for b in bests], viewer_id)
    bests = [b for b in bests if int(b["user_id"]) in visible]
    found = await scores_db.get_scores(svc.db, [int(b["score_id"]) for b in bests])
    board = await views.render(
        request.app,
        [found[int(b["score_id"])] for b in bests if int(b["score_id"]) in found],
        version=NEW_FORMAT,
        user=True,
        viewer_id=viewer_id,
    )
    own = None
    if viewer_id is not None:
        best = await rooms_db.user_best(svc.db, int(item["id"]), viewer_id)
        if best is not None:
            position = await rooms_db.item_position(
                svc.db, int(item["id"]), int(best["total_score"]), int(best["score_id"])
            )
            own = {"total_score": int(best["total_score"]), "position": position}
    context |= {
        "room": room,
        "item": item,
        "ruleset": scoring.ruleset_name(int(item["ruleset_id"])),
        "beatmap": beatmap,
        "beatmapset": beatmapset,
        "board": board,
        "players": await rooms_db.item_best_count(svc.db, int(item["id"])),
        "own": own,
    }
    return await page(request, "daily_challenge.html", context)


# --- news ----------------------------------------------------------------------------------


async def _posts(request: Request) -> list[news.NewsPost]:
    folder = site.news_dir(services(request).settings)
    # File reads stay off the event loop.
    return await asyncio.to_thread(news.load, folder, utcnow())


async def news_index(request: Request) -> Response:
    """osu-web /home/news: a page of posts with their previews, and the years to pick from."""
    p = await params(request)
    year = p.int("year", minimum=1, maximum=9999)
    cursor = decode_cursor(p.str("cursor", max_length=1000))
    if "cursor" in p and cursor is None:
        raise unprocessable("cursor is not valid")
    listing = news.listing(
        await _posts(request),
        public_url=services(request).settings.public_url,
        now=utcnow(),
        limit=None,
        year=year,
        cursor=cursor,
    )
    older = None
    if listing["cursor_string"]:
        query = {"cursor": listing["cursor_string"]} | ({"year": year} if year else {})
        older = urlencode(query)
    context = {"listing": listing, "year": year, "older": older}
    return await page(request, "news_index.html", context)


async def news_post(request: Request) -> Response:
    posts = await _posts(request)
    post = news.find(posts, str(request.path_params["slug"]), by_id=False)
    if post is None:
        return await not_found(request, "news post")
    shown_post = news.show(posts, post, services(request).settings.public_url)
    context = {
        "post": shown_post,
        **await comments(request, Commentable("news_post", post.id)),
    }
    return await page(request, "news_post.html", context)


# --- rankings: teams and spotlight charts --------------------------------------------------


async def rankings(request: Request) -> Response:
    """`/rankings/{mode}/team` and `/rankings/{mode}/charts` (the API's rankings types `team`
    and `charts`); performance, score and country are `pages.rankings`."""
    mode, kind = str(request.path_params["mode"]), request.url.path.rsplit("/", 1)[-1]
    if mode not in scoring.RULESET_IDS:
        return await not_found(request, "ranking")
    ruleset_id = scoring.RULESET_IDS[mode]
    p = await params(request)
    db = services(request).db
    context: dict[str, Any] = {"mode": mode, "kind": kind, "rulesets": RULESETS}
    context["types"] = RANKING_TABS
    if kind == "team":
        current = p.int("page", 1, minimum=1, maximum=user_statistics.RANKING_MAX_PAGES) or 1
        rows, total = await teams_db.ranking(
            db,
            ruleset_id,
            limit=user_statistics.RANKING_PAGE,
            offset=(current - 1) * user_statistics.RANKING_PAGE,
        )
        found = await teams_db.get_teams(db, [r["team_id"] for r in rows])
        entries = [
            {"team": team_views.compact(found[r["team_id"]])} | team_views.statistic(r)
            for r in rows
            if r["team_id"] in found
        ]
        shown_total = min(total, user_statistics.RANKING_PAGE * user_statistics.RANKING_MAX_PAGES)
        context |= {
            "entries": entries,
            "first": (current - 1) * user_statistics.RANKING_PAGE,
            "page": current,
            "pages": max(1, -(-shown_total // user_statistics.RANKING_PAGE)),
        }
        return await page(request, "rankings_teams.html", context)
    spotlight_id = p.int("spotlight", minimum=1)
    if spotlight_id is None:
        spotlight = await spotlights_db.latest(db)
    else:
        spotlight = await spotlights_db.get(db, spotlight_id)
    if spotlight is None:
        return await not_found(request, "spotlight")
    rows, participants = await charts.ranking(db, spotlight, ruleset_id)
    sets = await charts.beatmapsets(db, spotlight, ruleset_id)
    me = await viewer(request)
    beatmapsets = await responses.search_sets(request.app, _viewer(me), sets)
    users = {int(u["id"]): u for u in await users_db.get_users(db, [r["user_id"] for r in rows])}
    context |= {
        "spotlight": spotlight_views.spotlight(spotlight, participants),
        "spotlights": [spotlight_views.spotlight(s) for s in await spotlights_db.listing(db)],
        "entries": [
            {**r, "user": users[int(r["user_id"])]} for r in rows if int(r["user_id"]) in users
        ],
        "beatmapsets": _decoded(beatmapsets),
    }
    return await page(request, "rankings_charts.html", context)


def _decoded(value: Any) -> Any:
    return [_json(s) for s in _json(value)]
