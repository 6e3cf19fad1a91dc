"""A room's UserScoreAggregate: `current_user_score` (absent for a guest, zeroed before any
attempt) and the leaderboard's `pp` (the sum over the user's best score on each item)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import create_user, issue_token
from tests.plugins.api_v2.test_rooms import auth, create, play
from tests.scores import support


@pytest.fixture
async def beatmap(app: Starlette) -> support.Map:
    return await support.import_map(app, 0)


async def test_current_user_score_and_leaderboard_pp(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    guest = await client.get(
        f"/api/v2/rooms/{room['id']}", headers=auth(await issue_token(app, None))
    )
    assert guest.status_code == 200 and "current_user_score" not in guest.json()
    other = await create_user(app, "other")
    other_token = await issue_token(app, other)
    played = (await play(client, token, room, beatmap, misses=1)).json()
    assert played["pp"] > 0
    worse = (await play(client, token, room, beatmap, misses=4)).json()
    assert worse["pp"] < played["pp"]
    theirs = (await play(client, other_token, room, beatmap, misses=3)).json()

    board = (
        await client.get(f"/api/v2/rooms/{room['id']}/leaderboard", headers=auth(token))
    ).json()
    by_user: dict[int, Any] = {e["user_id"]: e for e in board["leaderboard"]}
    # The best score of the item counts, not the latest.
    assert by_user[user]["pp"] == pytest.approx(played["pp"])
    assert by_user[other]["pp"] == pytest.approx(theirs["pp"])
    assert board["user_score"]["pp"] == pytest.approx(played["pp"])

    shown = (await client.get(f"/api/v2/rooms/{room['id']}", headers=auth(token))).json()
    mine = shown["current_user_score"]
    assert (mine["attempts"], mine["completed"], mine["total_score"]) == (
        2,
        1,
        played["total_score"],
    )
    assert mine["pp"] == pytest.approx(played["pp"])
    item_id = room["playlist"][0]["id"]
    assert mine["playlist_item_attempts"] == [{"id": item_id, "attempts": 2, "passed": True}]
    # Another user's view holds their own aggregate, never someone else's.
    seen = await client.get(f"/api/v2/rooms/{room['id']}", headers=auth(other_token))
    assert seen.json()["current_user_score"]["user_id"] == other
