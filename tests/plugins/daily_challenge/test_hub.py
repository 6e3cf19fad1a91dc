"""Lazer's daily challenge flow against the app served on a socket: the metadata hub tells every
connection which room is today's (on connect and when the job makes the next one), the room is
found through `rooms?category=daily_challenge`, its live statistics come through
BeginWatchingMultiplayerRoom, a playlist score counts on the profile; and bad input."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from starlette.applications import Starlette

from core.clock import ManualClock
from core.config import Settings
from core.daily_challenge import rotation
from core.daily_challenge import store as dc_db
from core.services import services
from core.testing import HubClient, advance
from plugins.daily_challenge import make_room
from tests.conftest import LiveServer, create_user, issue_token, run_command
from tests.scores import support

DAY = 86400.0
OpenHub = Callable[..., Awaitable[HubClient]]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def play(
    client: httpx.AsyncClient, token: str, room_id: int, item_id: int, beatmap: support.Map
) -> httpx.Response:
    started = await client.post(
        f"/api/v2/rooms/{room_id}/playlist/{item_id}/scores",
        data={"beatmap_id": str(beatmap.id), "ruleset_id": str(beatmap.ruleset_id)},
        headers=auth(token),
    )
    if started.status_code != 200:
        return started
    return await client.put(
        f"/api/v2/rooms/{room_id}/playlist/{item_id}/scores/{started.json()['id']}",
        json=support.body(beatmap, total_score=250_000),
        headers=auth(token),
    )


async def daily_stats(client: httpx.AsyncClient, token: str, user_id: int) -> dict[str, object]:
    profile = await client.get(f"/api/v2/users/{user_id}", headers=auth(token))
    assert profile.status_code == 200, profile.text
    stats: dict[str, object] = profile.json()["daily_challenge_user_stats"]
    return stats


async def test_lazer_daily_challenge_flow(
    app: Starlette,
    client: httpx.AsyncClient,
    clock: ManualClock,
    hub_client: OpenHub,
) -> None:
    beatmap = await support.import_map(app, 0)
    user = await create_user(app, "peppy")
    token = await issue_token(app, user)
    db = services(app).db
    await dc_db.add_entry(db, beatmap.id, 0, [], [])
    await dc_db.add_entry(db, beatmap.id, 0, [{"acronym": "HR"}], [])

    # No room yet (the start-up run had an empty pool): nil.
    early = await hub_client("metadata", token)
    assert (await early.callback("DailyChallengeUpdated")).arguments == [None]

    room_id, made = await make_room(app, clock.time())
    assert made and room_id is not None
    await rotation.announce(app, room_id)
    # Connected clients hear of it; new ones get it on connect.
    assert (await early.callback("DailyChallengeUpdated")).arguments[0].room_id == room_id
    watcher = await hub_client("metadata", token)
    assert (await watcher.callback("DailyChallengeUpdated")).arguments[0].room_id == room_id

    listed = await client.get("/api/v2/rooms?category=daily_challenge", headers=auth(token))
    assert [r["id"] for r in listed.json()] == [room_id]
    room = (await client.get(f"/api/v2/rooms/{room_id}", headers=auth(token))).json()
    assert room["category"] == "daily_challenge"
    (item,) = room["playlist"]
    assert item["beatmap_id"] == beatmap.id

    stats = await watcher.invoke("BeginWatchingMultiplayerRoom", room_id)
    assert stats.error is None and stats.result == [[item["id"], [0] * 13, 0, 0]]
    assert (await daily_stats(client, token, user))["playcount"] == 0

    score = await play(client, token, room_id, item["id"], beatmap)
    assert score.status_code == 200, score.text
    event = (await watcher.callback("MultiplayerRoomScoreSet", timeout=10)).arguments[0]
    assert (event.room_id, event.score_id, event.user_id) == (room_id, score.json()["id"], user)
    distribution = [0] * 13
    distribution[2] = 1
    stats = await watcher.invoke("BeginWatchingMultiplayerRoom", room_id)
    assert stats.result == [[item["id"], distribution, 250_000, score.json()["id"]]]

    shown = await daily_stats(client, token, user)
    today = rotation.day_of(clock.time())
    assert shown["playcount"] == 1
    assert (shown["daily_streak_current"], shown["daily_streak_best"]) == (1, 1)
    assert (shown["weekly_streak_current"], shown["weekly_streak_best"]) == (1, 1)
    assert shown["last_update"] == f"{today.isoformat()}T00:00:00+00:00"
    assert shown["user_id"] == user
    # A second play the same day is not a second day.
    again = await play(client, token, room_id, item["id"], beatmap)
    assert again.status_code == 200, again.text
    assert (await daily_stats(client, token, user))["playcount"] == 1

    # At 00:00 UTC the job makes the next day's room and every connection hears of it.
    await advance(app, (clock.time() // DAY + 1) * DAY - clock.time())
    tomorrow = await dc_db.room_of(db, today + dt.timedelta(days=1))
    assert tomorrow is not None and tomorrow != room_id
    for hub in (early, watcher):
        assert (await hub.callback("DailyChallengeUpdated")).arguments[0].room_id == tomorrow
    late = await hub_client("metadata", token)
    assert (await late.callback("DailyChallengeUpdated")).arguments[0].room_id == tomorrow


async def test_bad_input(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, hub_client: OpenHub
) -> None:
    beatmap = await support.import_map(app, 0)
    user = await create_user(app, "peppy")
    token = await issue_token(app, user)
    hub = await hub_client("metadata", token)
    await hub.callback("DailyChallengeUpdated")
    # A room that does not exist has no statistics (osu-server-spectator answers the same).
    for room_id in (999_999, 2**63 - 1, -1):
        missing = await hub.invoke("BeginWatchingMultiplayerRoom", room_id)
        assert missing.error is None and missing.result == [], missing

    # Yesterday's room, after the rotation: no play is taken, no stat moves.
    yesterday = rotation.day_of(clock.time()) - dt.timedelta(days=1)
    old, _ = await rotation.rotate(app, yesterday, host_user_id=user, ruleset_id=0)
    assert old is not None
    room = (await client.get(f"/api/v2/rooms/{old}", headers=auth(token))).json()
    refused = await play(client, token, old, room["playlist"][0]["id"], beatmap)
    assert refused.status_code == 422 and "ended" in refused.text
    assert (await daily_stats(client, token, user))["playcount"] == 0
    # The hub still answers for an ended room (its final statistics).
    ended = await hub.invoke("BeginWatchingMultiplayerRoom", old)
    assert ended.error is None and ended.result[0][2] == 0


@pytest.mark.redis_cluster("mysql_cluster")
async def test_rotation_reaches_every_server(
    backend: str, app: Starlette, settings: Settings
) -> None:
    if backend == "embedded":
        pytest.skip("processes share announcements only through Redis")
    beatmap = await support.import_map(app, 0)
    token = await issue_token(app, await create_user(app, "peppy"))
    await dc_db.add_entry(services(app).db, beatmap.id, 0, [], [])
    servers = [LiveServer(settings), LiveServer(settings)]
    for server in servers:
        server.start()
    hubs = []
    try:
        for server in servers:
            hubs.append(await HubClient.open(server.url, "metadata", token))
            assert (await hubs[-1].callback("DailyChallengeUpdated")).arguments == [None]
        # The command, a third process, makes the room; both servers' clients hear of it.
        rotated = await run_command(settings, "daily-challenge", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        room_id = await dc_db.room_of(services(app).db, rotation.day_of(time.time()))
        assert room_id is not None
        for hub in hubs:
            update = await hub.callback("DailyChallengeUpdated", timeout=10)
            assert update.arguments[0].room_id == room_id
    finally:
        for hub in hubs:
            await hub.close()
        for server in servers:
            server.stop()


@pytest.mark.parametrize("settings_overrides", [{"daily_challenge": {"random_ruleset": 3}}])
async def test_a_day_without_a_room_is_announced_as_none(
    app: Starlette, clock: ManualClock, hub_client: OpenHub
) -> None:
    # One pool entry, and no mania map for the random pick once it is used.
    beatmap = await support.import_map(app, 0)
    token = await issue_token(app, await create_user(app, "peppy"))
    await dc_db.add_entry(services(app).db, beatmap.id, 0, [], [])
    room_id, _ = await make_room(app, clock.time())
    hub = await hub_client("metadata", token)
    assert (await hub.callback("DailyChallengeUpdated")).arguments[0].room_id == room_id
    await advance(app, (clock.time() // DAY + 1) * DAY - clock.time())
    assert (await hub.callback("DailyChallengeUpdated")).arguments == [None]
    # Later runs that day stay quiet: the next announcement on the channel (a barrier, as the
    # channel keeps its order) is the first one heard.
    await advance(app, 3600)
    await rotation.announce(app, 12345)
    assert (await hub.callback("DailyChallengeUpdated")).arguments[0].room_id == 12345
