"""Recent activity from scores: `rank` events for new bests in a beatmap's top 1000 and
`rankLost` for the player who lost first place (ppy/osu-web `app/Models/Event.php`).

Other events (username changes, beatmapset uploads and status changes) are written where those
changes are stored; this plugin only listens to `score_processed`. Disable it and no score makes
an event.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from core.hooks import hookimpl
from core.services import services
from core.users import events


@hookimpl
async def score_processed(app: Starlette, score: dict[str, Any]) -> None:
    await events.score_events(services(app).db, score)
