"""ossapi and aiosu against `hitcircle serve`: beatmaps, sets, two search pages, attributes."""

from pathlib import Path

import httpx
import pytest
import rosu_pp_py as rosu
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.services import services
from tests.beatmaps.support import import_osz, make_osu, md5
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi

SECRET = "s3cret-" + "y" * 30
SETS = 52  # more than one search page of 50


@pytest.fixture
async def world(app: Starlette) -> dict:
    owner = await create_user(app, "peppy")
    client_id = await oauth_db.create_client(
        services(app).db,
        user_id=owner,
        name="live test",
        secret_hash=sha256_hex(SECRET),
        redirect="http://localhost/cb",
    )
    files = {}
    for i in range(SETS):
        set_id = 3000 + i
        data = make_osu(
            beatmap_id=set_id * 10 + 1, set_id=set_id, title=f"Live {i:02d}", objects=6 + i
        )
        files[set_id * 10 + 1] = data
        await import_osz(app, {"a.osu": data})
    lazer = await issue_token(app, owner, ("*",))
    return {"client_id": client_id, "files": files, "lazer": lazer}


def stars(data: bytes, mods: int = 0) -> float:
    return rosu.Difficulty(mods=mods).calculate(rosu.Beatmap(bytes=data)).stars


def convert_stars(data: bytes, mode: rosu.GameMode) -> float:
    beatmap = rosu.Beatmap(bytes=data)
    beatmap.convert(mode, [])
    return round(rosu.Difficulty().calculate(beatmap).stars, 2)


def test_ossapi(
    world_server: LiveServer, world: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ossapi.enums import BeatmapsetSearchCategory

    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    data = world["files"][30001]
    beatmap = api.beatmap(30001)
    assert beatmap.id == 30001 and beatmap.beatmapset_id == 3000
    assert beatmap.checksum == md5(data)
    assert beatmap.difficulty_rating == round(stars(data), 2)
    assert api.beatmap(checksum=md5(data)).id == 30001
    assert [b.id for b in api.beatmaps([30011, 30001])] == [30001, 30011]
    beatmapset = api.beatmapset(3000)
    assert beatmapset.title == "Live 00" and [b.id for b in beatmapset.beatmaps] == [30001]
    # ossapi leaves `converts` untyped: plain dicts.
    assert [(c["id"], c["mode_int"]) for c in beatmapset.converts] == [
        (30001, m) for m in (1, 2, 3)
    ]
    assert [c["difficulty_rating"] for c in beatmapset.converts] == [
        convert_stars(data, mode)
        for mode in (rosu.GameMode.Taiko, rosu.GameMode.Catch, rosu.GameMode.Mania)
    ]
    assert api.beatmapset(beatmap_id=30011).id == 3001
    first = api.search_beatmapsets(category=BeatmapsetSearchCategory.RANKED)
    assert len(first.beatmapsets) == 50 and first.total == SETS
    second = api.search_beatmapsets(category=BeatmapsetSearchCategory.RANKED, cursor=first.cursor)
    assert len(second.beatmapsets) == 2 and second.cursor is None
    seen = {s.id for s in first.beatmapsets} | {s.id for s in second.beatmapsets}
    assert seen == set(range(3000, 3000 + SETS))
    attributes = api.beatmap_attributes(30001, mods="HDDT")
    assert attributes.attributes.star_rating == pytest.approx(stars(data, 72))
    nomod = api.beatmap_attributes(30001)
    assert nomod.attributes.star_rating == pytest.approx(stars(data))


async def test_aiosu(world_server: LiveServer, world: dict) -> None:
    import aiosu
    from aiosu.models import Mods

    data = world["files"][30021]
    async with aiosu.v2.Client(
        client_id=world["client_id"], client_secret=SECRET, base_url=world_server.url
    ) as client:
        beatmap = await client.get_beatmap(30021)
        assert beatmap.id == 30021 and beatmap.checksum == md5(data)
        looked = await client.lookup_beatmap(checksum=md5(data))
        assert looked.id == 30021
        assert [b.id for b in await client.get_beatmaps([30021, 30001])] == [30001, 30021]
        beatmapset = await client.get_beatmapset(3002)
        assert beatmapset.id == 3002 and beatmapset.beatmaps[0].id == 30021
        converts = beatmapset.converts or []
        assert [(c.id, c.mode.value, c.convert) for c in converts] == [  # aiosu: Gamemode ids
            (30021, 1, True),
            (30021, 2, True),
            (30021, 3, True),
        ]
        assert converts[2].difficulty_rating == convert_stars(data, rosu.GameMode.Mania)
        first = await client.search_beatmapsets()
        assert len(first.beatmapsets) == 50 and first.cursor_string
        second = await client.search_beatmapsets(cursor_string=first.cursor_string)
        assert len(second.beatmapsets) == 2
        seen = {s.id for s in first.beatmapsets} | {s.id for s in second.beatmapsets}
        assert seen == set(range(3000, 3000 + SETS))
        attributes = await client.get_beatmap_attributes(30021, mods=Mods("HR"))
        assert attributes.star_rating == pytest.approx(stars(data, 16))


def test_lazer_lookup_shape(world_server: LiveServer, world: dict) -> None:
    """The lookup lazer makes after an import: checksum + filename + id, with lazer's headers."""
    data = world["files"][30031]
    headers = {
        "Authorization": f"Bearer {world['lazer']}",
        "User-Agent": "osu!",
        "x-api-version": "20260821",
        "Accept-Language": "en",
    }
    response = httpx.get(
        f"{world_server.url}/api/v2/beatmaps/lookup",
        params={"id": 30031, "checksum": md5(data), "filename": "a.osu"},
        headers=headers,
    )
    assert response.status_code == 200
    body = response.json()
    for key in (
        "id", "beatmapset_id", "status", "checksum", "user_id", "playcount", "passcount",
        "mode_int", "difficulty_rating", "drain", "cs", "ar", "accuracy", "total_length",
        "hit_length", "bpm", "convert", "count_circles", "count_sliders", "count_spinners",
        "version", "failtimes", "max_combo", "last_updated", "owners",
    ):  # fmt: skip
        assert key in body, key
    assert body["status"] == "ranked" and body["checksum"] == md5(data)
    embedded = body["beatmapset"]
    for key in (
        "id", "title", "title_unicode", "artist", "artist_unicode", "creator", "user_id",
        "status", "covers", "preview_url", "play_count", "favourite_count", "bpm", "nsfw",
        "video", "storyboard", "submitted_date", "ranked_date", "last_updated",
        "availability", "tags", "ratings", "has_favourited", "hype", "nominations_summary",
        "track_id", "spotlight",
    ):  # fmt: skip
        assert key in embedded, key
    download = httpx.get(f"{world_server.url}/api/v2/beatmapsets/3003/download", headers=headers)
    assert download.status_code == 200 and download.content[:2] == b"PK"
