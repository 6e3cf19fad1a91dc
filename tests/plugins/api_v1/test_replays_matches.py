"""API v1 get_replay and get_match, and every v1 endpoint under `/api/v1/`."""

from __future__ import annotations

import base64
import lzma
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.rooms import store as rooms_db
from core.scores import store as scores_db
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.plugins.api_v1 import v1_support
from tests.scores import support

INVALID_KEY = {"error": "Please provide a valid API key."}
NOT_AVAILABLE = {"error": "Replay not available."}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ratelimit": {"enabled": True}}


async def test_get_replay(app: Starlette, client: httpx.AsyncClient, token: str, user: int) -> None:
    _, key = await users_db.create_api_key(services(app).db, user, "bot")
    beatmap = await support.import_map(app, 0)
    score = await v1_support.played_score(app, client, token, beatmap)
    frames = await v1_support.store_replay(app, score, "peppy")
    for prefix in ("/api", "/api/v1"):
        by_id = await client.get(f"{prefix}/get_replay", params={"k": key, "s": score["id"]})
        assert by_id.status_code == 200, by_id.text
        body = by_id.json()
        assert body["encoding"] == "base64"
        assert lzma.decompress(base64.b64decode(body["content"])) == frames
    by_user = await client.get(
        "/api/get_replay", params={"k": key, "b": beatmap.id, "u": "peppy", "type": "string"}
    )
    assert by_user.json() == body
    by_mods = await client.get(
        "/api/get_replay", params={"k": key, "b": beatmap.id, "u": user, "mods": 0}
    )
    assert by_mods.json() == body


