"""ossapi and osu.py against `hitcircle serve`: user search, the recent scores feed, and scores
by legacy id. (aiosu's search model reads `users`/`wiki_pages`, not the official `user` and
`wiki_page` keys, so it reads nothing from any server; aiosu has no scores feed.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.scores import store as scores_db
from core.services import services
from core.users import store as users_db
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi
from tests.scores import support

SECRET = "s3cret-" + "p" * 30
LEGACY_ID = 4459998279


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    db = services(app).db
    names = ("cookiezi", "cookie monster", "rafis", "cookie cheat")
    ids = {name: await create_user(app, name) for name in names}
    osu_map = await support.import_map(app, 0)
    taiko_map = await support.import_map(app, 1)
    scores = []
    for name, beatmap in (("cookiezi", osu_map), ("rafis", taiko_map), ("cookie cheat", osu_map)):
        token = await issue_token(app, ids[name])
        response = await support.submit(client, token, beatmap, support.body(beatmap))
        scores.append(int(response.json()["id"]))
    await users_db.update_user(db, ids["cookie cheat"], restricted=True)
    await db.execute(
        sa.update(scores_db.scores)
        .where(scores_db.scores.c.id == scores[0])
        .values(legacy_score_id=LEGACY_ID)
    )
    await services(app).storage.put(scores_db.replay_key(scores[0]), b"an osr")
    client_id = await oauth_db.create_client(
        db,
        user_id=ids["rafis"],
        name="tracker",
        secret_hash=sha256_hex(SECRET),
        redirect="http://localhost/cb",
    )
    return {"ids": ids, "scores": scores[:2], "client_id": client_id}


def test_ossapi(
    world_server: LiveServer, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    found = api.search(query="cookie", mode="user")
    assert [u.username for u in found.users.data] == ["cookie monster", "cookiezi"]
    assert found.users.total == 2 and found.wiki_pages is None
    both = api.search(query="rafis")
    assert [u.id for u in both.users.data] == [world["ids"]["rafis"]]
    assert both.wiki_pages.data == [] and both.wiki_pages.total == 0

    feed = api.scores()
    assert [s.id for s in feed.scores] == world["scores"]
    taiko = api.scores(mode="taiko")
    assert [s.id for s in taiko.scores] == world["scores"][1:]
    idle = api.scores(cursor_string=feed.cursor_string)
    assert idle.scores == [] and idle.cursor_string == feed.cursor_string

    legacy = api.score_mode("osu", LEGACY_ID)
    assert legacy.id == world["scores"][0] and legacy.user_id == world["ids"]["cookiezi"]
    assert api.download_score_mode("osu", LEGACY_ID, raw=True) == b"an osr"


def test_osu_py(world_server: LiveServer, world: dict[str, Any]) -> None:
    from osu import AuthHandler, Client

    auth = AuthHandler(world["client_id"], SECRET, "http://localhost/cb")
    auth.http.base_url = f"{world_server.url}/api/v2/"
    auth.http.token_url = f"{world_server.url}/oauth/token/"
    auth.http.auth_url = f"{world_server.url}/oauth/authorize/"
    client = Client(auth, request_wait_time=0)
    found = client.search(mode="user", query="cookie")
    assert [u.username for u in found.user] == ["cookie monster", "cookiezi"]
    assert found.wiki_page is None
    both = client.search(query="cookie m")
    assert [u.username for u in both.user] == ["cookie monster"] and both.wiki_page == []
    feed = client.get_all_scores()
    assert [s.id for s in feed.scores] == world["scores"]
    taiko = client.get_all_scores(ruleset="taiko")
    assert [s.id for s in taiko.scores] == world["scores"][1:]
