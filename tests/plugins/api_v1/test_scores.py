"""API v1 get_scores, get_user_best, get_user_recent from lazer-format scores."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.scores import support


async def test_v1_score_lists(app: Starlette, client: Any, token: str, user: int) -> None:
    _, key = await users_db.create_api_key(services(app).db, user, "test")
    beatmap = await support.import_map(app, 0)
    await support.submit(client, token, beatmap, support.body(beatmap, misses=1))
    dt_body = support.body(beatmap, mods=[{"acronym": "NC"}, {"acronym": "HD"}])
    await support.submit(client, token, beatmap, dt_body)
    failed = support.body(beatmap, misses=5, passed=False)
    failed["rank"] = "F"
    await support.submit(client, token, beatmap, failed)

    scores = (await client.get(f"/api/get_scores?k={key}&b={beatmap.id}")).json()
    assert len(scores) == 1
    row = scores[0]
    assert all(isinstance(v, str) or v is None for v in row.values())
    assert "beatmap_id" not in row
    assert row["username"] == "peppy"
    assert row["enabled_mods"] == str(8 + 64 + 512)
    assert row["rank"] == "XH"
    assert row["replay_available"] == "0"
    assert len(row["date"]) == 19
    filtered = (await client.get(f"/api/get_scores?k={key}&b={beatmap.id}&mods=0")).json()
    assert filtered[0]["enabled_mods"] == "0"
    assert (await client.get(f"/api/get_scores?k={key}&b={beatmap.id}&mods=16")).json() == []
    best = (await client.get(f"/api/get_user_best?k={key}&u=peppy&type=string")).json()
    assert [r["beatmap_id"] for r in best] == [str(beatmap.id)]
    assert float(best[0]["pp"]) > 0
    recent = (await client.get(f"/api/get_user_recent?k={key}&u={user}")).json()
    assert len(recent) == 3
    assert recent[0]["rank"] == "F"
    assert "pp" not in recent[0] and "replay_available" not in recent[0]
    denied = await client.get(f"/api/get_scores?k=wrong&b={beatmap.id}")
    assert (denied.status_code, denied.json()) == (
        401,
        {"error": "Please provide a valid API key."},
    )
    assert (await client.get(f"/api/get_user_best?k={key}&u=nobody")).json() == []
