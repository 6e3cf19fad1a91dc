"""ossapi's and aiosu's v1 clients against `hitcircle serve`: get_replay and get_match (ossapi
through the `/api/v1/` prefix, aiosu through `/api/`)."""

from __future__ import annotations

import base64
import lzma
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.conftest import LiveServer, create_user, issue_token
from tests.plugins.api_v1 import v1_support
from tests.scores import support


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient, token: str, user: int) -> dict:
    _, key = await users_db.create_api_key(services(app).db, user, "live")
    beatmap = await support.import_map(app, 0)
    rival = await create_user(app, "rival")
    rival_token = await issue_token(app, rival)
    mine = await v1_support.played_score(app, client, token, beatmap, mods=[{"acronym": "HD"}])
    theirs = await v1_support.played_score(
        app, client, rival_token, beatmap, misses=2, mods=[{"acronym": "HD"}]
    )
    frames = await v1_support.store_replay(app, mine, "peppy")
    room_id, item_id = await v1_support.realtime_room(app, user, beatmap, [mine, theirs])
    return {
        "key": key,
        "user": user,
        "rival": rival,
        "beatmap": beatmap,
        "score": mine,
        "frames": frames,
        "room_id": room_id,
        "item_id": item_id,
    }


def test_ossapi_v1_replay_and_match(world_server: LiveServer, world: dict[str, Any]) -> None:
    from ossapi import OssapiV1
    from ossapi.ossapi import ReplayUnavailableException

    api = OssapiV1(world["key"])
    api.BASE_URL = f"{world_server.url}/api/v1/"
    content = api.get_replay(score_id=world["score"]["id"])
    assert lzma.decompress(base64.b64decode(content)) == world["frames"]
    same = api.get_replay(beatmap_id=world["beatmap"].id, user=world["user"], user_type="id")
    assert same == content
    with pytest.raises(ReplayUnavailableException):
        api.get_replay(score_id=world["score"]["id"] + 1000)
    match = api.get_match(world["room_id"])
    assert match.match.match_id == world["room_id"] and match.match.end_time is None
    [game] = match.games
    assert game.game_id == world["item_id"] and game.beatmap_id == world["beatmap"].id
    assert [s.user_id for s in game.scores] == [world["user"], world["rival"]]
    assert game.scores[0].score > game.scores[1].score and game.scores[0].passed


async def test_aiosu_v1_replay_and_match(world_server: LiveServer, world: dict[str, Any]) -> None:
    import aiosu

    async with aiosu.v1.Client(world["key"], base_url=world_server.url) as client:
        replay = await client.get_replay(score_id=world["score"]["id"])
        assert lzma.decompress(base64.b64decode(replay.content)) == world["frames"]
        match = await client.get_match(world["room_id"])
        assert match.id == world["room_id"] and match.name == "cup: (a) vs (b)"
        assert [s.user_id for s in match.games[0].scores] == [world["user"], world["rival"]]
