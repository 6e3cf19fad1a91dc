"""Award medals for a processed score: run every `medal_rules` rule, keep the catalogue ids the
user does not hold, store each once and tell the player on the notification websocket.

Called after a submission has committed (core/scores/submit.py) and by `hitcircle recalc` for
stored passed scores. A rule that raises or answers an id that is not in the catalogue is logged
and skipped; it never fails a submission.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import orjson
from loguru import logger

from core.beatmaps import store as beatmaps_db
from core.chat import notifications
from core.hooks import MaybeAwaitable
from core.medals import catalogue
from core.medals import store as medals_db
from core.plugins import collect, resolve
from core.scores import scoring
from core.services import services
from core.users import user_statistics


@dataclass(frozen=True)
class MedalContext:
    """What a rule sees of one processed score."""

    # The stored `scores` row; `mods` is a list of lazer mods (`[{"acronym": "HD"}]`).
    score: Mapping[str, Any]
    # The `beatmaps` row, or None when the beatmap is unknown.
    beatmap: Mapping[str, Any] | None
    # The beatmap's nomod star rating in the score's ruleset (its convert's for a converted
    # play), or None when it is not known.
    stars: float | None
    # The user's `user_statistics` row for the score's ruleset (play_count, count_300, ...).
    statistics: Mapping[str, Any] | None
    # Medal ids the user holds already.
    held: frozenset[int] = field(default_factory=frozenset)

    @property
    def ruleset(self) -> str:
        """ "osu", "taiko", "fruits" or "mania"."""
        return scoring.RULESETS[int(self.score["ruleset_id"])]

    @property
    def acronyms(self) -> set[str]:
        return {str(m.get("acronym", "")).upper() for m in self.score.get("mods") or []}


# A rule takes the context and answers the medal ids it earns (or None for none).
MedalRule: TypeAlias = Callable[[MedalContext], MaybeAwaitable[Iterable[int] | None]]


def _decoded(score: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(score)
    for key in ("mods", "statistics", "maximum_statistics"):
        if isinstance(row.get(key), str | bytes):
            row[key] = orjson.loads(row[key])
    return row


async def context(app: Any, score: Mapping[str, Any]) -> MedalContext:
    db = services(app).db
    row = _decoded(score)
    user_id, ruleset_id = int(row["user_id"]), int(row["ruleset_id"])
    beatmap = await beatmaps_db.beatmap_by_id(db, int(row["beatmap_id"]))
    stars: float | None = None
    if beatmap is not None:
        if int(beatmap["mode"]) == ruleset_id:
            stars = float(beatmap["difficulty_rating"])
        else:
            convert = (await beatmaps_db.converts_of(db, [int(beatmap["id"])])).get(
                (int(beatmap["id"]), ruleset_id)
            )
            stars = None if convert is None else float(convert["difficulty_rating"])
    stats = (await user_statistics.rows_for(db, [user_id], ruleset_id)).get(user_id)
    return MedalContext(
        score=row,
        beatmap=beatmap,
        stars=stars,
        statistics=stats,
        held=frozenset(await medals_db.held(db, user_id)),
    )


def rules(app: Any) -> list[MedalRule]:
    """Every rule of every enabled plugin, in call order."""
    found: list[MedalRule] = collect(services(app).plugins.hook.medal_rules(app=app))
    return found


async def earned(app: Any, ctx: MedalContext) -> list[int]:
    """The catalogue ids the rules give for `ctx` that the user does not hold yet."""
    ids: list[int] = []
    for rule in rules(app):
        name = getattr(rule, "__qualname__", repr(rule))
        try:
            answer = await resolve(rule(ctx))
            answered = list(answer or [])
        except Exception:
            logger.exception("medal rule {} failed", name)
            continue
        for medal_id in answered:
            if catalogue.get(medal_id) is None:
                logger.warning("medal rule {} gave unknown medal id {!r}: ignored", name, medal_id)
                continue
            if medal_id not in ctx.held and medal_id not in ids:
                ids.append(medal_id)
    return ids


async def award_for_score(app: Any, score: Mapping[str, Any], notify: bool = True) -> list[int]:
    """Award what `score` earns; returns the ids this call gave (each given once ever)."""
    ctx = await context(app, score)
    given: list[int] = []
    for medal_id in await earned(app, ctx):
        user_id = int(ctx.score["user_id"])
        if await medals_db.award(services(app).db, user_id, medal_id, int(ctx.score["id"])):
            given.append(medal_id)
            if notify:
                await unlocked(app, user_id, medal_id)
    return given


def unlock_details(user_id: int, medal: catalogue.Medal) -> dict[str, Any]:
    """`details` of a `user_achievement_unlock` notification: the fields lazer reads
    (ppy/osu osu.Game/Online/Notifications/WebSocket/Events/UserAchievementUnlock.cs, after
    ppy/osu-web app/Jobs/Notifications/UserAchievementUnlock.php)."""
    mode = medal["mode"]
    return {
        "achievement_id": medal["id"],
        # lazer reads a ruleset number (ushort?), so the ruleset's id, not its name.
        "achievement_mode": None if mode is None else scoring.RULESET_IDS[mode],
        "cover_url": medal["icon_url"],
        "slug": medal["slug"],
        "title": medal["name"],
        "description": medal["description"],
        "user_id": user_id,
    }


async def unlocked(app: Any, user_id: int, medal_id: int) -> None:
    """Store the unlock notification and push it to the player's sockets as `new`."""
    medal = catalogue.get(medal_id)
    if medal is None:
        return
    svc = services(app)
    try:
        # osu-web names the player as the source, so `notify` (which skips the source) is not
        # used: the player is the one who must hear it.
        row = await notifications.insert(
            svc.db,
            [user_id],
            name="user_achievement_unlock",
            object_type="achievement",
            object_id=medal_id,
            source_user_id=user_id,
            details=unlock_details(user_id, medal),
        )
        await notifications.publish_to_users(
            svc.cache, [user_id], notifications.frame("new", notifications.shape(row))
        )
    except Exception as exc:
        # The medal is stored; a cache that is down only loses the live toast.
        logger.warning(
            "medal {} unlock notification for user {} failed: {!r}", medal_id, user_id, exc
        )
