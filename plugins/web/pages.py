"""The player-facing pages: home, profiles, beatmapsets, search, rankings, scores.

Each page asks the same functions the API handlers ask (`core.users.profiles`,
`core.beatmaps.responses`, `core.beatmaps.search`, `core.scores`, `core.users.user_statistics`)
and renders their shapes with a template.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from core import mods as mods_domain
from core.beatmaps import feedback, resolve, responses, search
from core.beatmaps import store as beatmaps_db
from core.beatmaps.responses import Viewer
from core.comments.store import Commentable
from core.db import utcnow
from core.http import Params, encode_cursor, params, path_id
from core.medals import catalogue
from core.ratelimit import throttle
from core.scores import scoring, views
from core.scores import store as scores_db
from core.scores.scoring import RULESETS
from core.services import services
from core.users import activity, profiles, user_statistics
from core.users import store as users_db
from plugins.web import comment_pages
from plugins.web.render import not_found, page, redirect, viewer

# The presence keys of the `metadata` plugin (plugins/metadata/presence.py): a set of ids that
# may be online, and one expiring key per visible presence.
# The API version lazer sends today: scores in the new (lazer) format.
NEW_FORMAT = 20250913

ONLINE_SET = "metadata:online"
PRESENCE_KEY = "metadata:presence:{}"


def _json(value: bytes | Any) -> Any:
    return orjson.loads(value) if isinstance(value, bytes | bytearray) else value


# The home page's two counts are counted at most this often (two COUNT queries per visit
# otherwise); players online are read every time.
HOME_COUNTS = "web:home:counts"
HOME_COUNTS_SECONDS = 10


async def players_online(request: Request) -> int:
    cache = services(request).cache
    ids = [m.decode() for m in await cache.smembers(ONLINE_SET)]
    if not ids:
        return 0
    found = await cache.mget([PRESENCE_KEY.format(i) for i in ids])
    return sum(1 for value in found if value is not None)


async def home(request: Request) -> Response:
    svc = services(request)
    cached = await svc.cache.get(HOME_COUNTS)
    if cached is not None:
        counts = orjson.loads(cached)
    else:
        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        counts = {
            "players": await users_db.count_players(svc.db),
            "scores_today": await scores_db.count_since(svc.db, today),
        }
        await svc.cache.set(HOME_COUNTS, orjson.dumps(counts), ex=HOME_COUNTS_SECONDS)
    context = {"online": await players_online(request), **counts}
    return await page(request, "home.html", context)


# --- profiles ------------------------------------------------------------------------------


def rank_chart(history: Any, width: int = 600, height: int = 120) -> dict[str, Any] | None:
    """An SVG polyline of the rank history (rank 1 at the top), or None with under two days."""
    data = [r for r in (history or {}).get("data") or [] if isinstance(r, int) and r > 0]
    if len(data) < 2:
        return None
    best, worst = min(data), max(data)
    span = max(worst - best, 1)
    step = width / (len(data) - 1)
    points = " ".join(
        f"{i * step:.1f},{8 + (r - best) / span * (height - 16):.1f}" for i, r in enumerate(data)
    )
    return {
        "points": points,
        "width": width,
        "height": height,
        "best": best,
        "worst": worst,
        "days": len(data),
        "last": data[-1],
    }


async def _score_sections(
    request: Request, sections: list[tuple[str, list[int]]], viewer_id: int | None
) -> list[tuple[str, list[Any]]]:
    """The profile's score lists, rendered together (one lookup of scores, maps and sets)."""
    ids = list(dict.fromkeys(i for _, part in sections for i in part))
    found = await scores_db.get_scores(services(request).db, ids)
    rows = [found[i] for i in ids if i in found]
    rendered = await views.render(
        request.app, rows, version=NEW_FORMAT, beatmap=True, beatmapset=True, viewer_id=viewer_id
    )
    by_id = {int(score["id"]): score for score in rendered}
    return [(title, [by_id[i] for i in part if i in by_id]) for title, part in sections]


# Signed-out visitors share one rendering of a profile for this long (the API's profile bodies
# are cached as long); a processed score of the player drops it sooner (`forget_profile`).
PROFILE_PAGE_SECONDS = 60


def profile_page_key(user_id: int, mode: str) -> str:
    return f"web:profile:{user_id}:{mode}"


async def forget_profile(svc: Any, user_id: int) -> None:
    await svc.cache.delete(*(profile_page_key(user_id, m) for m in (*RULESETS, "default")))


