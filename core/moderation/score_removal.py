"""Deleting a score, or every score of a player, with their statistics and ranks recomputed.

The removal and the recomputation run under the player's submission lock (as `hitcircle recalc`
does, `core.scores.recalc`), so a score submitted meanwhile is not lost from the statistics.
Ranks follow from pp (`core.users.user_statistics.global_rank`), so recomputing pp moves them;
the leaderboards the scores were on and the player's cached profile are dropped, and a playlist
room's aggregate built from a removed score is rebuilt from the scores left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.http import in_int64
from core.moderation.audit import Actor, ModerationError, check_target, record, require
from core.rooms import listing
from core.rooms import store as rooms_db
from core.scores import leaderboard, submit
from core.scores import store as scores_db
from core.scores.scoring import RULESETS
from core.services import Services
from core.users import profiles, user_statistics

Row = Mapping[str, Any]


async def _remove(svc: Services, user_id: int, keys: Sequence[tuple[int, int, int]]) -> int:
    conf = submit.score_settings(svc.settings)
    async with svc.cache.lock(
        f"scores:user:{user_id}", timeout=max(conf["lock_timeout"], 300), wait=conf["lock_timeout"]
    ):
        ids = [k[0] for k in keys]
        rooms = await rooms_db.rooms_of_scores(svc.db, ids)
        deleted = await scores_db.delete_scores(svc.db, ids)
        # Playlist aggregates were built from these scores: rebuilt from what is left.
        for room_id, room_user in rooms:
            await rooms_db.rebuild_aggregate(svc.db, room_id, room_user)
        if rooms:
            await listing.changed(svc)
        for ruleset_id in sorted({k[2] for k in keys}):
            await user_statistics.recompute(svc.db, user_id, ruleset_id)
    for score_id, _, _ in keys:
        await svc.storage.delete(scores_db.replay_key(score_id))
    for beatmap_id, ruleset_id in sorted({(k[1], k[2]) for k in keys}):
        await leaderboard.changed(svc.cache, beatmap_id, ruleset_id)
    # Their pins of these scores went with them.
    await leaderboard.forget_pins(svc.cache, [user_id])
    await profiles.invalidate(svc, user_id)
    return deleted


async def delete_score(
    svc: Services, actor: Actor, score_id: int, reason: str | None
) -> dict[str, Any]:
    require(actor, "score_delete")
    score = await scores_db.get_score(svc.db, score_id) if in_int64(score_id) else None
    if score is None:
        raise ModerationError("Specified Solo\\Score couldn't be found.", 404)
    user_id = int(score["user_id"])
    if actor.user_id == user_id:
        raise ModerationError("You can't do that to yourself.")
    keys = [(score_id, int(score["beatmap_id"]), int(score["ruleset_id"]))]
    await _remove(svc, user_id, keys)
    return await record(
        svc.db,
        actor,
        "score_delete",
        user_id=user_id,
        reason=reason,
        score_id=score_id,
        beatmap_id=int(score["beatmap_id"]),
        ruleset=RULESETS[int(score["ruleset_id"])],
        total_score=int(score["total_score"]),
        pp=score["pp"],
    )


async def wipe_scores(
    svc: Services, actor: Actor, target: Row, ruleset: str | None, reason: str | None
) -> dict[str, Any]:
    """Every score of the user (in one ruleset when given)."""
    require(actor, "scores_wipe")
    await check_target(svc.db, actor, target)
    if ruleset is not None and ruleset not in RULESETS:
        raise ModerationError(f"ruleset must be one of {', '.join(RULESETS)}")
    ruleset_id = None if ruleset is None else RULESETS.index(ruleset)
    user_id = int(target["id"])
    keys = await scores_db.user_score_keys(svc.db, user_id, ruleset_id)
    deleted = await _remove(svc, user_id, keys) if keys else 0
    return await record(
        svc.db,
        actor,
        "scores_wipe",
        user_id=user_id,
        reason=reason,
        ruleset=ruleset,
        deleted=deleted,
    )
