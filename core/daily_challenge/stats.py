"""Daily challenge statistics per player (osu-web app/Models/DailyChallengeUserStats.php).

osu-web computes them once a day for the day's room. Here a play counts when it is made (so the
profile shows it at once) and the placements, which need the day's final board, when the day
is over:

- A passed score with total above 0 on the day's room is the day's play: `playcount` + 1, the
  daily streak goes on if the last play was the day before (else starts again at 1), the weekly
  streak (weeks from Monday) goes on if the last play was the week before, stays within a week,
  and starts again at 1 after a gap. Further plays the same day change nothing.
  (osu-web counts a week only when the previous week was played, so after a missed week its
  weekly streak stays 0; here the week played starts a new streak at 1.)
- Placements: with the day's best scores by total descending and `n` of them, a score at or
  above the total at index `int(n * 0.1)` is a top 10% placement, else at or above the one at
  `int(n * 0.5)` a top 50% placement (osu-web's thresholds).
- A streak not kept up reads 0 (osu-web resets it in its daily run; here `view` does on
  reading, as of the day given).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.daily_challenge import store as dc_db
from core.db import duplicate_errors
from core.rooms.store import room_item_bests, room_playlist_items


def week_of(day: dt.date) -> dt.date:
    """The Monday starting `day`'s week."""
    return day - dt.timedelta(days=day.weekday())


def empty(user_id: int) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "last_update": None,
        "last_weekly_streak": None,
        **{name: 0 for name in dc_db.STAT_COUNTERS},
    }


def after_play(row: Mapping[str, Any], day: dt.date) -> dict[str, Any] | None:
    """The user's stats once `day`'s play counts; None when the day counted already."""
    last: dt.date | None = row["last_update"]
    if last is not None and last >= day:
        return None
    new = dict(row)
    new["playcount"] = int(row["playcount"]) + 1
    yesterday = day - dt.timedelta(days=1)
    new["daily_streak_current"] = int(row["daily_streak_current"]) + 1 if last == yesterday else 1
    week, last_week = week_of(day), row["last_weekly_streak"]
    if last_week == week:
        new["weekly_streak_current"] = max(1, int(row["weekly_streak_current"]))
    elif last_week == week - dt.timedelta(days=7):
        new["weekly_streak_current"] = int(row["weekly_streak_current"]) + 1
    else:
        new["weekly_streak_current"] = 1
    new["last_update"] = day
    new["last_weekly_streak"] = week
    for kind in ("daily", "weekly"):
        new[f"{kind}_streak_best"] = max(
            int(row[f"{kind}_streak_best"]), new[f"{kind}_streak_current"]
        )
    return new


async def record_play(db: Database, user_id: int, day: dt.date) -> bool:
    """Count `day`'s play of `user_id`; True when it was the day's first. Safe against
    concurrent calls: a row that changed since it was read is read again."""
    for _ in range(5):
        row = (await dc_db.stats_of(db, [user_id])).get(user_id)
        new = after_play(row if row is not None else empty(user_id), day)
        if new is None:
            return False
        if row is None:
            try:
                await dc_db.insert_stats(db, new)
                return True
            except duplicate_errors():
                continue
        values = {k: v for k, v in new.items() if k != "user_id"}
        if await dc_db.update_stats_if(db, user_id, row["last_update"], values):
            return True
    return False


def thresholds(totals: list[int]) -> tuple[int, int] | None:
    """(top 10% total, top 50% total) of totals sorted descending; None when empty."""
    if not totals:
        return None
    n = len(totals)
    return totals[int(n * 0.1)], totals[int(n * 0.5)]


async def finalise(db: Database, day: dt.date, room_id: int) -> bool:
    """Count `day`'s placements, once (False when already counted)."""
    if not await dc_db.claim_finalise(db, day):
        return False
    b = room_item_bests.c
    first_item = (
        sa.select(room_playlist_items.c.id)
        .where(room_playlist_items.c.room_id == room_id)
        .order_by(room_playlist_items.c.id)
        .limit(1)
        .scalar_subquery()
    )
    rows = await db.fetch_all(
        sa.select(b.user_id, b.total_score)
        .where(b.playlist_item_id == first_item, b.total_score > 0)
        .order_by(b.total_score.desc(), b.score_id)
    )
    totals = [int(r[1]) for r in rows]
    limits = thresholds(totals)
    if limits is None:
        return True
    top10, top50 = limits
    ten = [int(r[0]) for r in rows if int(r[1]) >= top10]
    fifty = [int(r[0]) for r in rows if top50 <= int(r[1]) < top10]
    await dc_db.add_placements(db, "top_10p_placements", ten)
    await dc_db.add_placements(db, "top_50p_placements", fifty)
    return True


def view(row: Mapping[str, Any] | None, user_id: int, today: dt.date, never: str) -> dict[str, Any]:
    """osu-web DailyChallengeUserStatsTransformer's fields as of `today` (a streak not kept up
    reads 0). `never` stands for a timestamp never set (clients such as ossapi require both)."""
    stats = dict(row) if row is not None else empty(user_id)
    last: dt.date | None = stats["last_update"]
    if last is None or last < today - dt.timedelta(days=1):
        stats["daily_streak_current"] = 0
    last_week: dt.date | None = stats["last_weekly_streak"]
    if last_week is None or last_week < week_of(today) - dt.timedelta(days=7):
        stats["weekly_streak_current"] = 0
    return {
        "daily_streak_best": int(stats["daily_streak_best"]),
        "daily_streak_current": int(stats["daily_streak_current"]),
        "last_update": _time(last) or never,
        "last_weekly_streak": _time(last_week) or never,
        "playcount": int(stats["playcount"]),
        "top_10p_placements": int(stats["top_10p_placements"]),
        "top_50p_placements": int(stats["top_50p_placements"]),
        "user_id": user_id,
        "weekly_streak_best": int(stats["weekly_streak_best"]),
        "weekly_streak_current": int(stats["weekly_streak_current"]),
    }


def _time(day: dt.date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T00:00:00+00:00"
