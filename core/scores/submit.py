"""Solo score submission: tokens, validation of the lazer body, pp, and the one transaction.

A submission is all-or-nothing: the score, its leaderboard entry, the user's statistics and the
beatmap play counts are written in one database transaction, under a per-user cache lock and a
row lock on the user's statistics row, so concurrent submissions by one user never lose updates.
A repeated PUT of a used token answers with the score stored for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from loguru import logger
from starlette.applications import Starlette

from core import mods as mods_domain
from core.beatmaps import resolve
from core.beatmaps import store as beatmaps_db
from core.cache import Cache
from core.config import Key, Section, Settings, positive, rate_limit
from core.db import loaded_errors, utcnow
from core.hooks import Performance
from core.http import ApiError, unprocessable
from core.plugins import fire, performance_calculator
from core.plugins import resolve as resolve_hook
from core.scores import leaderboard, scoring
from core.scores import store as scores_db
from core.services import services
from core.users import profiles, user_statistics

Row = Mapping[str, Any]
MAX_TOTAL_SCORE = 2**31 - 1
MAX_COUNT = 10_000_000
MAX_COMBO = 10_000_000
# Deadlock / lock wait timeout on MariaDB: the transaction was rolled back, run it again.
RETRY_ERRORS = (1213, 1205)
RETRIES = 5


SECTION = Section(
    "scores",
    (
        Key(
            "token_lifetime",
            86400,
            "Seconds a submission token stays valid after the play started.",
            min=1,
        ),
        Key(
            "lock_timeout",
            30.0,
            "Seconds the per-user submission lock may be held and waited for.",
            check=positive,
        ),
        # osu-web: 10 a minute.
        Key(
            "download_limit",
            "10/minute",
            "Replay downloads per token; 'none' switches it off.",
            check=rate_limit,
        ),
    ),
    "Score submission and replays.",
)


def score_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


async def purge_tokens(app: Any) -> None:
    """The hourly job: forget tokens that expired unused (a play quit, a client that crashed)."""
    lifetime = dt.timedelta(seconds=score_settings(services(app).settings)["token_lifetime"])
    await scores_db.delete_unused_tokens_before(services(app).db, utcnow() - lifetime)


def invalid_token() -> ApiError:
    return unprocessable("invalid token")


# --- tokens ------------------------------------------------------------------------------------


async def create_token(
    app: Starlette,
    user_id: int,
    beatmap_id: int,
    ruleset_id: int | None,
    beatmap_hash: str | None,
    version_hash: str | None,
) -> dict[str, Any]:
    beatmap = await resolve.find_beatmap(app, beatmap_id=beatmap_id)
    if beatmap is None or beatmap["deleted_at"] is not None:
        raise ApiError(404, {"error": "Specified beatmap difficulty couldn't be found."})
    beatmapset = await beatmaps_db.beatmapset_by_id(services(app).db, beatmap["beatmapset_id"])
    if beatmapset is None or beatmapset["deleted_at"] is not None:
        raise ApiError(404, {"error": "Specified beatmap difficulty couldn't be found."})
    if ruleset_id is None or not 0 <= ruleset_id < len(scoring.RULESETS):
        raise unprocessable("invalid ruleset_id specified")
    if ruleset_id != beatmap["mode"] and beatmap["mode"] != 0:
        raise unprocessable("specified beatmap can't be played in the specified ruleset")
    if beatmap_hash is not None and beatmap["checksum"] and beatmap_hash != beatmap["checksum"]:
        raise unprocessable("invalid or missing beatmap_hash")
    return await scores_db.create_token(
        services(app).db,
        user_id=user_id,
        beatmap_id=beatmap_id,
        ruleset_id=ruleset_id,
        beatmap_hash=beatmap_hash,
        version_hash=version_hash[:64] if version_hash else None,
    )


# --- validation --------------------------------------------------------------------------------


@dataclass
class Submission:
    ruleset_id: int
    passed: bool
    total_score: int
    total_score_without_mods: int | None
    accuracy: float
    max_combo: int
    rank: str
    mods: list[dict[str, Any]]
    statistics: dict[str, int]
    maximum_statistics: dict[str, int]


def _int(body: Mapping[str, Any], key: str, maximum: int, required: bool = True) -> int | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise unprocessable(f"{key} must be an integer")
    if value < 0 or value > maximum:
        raise unprocessable(f"{key} is out of range")
    return value


def _statistics(body: Mapping[str, Any], key: str) -> dict[str, int]:
    value = body.get(key)
    if value is None or value == []:
        return {}
    if not isinstance(value, dict):
        raise unprocessable(f"{key} must be an object")
    result: dict[str, int] = {}
    for name, count in value.items():
        if name not in scoring.HIT_RESULTS:
            raise unprocessable(f"{key} has an unknown hit result {str(name)[:32]}")
        if isinstance(count, bool) or not isinstance(count, int):
            raise unprocessable(f"{key}.{name} must be an integer")
        if count < 0:
            raise unprocessable(f"{key}.{name} must not be negative")
        if count > MAX_COUNT:
            raise unprocessable(f"{key}.{name} is out of range")
        if count:
            result[name] = count
    return result


def _check_against_maximum(stats: Mapping[str, int], maximum: Mapping[str, int]) -> None:
    """Judgements can't exceed what the play could give, category by category."""
    groups = (
        ("basic judgements", scoring.BASIC_RESULTS, scoring.BASIC_RESULTS),
        ("large ticks", ("large_tick_hit", "large_tick_miss"), ("large_tick_hit",)),
        ("small ticks", ("small_tick_hit", "small_tick_miss"), ("small_tick_hit",)),
        ("slider tails", ("slider_tail_hit",), ("slider_tail_hit",)),
    )
    for label, achieved, possible in groups:
        got = sum(stats.get(r, 0) for r in achieved)
        most = sum(maximum.get(r, 0) for r in possible)
        if got > most:
            raise unprocessable(
                f"statistics have more {label} than maximum_statistics ({got} > {most})"
            )


