"""Converts on `GET /beatmapsets/{id}`: each osu! difficulty as taiko, catch and mania, with
rosu-pp-py's star ratings for that ruleset, computed once and stored."""

import httpx
import pytest
import rosu_pp_py as rosu
import sqlalchemy as sa
from starlette.applications import Starlette

from core.beatmaps import difficulty, resolve
from core.beatmaps.store import beatmap_converts
from core.services import services
from tests.beatmaps.support import import_osz, make_osu, ranked_set


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def expected(osu: bytes, mode: rosu.GameMode) -> tuple[float, float]:
    beatmap = rosu.Beatmap(bytes=osu)
    beatmap.convert(mode, [])
    return round(rosu.Difficulty().calculate(beatmap).stars, 2), float(beatmap.cs)


async def test_converts_in_osu_web_order_with_their_own_stars(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    maps = await ranked_set(app)
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    converts = body["converts"]
    # For each osu! difficulty, then taiko, fruits, mania (osu-web includeConverts).
    assert [(c["id"], c["mode"], c["mode_int"]) for c in converts] == [
        (101, "taiko", 1),
        (101, "fruits", 2),
        (101, "mania", 3),
        (102, "taiko", 1),
        (102, "fruits", 2),
        (102, "mania", 3),
    ]
    modes = {1: rosu.GameMode.Taiko, 2: rosu.GameMode.Catch, 3: rosu.GameMode.Mania}
    for convert in converts:
        stars, cs = expected(maps[convert["id"]], modes[convert["mode_int"]])
        assert convert["convert"] is True
        assert convert["difficulty_rating"] == stars and stars > 0
        assert convert["cs"] == cs
        assert set(convert) >= {"failtimes", "owners", "top_tag_ids", "checksum", "beatmapset_id"}
    # Mania's `cs` is the key count the conversion chose; the three rulesets differ in stars.
    assert converts[2]["cs"] == float(round(converts[2]["cs"]))
    assert len({c["difficulty_rating"] for c in converts[:3]}) == 3
    originals = {b["id"]: b for b in body["beatmaps"]}
    assert converts[0]["difficulty_rating"] != originals[101]["difficulty_rating"]
    assert all(b["convert"] is False and b["mode"] == "osu" for b in body["beatmaps"])


async def test_converts_are_stored_once(
    app: Starlette, client: httpx.AsyncClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ranked_set(app)
    first = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    db = services(app).db
    rows = await db.fetch_all(sa.select(beatmap_converts))
    assert sorted((r["beatmap_id"], r["ruleset"]) for r in rows) == [
        (b, r) for b in (101, 102) for r in (1, 2, 3)
    ]

    async def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("converts computed again")

    monkeypatch.setattr(difficulty, "run", fail)
    # Even with the set's cached view gone, the stored values are used.
    await resolve.invalidate(app, 100)
    again = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert again["converts"] == first["converts"]


async def test_import_stores_converts(app: Starlette) -> None:
    """A local import computes them with the difficulty: the first view has nothing to do."""
    maps = await ranked_set(app, count=1)
    rows = await services(app).db.fetch_all(
        sa.select(beatmap_converts).order_by(beatmap_converts.c.ruleset)
    )
    assert [(r["beatmap_id"], r["ruleset"]) for r in rows] == [(101, 1), (101, 2), (101, 3)]
    stars, cs = expected(maps[101], rosu.GameMode.Mania)
    assert round(rows[2]["difficulty_rating"], 2) == stars and rows[2]["cs"] == cs


async def test_stale_converts_are_recomputed(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    """Values stored for another version of the file (another checksum) are not shown."""
    maps = await ranked_set(app, count=1)
    await client.get("/api/v2/beatmapsets/100", headers=auth(token))
    db = services(app).db
    await db.execute(
        beatmap_converts.update().values(checksum="0" * 32, difficulty_rating=99.0, cs=1.0)
    )
    await resolve.invalidate(app, 100)
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    stars, _ = expected(maps[101], rosu.GameMode.Taiko)
    assert body["converts"][0]["difficulty_rating"] == stars
    rows = await db.fetch_all(sa.select(beatmap_converts))
    assert {r["difficulty_rating"] for r in rows} != {99.0} and len(rows) == 3


async def test_no_converts_for_other_rulesets(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    taiko = make_osu(beatmap_id=201, set_id=200, mode=1)
    summary = await import_osz(app, {"t.osu": taiko})
    assert not summary.failed
    body = (await client.get("/api/v2/beatmapsets/200", headers=auth(token))).json()
    assert [b["mode"] for b in body["beatmaps"]] == ["taiko"]
    assert body["converts"] == []
