"""Rankings: `/api/v2/rankings/{mode}/{type}` (spotlight charts included), `/api/v2/spotlights`,
the daily rank-history job, `hitcircle recalc` and `hitcircle spotlights`."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.app import standalone
from core.auth import api_route, current_token, current_user
from core.beatmaps.responses import Viewer, search_sets
from core.config import Settings, load_settings
from core.hooks import hookimpl
from core.http import decode_cursor, encode_cursor, error, json, not_found, params
from core.jobs import Job
from core.openapi import describe
from core.scores import scoring
from core.services import services
from core.spotlights import charts
from core.spotlights import store as spotlights_db
from core.spotlights import views as spotlight_views
from core.teams import store as teams_db
from core.teams import views as team_views
from core.users import profiles, user_statistics, variants
from core.users import store as users_db

TYPES = ("performance", "score", "country", "charts", "team")
MAX_TOTAL = 10_000


def _page(p: Any) -> int:
    cursor = decode_cursor(p.str("cursor_string", max_length=200)) or p.dict("cursor")
    raw = cursor.get("page") if cursor else p.get("page")
    try:
        page = int(raw) if raw is not None else 1
    except (TypeError, ValueError):
        page = 1
    return max(1, min(page, user_statistics.RANKING_MAX_PAGES))


@describe(responses={200: "Rankings"})
async def rankings(request: Request) -> Response:
    mode, kind = request.path_params["mode"], request.path_params["type"]
    if mode not in scoring.RULESET_IDS or kind not in TYPES:
        raise not_found()
    ruleset_id = scoring.RULESET_IDS[mode]
    p = await params(request)
    if kind == "charts":
        return await _charts(request, ruleset_id, p.int("spotlight"))
    page = _page(p)
    filter_ = p.str("filter", "all")
    if filter_ not in ("all", "friends"):
        raise error(422, "invalid filter")
    variant = p.str("variant")
    if variant is not None and (mode != "mania" or variant not in ("4k", "7k")):
        raise error(422, "invalid variant")
    db = services(request).db
    if kind == "team":
        return await _team_ranking(request, ruleset_id, page)
    if kind == "country":
        rows, total = await user_statistics.country_ranking(db, ruleset_id, page=page)
        for row in rows:
            row["country"] = profiles.country(row["code"])
        return _envelope(rows, total, page)
    user_ids = None
    if filter_ == "friends":
        viewer = current_user(request)
        if viewer is None:
            user_ids = []
        else:
            friends = await users_db.relations(db, int(viewer["id"]), users_db.RELATION_FRIEND)
            user_ids = [int(viewer["id"]), *(f["target_id"] for f in friends)]
    country = (p.str("country", max_length=2) or "").upper() or None
    if variant is not None:
        if kind != "performance":
            # osu-web RankingController: variants rank by pp only; a score ranking ignores them.
            variant = None
    if variant is not None:
        rows, total = await _variant_rows(db, variant, page, country, user_ids)
    else:
        rows, total = await user_statistics.ranking_page(
            db, ruleset_id, kind, page=page, country=country, user_ids=user_ids
        )
    ranking = await _ranking_entries(request, rows, ruleset_id, kind, page, country, filter_)
    return _envelope(ranking, total if filter_ == "friends" else min(total, MAX_TOTAL), page)


async def _variant_rows(
    db: Any, variant: str, page: int, country: str | None, user_ids: list[int] | None
) -> tuple[list[dict[str, Any]], int]:
    """Statistics rows of one page of a mania key-count ranking, with the variant's pp."""
    ranked, total = await variants.ranking_page(
        db,
        variant,
        page=page,
        page_size=user_statistics.RANKING_PAGE,
        country=country,
        user_ids=user_ids,
    )
    stored = await user_statistics.rows_for(db, [r["user_id"] for r in ranked], variants.MANIA)
    rows = []
    for r in ranked:
        row = stored.get(r["user_id"]) or user_statistics.zero_row(r["user_id"], variants.MANIA)
        rows.append({**row, "pp": r["pp"], "variant": variant})
    return rows, total


