import httpx
import pytest
from starlette.applications import Starlette

from tests.beatmaps.support import import_osz, make_osu, ranked_set
from tests.conftest import issue_token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_show_and_lookup(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    await ranked_set(app)
    response = await client.get("/api/v2/beatmapsets/100", headers=auth(token))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == 100 and body["status"] == "ranked"
    assert [b["id"] for b in body["beatmaps"]] == [101, 102]
    assert body["beatmaps"][0]["checksum"]
    assert body["has_favourited"] is False
    assert body["user"]["username"] == "mapper"
    assert body["genre"] == {"id": 1, "name": "Unspecified"}
    assert body["ratings"] == [0] * 11
    assert body["availability"] == {"download_disabled": False, "more_information": None}
    assert body["ranked_date"].endswith("Z")
    lookup = await client.get(
        "/api/v2/beatmapsets/lookup", params={"beatmap_id": 102}, headers=auth(token)
    )
    assert lookup.json() == body


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/api/v2/beatmapsets/999", 404, {"error": "Specified beatmap couldn't be found."}),
        ("/api/v2/beatmapsets/lookup?beatmap_id=999", 404, {"error": None}),
        ("/api/v2/beatmapsets/lookup", 404, {"error": None}),
        (
            "/api/v2/beatmapsets/lookup?beatmap_id=x",
            422,
            {"error": "beatmap_id must be an integer"},
        ),
        ("/api/v2/beatmapsets/-1", 404, {"error": None}),
    ],
)
async def test_unknown_sets(
    app: Starlette, client: httpx.AsyncClient, token: str, path: str, status: int, body: dict
) -> None:
    response = await client.get(path, headers=auth(token))
    assert response.status_code == status
    assert response.json() == body


async def _many_sets(app: Starlette, count: int, status: str = "ranked") -> None:
    for i in range(count):
        set_id = 1000 + i
        data = make_osu(beatmap_id=set_id * 10, set_id=set_id, title=f"Song {i:02d}", objects=5 + i)
        await import_osz(app, {"a.osu": data}, status=status)