def parse(body: Any, token: Row) -> Submission:
    """The lazer `SoloScoreInfo` body (ppy/osu Responses/SoloScoreInfo.cs), checked against
    itself and the token."""
    if not isinstance(body, dict):
        raise unprocessable("score data must be a JSON object")
    ruleset_id = _int(body, "ruleset_id", len(scoring.RULESETS) - 1)
    assert ruleset_id is not None
    if ruleset_id != token["ruleset_id"]:
        raise unprocessable("ruleset_id does not match the score token")
    ruleset = scoring.ruleset_name(ruleset_id)
    passed = body.get("passed")
    if not isinstance(passed, bool):
        raise unprocessable("passed must be a boolean")
    total_score = _int(body, "total_score", MAX_TOTAL_SCORE)
    without_mods = _int(body, "total_score_without_mods", MAX_TOTAL_SCORE, required=False)
    max_combo = _int(body, "max_combo", MAX_COMBO)
    accuracy = body.get("accuracy")
    if isinstance(accuracy, bool) or not isinstance(accuracy, int | float):
        raise unprocessable("accuracy must be a number")
    accuracy = float(accuracy)
    if not math.isfinite(accuracy) or not 0 <= accuracy <= 1:
        raise unprocessable("accuracy must be between 0 and 1")
    rank = body.get("rank")
    if rank not in scoring.GRADES:
        raise unprocessable("rank must be one of " + ", ".join(scoring.GRADES))
    if (rank == "F") == passed:
        raise unprocessable("rank F is for failed scores only")
    try:
        mods = mods_domain.normalise(body.get("mods"), ruleset)
    except mods_domain.InvalidMods as exc:
        raise unprocessable(str(exc)) from None
    statistics = _statistics(body, "statistics")
    maximum = _statistics(body, "maximum_statistics")
    if not any(statistics.get(r, 0) for r in scoring.IS_HIT) and not statistics.get("miss"):
        raise unprocessable("statistics are empty")
    _check_against_maximum(statistics, maximum)
    possible_combo = scoring.maximum_combo(maximum)
    assert max_combo is not None and total_score is not None
    if max_combo > possible_combo:
        raise unprocessable(f"max_combo is larger than the beatmap allows ({possible_combo})")
    if passed:
        # A passed play has judged everything: its accuracy follows from the statistics.
        expected = scoring.lazer_accuracy(statistics, maximum, ruleset)
        if abs(expected - accuracy) > 0.005:
            raise unprocessable("accuracy does not match the statistics")
    return Submission(
        ruleset_id=ruleset_id,
        passed=passed,
        total_score=total_score,
        total_score_without_mods=without_mods,
        accuracy=accuracy,
        max_combo=max_combo,
        rank=rank,
        mods=mods,
        statistics=statistics,
        maximum_statistics=maximum,
    )


# --- pp ----------------------------------------------------------------------------------------


async def performance(app: Starlette, beatmap: Row, score: Mapping[str, Any]) -> Performance | None:
    """The `pp.calculator` plugin's answer for a score, or None (no calculator, no file)."""
    calculate = performance_calculator(services(app).plugins, services(app).settings)
    if calculate is None:
        return None
    osu = await resolve.osu_file(app, beatmap)
    if osu is None:
        return None
    payload = {**dict(beatmap), "osu_file": osu}
    result: Performance | None = await resolve_hook(calculate(beatmap=payload, score=score))
    return result


def eligible_for_pp(score: Mapping[str, Any], status: int) -> bool:
    ruleset = scoring.ruleset_name(score["ruleset_id"])
    return (
        bool(score["passed"])
        and status in scores_db.PP_STATUSES
        and mods_domain.pp_eligible(score["mods"], ruleset)
    )


