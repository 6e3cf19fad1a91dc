"""ossapi's and aiosu's v1 clients against `hitcircle serve`: get_beatmaps and /osu/{id}."""

import pytest
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.beatmaps.support import import_osz, make_osu, md5
from tests.conftest import LiveServer, create_user


@pytest.fixture
async def world(app: Starlette) -> dict:
    user = await create_user(app, "peppy")
    _, key = await users_db.create_api_key(services(app).db, user, "live")
    data = make_osu(beatmap_id=81, set_id=80, objects=20)
    await import_osz(app, {"a.osu": data}, status="loved")
    return {"key": key, "data": data}


def test_ossapi_v1(world_server: LiveServer, world: dict) -> None:
    from ossapi import OssapiV1

    api = OssapiV1(world["key"])
    api.BASE_URL = f"{world_server.url}/api/"
    beatmaps = api.get_beatmaps(beatmapset_id=80)
    assert [b.beatmap_id for b in beatmaps] == [81]
    assert beatmaps[0].beatmap_hash == md5(world["data"])
    assert beatmaps[0].approved == "4"
    assert beatmaps[0].approved_date is not None and beatmaps[0].star_rating > 0
    assert api.get_beatmaps(beatmap_hash=md5(world["data"]))[0].beatmap_id == 81


async def test_aiosu_v1(world_server: LiveServer, world: dict) -> None:
    import aiosu

    async with aiosu.v1.Client(world["key"], base_url=world_server.url) as client:
        beatmapsets = await client.get_beatmap(beatmap_id=81)
        assert beatmapsets[0].id == 80
        assert [b.id for b in beatmapsets[0].beatmaps] == [81]
        assert beatmapsets[0].beatmaps[0].checksum == md5(world["data"])
        raw = await client.get_beatmap_osu(81)
        assert raw.read() == world["data"].decode()
