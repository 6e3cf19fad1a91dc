"""Each UTC day's daily challenge room: made once, whoever asks first (the job on any worker,
or `hitcircle daily-challenge rotate`), from the next pool entry or else a random ranked map.

The room is a playlists room of category `daily_challenge` with one item, open from the day's
00:00 UTC to the next (osu-web `Room::dailyChallengeFor`; the client finds it through the
metadata hub's `DailyChallengeUpdated` and `GET rooms/{id}`). A new room is announced on
`CHANNEL`, which the metadata hub of every worker relays to its connections.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import orjson
import sqlalchemy as sa
from loguru import logger

from core.beatmaps.store import beatmaps, beatmapsets
from core.daily_challenge import stats
from core.daily_challenge import store as dc_db
from core.db import duplicate_errors, utcnow
from core.rooms import listing, playlists
from core.rooms import store as rooms_db
from core.rooms.scores import SUBMIT_GRACE_SECONDS
from core.services import services
from core.users import store as users_db

# Published (JSON `{"room_id": id}`) when a day's room is made, `{"room_id": null}` when a day began
# without one.
CHANNEL = "daily-challenge:updated"
# osu-web ranked and approved.
RANKED_STATUSES = (1, 2)


def day_of(timestamp: float) -> dt.date:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).date()


def day_start(day: dt.date) -> dt.datetime:
    """00:00 UTC of `day`, naive as DATETIME columns hold it."""
    return dt.datetime.combine(day, dt.time())


async def random_ranked(db: Any, ruleset_id: int | None) -> Any:
    """A ranked or approved difficulty, any one (of `ruleset_id` if given), or None."""
    condition = sa.and_(
        beatmaps.c.status.in_(RANKED_STATUSES),
        beatmaps.c.deleted_at.is_(None),
        beatmapsets.c.deleted_at.is_(None),
    )
    if ruleset_id is not None:
        condition = sa.and_(condition, beatmaps.c.mode == ruleset_id)
    joined = beatmaps.join(beatmapsets, beatmapsets.c.id == beatmaps.c.beatmapset_id)
    count = int(
        await db.fetch_val(sa.select(sa.func.count()).select_from(joined).where(condition)) or 0
    )
    if not count:
        return None
    # Count then offset: portable (no RANDOM()/RAND() dialect split) and uniform.
    return await db.fetch_one(
        sa.select(beatmaps.c.id, beatmaps.c.mode)
        .select_from(joined)
        .where(condition)
        .order_by(beatmaps.c.id)
        .offset(random.randrange(count))
        .limit(1)
    )


async def rotate(
    app: Any, day: dt.date, *, host_user_id: int, ruleset_id: int | None
) -> tuple[int | None, bool]:
    """The room of `day`, made now unless it exists: (room id or None, made by this call).

    None when the pool is empty and no ranked map exists. Idempotent: a day has one room
    (the `daily_challenge_rooms` primary key), so concurrent callers end up with the same one.
    """
    db = services(app).db
    existing = await dc_db.room_of(db, day)
    if existing is not None:
        return existing, False
    entry = await dc_db.next_entry(db)
    if entry is not None:
        beatmap_id, ruleset = int(entry["beatmap_id"]), int(entry["ruleset_id"])
        required, allowed = entry["required_mods"], entry["allowed_mods"]
    else:
        picked = await random_ranked(db, ruleset_id)
        if picked is None:
            logger.info("daily challenge {}: empty pool and no ranked map; no room", day)
            return None, False
        beatmap_id, ruleset = int(picked[0]), int(picked[1])
        required, allowed = [], []
    starts = day_start(day)
    name = f"Daily Challenge: {day.isoformat()}"
    try:
        async with db.transaction():
            room_id = await rooms_db.create_room(
                db,
                {
                    "name": name,
                    "category": "daily_challenge",
                    "type": rooms_db.PLAYLISTS,
                    "user_id": host_user_id,
                    "starts_at": starts,
                    "ends_at": starts + dt.timedelta(days=1),
                    "created_at": utcnow(),
                },
            )
            await rooms_db.insert_item(
                db,
                room_id,
                {
                    "owner_id": host_user_id,
                    "beatmap_id": beatmap_id,
                    "ruleset_id": ruleset,
                    "required_mods": required,
                    "allowed_mods": allowed,
                    "playlist_order": 0,
                },
            )
            await dc_db.add_day(db, day, room_id)
            if entry is not None:
                await dc_db.mark_used(db, int(entry["id"]), day)
    except duplicate_errors():
        # Another worker or the CLI made the day's room first: theirs is the one.
        return await dc_db.room_of(db, day), False
    host = await users_db.get_user(db, host_user_id)
    if host is not None:
        try:
            await playlists.create_channel(app, room_id, name, host)
        except Exception as exc:  # the room stands without its chat
            logger.warning("daily challenge {}: chat channel not made: {!r}", day, exc)
    await listing.changed(services(app))
    return room_id, True


async def announce(app: Any, room_id: int | None) -> None:
    """Tell every worker's metadata hub connections of the day's room (None: there is none)."""
    await services(app).cache.publish(CHANNEL, orjson.dumps({"room_id": room_id}))


async def finalise_due(app: Any, now: float) -> list[dt.date]:
    """Count the placements of every past day whose room no longer takes scores."""
    db = services(app).db
    done = []
    for day, room_id in await dc_db.unfinalised(db, day_of(now)):
        closes = day_start(day) + dt.timedelta(days=1, seconds=SUBMIT_GRACE_SECONDS)
        if dt.datetime.fromtimestamp(now, dt.UTC).replace(tzinfo=None) < closes:
            continue
        if await stats.finalise(db, day, room_id):
            done.append(day)
    return done


async def current_room(app: Any, now: float) -> int | None:
    """The room of the day `now` falls in, if it has been made."""
    return await dc_db.room_of(services(app).db, day_of(now))
