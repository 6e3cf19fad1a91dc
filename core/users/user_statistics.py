"""Stored user statistics per ruleset, daily rank history, ranks and rankings.

Tables here, and the SQL that reads and writes them. The rules are those of
ppy/osu-queue-score-statistics (`Processors/`, `Helpers/UserTotalPerformanceAggregateHelper.cs`;
`core.scores.scoring` holds the pure ones). A score is applied incrementally under a row lock
(`apply_score`); `recompute` rebuilds a user's statistics from their stored scores, and both give
the same values for the same scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from databases import Database

from core import mods as mods_domain
from core.beatmaps.store import beatmaps
from core.db import as_row, as_rows, utcnow
from core.http import time_z
from core.schema import TABLE_ARGS, metadata
from core.scores import scoring
from core.scores import store as scores_db
from core.users import activity, variants
from core.users.store import users

Row = Mapping[str, Any]
RANK_HISTORY_DAYS = 90
RANKING_PAGE = 50
RANKING_MAX_PAGES = 200

user_statistics = sa.Table(
    "user_statistics",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ruleset_id", sa.SmallInteger(), primary_key=True),
    sa.Column("ranked_score", sa.BigInteger(), nullable=False),
    sa.Column("total_score", sa.BigInteger(), nullable=False),
    sa.Column("play_count", sa.Integer(), nullable=False),
    sa.Column("play_time", sa.BigInteger(), nullable=False),
    sa.Column("count_300", sa.BigInteger(), nullable=False),
    sa.Column("count_100", sa.BigInteger(), nullable=False),
    sa.Column("count_50", sa.BigInteger(), nullable=False),
    sa.Column("count_miss", sa.BigInteger(), nullable=False),
    sa.Column("max_combo", sa.Integer(), nullable=False),
    sa.Column("grade_ss", sa.Integer(), nullable=False),
    sa.Column("grade_ssh", sa.Integer(), nullable=False),
    sa.Column("grade_s", sa.Integer(), nullable=False),
    sa.Column("grade_sh", sa.Integer(), nullable=False),
    sa.Column("grade_a", sa.Integer(), nullable=False),
    sa.Column("pp", sa.Double(), nullable=False),
    # Weighted accuracy in percent (hit_accuracy).
    sa.Column("accuracy", sa.Double(), nullable=False),
    sa.Column("replays_watched", sa.Integer(), nullable=False),
    sa.Column("rank_highest", sa.Integer(), nullable=True),
    sa.Column("rank_highest_at", sa.DateTime(), nullable=True),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
    sa.Index("ix_user_statistics_pp", "ruleset_id", "pp"),
    sa.Index("ix_user_statistics_ranked_score", "ruleset_id", "ranked_score"),
    **TABLE_ARGS,
)

rank_history = sa.Table(
    "rank_history",
    metadata,
    sa.Column(
        "user_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("ruleset_id", sa.SmallInteger(), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("rank", sa.Integer(), nullable=False),
    sa.Index("ix_rank_history_day", "day"),
    **TABLE_ARGS,
)

COUNTERS = (
    "ranked_score",
    "total_score",
    "play_count",
    "play_time",
    "count_300",
    "count_100",
    "count_50",
    "count_miss",
    "max_combo",
    "grade_ss",
    "grade_ssh",
    "grade_s",
    "grade_sh",
    "grade_a",
)
GRADE_COLUMNS = {
    "X": "grade_ss",
    "XH": "grade_ssh",
    "S": "grade_s",
    "SH": "grade_sh",
    "A": "grade_a",
}
# The statistics a from-scratch recompute must reproduce (rank_highest is history, not derived).
DERIVED = (*COUNTERS, "pp", "accuracy")


def zero_row(user_id: int, ruleset_id: int) -> dict[str, Any]:
    row: dict[str, Any] = {"user_id": user_id, "ruleset_id": ruleset_id}
    row.update({name: 0 for name in COUNTERS})
    row.update(
        pp=0.0,
        accuracy=0.0,
        replays_watched=0,
        rank_highest=None,
        rank_highest_at=None,
        updated_at=utcnow(),
    )
    return row


# --- rules per score (osu-queue-score-statistics Processors/) ---------------------------------


@dataclass(frozen=True)
class BeatmapInfo:
    status: int
    total_length: int
    objects: int


def beatmap_info(row: Row) -> BeatmapInfo:
    objects = int(row["count_circles"]) + int(row["count_sliders"]) + int(row["count_spinners"])
    return BeatmapInfo(int(row["status"]), int(row["total_length"]), objects)


def play_seconds(score: Row, beatmap: BeatmapInfo) -> int:
    length = beatmap.total_length / mods_domain.rate(score["mods"])
    if score["started_at"] is not None and score["ended_at"] is not None:
        length = min(length, (score["ended_at"] - score["started_at"]).total_seconds())
    return max(0, int(length))


def valid_play(score: Row, beatmap: BeatmapInfo) -> bool:
    """Passed, or a failed play long and complete enough to count (PlayValidityHelper)."""
    if score["passed"]:
        return True
    if score["started_at"] is None or score["ended_at"] is None:
        return False
    if (score["ended_at"] - score["started_at"]).total_seconds() < 8:
        return False
    if score["total_score"] < 5000:
        return False
    judged: int = sum(
        count for result, count in score["statistics"].items() if result in scoring.BASIC_RESULTS
    )
    return judged >= min(beatmap.objects * 0.1, 20)


def hit_counts(statistics: Mapping[str, int], ruleset: str) -> tuple[int, int, int, int]:
    s = statistics.get
    n300 = s("great", 0) + s("perfect", 0)
    n100 = s("ok", 0) + s("good", 0)
    n50 = s("meh", 0)
    miss = s("miss", 0)
    if ruleset == "fruits":
        n100 += s("large_tick_hit", 0)
        n50 += s("small_tick_hit", 0)
        miss += s("large_tick_miss", 0)
    return n300, n100, n50, miss


def play_deltas(score: Row, beatmap: BeatmapInfo) -> dict[str, int]:
    """What one play adds to the running counters (not ranked score or grades)."""
    deltas = {name: 0 for name in COUNTERS}
    if not valid_play(score, beatmap):
        return deltas
    ruleset = scoring.ruleset_name(score["ruleset_id"])
    seconds = play_seconds(score, beatmap)
    n300, n100, n50, miss = hit_counts(score["statistics"], ruleset)
    deltas.update(play_count=1, play_time=seconds, count_300=n300, count_100=n100)
    deltas.update(count_50=n50, count_miss=miss)
    classic = int(score["classic_total_score"])
    bound = 500_000 * beatmap.total_length / mods_domain.rate(score["mods"])
    if beatmap.status in scores_db.PP_STATUSES or classic <= bound:
        deltas["total_score"] = classic
    return deltas


def combo_counts(score: Row, beatmap: BeatmapInfo) -> bool:
    return (
        score["passed"]
        and beatmap.status in scores_db.LEADERBOARD_STATUSES
        and not mods_domain.has_automation(score["mods"])
    )


def pp_totals(rows: Sequence[Row]) -> tuple[float, float]:
    """(total pp, weighted accuracy %) from the pp rows of `scores.pp_scores`."""
    kept = scores_db.best_per_beatmap(rows)
    pp = scoring.weighted_pp([float(r["pp"]) for r in kept], len(rows)) if rows else 0.0
    accuracy = scoring.weighted_accuracy([float(r["accuracy"]) for r in kept])
    return pp, accuracy


# --- reads -------------------------------------------------------------------------------------


async def rows_for(
    db: Database, user_ids: Sequence[int], ruleset_id: int
) -> dict[int, dict[str, Any]]:
    if not user_ids:
        return {}
    rows = as_rows(
        await db.fetch_all(
            user_statistics.select().where(
                user_statistics.c.user_id.in_(list(set(user_ids))),
                user_statistics.c.ruleset_id == ruleset_id,
            )
        )
    )
    return {int(r["user_id"]): {str(k): r[k] for k in r.keys()} for r in rows}


async def rulesets_of(db: Database, user_id: int) -> list[int]:
    rows = await db.fetch_all(
        sa.select(user_statistics.c.ruleset_id).where(user_statistics.c.user_id == user_id)
    )
    return sorted(int(r[0]) for r in rows)


def _ranked_users() -> Any:
    return user_statistics.join(users, users.c.id == user_statistics.c.user_id)


def _visible() -> Any:
    return sa.and_(users.c.restricted.is_(False), users.c.is_deleted.is_(False))


async def global_rank(db: Database, ruleset_id: int, pp: float) -> int | None:
    """1 + users of the ruleset with strictly more pp; None at 0 pp."""
    if pp <= 0:
        return None
    ahead = await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(_ranked_users())
        .where(user_statistics.c.ruleset_id == ruleset_id, user_statistics.c.pp > pp, _visible())
    )
    return int(ahead or 0) + 1


async def global_ranks(
    db: Database, user_ids: Sequence[int], ruleset_id: int
) -> dict[int, int | None]:
    """The global rank of each user in a ruleset (None: unranked)."""
    rows = await rows_for(db, user_ids, ruleset_id)
    by_pp: dict[float, int | None] = {}
    result: dict[int, int | None] = {}
    for uid in user_ids:
        row = rows.get(int(uid))
        if row is None:
            result[int(uid)] = None
            continue
        pp = float(row["pp"])
        if pp not in by_pp:
            by_pp[pp] = await global_rank(db, ruleset_id, pp)
        result[int(uid)] = by_pp[pp]
    return result


async def country_rank(db: Database, ruleset_id: int, pp: float, country: str) -> int | None:
    if pp <= 0:
        return None
    ahead = await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(_ranked_users())
        .where(
            user_statistics.c.ruleset_id == ruleset_id,
            user_statistics.c.pp > pp,
            users.c.country_code == country,
            _visible(),
        )
    )
    return int(ahead or 0) + 1


async def ranked_user_count(db: Database, ruleset_id: int) -> int:
    return int(
        await db.fetch_val(
            sa.select(sa.func.count())
            .select_from(_ranked_users())
            .where(user_statistics.c.ruleset_id == ruleset_id, user_statistics.c.pp > 0, _visible())
        )
        or 0
    )


def shape(
    row: Row | None,
    *,
    global_rank: int | None,
    ranked_users: int = 0,
) -> dict[str, Any]:
    """UserStatistics (osu-web UserStatisticsTransformer.php) from a row (None: never played)."""
    r = row or zero_row(0, 0)
    level = scoring.level_shape(int(r["total_score"]))
    accuracy = float(r["accuracy"])
    return {
        "count_100": int(r["count_100"]),
        "count_300": int(r["count_300"]),
        "count_50": int(r["count_50"]),
        "count_miss": int(r["count_miss"]),
        "level": level,
        "global_rank": global_rank,
        "global_rank_percent": (global_rank / ranked_users)
        if global_rank is not None and ranked_users
        else None,
        "global_rank_exp": None,
        "pp": float(r["pp"]),
        "pp_exp": 0,
        "ranked_score": int(r["ranked_score"]),
        "hit_accuracy": accuracy,
        "accuracy": accuracy / 100,
        "play_count": int(r["play_count"]),
        "play_time": int(r["play_time"]),
        "total_score": int(r["total_score"]),
        "total_hits": int(r["count_300"]) + int(r["count_100"]) + int(r["count_50"]),
        "maximum_combo": int(r["max_combo"]),
        "replays_watched_by_others": int(r["replays_watched"]),
        "is_ranked": global_rank is not None,
        "grade_counts": {
            "ss": int(r["grade_ss"]),
            "ssh": int(r["grade_ssh"]),
            "s": int(r["grade_s"]),
            "sh": int(r["grade_sh"]),
            "a": int(r["grade_a"]),
        },
    }


async def statistics_for(
    db: Database, user_ids: Sequence[int], ruleset_id: int
) -> dict[int, dict[str, Any]]:
    """UserStatistics (with `country_rank`) by user id; all-zero for users without a row."""
    rows = await rows_for(db, user_ids, ruleset_id)
    countries: dict[int, str] = {}
    if rows:
        found = await db.fetch_all(
            sa.select(users.c.id, users.c.country_code).where(users.c.id.in_(list(rows)))
        )
        countries = {int(r[0]): r[1] for r in found}
    total = await ranked_user_count(db, ruleset_id) if rows else 0
    result: dict[int, dict[str, Any]] = {}
    for uid in user_ids:
        row = rows.get(int(uid))
        rank = await global_rank(db, ruleset_id, float(row["pp"])) if row else None
        stats = shape(row, global_rank=rank, ranked_users=total)
        stats["country_rank"] = (
            await country_rank(db, ruleset_id, float(row["pp"]), countries.get(int(uid), ""))
            if row and rank is not None
            else None
        )
        result[int(uid)] = stats
    return result


# --- writes: one score -------------------------------------------------------------------------


async def lock_row(db: Database, user_id: int, ruleset_id: int) -> dict[str, Any]:
    """The user's statistics row, created if missing, locked until the transaction ends."""
    query = (
        user_statistics.select()
        .where(user_statistics.c.user_id == user_id, user_statistics.c.ruleset_id == ruleset_id)
        .with_for_update()
    )
    row = as_row(await db.fetch_one(query))
    if row is None:
        await db.execute(user_statistics.insert().values(**zero_row(user_id, ruleset_id)))
        row = as_row(await db.fetch_one(query))
    assert row is not None
    return {str(k): row[k] for k in row.keys()}