async def test_get_replay_refusals(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    db = services(app).db
    _, key = await users_db.create_api_key(db, user, "bot")
    beatmap = await support.import_map(app, 0)
    no_replay = await v1_support.played_score(app, client, token, beatmap)
    cases: list[dict[str, Any]] = [
        {"s": no_replay["id"]},
        {"s": 2**63},
        {"s": "-1"},
        {"s": "abc"},
        {"b": beatmap.id, "u": "nobody"},
        {"b": beatmap.id, "u": user, "mods": 8},
        {"b": 99999999, "u": user},
        {"b": beatmap.id, "u": user, "m": "9"},
    ]
    for case in cases:
        refused = await client.get("/api/get_replay", params={"k": key, **case})
        assert (refused.status_code, refused.json()) == (404, NOT_AVAILABLE), case
    bad_key = await client.get("/api/get_replay", params={"k": "nope", "s": no_replay["id"]})
    assert (bad_key.status_code, bad_key.json()) == (401, INVALID_KEY)
    # A restricted player's replay is hidden.
    other = await create_user(app, "hidden")
    other_token = await issue_token(app, other)
    hidden = await v1_support.played_score(app, client, other_token, beatmap)
    await v1_support.store_replay(app, hidden, "hidden")
    await users_db.update_user(db, other, restricted=True)
    # (A second key: the first has used up its 10 requests a minute.)
    _, key = await users_db.create_api_key(db, user, "second bot")
    refused = await client.get("/api/get_replay", params={"k": key, "s": hidden["id"]})
    assert refused.json() == NOT_AVAILABLE
    # A damaged file is a retrieval failure, not a crash.
    await services(app).storage.put(f"replays/{no_replay['id']}.osr", b"\x00\x01")
    await users_db.update_user(db, other, restricted=False)
    await scores_db.set_has_replay(db, int(no_replay["id"]))
    broken = await client.get("/api/get_replay", params={"k": key, "s": no_replay["id"]})
    assert (broken.status_code, broken.json()) == (500, {"error": "Replay retrieval failed."})


async def test_get_replay_is_limited_per_key(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    db = services(app).db
    _, key = await users_db.create_api_key(db, user, "bot")
    _, other_key = await users_db.create_api_key(db, user, "other bot")
    beatmap = await support.import_map(app, 0)
    score = await v1_support.played_score(app, client, token, beatmap)
    await v1_support.store_replay(app, score, "peppy")
    for _ in range(10):
        ok = await client.get("/api/get_replay", params={"k": key, "s": score["id"]})
        assert ok.status_code == 200
    tired = await client.get("/api/v1/get_replay", params={"k": key, "s": score["id"]})
    assert (tired.status_code, tired.json()) == (
        429,
        {"error": "Requesting too fast! Slow your operation, cap'n!"},
    )
    fresh = await client.get("/api/get_replay", params={"k": other_key, "s": score["id"]})
    assert fresh.status_code == 200


async def test_get_match(app: Starlette, client: httpx.AsyncClient, token: str, user: int) -> None:
    db = services(app).db
    _, key = await users_db.create_api_key(db, user, "bot")
    beatmap = await support.import_map(app, 0)
    rival = await create_user(app, "rival")
    rival_token = await issue_token(app, rival)
    mine = await v1_support.played_score(app, client, token, beatmap, mods=[{"acronym": "HD"}])
    theirs = await v1_support.played_score(
        app, client, rival_token, beatmap, misses=3, passed=False, mods=[{"acronym": "HD"}]
    )
    room_id, item_id = await v1_support.realtime_room(app, user, beatmap, [mine, theirs])
    for prefix in ("/api", "/api/v1"):
        response = await client.get(f"{prefix}/get_match", params={"k": key, "mp": room_id})
        assert response.status_code == 200
        body = response.json()
    assert body["match"]["match_id"] == str(room_id)
    assert body["match"]["name"] == "cup: (a) vs (b)" and body["match"]["end_time"] is None
    [game] = body["games"]
    assert game["game_id"] == str(item_id) and game["beatmap_id"] == str(beatmap.id)
    assert (game["play_mode"], game["team_type"], game["mods"]) == ("0", "0", "8")
    assert game["end_time"] is not None and len(game["start_time"]) == 19
    assert [s["user_id"] for s in game["scores"]] == [str(user), str(rival)]
    assert [s["pass"] for s in game["scores"]] == ["1", "0"]
    assert [s["slot"] for s in game["scores"]] == ["0", "1"]
    assert game["scores"][0]["enabled_mods"] is None and game["scores"][0]["rank"] == "0"
    assert all(isinstance(v, str) or v is None for s in game["scores"] for v in s.values())
    # A restricted player's score leaves the match.
    await users_db.update_user(db, rival, restricted=True)
    again = (await client.get("/api/get_match", params={"k": key, "mp": room_id})).json()
    assert [s["user_id"] for s in again["games"][0]["scores"]] == [str(user)]


async def test_get_match_refusals(app: Starlette, client: httpx.AsyncClient, user: int) -> None:
    db = services(app).db
    _, key = await users_db.create_api_key(db, user, "bot")
    playlist = await rooms_db.create_room(
        db, {"name": "daily", "type": "playlists", "user_id": user}
    )
    for mp in (playlist, 987654, 2**64, "-3", "x", ""):
        response = await client.get("/api/get_match", params={"k": key, "mp": mp})
        assert (response.status_code, response.json()) == (200, {"match": 0, "games": []}), mp
    denied = await client.get("/api/v1/get_match", params={"k": "bad", "mp": playlist})
    assert (denied.status_code, denied.json()) == (401, INVALID_KEY)


async def test_every_v1_endpoint_answers_under_v1(
    app: Starlette, client: httpx.AsyncClient, user: int
) -> None:
    _, key = await users_db.create_api_key(services(app).db, user, "bot")
    for name in ("get_beatmaps", "get_user", "get_scores", "get_user_best", "get_user_recent"):
        plain = await client.get(f"/api/{name}", params={"k": key, "u": user, "b": 1})
        twin = await client.get(f"/api/v1/{name}/", params={"k": key, "u": user, "b": 1})
        assert (twin.status_code, twin.json()) == (plain.status_code, plain.json()), name
