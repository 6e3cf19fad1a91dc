"""The daily room: made once a day at 00:00 UTC by the job (whatever number of workers and
commands ask), from the pool in order, else a random ranked map; the pool's CLI refuses bad
entries."""

from __future__ import annotations

import asyncio
import datetime as dt
from argparse import Namespace

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.clock import ManualClock
from core.config import Settings
from core.daily_challenge import rotation
from core.daily_challenge import store as dc_db
from core.moderation import store as moderation_db
from core.rooms import store as rooms_db
from core.services import services
from core.testing import advance
from plugins.daily_challenge import cli, make_room
from tests.conftest import create_user, run_command
from tests.scores import support

DAY = 86400.0


async def daily_rooms(app: Starlette) -> list[dict[str, object]]:
    db = services(app).db
    rows = await db.fetch_all(
        rooms_db.rooms.select()
        .where(rooms_db.rooms.c.category == "daily_challenge")
        .order_by(rooms_db.rooms.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def test_pool_order_then_random_ranked_once_per_day(
    app: Starlette, clock: ManualClock
) -> None:
    db = services(app).db
    # Nothing to play at start-up: no room, and the job said so instead of failing.
    assert await daily_rooms(app) == []
    osu = await support.import_map(app, 0)
    taiko = await support.import_map(app, 1)
    first = await dc_db.add_entry(db, taiko.id, 1, [{"acronym": "HR"}], [{"acronym": "HD"}])
    await dc_db.add_entry(db, osu.id, 0, [], [])

    # Many workers (and the command) asking at once make one room.
    made = await asyncio.gather(*(make_room(app, clock.time()) for _ in range(4)))
    room_ids = {room_id for room_id, _ in made}
    assert len(room_ids) == 1 and sum(fresh for _, fresh in made) == 1
    (room,) = await daily_rooms(app)
    today = rotation.day_of(clock.time())
    assert room["name"] == f"Daily Challenge: {today.isoformat()}"
    assert room["type"] == "playlists"
    assert room["starts_at"] == rotation.day_start(today)
    assert room["ends_at"] == rotation.day_start(today) + dt.timedelta(days=1)
    (item,) = (await rooms_db.items_of(db, [int(room["id"])]))[int(room["id"])]
    assert (item["beatmap_id"], item["ruleset_id"]) == (taiko.id, 1)
    assert item["required_mods"] == [{"acronym": "HR"}]
    assert item["allowed_mods"] == [{"acronym": "HD"}]
    assert [e["id"] for e in await dc_db.entries(db)] != [first]
    assert await dc_db.room_of(db, today) == room["id"]

    # The job at the next 00:00 UTC takes the next pool entry; an hour later nothing changes.
    midnight = (clock.time() // DAY + 1) * DAY
    await advance(app, midnight - clock.time())
    rooms = await daily_rooms(app)
    assert len(rooms) == 2
    (item,) = (await rooms_db.items_of(db, [int(rooms[1]["id"])]))[int(rooms[1]["id"])]
    assert item["beatmap_id"] == osu.id
    assert await dc_db.entries(db) == []
    await advance(app, 3600)
    assert len(await daily_rooms(app)) == 2

    # The pool is used up: the day after is a random ranked map of the configured ruleset.
    await advance(app, DAY)
    rooms = await daily_rooms(app)
    assert len(rooms) == 3
    (item,) = (await rooms_db.items_of(db, [int(rooms[2]["id"])]))[int(rooms[2]["id"])]
    assert (item["beatmap_id"], item["ruleset_id"]) == (osu.id, 0)
    runs = await db.fetch_val(sa.text("SELECT runs FROM job_runs WHERE name = 'daily-challenge'"))
    assert runs and int(runs) >= 3


async def test_pool_cli_adds_lists_removes_and_refuses_bad_entries(
    app: Starlette, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    beatmap = await support.import_map(app, 0)
    await create_user(app, "host")
    added = await run_command(
        settings, "daily-challenge", "pool", "add", str(beatmap.id), "--required", "HD,DT"
    )
    assert added.returncode == 0, added.stderr
    listed = await run_command(settings, "daily-challenge", "pool", "list")
    assert f"beatmap {beatmap.id}" in listed.stdout and "required HD,DT" in listed.stdout

    db = services(app).db
    before = await dc_db.entries(db, include_used=True)
    # Through the command once; the other refusals through the same function in process.
    refused = await run_command(settings, "daily-challenge", "pool", "add", "999999")
    assert refused.returncode == 1 and "does not exist" in refused.stderr, refused.stderr
    for required, allowed, ruleset, message in (
        ("ZZ", "", None, "Invalid mods"),
        ("", "[1, 2", None, "not valid JSON"),
        ("", '{"acronym": "HD"}', None, "must be a JSON array"),
        ("DT", "HT", None, "Invalid mods"),
        ("", "", 7, "unsupported ruleset"),
    ):
        args = Namespace(beatmap_id=beatmap.id, required=required, allowed=allowed, ruleset=ruleset)
        assert await cli._add(app, args) == 1, args
        assert message in capsys.readouterr().err, args
    assert await dc_db.entries(db, include_used=True) == before
    # Audited as the web admin page's add is (core.daily_challenge.pool), the refusals not.
    (audited,) = await moderation_db.log_entries(db, action="daily_challenge_add")
    assert audited["actor_name"] == "cli" and audited["details"]["beatmap_id"] == beatmap.id

    # `rotate` makes today's room from it (or finds the one the job made).
    rotated = await run_command(settings, "daily-challenge", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    again = await run_command(settings, "daily-challenge", "rotate")
    assert "already there" in again.stdout
    assert len(await daily_rooms(app)) == 1

    # Used entries stay as history and cannot be removed; unknown ids are refused.
    (entry,) = await dc_db.entries(db, include_used=True)
    assert entry["used_on"] is not None
    gone = await run_command(settings, "daily-challenge", "pool", "remove", str(entry["id"]))
    assert gone.returncode == 1 and "no queued pool entry" in gone.stderr
    queued = await dc_db.add_entry(db, beatmap.id, 0, [], [])
    removed = await run_command(settings, "daily-challenge", "pool", "remove", str(queued))
    assert removed.returncode == 0, removed.stderr
    assert await dc_db.entries(db) == []
    (audited,) = await moderation_db.log_entries(db, action="daily_challenge_remove")
    assert audited["details"] == {"entry_id": queued}