def _grade_delta(values: dict[str, Any], grade: str | None, sign: int) -> None:
    column = GRADE_COLUMNS.get(grade or "")
    if column:
        values[column] += sign


async def apply_score(
    db: Database,
    score: Row,
    beatmap: BeatmapInfo,
    previous_best: Row | None,
) -> dict[str, Any]:
    """Add one stored score to its user's statistics; call inside the submission transaction.

    `previous_best` is the user's leaderboard score on the beatmap before this one (a decoded
    score row) when this score replaced it, else None. Returns the new statistics row.
    """
    user_id, ruleset_id = int(score["user_id"]), int(score["ruleset_id"])
    current = await lock_row(db, user_id, ruleset_id)
    values = {name: int(current[name]) for name in COUNTERS}
    deltas = play_deltas(score, beatmap)
    for name, delta in deltas.items():
        if name != "max_combo":
            values[name] += delta
    if deltas["play_count"]:
        # The profile's plays per month count the same plays as `play_count`.
        await activity.add_to_month(db, user_id, activity.PLAYS, score["ended_at"] or utcnow())
    if combo_counts(score, beatmap):
        values["max_combo"] = max(values["max_combo"], int(score["max_combo"]))
    new_best = score.get("is_new_best", False)
    if new_best and beatmap.status in scores_db.RANKED_SCORE_STATUSES:
        values["ranked_score"] += int(score["classic_total_score"])
        _grade_delta(values, score["rank"], 1)
        if previous_best is not None:
            values["ranked_score"] -= int(previous_best["classic_total_score"])
            _grade_delta(values, previous_best["rank"], -1)
    pp, accuracy = float(current["pp"]), float(current["accuracy"])
    if score["pp"] is not None:
        pp, accuracy = pp_totals(await scores_db.pp_scores(db, user_id, ruleset_id))
        if ruleset_id == variants.MANIA:
            await variants.refresh(db, user_id)
    changes: dict[str, int | float | dt.datetime] = {
        **values,
        "pp": pp,
        "accuracy": accuracy,
        "updated_at": utcnow(),
    }
    await db.execute(
        user_statistics.update()
        .where(user_statistics.c.user_id == user_id, user_statistics.c.ruleset_id == ruleset_id)
        .values(**changes)
    )
    return {**current, **changes}


