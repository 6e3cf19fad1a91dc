"""Recompute per-score pp and user statistics from stored scores, and award the medals they
earn that were missed (`hitcircle recalc`).

Each user is one transaction (all their rulesets together) under the same per-user lock
submissions take: the new pp values are computed first, outside the transaction, then written with
the statistics they change and committed together. A recalc can run beside a live server, be
interrupted at any point and be run again; an interrupted user keeps their old values whole.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from core.beatmaps import store as beatmaps_db
from core.medals import awarding
from core.scores import store as scores_db
from core.scores import submit
from core.services import services
from core.users import profiles, user_statistics


async def score_pp(app: Any, score: Mapping[str, Any], beatmap: Mapping[str, Any]) -> float | None:
    """A score's pp under the beatmap's current status (None where it gives none)."""
    if not submit.eligible_for_pp(score, int(beatmap["status"])):
        return None
    attributes = await submit.performance(app, beatmap, score)
    return None if attributes is None else float(attributes["pp"])


async def recalc_user(
    app: Any,
    user_id: int,
    ruleset_ids: Sequence[int],
    pp: bool = True,
    beatmap_ids: Collection[int] | None = None,
) -> None:
    """Recompute one user's scores (on `beatmap_ids` only, when given) and statistics, whole.

    A score's pp and `ranked` (counted for ranked score) follow its beatmap's current status,
    as they did at submission.
    """
    db = services(app).db
    conf = submit.score_settings(services(app).settings)
    beatmaps: dict[int, Any] = {}
    async with services(app).cache.lock(
        f"scores:user:{user_id}", timeout=max(conf["lock_timeout"], 300), wait=conf["lock_timeout"]
    ):
        changes: list[tuple[int, float | None, bool]] = []
        if pp:
            for ruleset_id in ruleset_ids:
                for score in await scores_db.user_scores(db, user_id, ruleset_id):
                    beatmap_id = int(score["beatmap_id"])
                    if beatmap_ids is not None and beatmap_id not in beatmap_ids:
                        continue
                    if beatmap_id not in beatmaps:
                        beatmaps[beatmap_id] = await beatmaps_db.beatmap_by_id(db, beatmap_id)
                    if beatmaps[beatmap_id] is None:
                        continue
                    beatmap = beatmaps[beatmap_id]
                    value = await score_pp(app, score, beatmap)
                    ranked = int(beatmap["status"]) in scores_db.LEADERBOARD_STATUSES
                    if value != score["pp"] or ranked != bool(score["ranked"]):
                        changes.append((int(score["id"]), value, ranked))
        async with db.transaction():
            for score_id, value, ranked in changes:
                await scores_db.set_worth(db, score_id, value, ranked)
            for ruleset_id in ruleset_ids:
                await user_statistics.recompute(db, user_id, ruleset_id)
    await award_missed(app, user_id, ruleset_ids, beatmap_ids)
    await profiles.invalidate(services(app), user_id)


async def award_missed(
    app: Any, user_id: int, ruleset_ids: Sequence[int], beatmap_ids: Collection[int] | None = None
) -> int:
    """Run the medal rules over the user's stored passed scores, oldest first, and store the
    medals they earn that the user lacks (rules added since, or a failed award). No unlock is
    pushed: these are not news to a player who is playing now. Returns how many were given."""
    given = 0
    for ruleset_id in ruleset_ids:
        for score in await scores_db.user_scores(services(app).db, user_id, ruleset_id):
            if not score["passed"]:
                continue
            if beatmap_ids is not None and int(score["beatmap_id"]) not in beatmap_ids:
                continue
            given += len(await awarding.award_for_score(app, score, notify=False))
    return given


async def recalc(
    app: Any,
    *,
    ruleset_id: int | None = None,
    user_ids: Sequence[int] | None = None,
    pp: bool = True,
    progress: Callable[[int, int, int], None] | None = None,
) -> int:
    """Recompute the given users (default: everyone with scores); returns how many."""
    db = services(app).db
    targets = (
        list(user_ids) if user_ids is not None else await scores_db.scored_users(db, ruleset_id)
    )
    for done, user_id in enumerate(targets, start=1):
        rulesets = (
            [ruleset_id] if ruleset_id is not None else await scores_db.user_rulesets(db, user_id)
        )
        await recalc_user(app, user_id, rulesets, pp=pp)
        if progress is not None:
            progress(done, len(targets), user_id)
    return len(targets)


async def recalc_beatmaps(app: Any, beatmap_ids: Collection[int]) -> int:
    """Recompute pp on these beatmaps and the statistics of everyone with scores on them (after
    a status change). Returns how many users changed."""
    db = services(app).db
    ids = list(beatmap_ids)
    if not ids:
        return 0
    table = scores_db.scores
    rows = await db.fetch_all(
        sa.select(table.c.user_id, table.c.ruleset_id)
        .where(table.c.beatmap_id.in_(ids))
        .group_by(table.c.user_id, table.c.ruleset_id)
        .order_by(table.c.user_id, table.c.ruleset_id)
    )
    rulesets: dict[int, list[int]] = {}
    for row in rows:
        rulesets.setdefault(int(row[0]), []).append(int(row[1]))
    for user_id, user_rulesets in rulesets.items():
        await recalc_user(app, user_id, user_rulesets, beatmap_ids=set(ids))
    return len(rulesets)
