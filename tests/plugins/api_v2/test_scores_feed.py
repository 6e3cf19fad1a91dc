"""`GET scores` (the recent passed scores feed) and scores by legacy id and ruleset."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.http import encode_cursor
from core.scores import store as scores_db
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.scores import support


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def submit(client: httpx.AsyncClient, token: str, beatmap: support.Map, **body: Any) -> int:
    response = await support.submit(client, token, beatmap, support.body(beatmap, **body))
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def test_feed_oldest_first_with_a_cursor(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    osu_map = await support.import_map(app, 0)
    taiko_map = await support.import_map(app, 1)
    pending = await support.import_map(app, 0, status="pending", set_id=7500)
    first = await submit(client, token, osu_map)
    await submit(client, token, osu_map, misses=5, passed=False)
    await submit(client, token, pending)
    second = await submit(client, token, taiko_map, misses=1)
    hidden_user = await create_user(app, "cheater")
    await submit(client, await issue_token(app, hidden_user), osu_map)
    await users_db.update_user(services(app).db, hidden_user, restricted=True)

    body = (await client.get("/api/v2/scores", headers=auth(token))).json()
    # Passed scores on ranked maps of visible users, oldest first, in the new format.
    assert [s["id"] for s in body["scores"]] == [first, second]
    assert body["scores"][0]["ruleset_id"] == 0 and "total_score" in body["scores"][0]
    assert body["cursor"] == {"id": second}
    assert body["cursor_string"] == encode_cursor({"id": second})
    # Nothing new: the same cursor comes back.
    idle = await client.get(
        "/api/v2/scores", params={"cursor_string": body["cursor_string"]}, headers=auth(token)
    )
    assert idle.json() == {"scores": [], **{k: body[k] for k in ("cursor", "cursor_string")}}
    third = await submit(client, token, osu_map, misses=2)
    newer = (
        await client.get("/api/v2/scores", params={"cursor[id]": str(second)}, headers=auth(token))
    ).json()
    assert [s["id"] for s in newer["scores"]] == [third] and newer["cursor"] == {"id": third}
    taiko = (
        await client.get("/api/v2/scores", params={"ruleset": "taiko"}, headers=auth(token))
    ).json()
    assert [s["id"] for s in taiko["scores"]] == [second]
    # An unprocessed score holds the feed back until it is processed.
    db = services(app).db
    await db.execute(
        sa.update(scores_db.scores).where(scores_db.scores.c.id == second).values(processed=False)
    )
    held = (await client.get("/api/v2/scores", headers=auth(token))).json()
    assert [s["id"] for s in held["scores"]] == [first]


def at(cursor: dict[str, Any]) -> dict[str, Any]:
    return {"cursor_string": encode_cursor(cursor)}


async def test_feed_refusals(
    app: Starlette,
    client: httpx.AsyncClient,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from plugins.api_v2 import scores as score_routes

    osu_map = await support.import_map(app, 0)
    ids = [await submit(client, token, osu_map, misses=m) for m in range(4)]
    bad = await client.get("/api/v2/scores", params={"ruleset": "piano"}, headers=auth(token))
    assert (bad.status_code, bad.json()) == (422, {"error": "invalid ruleset parameter"})
    # Unreadable or out-of-range cursors count as none: the newest scores.
    huge = base64.urlsafe_b64encode(b'{"id":18446744073709551616}').decode()
    odd = ("%%%", encode_cursor({"id": "x"}), encode_cursor({"id": "9" * 25}), huge, "W10")
    for cursor in odd:
        plain = await client.get(
            "/api/v2/scores", params={"cursor_string": cursor}, headers=auth(token)
        )
        assert plain.status_code == 200
        assert [s["id"] for s in plain.json()["scores"]] == ids, cursor
    ahead = await client.get("/api/v2/scores", params=at({"id": 2**62}), headers=auth(token))
    assert ahead.json()["scores"] == [] and ahead.json()["cursor"] == {"id": 2**62}
    monkeypatch.setattr(score_routes, "FEED_MAX_ID_DISTANCE", 2)
    old = await client.get("/api/v2/scores", params=at({"id": ids[0]}), headers=auth(token))
    assert (old.status_code, old.json()) == (422, {"error": "cursor is too old"})
    recent = await client.get("/api/v2/scores", params=at({"id": ids[1]}), headers=auth(token))
    assert [s["id"] for s in recent.json()["scores"]] == ids[2:]


async def test_scores_by_legacy_id(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    osu_map = await support.import_map(app, 0)
    score_id = await submit(client, token, osu_map)
    db = services(app).db
    await db.execute(
        sa.update(scores_db.scores)
        .where(scores_db.scores.c.id == score_id)
        .values(legacy_score_id=4459998279)
    )
    shown = await client.get("/api/v2/scores/osu/4459998279", headers=auth(token))
    assert shown.status_code == 200
    assert shown.json()["id"] == score_id and shown.json()["beatmap"]["id"] == osu_map.id
    # Legacy ids are per ruleset; a lazer id is not a legacy id.
    for path, message in (
        ("/api/v2/scores/taiko/4459998279", None),
        (f"/api/v2/scores/osu/{score_id}", None),
        ("/api/v2/scores/piano/4459998279", "unknown ruleset name"),
        ("/api/v2/scores/osu/99999999999999999999", "Invalid score id."),
        ("/api/v2/scores/osu/-1", "Invalid score id."),
        ("/api/v2/scores/osu/4459998279/download", None),
    ):
        missing = await client.get(path, headers=auth(token))
        assert missing.status_code == 404, path
        if message == "unknown ruleset name" or message == "Invalid score id.":
            assert missing.json() == {"error": message}, path
    await services(app).storage.put(scores_db.replay_key(score_id), b"osr bytes")
    replay = await client.get("/api/v2/scores/osu/4459998279/download", headers=auth(token))
    assert replay.status_code == 200 and replay.content == b"osr bytes"
    assert replay.headers["content-type"] == "application/x-osu-replay"
