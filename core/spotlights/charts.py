"""The chart of a spotlight: players ranked by the sum of their best score on each of its
beatmaps, set within its window (osu-web RankingController::spotlight, which shows the top 40).

Two queries whatever the number of players: the ranking (with the participant count as a window
over it), then the details of the shown players' counted scores: hit counts, play time (the
beatmaps' lengths) and pp (the counted scores' pp weighted 0.95ⁱ from the best down, as a
profile's total is, without its bonus for the number of scores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from databases import Database

from core.beatmaps import store as beatmaps_db
from core.beatmaps.store import beatmaps
from core.scores.scoring import ruleset_name, weighted_pp
from core.scores.store import scores
from core.spotlights import store as spotlights_db
from core.spotlights.store import spotlight_beatmapsets
from core.users.store import users
from core.users.user_statistics import GRADE_COLUMNS, hit_counts

Row = Mapping[str, Any]

# osu-web RankingController::SPOTLIGHT_MAX_RESULTS.
MAX_RESULTS = 40


def _best_scores(spotlight: Row, ruleset_id: int) -> Any:
    """Every counted score, numbered per (player, beatmap) from the best (n = 1) down."""
    conditions = [
        spotlight_beatmapsets.c.spotlight_id == int(spotlight["id"]),
        scores.c.ruleset_id == ruleset_id,
        scores.c.passed.is_(True),
        scores.c.ended_at >= spotlight["start_date"],
        scores.c.ended_at <= spotlight["end_date"],
        users.c.restricted.is_(False),
        users.c.is_deleted.is_(False),
    ]
    if spotlight["mode_specific"]:
        conditions.append(beatmaps.c.mode == ruleset_id)
    place = (
        sa.func.row_number()
        .over(
            partition_by=(scores.c.user_id, scores.c.beatmap_id),
            order_by=(scores.c.total_score.desc(), scores.c.id),
        )
        .label("n")
    )
    return (
        sa.select(
            scores.c.user_id,
            scores.c.total_score,
            scores.c.accuracy,
            scores.c.max_combo,
            scores.c.rank,
            scores.c.statistics,
            scores.c.pp,
            beatmaps.c.total_length,
            place,
        )
        .select_from(
            scores.join(beatmaps, beatmaps.c.id == scores.c.beatmap_id)
            .join(
                spotlight_beatmapsets,
                spotlight_beatmapsets.c.beatmapset_id == beatmaps.c.beatmapset_id,
            )
            .join(users, users.c.id == scores.c.user_id)
        )
        .where(*conditions)
        .subquery("best")
    )


async def ranking(
    db: Database, spotlight: Row, ruleset_id: int, *, limit: int = MAX_RESULTS
) -> tuple[list[dict[str, Any]], int]:
    """(statistics rows of the top `limit` players, number of players with a counted score).

    Each row has the columns of `user_statistics.shape`: ranked and total score are the sum of
    the player's best score per beatmap, play_count the number of those scores, accuracy their
    average, the grade counts and hit counts theirs.
    """
    best = _best_scores(spotlight, ruleset_id)
    grades = {
        column: sa.func.sum(sa.case((best.c.rank == grade, 1), else_=0)).label(column)
        for grade, column in GRADE_COLUMNS.items()
    }
    total = sa.func.sum(best.c.total_score)
    query = (
        sa.select(
            best.c.user_id,
            total.label("ranked_score"),
            sa.func.count().label("play_count"),
            sa.func.avg(best.c.accuracy).label("accuracy"),
            sa.func.max(best.c.max_combo).label("max_combo"),
            *grades.values(),
            sa.func.count().over().label("participants"),
        )
        .where(best.c.n == 1)
        .group_by(best.c.user_id)
        .order_by(total.desc(), best.c.user_id)
        .limit(limit)
    )
    rows = await db.fetch_all(query)
    if not rows:
        return [], 0
    participants = int(rows[0]["participants"])
    shown = [int(r["user_id"]) for r in rows]
    details = await _details(db, spotlight, ruleset_id, shown)
    out = []
    for r in rows:
        uid = int(r["user_id"])
        n300, n100, n50, miss, play_time, pp = details.get(uid, (0, 0, 0, 0, 0, 0.0))
        out.append(
            {
                "user_id": uid,
                "ranked_score": int(r["ranked_score"] or 0),
                "total_score": int(r["ranked_score"] or 0),
                "play_count": int(r["play_count"]),
                "play_time": play_time,
                "accuracy": float(r["accuracy"] or 0) * 100,
                "max_combo": int(r["max_combo"] or 0),
                "pp": pp,
                "replays_watched": 0,
                "count_300": n300,
                "count_100": n100,
                "count_50": n50,
                "count_miss": miss,
                **{column: int(r[column] or 0) for column in GRADE_COLUMNS.values()},
            }
        )
    return out, participants


async def _details(
    db: Database, spotlight: Row, ruleset_id: int, user_ids: Sequence[int]
) -> dict[int, tuple[int, int, int, int, int, float]]:
    """Per shown player: (300s, 100s, 50s, misses, play time in seconds, pp)."""
    best = _best_scores(spotlight, ruleset_id)
    rows = await db.fetch_all(
        sa.select(best.c.user_id, best.c.statistics, best.c.pp, best.c.total_length).where(
            best.c.n == 1, best.c.user_id.in_(list(user_ids))
        )
    )
    ruleset = ruleset_name(ruleset_id)
    sums: dict[int, list[int]] = {}
    pps: dict[int, list[float]] = {}
    for row in rows:
        uid = int(row["user_id"])
        counts = hit_counts(orjson.loads(row["statistics"] or "{}"), ruleset)
        total = sums.setdefault(uid, [0, 0, 0, 0, 0])
        for i, value in enumerate(counts):
            total[i] += value
        total[4] += int(row["total_length"] or 0)
        pps.setdefault(uid, []).append(float(row["pp"] or 0.0))
    return {
        uid: (t[0], t[1], t[2], t[3], t[4], weighted_pp(sorted(pps[uid], reverse=True), 0))
        for uid, t in sums.items()
    }


async def beatmapsets(db: Database, spotlight: Row, ruleset_id: int) -> list[Row]:
    """The chart's live beatmapsets in id order; a mode-specific spotlight's chart of a ruleset
    shows the sets made for that ruleset (osu-web RankingController::spotlight)."""
    set_ids = await spotlights_db.set_ids(db, int(spotlight["id"]))
    found = await beatmaps_db.beatmapsets_by_ids(db, set_ids)
    sets = [found[i] for i in set_ids if i in found and found[i]["deleted_at"] is None]
    if spotlight["mode_specific"]:
        maps = await beatmaps_db.beatmaps_of_sets(db, [int(s["id"]) for s in sets])
        sets = [s for s in sets if any(m["mode"] == ruleset_id for m in maps.get(s["id"], []))]
    return sets
