"""The comment limits of `[comments]`: posts and edits, votes and deletions, per token; a
refused request stores nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.plugins.comments.support import World, bearer, make_world, post, stored


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"comments": {"post_limit": "2/minute", "vote_limit": "1/minute"}}


async def test_writes_are_limited_per_token(app: Starlette, client: httpx.AsyncClient) -> None:
    world: World = await make_world(app)
    first = (await post(client, world.alice_token, "one")).json()["comments"][0]
    assert (await post(client, world.alice_token, "two")).status_code == 200
    refused = await post(client, world.alice_token, "three")
    assert (refused.status_code, refused.json()) == (429, {"error": "Too Many Attempts."})
    assert int(refused.headers["Retry-After"]) >= 1
    url = f"/api/v2/comments/{first['id']}"
    edit = await client.put(url, data={"comment[message]": "x"}, headers=bearer(world.alice_token))
    assert edit.status_code == 429
    assert (await client.post(url + "/vote", headers=bearer(world.bob_token))).status_code == 200
    assert (await client.delete(url + "/vote", headers=bearer(world.bob_token))).status_code == 429
    # Another token has its own budget.
    assert (await post(client, world.bob_token, "mine")).status_code == 200
    rows, votes = await stored(app)
    assert [r["message"] for r in rows] == ["one", "two", "mine"]
    assert [(v["comment_id"], v["user_id"]) for v in votes] == [(first["id"], world.bob)]
