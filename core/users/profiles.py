"""User JSON shapes of API v2 (osu-web app/Transformers/UserCompactTransformer.php,
UserTransformer.php) built from user rows.

`user_compact` is the always-present part; `card`/`list` add the named include sets; `profile`
builds UserExtended with the include set of Get User / Get Own Data. Batched: one query per kind
of data, never one per user.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import orjson
from databases import Database

from core.config import Key, Section, Settings, http_url
from core.daily_challenge import stats as dc_stats
from core.daily_challenge import store as dc_db
from core.db import utcnow
from core.http import time_offset
from core.medals import store as medals_db
from core.moderation import views as moderation_views
from core.rooms import listing as rooms_listing
from core.scores.scoring import RULESETS
from core.services import Services
from core.teams import store as teams_db
from core.teams import views as team_views
from core.users import activity, statistics, user_statistics, variants
from core.users import store as users_db

ONLINE_WINDOW = dt.timedelta(minutes=10)
ACTIVE_WINDOW = dt.timedelta(days=30)
PROFILE_ORDER = ["me", "recent_activity", "top_ranks", "medals", "historical", "beatmaps", "kudosu"]
USER_PREFERENCES = {
    "audio_autoplay": False,
    "audio_muted": False,
    "audio_volume": 0.45,
    "beatmapset_card_size": "normal",
    "beatmapset_download": "all",
    "beatmapset_show_anime_cover": True,
    "beatmapset_show_nsfw": False,
    "beatmapset_title_show_original": False,
    "comments_show_deleted": False,
    "forum_posts_show_deleted": True,
    "legacy_score_only": False,
    "profile_cover_expanded": True,
    "scoring_mode": "standardised",
    "user_list_filter": "all",
    "user_list_sort": "last_visit",
    "user_list_view": "card",
}


def _country(value: Any) -> str | None:
    ok = len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()
    return None if ok else f"expected two capital letters (ISO 3166-1), got {value!r}"


SECTION = Section(
    "accounts",
    (
        # Without a GeoIP match ([geoip]).
        Key("default_country", "XX", "Country of new accounts (XX: unknown).", check=_country),
        # lazer loads images from *.ppy.sh only.
        Key(
            "default_avatar_url",
            "https://osu.ppy.sh/images/layout/avatar-guest@2x.png",
            "Avatar of users who have not set their own.",
            check=http_url,
        ),
        Key(
            "default_cover_url",
            "https://osu.ppy.sh/images/headers/profile-covers/c1.jpg",
            "Profile cover of users who have not set their own.",
            check=http_url,
        ),
        # Supporter-only leaderboards, friend limits.
        Key("everyone_supporter", False, "Every account counts as an osu!supporter."),
    ),
    "New accounts and profile defaults.",
)


def accounts_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


def support_level(row: Mapping[str, Any], conf: Mapping[str, Any]) -> int:
    """The user's supporter level: their own (`hitcircle user supporter`), or 1 for everyone
    when `[accounts] everyone_supporter` is on (osu-web User::isSupporter)."""
    level = int(row["support_level"])
    return max(level, 1) if conf["everyone_supporter"] else level


def is_supporter(row: Mapping[str, Any], settings: Settings) -> bool:
    return support_level(row, accounts_settings(settings)) > 0


def profile_key(user_id: int, mode: str | None) -> str:
    """Cache key of the encoded Get User body (`default`: the user's own playmode)."""
    return f"profile:{user_id}:{mode or 'default'}"


def own_profile_key(user_id: int, mode: str | None) -> str:
    """Cache key of the encoded Get Own Data body, without its per-request fields (`/me`)."""
    return f"profile:own:{user_id}:{mode or 'default'}"


async def invalidate(svc: Services, user_id: int) -> None:
    """Forget every cached form of a user after a change (profile bodies, as others and the
    user see them, and the auth row)."""
    from core.auth import user_key

    keys = [key(user_id, m) for key in (profile_key, own_profile_key) for m in (*RULESETS, None)]
    await svc.cache.delete(*keys, user_key(user_id))
    # Room listings show hosts' and participants' cards, and hide restricted hosts' rooms.
    await rooms_listing.changed(svc)


async def count_replay_view(svc: Services, score: Mapping[str, Any], viewer_id: int | None) -> None:
    """A replay download by someone other than its player counts for the player's profile."""
    if await activity.count_replay_view(svc.db, score, viewer_id):
        await invalidate(svc, int(score["user_id"]))


@cache
def countries() -> dict[str, str]:
    names: dict[str, str] = orjson.loads(
        resources.files(__package__).joinpath("countries.json").read_bytes()
    )
    return names


def country(code: str) -> dict[str, str]:
    return {"code": code, "name": countries().get(code, "Unknown")}


def user_compact(row: Mapping[str, Any], conf: Mapping[str, Any]) -> dict[str, Any]:
    last_visit = row["last_visit"]
    now = utcnow()
    visible = not row["hide_presence"]
    return {
        "avatar_url": row["avatar_url"] or conf["default_avatar_url"],
        "country_code": row["country_code"],
        "default_group": "bot" if row["is_bot"] else "default",
        "id": int(row["id"]),
        "is_active": last_visit is not None and now - last_visit < ACTIVE_WINDOW,
        "is_bot": bool(row["is_bot"]),
        "is_deleted": bool(row["is_deleted"]),
        "is_online": visible and last_visit is not None and now - last_visit < ONLINE_WINDOW,
        "is_supporter": support_level(row, conf) > 0,
        "last_visit": time_offset(last_visit) if visible else None,
        "pm_friends_only": bool(row["pm_friends_only"]),
        "profile_colour": row["profile_colour"],
        "username": row["username"],
    }


def cover(row: Mapping[str, Any], conf: Mapping[str, Any]) -> dict[str, Any]:
    custom = row["cover_url"]
    return {
        "custom_url": custom,
        "url": custom or conf["default_cover_url"],
        "id": None if custom else "1",
    }


def card_includes(row: Mapping[str, Any], conf: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "country": country(row["country_code"]),
        "cover": cover(row, conf),
        "groups": [],
        "team": None,
    }


async def cards(
    db: Database,
    rows: Sequence[Mapping[str, Any]],
    settings: Settings,
    *,
    statistics_ruleset: str | None = None,
    statistics_rulesets: bool = False,
    variants: bool = False,
) -> list[dict[str, Any]]:
    """User objects with the card includes; `statistics` (+`support_level`) makes the list set."""
    conf = accounts_settings(settings)
    ids = [int(r["id"]) for r in rows]
    by_ruleset: dict[str, dict[int, dict[str, Any]]] = {}
    wanted = list(RULESETS) if statistics_rulesets else []
    if statistics_ruleset is not None and statistics_ruleset not in wanted:
        wanted.append(statistics_ruleset)
    for ruleset in wanted:
        by_ruleset[ruleset] = await statistics.statistics_for(db, ids, ruleset)
    groups = await moderation_views.groups_of(db, ids)
    teams = await teams_db.teams_of(db, ids)
    result = []
    for row in rows:
        user = user_compact(row, conf) | card_includes(row, conf)
        uid = int(row["id"])
        user["groups"] = groups[uid]
        user["team"] = team_views.compact(teams[uid]) if uid in teams else None
        if statistics_ruleset is not None:
            user["statistics"] = by_ruleset[statistics_ruleset][uid]
            user["support_level"] = support_level(row, conf)
        if statistics_rulesets:
            user["statistics_rulesets"] = {
                r: (
                    statistics.with_rank_includes(by_ruleset[r][uid], r)
                    if variants and r == "mania"
                    else by_ruleset[r][uid]
                )
                for r in RULESETS
            }
        result.append(user)
    return result


def page(raw: str | None) -> dict[str, str]:
    if not raw:
        return {"html": "", "raw": ""}
    body = html.escape(raw).replace("\n", "<br />")
    return {"html": f"<div class='bbcode bbcode--profile-page'>{body}</div>", "raw": raw}


async def profile(
    db: Database,
    row: Mapping[str, Any],
    ruleset: str,
    settings: Settings,
    *,
    own: bool,
    viewer_id: int | None,
) -> dict[str, Any]:
    """UserExtended with the Get User include set; `own` adds the Get Own Data fields."""
    conf = accounts_settings(settings)
    uid = int(row["id"])
    stats = (await statistics.statistics_for(db, [uid], ruleset))[uid]
    if ruleset == "mania":
        stats["variants"] = (await variants.variants_for(db, [uid]))[uid]
    previous = await users_db.previous_usernames(db, uid)
    followers = await users_db.follower_count(db, uid)
    team_row = (await teams_db.teams_of(db, [uid])).get(uid)
    has_blocked = False
    if viewer_id is not None and viewer_id != uid:
        has_blocked = await users_db.relation(db, uid, viewer_id) == users_db.RELATION_BLOCK
    supporter = support_level(row, conf) > 0
    max_friends = 500 if supporter else 250
    user = user_compact(row, conf)
    playstyle = [s for s in (row["playstyle"] or "").split(",") if s]
    user.update(
        {
            "cover_url": cover(row, conf)["url"],
            "discord": row["discord"],
            "has_supported": bool(row["has_supported"]),
            "interests": row["interests"],
            "join_date": time_offset(row["join_date"]),
            "location": row["location"],
            "max_blocks": -(-max_friends // 5),
            "max_friends": max_friends,
            "occupation": row["occupation"],
            "playmode": RULESETS[row["playmode"]] if 0 <= row["playmode"] < 4 else "osu",
            "playstyle": playstyle or None,
            "post_count": 0,
            "profile_hue": row["profile_hue"],
            "profile_order": list(PROFILE_ORDER),
            "title": row["title"],
            "title_url": row["title_url"],
            "twitter": row["twitter"],
            "website": row["website"],
            "country": country(row["country_code"]),
            "cover": cover(row, conf),
            # No modding or forum here: nobody earns kudosu (the honest total is zero).
            "kudosu": {"available": 0, "total": 0},
            "account_history": await activity.history(db, uid, own=own),
            "active_tournament_banner": None,
            "active_tournament_banners": [],
            "badges": await moderation_views.badges_of(db, uid),
            "comments_count": 0,
            "current_season_stats": None,
            "current_user_attributes": None if viewer_id is None else {"has_blocked": has_blocked},
            "daily_challenge_user_stats": dc_stats.view(
                (await dc_db.stats_of(db, [uid])).get(uid),
                uid,
                utcnow().date(),
                # ossapi requires both timestamps: a user who never played gets the join date.
                never=time_offset(row["join_date"]) or "",
            ),
            "follower_count": followers,
            "groups": (await moderation_views.groups_of(db, [uid]))[uid],
            "mapping_follower_count": 0,
            "matchmaking_stats": [],
            "monthly_playcounts": await activity.monthly(db, uid, activity.PLAYS),
            # Sets this user nominated: there is no nomination process on this server.
            "nominated_beatmapset_count": 0,
            "page": page(row["page_raw"]),
            "previous_usernames": previous,
            "rank_highest": None,
            "rank_history": None,
            "replays_watched_counts": await activity.monthly(db, uid, activity.REPLAYS_WATCHED),
            "scores_best_count": 0,
            "scores_first_count": 0,
            "scores_pinned_count": 0,
            "scores_recent_count": 0,
            "statistics": statistics.with_rank_includes(stats, ruleset),
            "support_level": support_level(row, conf),
            "team": team_views.compact(team_row) if team_row is not None else None,
            "user_achievements": [
                {"achieved_at": time_offset(m["achieved_at"]), "achievement_id": m["id"]}
                for m in await medals_db.of_user(db, uid)
            ],
        }
    )
    user.update(await activity.profile_counts(db, uid))
    # Rank history, highest rank and score counts come from the stored scores.
    user.update(
        await user_statistics.profile_extras(
            db, uid, RULESETS.index(ruleset), stats.get("global_rank")
        )
    )
    user["rankHistory"] = user["rank_history"]
    user["ranked_and_approved_beatmapset_count"] = user["ranked_beatmapset_count"]
    user["unranked_beatmapset_count"] = user["pending_beatmapset_count"]
    if own:
        user["is_restricted"] = bool(row["restricted"])
        all_stats = {
            r: (await statistics.statistics_for(db, [uid], r))[uid] if r != ruleset else stats
            for r in RULESETS
        }
        user.update(
            {
                "score_processing_notice_url": None,
                "session_verification_method": None,
                "session_verified": True,
                "user_preferences": dict(USER_PREFERENCES),
                "statistics_rulesets": all_stats,
                "unread_pm_count": await activity.unread_pm_count(db, uid),
            }
        )
    return user
