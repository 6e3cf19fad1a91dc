"""Mania key-count variants (4k/7k): pp from the scores on maps of that key count, the
`variant` ranking, `statistics.variants` on the profile, through httpx and ossapi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.beatmaps.store import beatmap_converts, beatmaps
from core.services import services
from core.users import user_statistics, variants
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi
from tests.scores import support

SECRET = "s3cret-" + "v" * 30


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _key_count(app: Starlette, beatmap_id: int) -> int:
    cs = await services(app).db.fetch_val(
        sa.select(beatmaps.c.cs).where(beatmaps.c.id == beatmap_id)
    )
    return round(float(cs))


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    db = services(app).db
    beatmap = await support.import_map(app, 3)
    # The map's key count decides the variant: make it a 4k map.
    await db.execute(beatmaps.update().where(beatmaps.c.id == beatmap.id).values(cs=4.0))
    ids = {name: await create_user(app, name) for name in ("first", "second")}
    for misses, name in enumerate(ids):
        token = await issue_token(app, ids[name])
        r = await support.submit(client, token, beatmap, support.body(beatmap, misses=misses))
        assert r.status_code == 200, r.text
    client_id = await oauth_db.create_client(
        db, user_id=ids["first"], name="variants", secret_hash=sha256_hex(SECRET), redirect=""
    )
    return {"ids": ids, "beatmap": beatmap, "client_id": client_id}


async def test_variant_ranking_and_profile(
    app: Starlette, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    first, second = world["ids"]["first"], world["ids"]["second"]
    token = await issue_token(app, first)
    main = (await client.get("/api/v2/rankings/mania/performance", headers=auth(token))).json()
    got = await client.get("/api/v2/rankings/mania/performance?variant=4k", headers=auth(token))
    assert got.status_code == 200
    body = got.json()
    assert [r["user"]["id"] for r in body["ranking"]] == [first, second]
    assert [r["global_rank"] for r in body["ranking"]] == [1, 2]
    # Every mania score is on this one 4k map: the variant pp is the main pp.
    assert [r["pp"] for r in body["ranking"]] == pytest.approx([r["pp"] for r in main["ranking"]])
    assert body["total"] == 2
    seven = (
        await client.get("/api/v2/rankings/mania/performance?variant=7k", headers=auth(token))
    ).json()
    assert seven["ranking"] == [] and seven["total"] == 0
    # An empty variant is no variant (osu-web reads it with presence()): the main ranking.
    empty = await client.get("/api/v2/rankings/mania/performance?variant=", headers=auth(token))
    assert empty.json()["ranking"] == main["ranking"]
    # A score ranking has no variants: the variant is ignored there.
    score = await client.get("/api/v2/rankings/mania/score", headers=auth(token))
    score_7k = await client.get("/api/v2/rankings/mania/score?variant=7k", headers=auth(token))
    assert score_7k.status_code == 200 and score_7k.json() == score.json()
    profile = (await client.get(f"/api/v2/users/{second}/mania", headers=auth(token))).json()
    by_variant = {v["variant"]: v for v in profile["statistics"]["variants"]}
    assert by_variant["4k"]["global_rank"] == 2 and by_variant["4k"]["country_rank"] == 2
    assert by_variant["4k"]["pp"] == pytest.approx(profile["statistics"]["pp"])
    assert by_variant["4k"]["pp"] > 0
    assert by_variant["7k"] == {
        "mode": "mania",
        "variant": "7k",
        "country_rank": None,
        "global_rank": None,
        "pp": 0.0,
    }


async def test_key_count_change_moves_the_variant_on_recalc(
    app: Starlette, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    db = services(app).db
    first = world["ids"]["first"]
    await db.execute(beatmaps.update().where(beatmaps.c.id == world["beatmap"].id).values(cs=7.0))
    await user_statistics.recompute(db, first, 3)
    token = await issue_token(app, first)
    seven = (
        await client.get("/api/v2/rankings/mania/performance?variant=7k", headers=auth(token))
    ).json()
    assert [r["user"]["id"] for r in seven["ranking"]] == [first]
    four = (
        await client.get("/api/v2/rankings/mania/performance?variant=4k", headers=auth(token))
    ).json()
    assert [r["user"]["id"] for r in four["ranking"]] == [world["ids"]["second"]]


async def test_convert_key_count(app: Starlette, world: dict[str, Any]) -> None:
    db = services(app).db
    osu_map = await support.import_map(app, 0)
    mania_map = world["beatmap"]
    stored = await db.fetch_val(
        sa.select(beatmap_converts.c.cs).where(
            beatmap_converts.c.beatmap_id == osu_map.id, beatmap_converts.c.ruleset == 3
        )
    )
    # The importer stored the convert's computed key count; it is the one read.
    assert await variants.key_counts(db, [osu_map.id]) == {osu_map.id: round(float(stored))}
    await db.execute(
        beatmap_converts.update()
        .where(beatmap_converts.c.beatmap_id == osu_map.id, beatmap_converts.c.ruleset == 3)
        .values(cs=7.0)
    )
    # A convert counts under its own computed key count, never the osu! map's CircleSize.
    assert await variants.key_counts(db, [osu_map.id, mania_map.id]) == {
        osu_map.id: 7,
        mania_map.id: await _key_count(app, mania_map.id),
    }


@pytest.mark.parametrize(
    "query",
    [
        "mania/performance?variant=5k",
        "osu/performance?variant=4k",
        "taiko/performance?variant=4k",
        "fruits/performance?variant=7k",
    ],
)
async def test_bad_variant(
    app: Starlette, client: httpx.AsyncClient, world: dict[str, Any], query: str
) -> None:
    token = await issue_token(app, world["ids"]["first"])
    before = await services(app).db.fetch_all(variants.user_statistics_variants.select())
    got = await client.get(f"/api/v2/rankings/{query}", headers=auth(token))
    assert got.status_code == 422, got.text
    after = await services(app).db.fetch_all(variants.user_statistics_variants.select())
    assert len(before) == len(after) == 2


def test_ossapi_variant_ranking(
    world_server: LiveServer, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ossapi import GameMode, RankingType

    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    ranking = api.ranking(GameMode.MANIA, RankingType.PERFORMANCE, variant="4k")
    assert [r.user.id for r in ranking.ranking] == [world["ids"]["first"], world["ids"]["second"]]
    assert ranking.ranking[0].global_rank == 1 and ranking.ranking[0].pp > 0
    assert api.ranking(GameMode.MANIA, RankingType.PERFORMANCE, variant="7k").ranking == []
    user = api.user(world["ids"]["second"], mode=GameMode.MANIA)
    variants_ = {getattr(v.variant, "value", v.variant): v for v in user.statistics.variants}
    assert variants_["4k"].global_rank == 2 and variants_["4k"].pp > 0
    assert variants_["7k"].global_rank is None


async def test_aiosu_statistics_variants(world_server: LiveServer, world: dict[str, Any]) -> None:
    import aiosu
    from aiosu.models import Gamemode

    async with aiosu.v2.Client(
        client_id=world["client_id"], client_secret=SECRET, base_url=world_server.url
    ) as aclient:
        user = await aclient.get_user(world["ids"]["first"], mode=Gamemode.MANIA)
    assert user.statistics is not None and user.statistics.variants is not None
    by_variant = {str(v.variant): v for v in user.statistics.variants}
    assert by_variant["4k"].global_rank == 1 and by_variant["4k"].pp > 0
    assert by_variant["7k"].global_rank is None
