"""Deleting a score and wiping a player's scores: statistics (total and ranked score, pp,
accuracy, grade counts) and ranks recomputed, leaderboards and profiles fresh, bad input
refused without a change."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.http import INT64_MAX
from core.scores import store as scores_db
from core.services import services
from tests.moderation.support import ADMIN, Staff, snapshot, staff
from tests.plugins.api_v2 import test_rooms as rooms
from tests.scores import support as scores


async def stats(client: httpx.AsyncClient, s: Staff, user_id: int) -> dict[str, Any]:
    r = await client.get(f"/api/v2/users/{user_id}/osu", headers=s.auth("admin"))
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()["statistics"]
    return result


async def board(client: httpx.AsyncClient, s: Staff, beatmap_id: int) -> list[int]:
    r = await client.get(f"/api/v2/beatmaps/{beatmap_id}/scores", headers=s.auth("admin"))
    return [x["user_id"] for x in r.json()["scores"]]


async def played(app: Starlette, client: httpx.AsyncClient) -> tuple[Staff, list[int], Any, Any]:
    s = await staff(app)
    first = await scores.import_map(app, 0)
    second = await scores.import_map(app, 0, set_id=7050)
    ids = []
    for beatmap in (first, second):
        r = await scores.submit(client, s.player_token, beatmap, scores.body(beatmap))
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    r = await scores.submit(client, s.admin_token, first, scores.body(first, misses=3, oks=2))
    assert r.status_code == 200, r.text
    return s, ids, first, second


async def test_delete_score_recomputes_statistics_and_ranks(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s, (a, _), first, second = await played(app, client)
    assert await board(client, s, first.id) == [s.player, s.admin]
    before = await stats(client, s, s.player)
    admin_before = await stats(client, s, s.admin)
    assert before["global_rank"] == 1 and admin_before["global_rank"] == 2
    assert before["grade_counts"]["ss"] == 2

    r = await client.request(
        "DELETE", f"{ADMIN}/scores/{a}", json={"reason": "cheated"}, headers=s.auth("admin")
    )
    assert r.status_code == 200, r.text
    entry = r.json()
    assert entry["action"] == "score_delete" and entry["user_id"] == s.player
    assert entry["details"]["score_id"] == a and entry["reason"] == "cheated"
    assert await scores_db.get_score(services(app).db, a) is None

    after = await stats(client, s, s.player)
    assert after["pp"] < before["pp"]
    assert int(after["ranked_score"]) < int(before["ranked_score"])
    assert int(after["total_score"]) < int(before["total_score"])
    assert after["grade_counts"]["ss"] == 1
    assert after["play_count"] == before["play_count"] - 1
    # The leaderboard and the cached board move at once.
    assert await board(client, s, first.id) == [s.admin]
    assert await board(client, s, second.id) == [s.player]
    r = await client.get(f"/api/v2/scores/{a}", headers=s.auth("admin"))
    assert r.status_code == 404
    # A second delete: not found, nothing else logged.
    r = await client.request("DELETE", f"{ADMIN}/scores/{a}", headers=s.auth("admin"))
    assert r.status_code == 404


async def test_wipe_scores(app: Starlette, client: httpx.AsyncClient) -> None:
    s, _, first, second = await played(app, client)
    r = await client.post(
        f"{ADMIN}/users/{s.player}/wipe-scores", json={"ruleset": "taiko"}, headers=s.auth("admin")
    )
    assert r.status_code == 200 and r.json()["details"]["deleted"] == 0
    r = await client.post(
        f"{ADMIN}/users/{s.player}/wipe-scores",
        json={"reason": "farm account"},
        headers=s.auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["details"] == {"ruleset": None, "deleted": 2}
    after = await stats(client, s, s.player)
    assert after["pp"] == 0 and int(after["ranked_score"]) == 0
    assert after["global_rank"] is None and after["grade_counts"]["ss"] == 0
    assert await board(client, s, first.id) == [s.admin]
    assert await board(client, s, second.id) == []
    assert (await stats(client, s, s.admin))["global_rank"] == 1


async def test_bad_input_and_callers(app: Starlette, client: httpx.AsyncClient) -> None:
    s, (a, _), _, _ = await played(app, client)
    before = await snapshot(app)
    count = len(await scores_db.user_score_keys(services(app).db, s.player))
    for method, path, body, who, status in (
        ("DELETE", f"scores/{a}", {}, "moderator", 403),
        ("DELETE", f"scores/{a}", {}, "player", 403),
        ("DELETE", f"scores/{INT64_MAX + 1}", {}, "admin", 404),
        ("DELETE", "scores/abc", {}, "admin", 404),
        ("DELETE", "scores/999999", {}, "admin", 404),
        ("DELETE", f"scores/{a}", {"reason": ["x"]}, "admin", 422),
        ("POST", f"users/{s.player}/wipe-scores", {"ruleset": "chess"}, "admin", 422),
        ("POST", f"users/{s.player}/wipe-scores", {"ruleset": 3}, "admin", 422),
        ("POST", f"users/{s.player}/wipe-scores", {}, "moderator", 403),
        ("POST", "users/nobody/wipe-scores", {}, "admin", 404),
    ):
        r = await client.request(method, f"{ADMIN}/{path}", json=body, headers=s.auth(who))
        assert r.status_code == status, (path, who, r.text)
    assert await snapshot(app) == before
    assert len(await scores_db.user_score_keys(services(app).db, s.player)) == count


async def test_delete_a_playlist_score_rebuilds_the_room_aggregate(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await staff(app)
    beatmap = await scores.import_map(app, 0)
    room = await rooms.create(client, s.admin_token, beatmap)
    best = (await rooms.play(client, s.player_token, room, beatmap, misses=1)).json()
    worse = (await rooms.play(client, s.player_token, room, beatmap, misses=4)).json()

    async def mine() -> dict[str, Any]:
        r = await client.get(f"/api/v2/rooms/{room['id']}", headers=s.auth("player"))
        result: dict[str, Any] = r.json()["current_user_score"]
        return result

    assert (await mine())["total_score"] == best["total_score"]
    r = await client.request("DELETE", f"{ADMIN}/scores/{best['id']}", headers=s.auth("admin"))
    assert r.status_code == 200, r.text
    aggregate = await mine()
    assert (aggregate["total_score"], aggregate["completed"]) == (worse["total_score"], 1)
    assert aggregate["pp"] == pytest.approx(worse["pp"])
    r = await client.get(f"/api/v2/rooms/{room['id']}/leaderboard", headers=s.auth("player"))
    assert r.status_code == 200
    [entry] = r.json()["leaderboard"]
    assert entry["total_score"] == worse["total_score"]
    item = room["playlist"][0]["id"]
    r = await client.get(
        f"/api/v2/rooms/{room['id']}/playlist/{item}/scores", headers=s.auth("player")
    )
    assert r.status_code == 200 and [x["id"] for x in r.json()["scores"]] == [worse["id"]]
    r = await client.request("DELETE", f"{ADMIN}/scores/{worse['id']}", headers=s.auth("admin"))
    assert r.status_code == 200
    aggregate = await mine()
    assert (aggregate["total_score"], aggregate["completed"], aggregate["pp"]) == (0, 0, 0)
