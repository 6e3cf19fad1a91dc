import datetime as dt

import httpx
import pytest
import rosu_pp_py as rosu
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.beatmaps.support import import_osz, make_osu, md5, ranked_set


@pytest.fixture
async def key(app: Starlette, user: int) -> str:
    _, value = await users_db.create_api_key(services(app).db, user, "test")
    return value


async def test_get_beatmaps_strings_and_dates(
    app: Starlette, client: httpx.AsyncClient, key: str
) -> None:
    maps = await ranked_set(app)
    response = await client.get("/api/get_beatmaps", params={"k": key, "s": 100})
    assert response.status_code == 200
    rows = response.json()
    assert [r["beatmap_id"] for r in rows] == ["101", "102"]
    row = rows[0]
    for name, value in row.items():
        assert value is None or isinstance(value, str), name
    assert row["file_md5"] == md5(maps[101])
    assert row["approved"] == "1" and row["mode"] == "0"
    dt.datetime.strptime(row["approved_date"], "%Y-%m-%d %H:%M:%S")
    dt.datetime.strptime(row["last_update"], "%Y-%m-%d %H:%M:%S")
    stars = rosu.Difficulty().calculate(rosu.Beatmap(bytes=maps[101])).stars
    assert float(row["difficultyrating"]) == pytest.approx(stars)
    assert row["diff_aim"] is not None and row["diff_speed"] is not None
    assert row["diff_size"] == "4" and row["diff_approach"] == "9"
    # mods change the star fields; aiosu sends acronyms
    dt_stars = rosu.Difficulty(mods=64).calculate(rosu.Beatmap(bytes=maps[101])).stars
    for mods in ("64", "DT", "HDDT"):
        modded = (
            await client.get("/api/get_beatmaps", params={"k": key, "b": 101, "mods": mods})
        ).json()
        assert float(modded[0]["difficultyrating"]) == pytest.approx(dt_stars, rel=0.05)


async def test_get_beatmaps_filters(app: Starlette, client: httpx.AsyncClient, key: str) -> None:
    maps = await ranked_set(app)
    await import_osz(app, {"m.osu": make_osu(beatmap_id=7, set_id=6, mode=3)}, status="pending")

    async def ids(**params: object) -> list[str]:
        response = await client.get("/api/get_beatmaps", params={"k": key, **params})
        assert response.status_code == 200, response.text
        return [r["beatmap_id"] for r in response.json()]

    assert await ids() == ["7", "101", "102"]
    assert await ids(h=md5(maps[102])) == ["102"]
    assert await ids(m=3) == ["7"]
    assert await ids(m=1) == []
    converted = (await client.get("/api/get_beatmaps", params={"k": key, "m": 1, "a": 1})).json()
    assert [r["beatmap_id"] for r in converted] == ["101", "102"]
    assert {r["mode"] for r in converted} == {"1"}
    assert await ids(u="mapper") == ["7", "101", "102"]
    assert await ids(u="nobody", type="string") == []
    assert await ids(since="2000-01-01 00:00:00") == ["101", "102"]
    assert await ids(since="2999-01-01 00:00:00") == []
    assert await ids(limit=1) == ["7"]
    assert await ids(b="abc") == []
    assert await ids(b="-1") == []
    assert await ids(h="zzz") == []


@pytest.mark.parametrize(
    ("params", "status", "body"),
    [
        ({}, 401, {"error": "Please provide a valid API key."}),
        ({"k": "wrong"}, 401, {"error": "Please provide a valid API key."}),
        ({"limit": "-5"}, 422, {"error": "limit must be a whole number from 1 to 500"}),
        ({"limit": "abc"}, 422, {"error": "limit must be a whole number from 1 to 500"}),
        ({"since": "yesterday"}, 422, {"error": "since must be a date as YYYY-MM-DD HH:MM:SS"}),
    ],
)
async def test_get_beatmaps_bad_input(
    app: Starlette, client: httpx.AsyncClient, key: str, params: dict, status: int, body: dict
) -> None:
    if params.get("k") is None and params:
        params = {"k": key, **params}
    response = await client.get("/api/get_beatmaps", params=params)
    assert response.status_code == status
    assert response.json() == body


async def test_raw_osu_file(app: Starlette, client: httpx.AsyncClient) -> None:
    maps = await ranked_set(app)
    response = await client.get("/osu/101")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.content == maps[101]
    assert (await client.get("/osu/999")).status_code == 404
    assert (await client.get("/osu/abc")).status_code == 404