async def profile(request: Request) -> Response:
    svc = services(request)
    me = await viewer(request)
    viewer_id = int(me["id"]) if me is not None else None
    key = str(request.path_params["user"])
    shared = me is None and key.isdecimal() and len(key) <= 18
    mode_key = str(request.path_params.get("mode", "default"))
    page_key = profile_page_key(int(key), mode_key) if shared else ""
    if shared:
        cached = await svc.cache.get(page_key)
        if cached is not None:
            return HTMLResponse(cached)
    row = None
    if key.isdecimal() and len(key) <= 18:
        row = await users_db.get_user(svc.db, int(key))
    if row is None and len(key) <= 32:
        row = await users_db.find_by_username(svc.db, key.removeprefix("@"))
    # A restricted account is hidden from everyone but its owner, like the API's.
    if row is None or row["is_deleted"] or (row["restricted"] and viewer_id != int(row["id"])):
        return await not_found(request, "player")
    mode = request.path_params.get("mode") or RULESETS[row["playmode"]]
    if mode not in RULESETS:
        return await not_found(request, "ruleset")
    ruleset_id = RULESETS.index(mode)
    user = await profiles.profile(svc.db, row, mode, svc.settings, own=False, viewer_id=viewer_id)
    uid = int(row["id"])
    best = await scores_db.best_ids(svc.db, uid, ruleset_id, 10)
    since = utcnow() - dt.timedelta(hours=24)
    recent = await scores_db.recent_ids(
        svc.db, uid, ruleset_id, since=since, include_fails=True, limit=10, offset=0
    )
    firsts = await scores_db.first_place_ids(
        svc.db, uid, ruleset_id, scores_db.LEADERBOARD_STATUSES, 10, 0
    )
    pinned = await scores_db.pinned_ids(svc.db, uid, ruleset_id, 10, 0)
    favourite_ids = (await beatmaps_db.favourite_set_ids(svc.db, uid))[:10]
    favourite_sets = await beatmaps_db.beatmapsets_by_ids(svc.db, set(favourite_ids))
    played = await activity.most_played(svc.db, uid, limit=10, offset=0)
    played_maps = {
        int(r["id"]): r for r in await beatmaps_db.beatmaps_by_ids(svc.db, {b for b, _ in played})
    }
    played_sets = await beatmaps_db.beatmapsets_by_ids(
        svc.db, {int(r["beatmapset_id"]) for r in played_maps.values()}
    )
    context = {
        "user": user,
        "mode": mode,
        "rulesets": RULESETS,
        "chart": rank_chart(user.get("rank_history")),
        "medals": catalogue.held(user.get("user_achievements") or []),
        "sections": await _score_sections(
            request,
            [
                ("Pinned scores", pinned),
                ("Best performance", best),
                ("First places", firsts),
                ("Recent plays (24h)", recent),
            ],
            viewer_id,
        ),
        "favourites": [favourite_sets[i] for i in favourite_ids if i in favourite_sets],
        "most_played": [
            (played_maps[b], played_sets.get(int(played_maps[b]["beatmapset_id"])), count)
            for b, count in played
            if b in played_maps
        ],
    }
    response = await page(request, "profile.html", context)
    if shared and not row["restricted"] and "set-cookie" not in response.headers:
        await svc.cache.set(page_key, bytes(response.body), ex=PROFILE_PAGE_SECONDS)
    return response


# --- beatmapsets ---------------------------------------------------------------------------


def _viewer(me: dict[str, Any] | None) -> Viewer:
    return Viewer(user_id=int(me["id"]) if me is not None else None, lazer=False)