# --- the submission ----------------------------------------------------------------------------


def _retryable(exc: BaseException) -> bool:
    # SQLite needs none: its transactions queue for the write lock (core.db), and one that
    # waited `[database] write_timeout` in vain is a 503 the client may repeat.
    return (
        isinstance(exc, loaded_errors("pymysql.err", "OperationalError"))
        and bool(exc.args)
        and (exc.args[0] in RETRY_ERRORS)
    )


async def submit(
    app: Starlette, user: Row, beatmap_id: int, token_id: int, body: Any
) -> tuple[dict[str, Any], int | None]:
    """Store the score of a token; returns (score row, leaderboard position)."""
    db = services(app).db
    conf = score_settings(services(app).settings)
    token = await scores_db.get_token(db, token_id)
    if token is None or token["user_id"] != user["id"]:
        raise invalid_token()
    if token["beatmap_id"] != beatmap_id:
        raise unprocessable("the score token is for another beatmap")
    if token["score_id"] is not None:
        return await _existing(db, token["score_id"])
    now = utcnow()
    if now - token["created_at"] > dt.timedelta(seconds=conf["token_lifetime"]):
        raise unprocessable("expired token")
    data = parse(body, token)
    beatmap = await beatmaps_db.beatmap_by_id(db, beatmap_id)
    if beatmap is None or beatmap["deleted_at"] is not None:
        raise unprocessable("the beatmap of this score token no longer exists")
    beatmapset = await beatmaps_db.beatmapset_by_id(db, beatmap["beatmapset_id"])
    if beatmapset is None:
        raise unprocessable("the beatmap of this score token no longer exists")
    ranked_date = beatmapset["ranked_date"]
    if ranked_date is not None and ranked_date > token["created_at"]:
        raise unprocessable("beatmapset state has been updated")
    status = int(beatmap["status"])
    ruleset = scoring.ruleset_name(data.ruleset_id)
    score: dict[str, Any] = {
        "user_id": int(user["id"]),
        "beatmap_id": beatmap_id,
        "ruleset_id": data.ruleset_id,
        "build_id": None,
        "passed": data.passed,
        "rank": data.rank,
        "total_score": data.total_score,
        "total_score_without_mods": data.total_score_without_mods,
        "classic_total_score": scoring.classic_score(
            data.total_score, data.maximum_statistics, ruleset
        ),
        "legacy_total_score": 0,
        "legacy_score_id": None,
        "accuracy": data.accuracy,
        "max_combo": data.max_combo,
        "mods": data.mods,
        "statistics": data.statistics,
        "maximum_statistics": data.maximum_statistics,
        "mods_key": mods_domain.mods_key(data.mods),
        "legacy_mods": mods_domain.to_bitmask(data.mods),
        "pp": None,
        "preserve": data.passed,
        "ranked": status in scores_db.LEADERBOARD_STATUSES,
        "processed": True,
        "has_replay": False,
        "replay_views": 0,
        "started_at": token["created_at"],
        "ended_at": now,
    }
    perfect = data.passed and data.max_combo == scoring.maximum_combo(data.maximum_statistics)
    score["is_perfect_combo"] = score["legacy_perfect"] = perfect
    attributes = await performance(app, beatmap, score)
    if attributes is not None:
        basic = sum(data.maximum_statistics.get(r, 0) for r in scoring.BASIC_RESULTS)
        # A calculator that does not count the beatmap's objects leaves this check out.
        objects = attributes.get("max_judgements")
        if objects is not None and basic > objects:
            raise unprocessable(
                f"maximum_statistics have more judgements than the beatmap has objects "
                f"({basic} > {objects})"
            )
        if eligible_for_pp(score, status):
            score["pp"] = float(attributes["pp"])
    info = user_statistics.beatmap_info(beatmap)
    # Committed means acknowledged: from the commit on, nothing the cache does (the lock's
    # release, invalidations) or a best-effort step fails can turn the answer into an error.
    async with _user_lock(services(app).cache, int(user["id"]), conf["lock_timeout"]):
        for attempt in range(RETRIES):
            try:
                stored = await _store(db, token_id, score, info)
                break
            except Exception as exc:
                if not _retryable(exc) or attempt == RETRIES - 1:
                    raise
                logger.info("score submission retried after {!r}", exc)
                await asyncio.sleep(0.01 * (attempt + 1))
        if stored is None:
            # Another request stored this token's score while we computed ours.
            fresh = await scores_db.get_token(db, token_id)
            assert fresh is not None and fresh["score_id"] is not None
            return await _existing(db, fresh["score_id"])
    await _after(app, stored)
    return stored, await scores_db.position(db, stored)


