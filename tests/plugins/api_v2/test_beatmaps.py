import httpx
import orjson
import pytest
import rosu_pp_py as rosu
from starlette.applications import Starlette

from tests.beatmaps.support import make_osu, md5, ranked_set
from tests.conftest import create_user, issue_token


@pytest.fixture
async def public_token(app: Starlette) -> str:
    return await issue_token(app, None, ("public",))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_lookup_by_checksum_filename_and_id(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    maps = await ranked_set(app)
    checksum = md5(maps[101])
    # The lazer lookup: checksum + filename + id.
    response = await client.get(
        "/api/v2/beatmaps/lookup",
        params={"checksum": checksum, "filename": "diff101.osu", "id": 101},
        headers=auth(token),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == 101 and body["beatmapset_id"] == 100
    assert body["checksum"] == checksum
    assert body["status"] == "ranked" and body["ranked"] == 1 and body["mode"] == "osu"
    assert body["current_user_playcount"] == 0
    assert body["beatmapset"]["id"] == 100
    assert body["beatmapset"]["has_favourited"] is False
    assert body["beatmapset"]["ratings"] == [0] * 11
    assert len(body["failtimes"]["exit"]) == 100
    beatmap = rosu.Beatmap(bytes=maps[101])
    stars = rosu.Difficulty().calculate(beatmap).stars
    assert body["difficulty_rating"] == round(stars, 2)
    # Cached the second time: same bytes.
    again = await client.get(
        "/api/v2/beatmaps/lookup", params={"checksum": checksum}, headers=auth(token)
    )
    assert again.json() == body
    by_name = await client.get(
        "/api/v2/beatmaps/lookup", params={"filename": "diff102.osu"}, headers=auth(token)
    )
    assert by_name.json()["id"] == 102
    by_id = await client.get("/api/v2/beatmaps/lookup", params={"id": 102}, headers=auth(token))
    assert by_id.json()["id"] == 102


async def test_client_tokens_see_no_favourite_field(
    app: Starlette, client: httpx.AsyncClient, public_token: str
) -> None:
    await ranked_set(app)
    body = (await client.get("/api/v2/beatmaps/101", headers=auth(public_token))).json()
    assert "has_favourited" not in body["beatmapset"]
    assert body["current_user_playcount"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"checksum": "0" * 32},
        {"checksum": "not-a-checksum"},
        {"id": 999999},
        {"id": -5},
        {"filename": "nope.osu"},
        {},
    ],
)
async def test_lookup_misses_are_404(
    app: Starlette, client: httpx.AsyncClient, token: str, params: dict
) -> None:
    await ranked_set(app)
    response = await client.get("/api/v2/beatmaps/lookup", params=params, headers=auth(token))
    assert response.status_code == 404
    assert response.json() == {"error": None}