async def beatmapset(request: Request) -> Response:
    svc = services(request)
    set_id = path_id(str(request.path_params["beatmapset"]))
    row = await resolve.find_set(request.app, set_id) if set_id is not None else None
    if row is None or row["deleted_at"] is not None:
        return await not_found(request, "beatmap")
    me = await viewer(request)
    shown = _json(await responses.beatmapset(request.app, _viewer(me), row))
    difficulties = sorted(
        shown.get("beatmaps") or [], key=lambda b: (b["mode_int"], b["difficulty_rating"])
    )
    p = await params(request)
    chosen = None
    wanted = path_id(p.str("beatmap", max_length=20) or "")
    for beatmap in difficulties:
        if beatmap["id"] == wanted or chosen is None:
            chosen = beatmap
    board: list[Any] = []
    mods_text = (p.str("mods", max_length=60) or "").upper()
    mods_error = None
    if chosen is not None:
        mods_key = None
        if mods_text:
            acronyms = [mods_text[i : i + 2] for i in range(0, len(mods_text), 2)]
            try:
                mods_key = mods_domain.parse_filter(
                    acronyms, scoring.ruleset_name(chosen["mode_int"])
                )
            except Exception:
                mods_error = "Unknown mods for this ruleset."
        if mods_error is None:
            ids = await scores_db.leaderboard(
                svc.db, int(chosen["id"]), int(chosen["mode_int"]), limit=50, mods_key=mods_key
            )
            found = await scores_db.get_scores(svc.db, ids)
            board = await views.render(
                request.app, [found[i] for i in ids if i in found], version=NEW_FORMAT, user=True
            )
    # The players' ratings (1-10; osu-web's `ratings` keeps index 0 unused) and the chosen
    # difficulty's most voted tags, both given from lazer after a play.
    counts = list(shown.get("ratings") or [0] * 11)[1:]
    rated = sum(counts)
    rating = sum(n * c for n, c in enumerate(counts, start=1)) / rated if rated else None
    tags: list[dict[str, Any]] = []
    if chosen is not None and chosen.get("top_tag_ids"):
        names = {int(t["id"]): t["name"] for t in await feedback.all_tags(svc.db)}
        tags = [
            {"name": names[t["tag_id"]], "count": t["count"]}
            for t in chosen["top_tag_ids"]
            if t["tag_id"] in names
        ]
    favourite = False
    if me is not None:
        favourite = int(row["id"]) in set(
            await beatmaps_db.favourite_set_ids(svc.db, int(me["id"]))
        )
    context = {
        "set": shown,
        "difficulties": difficulties,
        "chosen": chosen,
        "board": board,
        "mods": mods_text,
        "mods_error": mods_error,
        "favourite": favourite,
        "rating": rating,
        "rated": rated,
        "tags": tags,
        **await comment_pages.comments(request, Commentable("beatmapset", int(row["id"]))),
    }
    return await page(request, "beatmapset.html", context)