async def _ranking_entries(
    request: Request,
    rows: list[dict[str, Any]],
    ruleset_id: int,
    kind: str,
    page: int,
    country: str | None,
    filter_: str,
) -> list[dict[str, Any]]:
    db = services(request).db
    user_rows = {u["id"]: u for u in await users_db.get_users(db, [r["user_id"] for r in rows])}
    cards = {
        c["id"]: c
        for c in await profiles.cards(db, list(user_rows.values()), services(request).settings)
    }
    total_ranked = await user_statistics.ranked_user_count(db, ruleset_id)
    today = dt.datetime.now(dt.UTC).date()
    month_ago = await user_statistics.ranks_on(
        db, [r["user_id"] for r in rows], ruleset_id, today - dt.timedelta(days=30)
    )
    entries = []
    for index, row in enumerate(rows):
        if "variant" in row:
            rank = await variants.global_rank(db, row["variant"], float(row["pp"]))
        else:
            rank = await user_statistics.global_rank(db, ruleset_id, float(row["pp"]))
        entry = user_statistics.shape(row, global_rank=rank, ranked_users=total_ranked)
        if country is not None:
            entry["country_rank"] = (page - 1) * user_statistics.RANKING_PAGE + index + 1
        if kind == "performance" and country is None and filter_ == "all":
            before = month_ago.get(int(row["user_id"]))
            entry["rank_change_since_30_days"] = (
                rank - before if rank is not None and before else None
            )
        card = cards.get(int(row["user_id"]))
        if card is not None:
            entry["user"] = card
        entries.append(entry)
    return entries


async def _team_ranking(request: Request, ruleset_id: int, page: int) -> Response:
    """Teams by the sum of their visible members' pp in the ruleset (osu-web TeamStatistics)."""
    db = services(request).db
    rows, total = await teams_db.ranking(
        db,
        ruleset_id,
        limit=user_statistics.RANKING_PAGE,
        offset=(page - 1) * user_statistics.RANKING_PAGE,
    )
    found = await teams_db.get_teams(db, [r["team_id"] for r in rows])
    ranking = [
        {"team": team_views.compact(found[r["team_id"]])} | team_views.statistic(r)
        for r in rows
        if r["team_id"] in found
    ]
    for entry in ranking:
        del entry["rank"]  # The place in the list is the rank.
    return _envelope(ranking, min(total, MAX_TOTAL), page)


async def _charts(request: Request, ruleset_id: int, spotlight_id: int | None) -> Response:
    """A spotlight's chart (osu-web RankingController::spotlight); without `spotlight`, the
    newest. Only `beatmapsets`, `ranking` and `spotlight`: no cursor, the top 40 only."""
    db = services(request).db
    if spotlight_id is None:
        spotlight = await spotlights_db.latest(db)
    else:
        spotlight = await spotlights_db.get(db, spotlight_id)
    if spotlight is None:
        raise not_found("spotlight")
    rows, participants = await charts.ranking(db, spotlight, ruleset_id)
    sets = await charts.beatmapsets(db, spotlight, ruleset_id)
    user = current_user(request)
    token = current_token(request)
    viewer = Viewer(
        user_id=int(user["id"]) if user is not None else None,
        lazer=token is not None and "*" in token.scopes,
    )
    beatmapsets = await search_sets(request.app, viewer, sets)
    user_rows = {u["id"]: u for u in await users_db.get_users(db, [r["user_id"] for r in rows])}
    cards = {
        c["id"]: c
        for c in await profiles.cards(db, list(user_rows.values()), services(request).settings)
    }
    ranking = []
    for position, row in enumerate(rows, 1):
        # The place in this chart stands for the rank: a chart has no pp.
        entry = user_statistics.shape(row, global_rank=position, ranked_users=participants)
        card = cards.get(int(row["user_id"]))
        if card is not None:
            entry["user"] = card
        ranking.append(entry)
    return json(
        {
            "beatmapsets": beatmapsets,
            "ranking": ranking,
            "spotlight": spotlight_views.spotlight(spotlight, participants),
        }
    )