async def test_lookup_with_malformed_id_is_422(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    response = await client.get("/api/v2/beatmaps/lookup?id=abc", headers=auth(token))
    assert response.status_code == 422
    assert response.json() == {"error": "id must be an integer"}


async def test_show_unknown_is_404_with_model(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    response = await client.get("/api/v2/beatmaps/424242", headers=auth(token))
    assert response.status_code == 404
    assert response.json() == {"error": "Specified beatmap difficulty couldn't be found."}
    assert (await client.get("/api/v2/beatmaps/abc", headers=auth(token))).status_code == 404


async def test_needs_a_token(app: Starlette, client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/beatmaps/1")
    assert response.status_code == 401
    assert response.json() == {"authentication": "basic"}


async def test_batch(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    await ranked_set(app)
    response = await client.get(
        "/api/v2/beatmaps/?ids[]=102&ids[]=101&ids[]=5&ids[]=x&ids[]=101", headers=auth(token)
    )
    assert response.status_code == 200
    assert [b["id"] for b in response.json()["beatmaps"]] == [101, 102]
    assert (await client.get("/api/v2/beatmaps", headers=auth(token))).json() == {"beatmaps": []}
    many = "&".join(f"ids[]={i}" for i in range(60))
    response = await client.get(f"/api/v2/beatmaps?{many}&ids[]=101", headers=auth(token))
    assert response.json() == {"beatmaps": []}  # only the first 50 ids count
    huge = "&".join(f"ids[]={i}" for i in range(1001))
    response = await client.get(f"/api/v2/beatmaps?{huge}", headers=auth(token))
    assert response.status_code == 422
    assert response.json() == {"error": "ids parameter has a maximum of 1000 items"}


async def test_playcount_and_favourite_are_per_user(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    from core.beatmaps import resolve

    await ranked_set(app)
    await resolve.record_play(app, user, 101, passed=True)
    other = await issue_token(app, await create_user(app, username="other"))
    before = (await client.get("/api/v2/beatmaps/101", headers=auth(token))).json()
    assert before["current_user_playcount"] == 1
    await resolve.record_play(app, user, 101, passed=False)
    mine = (await client.get("/api/v2/beatmaps/101", headers=auth(token))).json()
    theirs = (await client.get("/api/v2/beatmaps/101", headers=auth(other))).json()
    assert mine["current_user_playcount"] == 2
    assert theirs["current_user_playcount"] == 0
    # The beatmap's own counters live in the shared cached view: they catch up within cache_ttl.
    assert mine["playcount"] in (1, 2)


async def test_attributes_match_rosu(
    app: Starlette, client: httpx.AsyncClient, public_token: str
) -> None:
    maps = await ranked_set(app)
    beatmap = rosu.Beatmap(bytes=maps[101])
    expected = rosu.Difficulty(mods=[{"acronym": "HD"}, {"acronym": "DT"}]).calculate(beatmap)
    for body in (
        {"mods": ["HD", "DT"]},
        {"mods": 72},
        {"mods": "HDDT", "ruleset": "osu"},
        {"mods": [{"acronym": "DT"}, {"acronym": "HD"}], "ruleset_id": 0},
    ):
        response = await client.post(
            "/api/v2/beatmaps/101/attributes", json=body, headers=auth(public_token)
        )
        assert response.status_code == 200, response.text
        attributes = response.json()["attributes"]
        assert attributes["star_rating"] == pytest.approx(expected.stars)
        assert attributes["max_combo"] == expected.max_combo
    # Query-string parameters with an empty body (osu.py), and ossapi's NM.
    response = await client.post(
        "/api/v2/beatmaps/101/attributes?mods[]=NM", headers=auth(public_token)
    )
    nomod = rosu.Difficulty().calculate(rosu.Beatmap(bytes=maps[101]))
    assert response.json()["attributes"]["star_rating"] == pytest.approx(nomod.stars)
    taiko = await client.post(
        "/api/v2/beatmaps/101/attributes", json={"ruleset": "taiko"}, headers=auth(public_token)
    )
    assert taiko.status_code == 200
    assert "mono_stamina_factor" in taiko.json()["attributes"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"ruleset": "tennis"}, "invalid ruleset specified"),
        ({"ruleset_id": 9}, "invalid ruleset_id specified"),
        ({"ruleset_id": "x"}, "invalid ruleset_id specified"),
        ({"mods": ["ZZ"]}, "invalid mods specified"),
        ({"mods": -1}, "invalid mods specified"),
        ({"mods": {"a": {"b": 1}}}, "invalid mods specified"),
    ],
)
async def test_attributes_bad_input(
    app: Starlette, client: httpx.AsyncClient, public_token: str, body: dict, message: str
) -> None:
    await ranked_set(app)
    response = await client.post(
        "/api/v2/beatmaps/101/attributes", json=body, headers=auth(public_token)
    )
    assert response.status_code == 422
    assert response.json() == {"error": message}


async def test_attributes_of_a_mania_map_cannot_convert(
    app: Starlette, client: httpx.AsyncClient, public_token: str
) -> None:
    from tests.beatmaps.support import import_osz

    await import_osz(app, {"m.osu": make_osu(beatmap_id=7, set_id=6, mode=3)})
    response = await client.post(
        "/api/v2/beatmaps/7/attributes", json={"ruleset": "osu"}, headers=auth(public_token)
    )
    assert response.status_code == 422
    assert response.json() == {
        "error": "specified beatmap can't be converted to the specified ruleset"
    }
    missing = await client.post("/api/v2/beatmaps/8/attributes", headers=auth(public_token))
    assert missing.status_code == 404


async def test_cached_view_is_dropped_when_the_set_changes(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    from tests.beatmaps.support import import_osz

    maps = await ranked_set(app)
    first = (await client.get("/api/v2/beatmaps/101", headers=auth(token))).json()
    assert first["version"] == "Diff 1"
    changed = make_osu(beatmap_id=101, set_id=100, version="Renamed", objects=9)
    await import_osz(app, {"a.osu": changed, "b.osu": maps[102]})
    after = (await client.get("/api/v2/beatmaps/101", headers=auth(token))).json()
    assert after["version"] == "Renamed"
    assert after["checksum"] == md5(changed)
    old = await client.get(
        "/api/v2/beatmaps/lookup", params={"checksum": md5(maps[101])}, headers=auth(token)
    )
    assert old.status_code == 404
    assert orjson.loads(old.content) == {"error": None}


async def test_the_viewers_fields_are_cached_and_each_write_drops_them(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    """`current_user_playcount` and `has_favourited` are cached per viewer under the name the
    request used (checksum or id, read in the token's round trip): a favourite, an
    unfavourite, a counted play and a submitted score each show at once under both names."""
    from core.beatmaps import resolve
    from tests.scores import support

    beatmap = await support.import_map(app, 0)

    async def seen() -> list[tuple[int, bool]]:
        by_sum = await client.get(
            "/api/v2/beatmaps/lookup", params={"checksum": beatmap.checksum}, headers=auth(token)
        )
        by_id = await client.get(f"/api/v2/beatmaps/{beatmap.id}", headers=auth(token))
        return [
            (body["current_user_playcount"], body["beatmapset"]["has_favourited"])
            for body in (by_sum.json(), by_id.json())
        ]

    assert await seen() == [(0, False)] * 2
    assert await seen() == [(0, False)] * 2  # now from the cache
    favourites = f"/api/v2/beatmapsets/{beatmap.id - 1}/favourites"
    await client.post(favourites, data={"action": "favourite"}, headers=auth(token))
    assert await seen() == [(0, True)] * 2
    await client.post(favourites, data={"action": "unfavourite"}, headers=auth(token))
    assert await seen() == [(0, False)] * 2
    await resolve.record_play(app, user, beatmap.id, passed=True)
    assert await seen() == [(1, False)] * 2
    submitted = await support.submit(client, token, beatmap, support.body(beatmap))
    assert submitted.status_code == 200, submitted.text
    assert await seen() == [(2, False)] * 2
