"""Against `hitcircle serve`: a playlist with scores read by ossapi, aiosu and osu.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.services import services
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi
from tests.scores import support

SECRET = "s3cret-" + "r" * 30


@pytest.fixture
async def world(app: Starlette) -> dict[str, Any]:
    alice = await create_user(app, "alice")
    bob = await create_user(app, "bob")
    client_id = await oauth_db.create_client(
        services(app).db,
        user_id=alice,
        name="live rooms",
        secret_hash=sha256_hex(SECRET),
        redirect="http://localhost/cb",
    )
    return {
        "alice": alice,
        "bob": bob,
        "tokens": {alice: await issue_token(app, alice), bob: await issue_token(app, bob)},
        "client_id": client_id,
        "map": await support.import_map(app, 0),
    }


@pytest.fixture
def room(world_server: LiveServer, world: dict[str, Any]) -> dict[str, Any]:
    """Alice's playlist; Alice and Bob each play it once, Alice better."""
    beatmap = world["map"]
    alice_auth = {"Authorization": f"Bearer {world['tokens'][world['alice']]}"}
    with httpx.Client(base_url=world_server.url, timeout=30) as http:
        created = http.post(
            "/api/v2/rooms",
            json={
                "name": "live playlist",
                "duration": 120,
                "playlist": [{"beatmap_id": beatmap.id, "ruleset_id": 0}],
            },
            headers=alice_auth,
        ).json()
        item_id = created["playlist"][0]["id"]
        for user, misses in ((world["alice"], 0), (world["bob"], 4)):
            auth = {"Authorization": f"Bearer {world['tokens'][user]}"}
            token = http.post(
                f"/api/v2/rooms/{created['id']}/playlist/{item_id}/scores",
                data={"beatmap_id": beatmap.id, "ruleset_id": 0, "beatmap_hash": beatmap.checksum},
                headers=auth,
            ).json()["id"]
            submitted = http.put(
                f"/api/v2/rooms/{created['id']}/playlist/{item_id}/scores/{token}",
                json=support.body(beatmap, misses=misses),
                headers=auth,
            )
            assert submitted.status_code == 200, submitted.text
    return {"id": created["id"], "item_id": item_id}


def test_ossapi_reads_the_room(
    world_server: LiveServer,
    world: dict[str, Any],
    room: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    shown = api.room(room["id"])
    assert shown.id == room["id"] and shown.name == "live playlist"
    assert shown.playlist[0].beatmap.checksum == world["map"].checksum
    board = api.room_leaderboard(room["id"])
    assert [s.user_id for s in board.leaderboard] == [world["alice"], world["bob"]]
    scores = api.multiplayer_scores(room["id"], room["item_id"], limit=1)
    assert [s.user_id for s in scores.scores] == [world["alice"]]
    rest = api.multiplayer_scores(room["id"], room["item_id"], cursor_string=scores.cursor_string)
    assert [s.user_id for s in rest.scores] == [world["bob"]]


async def test_aiosu_reads_the_room(
    world_server: LiveServer, world: dict[str, Any], room: dict[str, Any]
) -> None:
    import aiosu

    async with aiosu.v2.Client(
        client_id=world["client_id"], client_secret=SECRET, base_url=world_server.url
    ) as client:
        shown = await client.get_multiplayer_room(room["id"])
        assert shown.id == room["id"]
        # (aiosu asks for the identify scope before reading a room leaderboard; client
        # credentials have only public.)
        first = await client.get_multiplayer_scores(room["id"], room["item_id"])
        assert [s.user_id for s in first.scores] == [world["alice"]] and first.next is not None
        second = await first.next()
        assert [s.user_id for s in second.scores] == [world["bob"]]


def test_osu_py_reads_the_room(
    world_server: LiveServer, world: dict[str, Any], room: dict[str, Any]
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from osu import AuthHandler, Client, Scope

    # osu.py reads rooms only as a user: the authorization code flow, the test as browser.
    auth = AuthHandler(world["client_id"], SECRET, "http://localhost/cb", Scope.identify())
    auth.http.base_url = f"{world_server.url}/api/v2/"
    auth.http.token_url = f"{world_server.url}/oauth/token/"
    auth.http.auth_url = f"{world_server.url}/oauth/authorize/"
    url = auth.get_auth_url("state")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    with httpx.Client() as browser:
        answer = browser.post(
            f"{world_server.url}/oauth/authorize",
            data=query | {"username": "bob", "password": "password123"},
        )
    assert answer.status_code == 302, answer.text
    auth.get_auth_token(parse_qs(urlsplit(answer.headers["location"]).query)["code"][0])
    client = Client(auth, request_wait_time=0)
    shown = client.get_room(room["id"])
    assert shown.id == room["id"]
    board = client.get_room_leaderboard(room["id"])
    assert [s.user_id for s in board.leaderboard] == [world["alice"], world["bob"]]
    assert board.user_score is not None and board.user_score.position == 2
