"""An operator's status change of a beatmapset (`hitcircle beatmaps status`).

The set and its difficulties get the status in one transaction with an entry in the change queue
(lazer refreshes the set through the metadata hub); cached views and leaderboards of the set are
dropped; pp and statistics of everyone with scores on the set are recomputed for the new status.
Scores are kept: unlike osu-web, which removes a set's scores when it becomes ranked, a community
server keeps its players' plays and only changes what they are worth.
"""

from __future__ import annotations

from typing import Any

from core.beatmaps import set_events
from core.beatmaps import store as beatmaps_db
from core.beatmaps.resolve import invalidate
from core.db import utcnow
from core.scores import leaderboard
from core.scores.recalc import recalc_beatmaps
from core.services import services


class UnknownSet(LookupError):
    """No beatmapset with this id is stored."""


async def change_status(app: Any, set_id: int, status: str) -> int:
    """Give a stored set a status; returns how many players' statistics were recomputed."""
    svc = services(app)
    before = await beatmaps_db.beatmapset_by_id(svc.db, set_id)
    beatmap_ids = await beatmaps_db.set_status(
        svc.db, set_id, beatmaps_db.STATUS_IDS[status], utcnow()
    )
    if not beatmap_ids:
        raise UnknownSet(set_id)
    old = beatmaps_db.STATUS_NAMES.get(int(before["status"])) if before is not None else None
    for kind in set_events.status_events(old, status):
        await set_events.record(svc.db, set_id, kind)
    await invalidate(app, set_id, beatmap_ids)
    for beatmap_id in beatmap_ids:
        await leaderboard.beatmap_changed(svc.cache, beatmap_id)
    return await recalc_beatmaps(app, beatmap_ids)
