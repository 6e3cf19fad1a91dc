"""Daily challenge statistics over several days on a fake clock: the job makes each day's
room and, once the day is over, counts its placements; streaks go on, break and read 0 when
not kept up (osu-web DailyChallengeUserStats rules)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from starlette.applications import Starlette

from core.clock import ManualClock
from core.daily_challenge import rotation, stats
from core.daily_challenge import store as dc_db
from core.rooms import store as rooms_db
from core.services import services
from core.testing import advance
from tests.conftest import create_user
from tests.scores import support

DAY = 86400.0
MONDAY = dt.date(2026, 11, 30)
SCORE_IDS = itertools.count(1)


@pytest.fixture
def clock() -> ManualClock:
    # Monday noon UTC: each `advance(DAY)` wakes the hourly job on the next day at noon.
    return ManualClock(start=dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC).timestamp())


async def played(app: Starlette, day: dt.date, user_id: int, total: int) -> None:
    """A passed play of `day`'s room: its best on the room's board, and the day's play."""
    db = services(app).db
    room_id = await dc_db.room_of(db, day)
    assert room_id is not None, day
    (item,) = (await rooms_db.items_of(db, [room_id]))[room_id]
    await db.execute(
        rooms_db.room_item_bests.insert().values(
            playlist_item_id=item["id"],
            user_id=user_id,
            room_id=room_id,
            score_id=next(SCORE_IDS),
            total_score=total,
            accuracy=1.0,
            pp=0.0,
        )
    )
    await stats.record_play(db, user_id, day)


async def test_streaks_and_placements_across_days(app: Starlette, clock: ManualClock) -> None:
    db = services(app).db
    await support.import_map(app, 0)
    a, b, c = [await create_user(app, name) for name in ("aaa", "bbb", "ccc")]
    # The next hourly run makes Monday's room (start-up had no map to use).
    await advance(app, 3600)
    schedule: dict[int, dict[int, int]] = {
        0: {a: 900_000, b: 100_000, c: 500_000},  # Mon 30 Nov
        1: {a: 900_000},
        2: {a: 900_000, b: 100_000},  # Wed
        3: {a: 900_000},
        4: {a: 900_000},
        5: {a: 900_000},  # Sat: a's sixth day in a row
        6: {},  # Sun: nobody
        7: {a: 900_000},  # Mon 7 Dec, the next week
    }
    for offset, plays in schedule.items():
        day = MONDAY + dt.timedelta(days=offset)
        assert rotation.day_of(clock.time()) == day
        for user_id, total in plays.items():
            await played(app, day, user_id, total)
        # Noon the next day: the next room is made and this day's placements are counted.
        await advance(app, DAY)
    today = MONDAY + dt.timedelta(days=8)
    assert await dc_db.room_of(db, today) is not None
    assert await dc_db.unfinalised(db, today) == []

    rows = await dc_db.stats_of(db, [a, b, c])
    seen = {uid: stats.view(rows.get(uid), uid, today, never="never") for uid in (a, b, c)}
    assert seen[a] | {"user_id": 0} == {
        "daily_streak_best": 6,
        "daily_streak_current": 1,
        "last_update": "2026-12-07T00:00:00+00:00",
        "last_weekly_streak": "2026-12-07T00:00:00+00:00",
        "playcount": 7,
        # Alone or first every day it played.
        "top_10p_placements": 7,
        "top_50p_placements": 0,
        "user_id": 0,
        "weekly_streak_best": 2,
        "weekly_streak_current": 2,
    }
    # b: Monday below both thresholds of three (900k, 500k), Wednesday the top 50% of two.
    assert (seen[b]["playcount"], seen[b]["top_10p_placements"]) == (2, 0)
    assert seen[b]["top_50p_placements"] == 1
    assert (seen[b]["daily_streak_best"], seen[b]["daily_streak_current"]) == (1, 0)
    # Last played in the week before this one: the weekly streak is still alive.
    assert (seen[b]["weekly_streak_current"], seen[b]["weekly_streak_best"]) == (1, 1)
    assert (seen[c]["top_10p_placements"], seen[c]["top_50p_placements"]) == (0, 1)

    # A day counts once: a replayed finalisation or a second play that day changes nothing.
    monday_room = await dc_db.room_of(db, MONDAY)
    assert monday_room is not None
    assert not await stats.finalise(db, MONDAY, monday_room)
    assert not await stats.record_play(db, a, MONDAY + dt.timedelta(days=7))
    assert await dc_db.stats_of(db, [a, b, c]) == rows

    # Two weeks on without a play: both of a's streaks read 0, the bests stay.
    later = stats.view(rows[a], a, today + dt.timedelta(days=14), never="never")
    assert (later["daily_streak_current"], later["weekly_streak_current"]) == (0, 0)
    assert (later["daily_streak_best"], later["weekly_streak_best"]) == (6, 2)
    nobody = stats.view(None, 42, today, never="2020-01-01T00:00:00+00:00")
    assert nobody["playcount"] == 0 and nobody["last_update"] == "2020-01-01T00:00:00+00:00"


def test_streak_rules() -> None:
    row = stats.empty(1)
    days = [MONDAY + dt.timedelta(days=n) for n in (0, 1, 3, 14, 15)]
    seen = []
    for day in days:
        new = stats.after_play(row, day)
        assert new is not None
        row = new
        seen.append((row["daily_streak_current"], row["weekly_streak_current"]))
    # Mon, Tue (2 in a row), Thu (a gap: 1), Mon two weeks on (a week missed: weekly 1), Tue.
    assert seen == [(1, 1), (2, 1), (1, 1), (1, 1), (2, 1)]
    assert (row["daily_streak_best"], row["weekly_streak_best"], row["playcount"]) == (2, 1, 5)
    assert stats.after_play(row, days[-1]) is None
    # The week after the last one played goes on.
    on = stats.after_play(row, days[-1] + dt.timedelta(days=7))
    assert on is not None and on["weekly_streak_current"] == 2
    assert stats.thresholds([]) is None
    assert stats.thresholds([10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]) == (9, 5)
