"""Teams through real clients against `hitcircle serve`: ossapi reads the `team` of users,
osu.py the team ranking (ossapi has no team ranking type)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.services import services
from core.teams import lifecycle
from core.users import user_statistics
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi
from tests.scores import support

SECRET = "s3cret-" + "t" * 30


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    svc = services(app)
    ids = {name: await create_user(app, name) for name in ("leader", "member", "loner")}
    team_id = await lifecycle.create(
        svc,
        ids["leader"],
        {"name": "Live Team", "short_name": "LIVE", "flag_url": "https://example.com/f.png"},
    )
    await lifecycle.add_member(svc, team_id, ids["member"])
    beatmap = await support.import_map(app, 0)
    for name in ("leader", "member"):
        token = await issue_token(app, ids[name])
        r = await support.submit(client, token, beatmap, support.body(beatmap))
        assert r.status_code == 200, r.text
    await svc.db.execute(sa.update(user_statistics.user_statistics).values(pp=200.0))
    client_id = await oauth_db.create_client(
        svc.db,
        user_id=ids["loner"],
        name="tracker",
        secret_hash=sha256_hex(SECRET),
        redirect="http://localhost/cb",
    )
    return {"ids": ids, "team_id": team_id, "client_id": client_id}


def test_ossapi_and_osu_py(
    world_server: LiveServer, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    member = api.user(world["ids"]["member"])
    assert member.team is not None
    assert (member.team.id, member.team.name, member.team.short_name) == (
        world["team_id"],
        "Live Team",
        "LIVE",
    )
    assert member.team.flag_url == "https://example.com/f.png"
    assert api.user(world["ids"]["loner"]).team is None
    listed = api.users([world["ids"]["leader"], world["ids"]["loner"]])
    assert {u.id: (u.team.short_name if u.team else None) for u in listed} == {
        world["ids"]["leader"]: "LIVE",
        world["ids"]["loner"]: None,
    }

    from osu import AuthHandler, Client, RankingType

    auth = AuthHandler(world["client_id"], SECRET, "http://localhost/cb")
    auth.http.base_url = f"{world_server.url}/api/v2/"
    auth.http.token_url = f"{world_server.url}/oauth/token/"
    auth.http.auth_url = f"{world_server.url}/oauth/authorize/"
    client = Client(auth, request_wait_time=0)
    ranking = client.get_ranking("osu", RankingType.TEAM)
    assert ranking.total == 1
    assert [(t.team_id, t.performance, t.play_count) for t in ranking.ranking] == [
        (world["team_id"], 400, 2)
    ]