@describe(responses={200: "Spotlights"})
async def spotlights(request: Request) -> Response:
    """`{spotlights: Spotlight[]}`, newest first (osu-web SpotlightsController::index)."""
    rows = await spotlights_db.listing(services(request).db)
    return json({"spotlights": [spotlight_views.spotlight(r) for r in rows]})


def _envelope(ranking: list[dict[str, Any]], total: int, page: int) -> Response:
    last = page * user_statistics.RANKING_PAGE >= min(
        total, user_statistics.RANKING_PAGE * user_statistics.RANKING_MAX_PAGES
    )
    cursor = None if last or not ranking else {"page": page + 1}
    return json(
        {
            "ranking": ranking,
            "total": total,
            "cursor": cursor,
            "cursor_string": encode_cursor(cursor),
        }
    )


@hookimpl
def routes() -> list[BaseRoute]:
    return [
        api_route("/api/v2/rankings/{mode}/{type}", rankings, methods=["GET", "HEAD"]),
        api_route("/api/v2/spotlights", spotlights, methods=["GET", "HEAD"]),
    ]


# --- the daily rank-history snapshot -----------------------------------------------------------


async def snapshot_job(app: Any) -> None:
    """Once a day (whichever worker gets there first), store every ranked user's rank."""
    today = dt.datetime.now(dt.UTC).date()
    if not await services(app).cache.set(
        f"rankings:history:{today.isoformat()}", b"1", ex=2 * 86400, nx=True
    ):
        return
    await user_statistics.snapshot_ranks(services(app).db, today)


@hookimpl
def jobs() -> list[Job]:
    return [Job("rank-history", 3600.0, snapshot_job)]


# --- `hitcircle recalc` ------------------------------------------------------------------------


@hookimpl
def commands(cli: Any) -> None:
    cmd = cli.add_parser(
        "recalc", help="recompute pp and statistics from stored scores, award missed medals"
    )
    cmd.add_argument("--ruleset", help="osu, taiko, fruits, mania or 0-3 (default: all)")
    cmd.add_argument("--user", type=int, action="append", help="only this user id (repeatable)")
    cmd.add_argument("--no-pp", action="store_true", help="keep stored per-score pp")
    cmd.set_defaults(func=cmd_recalc)
    from plugins.rankings.spotlights_cli import add_commands

    add_commands(cli)


def parse_ruleset(value: str | None) -> int | None:
    if value is None:
        return None
    if value in scoring.RULESET_IDS:
        return scoring.RULESET_IDS[value]
    if value.isdecimal() and int(value) < len(scoring.RULESETS):
        return int(value)
    raise ValueError(f"unknown ruleset {value!r}")


def cmd_recalc(args: argparse.Namespace) -> int:
    try:
        ruleset = parse_ruleset(args.ruleset)
    except ValueError as exc:
        print(f"hitcircle recalc: {exc}", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    return asyncio.run(run_recalc(settings, ruleset, args.user, not args.no_pp))


async def run_recalc(
    settings: Settings, ruleset: int | None, user_ids: list[int] | None, pp: bool
) -> int:
    from core.scores.recalc import recalc

    tty = sys.stderr.isatty()

    def progress(done: int, total: int, user_id: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        line = f"[{'#' * filled}{'-' * (width - filled)}] {done}/{total} user {user_id}"
        print(
            f"\r{line:<70}" if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True
        )

    async with standalone(settings) as app:
        count = await recalc(app, ruleset_id=ruleset, user_ids=user_ids, pp=pp, progress=progress)
        if tty and count:
            print(file=sys.stderr)
    print(f"recalculated {count} users")
    return 0