async def beatmapset_download(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return redirect(request, f"/login?next={request.url.path}")
    set_id = path_id(str(request.path_params["beatmapset"]))
    row = await resolve.find_set(request.app, set_id) if set_id is not None else None
    if row is None or row["deleted_at"] is not None or row["download_disabled"]:
        return await not_found(request, "beatmap")
    result = await resolve.download(request.app, row, False)
    if result is None:
        return await not_found(request, "beatmap download")
    if result.url is not None:
        return RedirectResponse(result.url, status_code=302)
    headers = {"Content-Disposition": f'attachment; filename="{result.filename}"'}
    media = "application/x-osu-beatmap-archive"
    if result.path is not None:
        return FileResponse(result.path, media_type=media, headers=headers)
    return Response(result.data or b"", media_type=media, headers=headers)


async def beatmapset_favourite(request: Request, form: Params, me: dict[str, Any]) -> Response:
    svc = services(request)
    set_id = path_id(str(request.path_params["beatmapset"]))
    row = await beatmaps_db.beatmapset_by_id(svc.db, set_id) if set_id is not None else None
    if row is None or row["deleted_at"] is not None:
        return await not_found(request, "beatmap")
    favourite = form.get("action") == "favourite"
    if favourite and len(await beatmaps_db.favourite_set_ids(svc.db, int(me["id"]))) >= 1000:
        return await page(
            request, "message.html", {"message": "You have reached the favourite limit."}, 422
        )
    await resolve.set_favourite(request.app, int(me["id"]), int(row["id"]), favourite)
    return redirect(request, f"/beatmapsets/{row['id']}")


async def beatmapset_search(request: Request) -> Response:
    """The API's search (`GET /api/v2/beatmapsets/search`) with its filters, as a page."""
    p = await params(request)
    text = p.str("q", max_length=search.MAX_QUERY) or ""
    query = search.query_from_params(p, bool(text))
    ruleset = "" if query.ruleset is None else str(query.ruleset)
    sort = p.str("sort", max_length=40) or ""
    me = await viewer(request)
    who = _viewer(me)
    rows, total, cursor = await search.run(services(request).db, query, who.user_id)
    found = [_json(s) for s in _json(await responses.search_sets(request.app, who, rows))]
    context = {
        "q": text,
        "m": ruleset,
        "s": query.category,
        "sort": sort,
        "categories": search.CATEGORIES,
        "sort_fields": search.SORT_FIELDS,
        "sets": found,
        "total": total,
        "next_cursor": encode_cursor(cursor),
    }
    return await page(request, "search.html", context)


# --- rankings and scores -------------------------------------------------------------------

RANKING_TYPES = ("performance", "score", "country")
# The tabs of every rankings page: the team and charts rankings are `community_pages.rankings`.
RANKING_TABS = (*RANKING_TYPES, "team", "charts")


async def rankings(request: Request) -> Response:
    mode, kind = str(request.path_params["mode"]), str(request.path_params["type"])
    if mode not in scoring.RULESET_IDS or kind not in RANKING_TYPES:
        return await not_found(request, "ranking")
    ruleset_id = scoring.RULESET_IDS[mode]
    p = await params(request)
    number = p.str("page", max_length=6) or "1"
    current = max(
        1, min(int(number) if number.isdecimal() else 1, user_statistics.RANKING_MAX_PAGES)
    )
    db = services(request).db
    country = (p.str("country", max_length=2) or "").upper() or None
    if country is not None and not (len(country) == 2 and country.isalpha()):
        country = None
    entries: list[dict[str, Any]] = []
    if kind == "country":
        rows, total = await user_statistics.country_ranking(db, ruleset_id, page=current)
        for row in rows:
            entries.append({**row, "country": profiles.country(row["code"])})
    else:
        rows, total = await user_statistics.ranking_page(
            db, ruleset_id, kind, page=current, country=country, user_ids=None
        )
        users = {u["id"]: u for u in await users_db.get_users(db, [r["user_id"] for r in rows])}
        for row in rows:
            user = users.get(int(row["user_id"]))
            if user is not None:
                entries.append({**row, "user": user})
    first = (current - 1) * user_statistics.RANKING_PAGE
    pages = max(
        1,
        -(
            -min(total, user_statistics.RANKING_PAGE * user_statistics.RANKING_MAX_PAGES)
            // user_statistics.RANKING_PAGE
        ),
    )
    context = {
        "mode": mode,
        "kind": kind,
        "entries": entries,
        "first": first,
        "page": current,
        "pages": pages,
        "country": country or "",
        "rulesets": RULESETS,
        "types": RANKING_TABS,
    }
    return await page(request, "rankings.html", context)


async def _score(request: Request) -> dict[str, Any] | None:
    db = services(request).db
    score_id = path_id(str(request.path_params["score"]))
    if score_id is None:
        return None
    score = (await scores_db.get_scores(db, [score_id])).get(score_id)
    if score is None:
        return None
    owner = await users_db.get_user(db, int(score["user_id"]))
    me = await viewer(request)
    if owner is None or owner["is_deleted"]:
        return None
    if owner["restricted"] and (me is None or int(me["id"]) != int(owner["id"])):
        return None
    return score


async def score_page(request: Request) -> Response:
    score = await _score(request)
    if score is None:
        return await not_found(request, "score")
    me = await viewer(request)
    shown = (
        await views.render(
            request.app,
            [score],
            version=NEW_FORMAT,
            beatmap=True,
            beatmapset=True,
            user=True,
            viewer_id=int(me["id"]) if me is not None else None,
        )
    )[0]
    position = await scores_db.position(services(request).db, score) if score["passed"] else None
    has_replay = bool(score.get("has_replay"))
    context = {"score": shown, "position": position, "has_replay": has_replay}
    return await page(request, "score.html", context)


async def score_download(request: Request) -> Response:
    from core.scores import submit as submission

    svc = services(request)
    await throttle(
        request, "scores-download", submission.score_settings(svc.settings)["download_limit"]
    )
    score = await _score(request)
    if score is None:
        return await not_found(request, "replay")
    data = await svc.storage.get(scores_db.replay_key(int(score["id"])))
    if data is None:
        return await not_found(request, "replay")
    me = await viewer(request)
    await profiles.count_replay_view(svc, score, int(me["id"]) if me is not None else None)
    ruleset = scoring.ruleset_name(score["ruleset_id"])
    filename = f"solo-replay-{ruleset}_{score['beatmap_id']}_{score['id']}.osr"
    return Response(
        data,
        media_type="application/x-osu-replay",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