async def note_rank(db: Database, user_id: int, ruleset_id: int, rank: int | None) -> None:
    """Keep `rank_highest` (the best rank ever reached)."""
    if rank is None:
        return
    await db.execute(
        user_statistics.update()
        .where(
            user_statistics.c.user_id == user_id,
            user_statistics.c.ruleset_id == ruleset_id,
            sa.or_(user_statistics.c.rank_highest.is_(None), user_statistics.c.rank_highest > rank),
        )
        .values(rank_highest=rank, rank_highest_at=utcnow())
    )


# --- writes: from scratch ----------------------------------------------------------------------


async def beatmap_infos(db: Database, beatmap_ids: Iterable[int]) -> dict[int, BeatmapInfo]:
    ids = list(set(beatmap_ids))
    if not ids:
        return {}
    rows = as_rows(
        await db.fetch_all(
            sa.select(
                beatmaps.c.id,
                beatmaps.c.status,
                beatmaps.c.total_length,
                beatmaps.c.count_circles,
                beatmaps.c.count_sliders,
                beatmaps.c.count_spinners,
            ).where(beatmaps.c.id.in_(ids))
        )
    )
    return {int(r["id"]): beatmap_info(r) for r in rows}


def derive(
    user_scores: Sequence[Row], infos: Mapping[int, BeatmapInfo], pp_rows: Sequence[Row]
) -> dict[str, Any]:
    """Every derived statistic of a user in one ruleset from all their scores (oldest first)."""
    values: dict[str, Any] = {name: 0 for name in COUNTERS}
    best: dict[int, Row] = {}
    for score in user_scores:
        info = infos.get(int(score["beatmap_id"]))
        if info is None:
            continue
        for name, delta in play_deltas(score, info).items():
            if name != "max_combo":
                values[name] += delta
        if combo_counts(score, info):
            values["max_combo"] = max(values["max_combo"], int(score["max_combo"]))
        if score["passed"] and score["preserve"]:
            held = best.get(int(score["beatmap_id"]))
            if held is None or score["total_score"] > held["total_score"]:
                best[int(score["beatmap_id"])] = score
    for beatmap_id, score in best.items():
        if infos[beatmap_id].status in scores_db.RANKED_SCORE_STATUSES:
            values["ranked_score"] += int(score["classic_total_score"])
            _grade_delta(values, score["rank"], 1)
    values["pp"], values["accuracy"] = pp_totals(pp_rows)
    return values


