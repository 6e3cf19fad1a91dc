"""Solo submission (token + PUT), score by id, replay download and pins, in-process."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.scores import store as scores_db
from core.services import services
from core.users import user_statistics
from tests.conftest import create_user, issue_token
from tests.scores import support

NEW = {"x-api-version": "20240101"}


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def counts(app: Starlette) -> tuple[int, int, int]:
    db = services(app).db
    n_scores = await db.fetch_val(sa.select(sa.func.count()).select_from(scores_db.scores))
    n_bests = await db.fetch_val(sa.select(sa.func.count()).select_from(scores_db.score_bests))
    n_stats = await db.fetch_val(
        sa.select(sa.func.count()).select_from(user_statistics.user_statistics)
    )
    return int(n_scores), int(n_bests), int(n_stats)


@pytest.mark.parametrize("ruleset_id", [0, 1, 2, 3])
async def test_lazer_flow_stores_the_score_with_rosu_pp(
    app: Starlette, client: Any, token: str, ruleset_id: int
) -> None:
    beatmap = await support.import_map(app, ruleset_id)
    payload = support.body(beatmap, misses=1)
    response = await support.submit(client, token, beatmap, payload)
    assert response.status_code == 200, response.text
    score = response.json()
    assert score["position"] == 1
    assert score["ruleset_id"] == ruleset_id
    assert score["statistics"] == payload["statistics"]
    assert score["type"] == "solo_score"
    assert score["pp"] == pytest.approx(support.expected_pp(beatmap, payload), rel=1e-9)
    shown = await client.get(f"/api/v2/scores/{score['id']}", headers=auth(token, **NEW))
    assert shown.status_code == 200
    keys = list(shown.json())
    assert keys.index("beatmap") < keys.index("beatmapset")
    assert shown.json()["rank_global"] == 1


async def test_speed_change_setting_is_honoured(app: Starlette, client: Any, token: str) -> None:
    beatmap = await support.import_map(app, 0)
    plain = support.body(beatmap)
    fast = support.body(beatmap, mods=[{"acronym": "DT", "settings": {"speed_change": 1.3}}])
    first = (await support.submit(client, token, beatmap, plain)).json()
    second = (await support.submit(client, token, beatmap, fast)).json()
    # A non-default rate is not pp-eligible (ppy/osu Mod.Ranked), but the calculation honours it.
    assert second["pp"] is None
    assert support.expected_pp(beatmap, fast) != support.expected_pp(beatmap, plain)
    default_dt = support.body(beatmap, mods=[{"acronym": "DT"}])
    third = (await support.submit(client, token, beatmap, default_dt)).json()
    assert third["pp"] == pytest.approx(support.expected_pp(beatmap, default_dt), rel=1e-9)
    assert third["pp"] > first["pp"]


async def test_repeated_put_returns_the_same_score_and_changes_nothing(
    app: Starlette, client: Any, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    payload = support.body(beatmap)
    created = await client.post(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
        data={"ruleset_id": "0", "beatmap_hash": beatmap.checksum, "version_hash": "x"},
        headers=auth(token),
    )
    url = f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{created.json()['id']}"
    first = await client.put(url, json=payload, headers=auth(token))
    before = await counts(app)
    stats_before = await client.get("/api/v2/me/osu", headers=auth(token))
    again = await client.put(url, json=payload, headers=auth(token))
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert await counts(app) == before
    stats_after = await client.get("/api/v2/me/osu", headers=auth(token))
    assert stats_after.json()["statistics"] == stats_before.json()["statistics"]
    assert stats_after.json()["statistics"]["play_count"] == 1


async def test_statistics_follow_the_submissions(app: Starlette, client: Any, token: str) -> None:
    beatmap = await support.import_map(app, 0)
    worse = support.body(beatmap, misses=2, total_score=500_000)
    better = support.body(beatmap, total_score=800_000)
    await support.submit(client, token, beatmap, worse)
    await support.submit(client, token, beatmap, better)
    me = (await client.get("/api/v2/me/osu", headers=auth(token))).json()
    stats = me["statistics"]
    assert stats["play_count"] == 2
    assert stats["global_rank"] == 1
    assert stats["grade_counts"]["ss"] == 1
    assert stats["grade_counts"]["a"] == 0
    assert stats["pp"] > 0
    assert stats["ranked_score"] > 0
    assert stats["maximum_combo"] == better["max_combo"]


async def test_download_serves_a_stored_replay_else_404(
    app: Starlette, client: Any, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    score = (await support.submit(client, token, beatmap, support.body(beatmap))).json()
    url = f"/api/v2/scores/{score['id']}/download"
    assert (await client.get(url, headers=auth(token))).status_code == 404
    await services(app).storage.put(f"replays/{score['id']}.osr", b"replay-bytes")
    got = await client.get(url, headers=auth(token))
    assert got.status_code == 200
    assert got.content == b"replay-bytes"
    assert got.headers["content-type"] == "application/x-osu-replay"
    assert f"solo-replay-osu_{beatmap.id}_{score['id']}.osr" in got.headers["content-disposition"]


async def test_pins(app: Starlette, client: Any, token: str, user: int) -> None:
    beatmap = await support.import_map(app, 0)
    other_map = await support.import_map(app, 0, set_id=7050)
    a = (await support.submit(client, token, beatmap, support.body(beatmap))).json()
    b = (await support.submit(client, token, other_map, support.body(other_map))).json()
    assert (
        await client.put(f"/api/v2/score-pins/{a['id']}", headers=auth(token))
    ).status_code == 204
    assert (
        await client.put(f"/api/v2/score-pins/{b['id']}", headers=auth(token))
    ).status_code == 204
    listed = await client.get(f"/api/v2/users/{user}/scores/pinned?mode=osu", headers=auth(token))
    assert [s["id"] for s in listed.json()] == [b["id"], a["id"]]
    moved = await client.post(
        f"/api/v2/score-pins/{b['id']}/reorder",
        data={"after_score_id": a["id"]},
        headers=auth(token),
    )
    assert moved.status_code == 204
    listed = await client.get(
        f"/api/v2/users/{user}/scores/pinned?mode=osu", headers=auth(token, **NEW)
    )
    assert [s["id"] for s in listed.json()] == [a["id"], b["id"]]
    assert listed.json()[0]["current_user_attributes"]["pin"] == {
        "is_pinned": True,
        "score_id": a["id"],
    }
    # Someone else's score: not found (never 403 to lazer), and nothing changes.
    other = await create_user(app, "someone")
    other_token = await issue_token(app, other)
    denied = await client.put(f"/api/v2/score-pins/{a['id']}", headers=auth(other_token))
    assert denied.status_code == 404
    assert (
        await client.delete(f"/api/v2/score-pins/{a['id']}", headers=auth(token))
    ).status_code == 204
    listed = await client.get(f"/api/v2/users/{user}/scores/pinned?mode=osu", headers=auth(token))
    assert [s["id"] for s in listed.json()] == [b["id"]]


async def test_score_show_unknown_and_invalid_ids(client: Any, token: str) -> None:
    missing = await client.get("/api/v2/scores/999999", headers=auth(token))
    assert missing.status_code == 404
    assert missing.json() == {"error": "Specified Solo\\Score couldn't be found."}
    invalid = await client.get("/api/v2/scores/abc", headers=auth(token))
    assert invalid.json() == {"error": "Invalid score id."}


async def test_replay_downloads_are_limited_per_token(
    app: Starlette, client: Any, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    score = (await support.submit(client, token, beatmap, support.body(beatmap))).json()
    await services(app).storage.put(f"replays/{score['id']}.osr", b"replay-bytes")
    url = f"/api/v2/scores/{score['id']}/download"
    for _ in range(10):
        assert (await client.get(url, headers=auth(token))).status_code == 200
    refused = await client.get(url, headers=auth(token))
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too Many Attempts."}
    assert int(refused.headers["retry-after"]) >= 1
    # Another token has its own allowance.
    other = await issue_token(app, await create_user(app, "other-viewer"))
    assert (await client.get(url, headers=auth(other))).status_code == 200
