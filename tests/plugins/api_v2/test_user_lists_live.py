"""Against `hitcircle serve`: ossapi, aiosu and osu.py read profiles built from stored data, the
profile lists, recent activity, kudosu and API v1 events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.beatmaps import store as beatmaps_db
from core.services import services
from core.users import store as users_db
from tests.beatmaps.support import import_osz, make_osu
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi
from tests.scores import support

SECRET = "s3cret-" + "p" * 30


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    """Alice maps two sets and plays a map, Bob favourites her ranked set, watches her replay
    and renames himself."""
    db = services(app).db
    alice = await create_user(app, "alice")
    bob = await create_user(app, "bob")
    client_id = await oauth_db.create_client(
        db, user_id=alice, name="live profiles", secret_hash=sha256_hex(SECRET), redirect=""
    )
    for set_id, status in ((900, "ranked"), (910, "graveyard")):
        osu = make_osu(beatmap_id=set_id + 1, set_id=set_id, creator="alice", title=f"S{set_id}")
        assert not (await import_osz(app, {"a.osu": osu}, status)).failed
    await beatmaps_db.set_favourite(db, bob, 900, True)
    beatmap = await support.import_map(app, 0)
    alice_token = await issue_token(app, alice)
    score = (await support.submit(client, alice_token, beatmap, support.body(beatmap))).json()
    await services(app).storage.put(f"replays/{score['id']}.osr", b"replay")
    watched = await client.get(
        f"/api/v2/scores/{score['id']}/download",
        headers={"Authorization": f"Bearer {await issue_token(app, bob)}"},
    )
    assert watched.status_code == 200
    await users_db.rename(db, bob, "bob", "bobby")
    _, key = await users_db.create_api_key(db, alice, "live")
    return {
        "alice": alice,
        "bob": bob,
        "client_id": client_id,
        "beatmap": beatmap,
        "score": score,
        "key": key,
    }


def test_ossapi(
    world_server: LiveServer, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ossapi import OssapiV1

    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    alice, bob = world["alice"], world["bob"]
    user = api.user(alice, mode="osu")
    assert user.ranked_beatmapset_count == 1 and user.graveyard_beatmapset_count == 1
    assert user.beatmap_playcounts_count == 1
    assert [m.count for m in user.monthly_playcounts] == [1]
    assert [m.count for m in user.replays_watched_counts] == [1]
    assert user.statistics.replays_watched_by_others == 1
    assert api.user(bob).favourite_beatmapset_count == 1
    assert [s.id for s in api.user_beatmaps(alice, "ranked")] == [900]
    assert [s.id for s in api.user_beatmaps(alice, "graveyard", limit=1, offset=0)] == [910]
    assert api.user_beatmaps(alice, "loved") == []
    assert [s.id for s in api.user_beatmaps(bob, "favourite")] == [900]
    [played] = api.user_beatmaps(alice, "most_played")
    assert played.beatmap_id == world["beatmap"].id and played.count == 1
    activity = api.user_recent_activity(alice)
    assert [getattr(e.type, "value", e.type) for e in activity] == [
        "rank",
        "beatmapsetUpload",
        "beatmapsetUpload",
    ]
    assert activity[0].rank == 1
    renamed = api.user_recent_activity(bob, limit=1)
    assert renamed[0].user.previousUsername == "bob"
    assert api.user_kudosu(alice, limit=5, offset=0) == []
    [looked_up] = api.users_lookup([alice], ruleset_id=0)
    assert looked_up.global_rank.rank == 1
    v1 = OssapiV1(world["key"])
    v1.BASE_URL = f"{world_server.url}/api/"
    shown = v1.get_user(bob, user_type="id", event_days=1)
    assert "has changed their username to bobby!" in shown.events[0].display_html


async def test_aiosu(world_server: LiveServer, world: dict[str, Any]) -> None:
    import aiosu

    alice, bob = world["alice"], world["bob"]
    async with aiosu.v2.Client(
        client_id=world["client_id"], client_secret=SECRET, base_url=world_server.url
    ) as client:
        user = await client.get_user(alice)
        assert user.ranked_beatmapset_count == 1
        assert [m.count for m in user.monthly_playcounts] == [1]
        assert (await client.get_user(bob)).favourite_beatmapset_count == 1
        sets = await client.get_user_beatmaps(alice, "ranked")
        assert [s.id for s in sets] == [900]
        favourites = await client.get_user_beatmaps(bob, "favourite", limit=10)
        assert [s.id for s in favourites] == [900]
        [played] = await client.get_user_most_played(alice)
        assert played.count == 1 and played.beatmap_id == world["beatmap"].id
        events = await client.get_user_recent_activity(alice)
        assert [e.type for e in events] == ["rank", "beatmapsetUpload", "beatmapsetUpload"]
        assert await client.get_user_kudosu(alice) == []
        assert (await client.get_rankings_kudosu()).ranking == []
    async with aiosu.v1.Client(world["key"], base_url=world_server.url) as v1:
        # aiosu's v1 User keeps no events (ossapi's does, above): the request with
        # `event_days` must still parse.
        shown = await v1.get_user(bob, limit=31)
        assert shown.id == bob and shown.username == "bobby"


def test_osu_py(world_server: LiveServer, world: dict[str, Any]) -> None:
    from osu import AuthHandler, Client

    auth = AuthHandler(world["client_id"], SECRET, "http://localhost/cb")
    auth.http.base_url = f"{world_server.url}/api/v2/"
    auth.http.token_url = f"{world_server.url}/oauth/token/"
    auth.http.auth_url = f"{world_server.url}/oauth/authorize/"
    client = Client(auth, request_wait_time=0)
    alice, bob = world["alice"], world["bob"]
    user = client.get_user(alice)
    assert user.graveyard_beatmapset_count == 1
    assert [s.id for s in client.get_user_beatmaps(alice, "ranked")] == [900]
    assert [s.id for s in client.get_user_beatmaps(bob, "favourite", limit=5)] == [900]
    events = client.get_user_recent_activity(bob)
    assert type(events[0]).__name__ == "UsernameChangeEvent"
    assert client.get_user_kudosu(alice) == []