async def test_search_pages_with_cursor_string(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    await _many_sets(app, 53)
    await import_osz(app, {"p.osu": make_osu(beatmap_id=5, set_id=4)}, status="pending")
    first = (await client.get("/api/v2/beatmapsets/search", headers=auth(token))).json()
    assert first["total"] == 53
    assert len(first["beatmapsets"]) == 50
    assert first["error"] is None and first["search"] == {"sort": "ranked_desc"}
    assert first["cursor_string"]
    second = (
        await client.get(
            "/api/v2/beatmapsets/search",
            params={"cursor_string": first["cursor_string"]},
            headers=auth(token),
        )
    ).json()
    assert len(second["beatmapsets"]) == 3
    assert second["cursor"] is None and second["cursor_string"] is None
    ids = [s["id"] for s in first["beatmapsets"] + second["beatmapsets"]]
    assert sorted(ids) == list(range(1000, 1053))
    assert first["beatmapsets"][0]["beatmaps"][0]["max_combo"] > 0
    # The deprecated cursor[...] form gives the same page.
    cursor = first["cursor"]
    query = "&".join(f"cursor[{k}]={v}" for k, v in cursor.items())
    again = (await client.get(f"/api/v2/beatmapsets/search?{query}", headers=auth(token))).json()
    assert [s["id"] for s in again["beatmapsets"]] == [s["id"] for s in second["beatmapsets"]]


async def test_search_filters(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    await _many_sets(app, 3)
    await import_osz(
        app, {"p.osu": make_osu(beatmap_id=5, set_id=4, title="Pending Tune")}, status="pending"
    )
    await import_osz(app, {"m.osu": make_osu(beatmap_id=7, set_id=6, mode=3, title="Keys")})

    async def ids(**params: str) -> list[int]:
        response = await client.get(
            "/api/v2/beatmapsets/search", params=params, headers=auth(token)
        )
        assert response.status_code == 200, response.text
        return sorted(s["id"] for s in response.json()["beatmapsets"])

    assert await ids(q="song 01") == [1001]
    assert await ids(q="pending") == []
    assert await ids(q="pending", s="pending") == [4]
    assert await ids(s="any") == [4, 6, 1000, 1001, 1002]
    assert await ids(s="4") == [4]  # legacy numeric category
    assert await ids(m="3") == [6]
    assert await ids(q="creator=mapper", s="any", m="0") == [4, 1000, 1001, 1002]
    assert await ids(q="ar>=9 cs=4") == [6, 1000, 1001, 1002]
    assert await ids(q="ar>9.5") == []
    assert await ids(q="status=pending", s="any") == [4]
    assert await ids(sort="title_asc", q="song") == [1000, 1001, 1002]
    assert await ids(s="favourites") == []
    assert await ids(q="%") == []  # LIKE wildcards are literal
    assert await ids(cursor_string="!!!not-base64") == [6, 1000, 1001, 1002]
    assert await ids(sort="nonsense", q="x" * 400) == []
    response = await client.get(
        "/api/v2/beatmapsets/search", params={"q": "x" * 600}, headers=auth(token)
    )
    assert response.status_code == 422


async def test_search_sort_orders(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    await _many_sets(app, 4)
    for sort in ("title_desc", "difficulty_asc", "plays_desc", "updated_asc", "relevance_desc"):
        response = await client.get(
            "/api/v2/beatmapsets/search", params={"sort": sort}, headers=auth(token)
        )
        body = response.json()
        assert body["search"]["sort"] == sort
        assert len(body["beatmapsets"]) == 4
    titles = [
        s["title"]
        for s in (
            await client.get(
                "/api/v2/beatmapsets/search", params={"sort": "title_desc"}, headers=auth(token)
            )
        ).json()["beatmapsets"]
    ]
    assert titles == sorted(titles, reverse=True)


async def test_favourites(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    await ranked_set(app)
    before = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert before["favourite_count"] == 0
    response = await client.post(
        "/api/v2/beatmapsets/100/favourites", data={"action": "favourite"}, headers=auth(token)
    )
    assert response.status_code == 200
    assert response.json() == {"favourite_count": 1}
    again = await client.post(
        "/api/v2/beatmapsets/100/favourites", data={"action": "favourite"}, headers=auth(token)
    )
    assert again.json() == {"favourite_count": 1}
    after = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert after["favourite_count"] == 1 and after["has_favourited"] is True
    lookup = (await client.get("/api/v2/beatmaps/101", headers=auth(token))).json()
    assert lookup["beatmapset"]["has_favourited"] is True
    search = (
        await client.get(
            "/api/v2/beatmapsets/search", params={"s": "favourites"}, headers=auth(token)
        )
    ).json()
    assert [s["id"] for s in search["beatmapsets"]] == [100]
    assert search["beatmapsets"][0]["has_favourited"] is True
    response = await client.post(
        "/api/v2/beatmapsets/100/favourites", data={"action": "unfavourite"}, headers=auth(token)
    )
    assert response.json() == {"favourite_count": 0}


async def test_recent_favourites_newest_first(
    app: Starlette, client: httpx.AsyncClient, clock, make_user, token: str
) -> None:
    await ranked_set(app)
    # The higher id favourites first: the order comes from the times, not the ids.
    second, first = await make_user(), await make_user()
    for user_id in (first, second):
        user_token = await issue_token(app, user_id, ("*",))
        response = await client.post(
            "/api/v2/beatmapsets/100/favourites",
            data={"action": "favourite"},
            headers=auth(user_token),
        )
        assert response.status_code == 200
        clock.advance(5)
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert body["favourite_count"] == 2
    assert [u["id"] for u in body["recent_favourites"]] == [second, first]
    assert set(body["recent_favourites"][0]) >= {"id", "username", "avatar_url", "country_code"}
    # Unfavouriting drops the user from the cached view.
    await client.post(
        "/api/v2/beatmapsets/100/favourites",
        data={"action": "unfavourite"},
        headers=auth(await issue_token(app, second, ("*",))),
    )
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert [u["id"] for u in body["recent_favourites"]] == [first]


@pytest.mark.parametrize("data", [{}, {"action": "love"}, {"action": ["favourite"]}])
async def test_favourite_bad_action(
    app: Starlette, client: httpx.AsyncClient, token: str, data: dict
) -> None:
    await ranked_set(app)
    response = await client.post(
        "/api/v2/beatmapsets/100/favourites", json=data, headers=auth(token)
    )
    assert response.status_code == 422
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert body["favourite_count"] == 0


async def test_favourite_needs_lazer_token(app: Starlette, client: httpx.AsyncClient) -> None:
    await ranked_set(app)
    public = await issue_token(app, None, ("public",))
    response = await client.post(
        "/api/v2/beatmapsets/100/favourites", data={"action": "favourite"}, headers=auth(public)
    )
    assert response.status_code == 403
    missing = await client.post(
        "/api/v2/beatmapsets/999/favourites",
        data={"action": "favourite"},
        headers=auth(await issue_token(app, None, ("*",))),
    )
    assert missing.status_code in (401, 404)


async def test_download_imported_archive(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    import io
    import zipfile

    maps = await ranked_set(app)
    response = await client.get("/api/v2/beatmapsets/100/download?noVideo=1", headers=auth(token))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-osu-beatmap-archive"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.read(n) for n in archive.namelist()) == sorted(maps.values())
    missing = await client.get("/api/v2/beatmapsets/555/download", headers=auth(token))
    assert missing.status_code == 404


async def test_download_of_loose_files_builds_an_archive(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    import io
    import zipfile

    from core.beatmaps.importer import Importer

    data = make_osu(beatmap_id=51, set_id=50)
    importer = Importer(app, "ranked", 1_500_000_000)
    await importer.import_loose([("x/loose.osu", data)])
    response = await client.get("/api/v2/beatmapsets/50/download", headers=auth(token))
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["loose.osu"]
        assert archive.read("loose.osu") == data
