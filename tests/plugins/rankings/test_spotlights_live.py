"""Spotlights through real clients against `hitcircle serve`: ossapi and osu.py read the list
and a spotlight's chart."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.db import utcnow
from core.services import services
from core.spotlights import store as spotlights_db
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi
from tests.scores import support

SECRET = "s3cret-" + "s" * 30


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    db = services(app).db
    beatmap = await support.import_map(app, 0)
    ids = {name: await create_user(app, name) for name in ("first", "second")}
    for misses, name in enumerate(ids):
        token = await issue_token(app, ids[name])
        r = await support.submit(client, token, beatmap, support.body(beatmap, misses=misses))
        assert r.status_code == 200, r.text
    now = utcnow()
    older = await spotlights_db.create(
        db,
        name="Old",
        type="bestof",
        start=now - dt.timedelta(days=400),
        end=now - dt.timedelta(days=300),
        mode_specific=False,
    )
    spotlight_id = await spotlights_db.create(
        db,
        name="Live charts",
        type="monthly",
        start=now - dt.timedelta(days=1),
        end=now + dt.timedelta(days=1),
        mode_specific=True,
    )
    for sid in (older, spotlight_id):
        await spotlights_db.add_set(db, sid, support.SET_IDS[0])
    client_id = await oauth_db.create_client(
        db, user_id=ids["first"], name="charts", secret_hash=sha256_hex(SECRET), redirect=""
    )
    return {"ids": ids, "spotlight": spotlight_id, "older": older, "client_id": client_id}


def test_ossapi_and_osu_py(
    world_server: LiveServer, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ossapi import GameMode, RankingType

    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    spotlights = api.spotlights()
    assert [s.id for s in spotlights] == [world["spotlight"], world["older"]]
    assert spotlights[0].name == "Live charts" and spotlights[0].mode_specific is True
    assert spotlights[0].start_date < spotlights[0].end_date
    chart = api.ranking(GameMode.OSU, RankingType.CHARTS, spotlight=world["spotlight"])
    assert chart.spotlight is not None and chart.spotlight.participant_count == 2
    assert [s.user.id for s in chart.ranking] == [world["ids"]["first"], world["ids"]["second"]]
    assert chart.ranking[0].ranked_score > chart.ranking[1].ranked_score > 0
    assert chart.beatmapsets is not None
    assert [s.id for s in chart.beatmapsets] == [support.SET_IDS[0]]
    old = api.ranking(GameMode.OSU, RankingType.CHARTS, spotlight=world["older"])
    assert old.ranking == [] and old.spotlight is not None
    assert old.spotlight.participant_count == 0

    from osu import AuthHandler, Client
    from osu import RankingType as OsuRankingType

    auth = AuthHandler(world["client_id"], SECRET, "http://localhost/cb")
    auth.http.base_url = f"{world_server.url}/api/v2/"
    auth.http.token_url = f"{world_server.url}/oauth/token/"
    auth.http.auth_url = f"{world_server.url}/oauth/authorize/"
    client = Client(auth, request_wait_time=0)
    listed = client.get_spotlights()
    assert [s.id for s in listed.spotlights] == [world["spotlight"], world["older"]]
    ranking = client.get_ranking("osu", OsuRankingType.SPOTLIGHT, spotlight=world["spotlight"])
    assert [s.user.id for s in ranking.ranking] == [world["ids"]["first"], world["ids"]["second"]]
    assert ranking.spotlight.participant_count == 2
    assert [s.id for s in ranking.beatmapsets] == [support.SET_IDS[0]]