@asynccontextmanager
async def _user_lock(cache: Cache, user_id: int, timeout: float) -> AsyncIterator[None]:
    """The per-user submission lock (shared by workers and hosts). Taking it may fail (503,
    nothing written); releasing it may not fail the request: by then the score may be
    committed, and a lock left behind expires after `timeout` by itself."""
    lock = cache.lock(f"scores:user:{user_id}", timeout=timeout, wait=timeout)
    await lock.__aenter__()
    try:
        yield
    except BaseException as exc:
        await _release(lock, exc)
        raise
    await _release(lock, None)


async def _release(lock: Any, exc: BaseException | None) -> None:
    try:
        await lock.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)
    except Exception as failure:
        if failure is not exc:
            logger.warning("score submission lock not released (it expires): {!r}", failure)


async def _existing(db: Any, score_id: int) -> tuple[dict[str, Any], int | None]:
    stored = await scores_db.get_score(db, score_id)
    if stored is None:
        raise invalid_token()
    return stored, await scores_db.position(db, stored)


async def _store(
    db: Any, token_id: int, score: dict[str, Any], info: user_statistics.BeatmapInfo
) -> dict[str, Any] | None:
    if db.url.dialect != "mysql":
        # SQLite: the transaction waits for its turn to write before it takes a connection.
        async with db.transaction():
            return await _store_in_transaction(db, token_id, score, info)
    async with db.connection() as connection:
        # Read committed: locking reads of missing rows take no gap locks, so two users'
        # first submissions (or first plays of a map) can't deadlock on each other's gaps.
        await connection.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        async with connection.transaction():
            return await _store_in_transaction(db, token_id, score, info)


async def _store_in_transaction(
    db: Any, token_id: int, score: dict[str, Any], info: user_statistics.BeatmapInfo
) -> dict[str, Any] | None:
    token = await scores_db.get_token(db, token_id, for_update=True)
    if token is None or token["score_id"] is not None:
        return None
    # The user's statistics row is locked first: it serialises this user's submissions.
    await user_statistics.lock_row(db, score["user_id"], score["ruleset_id"])
    score_id = await scores_db.insert_score(db, score)
    stored = {**score, "id": score_id, "is_new_best": False}
    if not await scores_db.attach_token(db, token_id, score_id):
        raise RuntimeError("score token was taken concurrently")
    previous = None
    if score["passed"] and score["preserve"]:
        user_id, beatmap_id, ruleset_id = score["user_id"], score["beatmap_id"], score["ruleset_id"]
        held = await scores_db.best_of(db, user_id, beatmap_id, ruleset_id)
        if await scores_db.update_best(db, stored):
            stored["is_new_best"] = True
            if held is not None:
                previous = await scores_db.get_score(db, int(held["score_id"]))
    await user_statistics.apply_score(db, stored, info, previous)
    if user_statistics.valid_play(stored, info):
        # Shared beatmap rows last: concurrent plays of one map queue here, never deadlock.
        await scores_db.count_play(db, score["user_id"], score["beatmap_id"], score["passed"])
    stored.pop("is_new_best")
    return stored


async def _after(app: Starlette, score: Mapping[str, Any]) -> None:
    """After the commit, each step on its own and none able to fail the submission:
    rank_highest, cached profiles, the leaderboard version, medals, the `score_processed` event.
    A cache that is down leaves stale entries that expire; the score itself is stored."""
    svc = services(app)
    user_id, ruleset_id = int(score["user_id"]), int(score["ruleset_id"])

    async def note_rank() -> None:
        row = (await user_statistics.rows_for(svc.db, [user_id], ruleset_id)).get(user_id)
        if row is not None:
            rank = await user_statistics.global_rank(svc.db, ruleset_id, float(row["pp"]))
            await user_statistics.note_rank(svc.db, user_id, ruleset_id, rank)

    await _best_effort("rank_highest", note_rank())
    await _best_effort("profile invalidation", profiles.invalidate(svc, user_id))
    # The play count `current_user_playcount` shows (core.beatmaps.responses).
    await _best_effort(
        "play count invalidation", resolve.forget_play(app, user_id, int(score["beatmap_id"]))
    )
    if score["passed"]:
        await _best_effort(
            "leaderboard invalidation",
            leaderboard.changed(svc.cache, int(score["beatmap_id"]), ruleset_id),
        )
    await _best_effort("medals", _medals(app, score))
    await fire(svc.plugins, "score_processed", app=app, score=dict(score))


async def _medals(app: Starlette, score: Mapping[str, Any]) -> None:
    from core.medals import awarding

    if await awarding.award_for_score(app, score):
        # The profile was invalidated before the medals were stored: again, so they show.
        await profiles.invalidate(services(app), int(score["user_id"]))


async def _best_effort(what: str, step: Awaitable[None]) -> None:
    try:
        await step
    except Exception as exc:
        logger.warning("after a stored score, {} failed: {!r}", what, exc)
