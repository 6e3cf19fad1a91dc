"""Recompute per-score pp and user statistics from stored scores (`hitcircle recalc`).

Each user and ruleset is one transaction under the same per-user lock submissions take, so a
recalc can run beside a live server, be interrupted and be run again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from core.beatmaps import store as beatmaps_db
from core.scores import store as scores_db
from core.scores import submit
from core.services import services
from core.users import user_statistics


async def recalc_score_pp(app: Any, score: dict[str, Any], beatmap: Any) -> bool:
    """Recompute one score's pp; True when it changed."""
    pp = None
    if submit.eligible_for_pp(score, int(beatmap["status"])):
        attributes = await submit.performance(app, beatmap, score)
        pp = None if attributes is None else float(attributes["pp"])
    if pp != score["pp"]:
        await scores_db.set_pp(services(app).db, int(score["id"]), pp)
        score["pp"] = pp
        return True
    return False


async def recalc_user(app: Any, user_id: int, ruleset_ids: Sequence[int], pp: bool = True) -> None:
    db = services(app).db
    conf = submit.score_settings(services(app).settings)
    beatmaps: dict[int, Any] = {}
    async with services(app).cache.lock(
        f"scores:user:{user_id}", timeout=max(conf["lock_timeout"], 300), wait=conf["lock_timeout"]
    ):
        for ruleset_id in ruleset_ids:
            if pp:
                for score in await scores_db.user_scores(db, user_id, ruleset_id):
                    beatmap_id = int(score["beatmap_id"])
                    if beatmap_id not in beatmaps:
                        beatmaps[beatmap_id] = await beatmaps_db.beatmap_by_id(db, beatmap_id)
                    if beatmaps[beatmap_id] is not None:
                        await recalc_score_pp(app, score, beatmaps[beatmap_id])
            await user_statistics.recompute(db, user_id, ruleset_id)


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