async def recompute(db: Database, user_id: int, ruleset_id: int) -> dict[str, Any]:
    """Rebuild the user's leaderboard entries and statistics in a ruleset from their scores."""
    async with db.transaction():
        current = await lock_row(db, user_id, ruleset_id)
        user_scores = await scores_db.user_scores(db, user_id, ruleset_id)
        infos = await beatmap_infos(db, (s["beatmap_id"] for s in user_scores))
        await scores_db.rebuild_bests(db, user_id, ruleset_id)
        values = derive(user_scores, infos, await scores_db.pp_scores(db, user_id, ruleset_id))
        values["updated_at"] = utcnow()
        if ruleset_id == variants.MANIA:
            await variants.refresh(db, user_id)
        await db.execute(
            user_statistics.update()
            .where(user_statistics.c.user_id == user_id, user_statistics.c.ruleset_id == ruleset_id)
            .values(**values)
        )
    return {**current, **values}


# --- rankings ----------------------------------------------------------------------------------


async def ranking_page(
    db: Database,
    ruleset_id: int,
    kind: str,
    *,
    page: int,
    country: str | None = None,
    user_ids: Sequence[int] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """(statistics rows of one page, number of ranked users for these filters)."""
    column = user_statistics.c.pp if kind == "performance" else user_statistics.c.ranked_score
    conditions = [user_statistics.c.ruleset_id == ruleset_id, column > 0, _visible()]
    if country is not None:
        conditions.append(users.c.country_code == country)
    if user_ids is not None:
        conditions.append(user_statistics.c.user_id.in_(list(user_ids)))
    query = (
        sa.select(user_statistics, users.c.country_code)
        .select_from(_ranked_users())
        .where(*conditions)
        .order_by(column.desc(), user_statistics.c.user_id)
        .limit(RANKING_PAGE)
        .offset((page - 1) * RANKING_PAGE)
    )
    rows = [{str(k): r[k] for k in r.keys()} for r in as_rows(await db.fetch_all(query))]
    total = await db.fetch_val(
        sa.select(sa.func.count()).select_from(_ranked_users()).where(*conditions)
    )
    return rows, int(total or 0)


async def country_ranking(
    db: Database, ruleset_id: int, *, page: int
) -> tuple[list[dict[str, Any]], int]:
    performance = sa.func.sum(user_statistics.c.pp).label("performance")
    conditions = [user_statistics.c.ruleset_id == ruleset_id, user_statistics.c.pp > 0, _visible()]
    query = (
        sa.select(
            users.c.country_code.label("code"),
            sa.func.count().label("active_users"),
            sa.func.sum(user_statistics.c.play_count).label("play_count"),
            sa.func.sum(user_statistics.c.ranked_score).label("ranked_score"),
            performance,
        )
        .select_from(_ranked_users())
        .where(*conditions)
        .group_by(users.c.country_code)
        .order_by(performance.desc(), users.c.country_code)
        .limit(RANKING_PAGE)
        .offset((page - 1) * RANKING_PAGE)
    )
    rows = [
        {
            "code": r["code"],
            "active_users": int(r["active_users"]),
            "play_count": int(r["play_count"] or 0),
            "ranked_score": int(r["ranked_score"] or 0),
            "performance": float(r["performance"] or 0),
        }
        for r in await db.fetch_all(query)
    ]
    total = await db.fetch_val(
        sa.select(sa.func.count(sa.distinct(users.c.country_code)))
        .select_from(_ranked_users())
        .where(*conditions)
    )
    return rows, int(total or 0)


# --- rank history ------------------------------------------------------------------------------


async def snapshot_ranks(db: Database, day: dt.date) -> int:
    """Store today's global rank of every ranked user in every ruleset; returns rows written.

    Running twice on a day rewrites that day's rows, so the job is safe to repeat.
    """
    written = 0
    for ruleset_id in range(len(scoring.RULESETS)):
        rows = await db.fetch_all(
            sa.select(user_statistics.c.user_id, user_statistics.c.pp)
            .select_from(_ranked_users())
            .where(user_statistics.c.ruleset_id == ruleset_id, user_statistics.c.pp > 0, _visible())
            .order_by(user_statistics.c.pp.desc(), user_statistics.c.user_id)
        )
        entries = []
        rank, previous_pp = 0, None
        for index, row in enumerate(rows, start=1):
            # Equal pp share a rank, as `global_rank` counts only strictly higher pp.
            if row["pp"] != previous_pp:
                rank, previous_pp = index, row["pp"]
            entries.append(
                {"user_id": row["user_id"], "ruleset_id": ruleset_id, "day": day, "rank": rank}
            )
        async with db.transaction():
            await db.execute(
                rank_history.delete().where(
                    rank_history.c.ruleset_id == ruleset_id, rank_history.c.day == day
                )
            )
            if entries:
                await db.execute_many(rank_history.insert(), entries)
            for entry in entries:
                await note_rank(db, entry["user_id"], ruleset_id, entry["rank"])
        written += len(entries)
    cutoff = day - dt.timedelta(days=RANK_HISTORY_DAYS * 2)
    await db.execute(rank_history.delete().where(rank_history.c.day < cutoff))
    return written


async def history(
    db: Database, user_id: int, ruleset_id: int, today: dt.date, current: int | None
) -> list[int]:
    """90 daily ranks, oldest first, 0 for unranked days; the last is the current rank."""
    start = today - dt.timedelta(days=RANK_HISTORY_DAYS - 1)
    rows = await db.fetch_all(
        sa.select(rank_history.c.day, rank_history.c.rank).where(
            rank_history.c.user_id == user_id,
            rank_history.c.ruleset_id == ruleset_id,
            rank_history.c.day >= start,
        )
    )
    by_day = {r["day"]: int(r["rank"]) for r in rows}
    data = [by_day.get(start + dt.timedelta(days=i), 0) for i in range(RANK_HISTORY_DAYS)]
    data[-1] = current or 0
    return data


async def ranks_on(
    db: Database, user_ids: Sequence[int], ruleset_id: int, day: dt.date
) -> dict[int, int]:
    """The stored global ranks of these users on one day."""
    if not user_ids:
        return {}
    rows = await db.fetch_all(
        sa.select(rank_history.c.user_id, rank_history.c.rank).where(
            rank_history.c.user_id.in_(list(user_ids)),
            rank_history.c.ruleset_id == ruleset_id,
            rank_history.c.day == day,
        )
    )
    return {int(r[0]): int(r[1]) for r in rows}


async def profile_extras(
    db: Database, user_id: int, ruleset_id: int, current_rank: int | None
) -> dict[str, Any]:
    """The score-derived UserExtended includes: rank history and highest rank, score counts."""
    today = dt.datetime.now(dt.UTC).date()
    row = (await rows_for(db, [user_id], ruleset_id)).get(user_id)
    highest = None
    if row is not None and row["rank_highest"] is not None:
        highest = {
            "rank": int(row["rank_highest"]),
            "updated_at": time_z(row["rank_highest_at"]),
        }
    ranked = row is not None and current_rank is not None
    since = utcnow() - dt.timedelta(hours=24)
    return {
        "rank_highest": highest,
        "rank_history": {
            "mode": scoring.ruleset_name(ruleset_id),
            "data": await history(db, user_id, ruleset_id, today, current_rank),
        }
        if ranked
        else None,
        "scores_best_count": len(await scores_db.best_ids(db, user_id, ruleset_id)),
        "scores_first_count": len(
            await scores_db.first_place_ids(
                db, user_id, ruleset_id, scores_db.LEADERBOARD_STATUSES, 1000, 0
            )
        ),
        "scores_pinned_count": await scores_db.pin_counts(db, user_id, ruleset_id),
        "scores_recent_count": len(
            await scores_db.recent_ids(
                db, user_id, ruleset_id, since=since, include_fails=False, limit=100, offset=0
            )
        ),
    }
