"""The daily challenge: the job that makes each UTC day's room, the statistics of its plays,
and `hitcircle daily-challenge pool add|list|remove | rotate`."""

from __future__ import annotations

from typing import Any

from loguru import logger
from starlette.applications import Starlette

from core.config import Key, Section, Settings
from core.daily_challenge import rotation, stats
from core.daily_challenge import store as dc_db
from core.hooks import hookimpl
from core.jobs import Job, current_tick
from core.services import services
from core.users import profiles

# Hourly: the tick at 00:00 UTC makes the day's room; later ticks count the placements of the
# day before once its late scores are in, and make the room if 00:00 was missed.
INTERVAL = 3600.0
DAY = 86400.0


def _ruleset(value: Any) -> str | None:
    return None if value in (-1, 0, 1, 2, 3) else "must be -1 (any) or a ruleset id 0-3"


SECTION = Section(
    "daily_challenge",
    (
        Key(
            "host_user_id",
            2,
            "The user shown as the rooms' host (give an existing account, such as a bot).",
            min=1,
        ),
        Key(
            "random_ruleset",
            0,
            "Ruleset of the random ranked map picked when the pool is empty (-1: any).",
            check=_ruleset,
        ),
    ),
    "The daily challenge room (made every day at 00:00 UTC; disable the plugin to stop it).",
)


def settings_of(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


async def make_room(app: Any, now: float) -> tuple[int | None, bool]:
    config = settings_of(services(app).settings)
    ruleset = int(config["random_ruleset"])
    return await rotation.rotate(
        app,
        rotation.day_of(now),
        host_user_id=int(config["host_user_id"]),
        ruleset_id=None if ruleset < 0 else ruleset,
    )


async def daily_job(app: Any) -> None:
    tick = current_tick()
    # The tick is when the run was due; a clock moved on past it (tests) counts from now.
    now = max(tick * INTERVAL if tick is not None else 0.0, services(app).clock.time())
    room_id, made = await make_room(app, now)
    if made and room_id is not None:
        logger.info("daily challenge room {} made for {}", room_id, rotation.day_of(now))
        await rotation.announce(app, room_id)
    elif room_id is None and now % DAY < INTERVAL:
        # The day began without a room: clients showing yesterday's are told there is none.
        await rotation.announce(app, None)
    await rotation.finalise_due(app, services(app).clock.time())


@hookimpl
def settings_sections() -> list[Section]:
    return [SECTION]


@hookimpl
def jobs() -> list[Job]:
    return [Job("daily-challenge", INTERVAL, daily_job, run_at_start=True, once=True)]


@hookimpl
async def score_processed(app: Starlette, score: dict[str, Any]) -> None:
    """A passed play with points on a day's room is that day's play."""
    if not score.get("passed") or int(score.get("total_score") or 0) <= 0:
        return
    db = services(app).db
    day = await dc_db.day_of_score(db, int(score["id"]))
    if day is None:
        return
    if await stats.record_play(db, int(score["user_id"]), day):
        await profiles.invalidate(services(app), int(score["user_id"]))


@hookimpl
def commands(cli: Any) -> None:
    from plugins.daily_challenge.cli import add_commands

    add_commands(cli)
