"""Rankings (performance, score, country, cursor, country filter), rank history, recalc CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.applications import Starlette

from core.http import decode_cursor
from core.services import services
from core.users import user_statistics
from plugins.rankings import snapshot_job
from tests.conftest import create_user, issue_token
from tests.scores import support


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ranked_players(app: Starlette, client: Any, count: int = 3) -> list[int]:
    beatmap = await support.import_map(app, 0)
    ids = []
    for i in range(count):
        uid = await create_user(app, f"player{i}", country="AU" if i % 2 == 0 else "JP")
        token = await issue_token(app, uid)
        await support.submit(client, token, beatmap, support.body(beatmap, misses=i))
        ids.append(uid)
    return ids


async def test_performance_ranking(app: Starlette, client: Any, token: str) -> None:
    ids = await ranked_players(app, client)
    got = await client.get("/api/v2/rankings/osu/performance", headers=auth(token))
    assert got.status_code == 200
    body = got.json()
    assert [r["user"]["id"] for r in body["ranking"]] == ids
    assert [r["global_rank"] for r in body["ranking"]] == [1, 2, 3]
    assert body["total"] == 3
    assert body["cursor"] is None and body["cursor_string"] is None
    assert body["ranking"][0]["user"]["country"]["code"] == "AU"
    assert "rank_change_since_30_days" in body["ranking"][0]
    au = (
        await client.get("/api/v2/rankings/osu/performance?country=AU", headers=auth(token))
    ).json()
    assert [r["user"]["id"] for r in au["ranking"]] == [ids[0], ids[2]]
    assert [r["country_rank"] for r in au["ranking"]] == [1, 2]
    score = (await client.get("/api/v2/rankings/osu/score", headers=auth(token))).json()
    assert len(score["ranking"]) == 3
    countries = (await client.get("/api/v2/rankings/osu/country", headers=auth(token))).json()
    assert {c["code"] for c in countries["ranking"]} == {"AU", "JP"}
    assert countries["ranking"][0]["country"]["code"] == countries["ranking"][0]["code"]
    assert (
        await client.get("/api/v2/rankings/piano/performance", headers=auth(token))
    ).status_code == 404
    assert (await client.get("/api/v2/rankings/osu/best", headers=auth(token))).status_code == 404
    bad = await client.get("/api/v2/rankings/osu/performance?filter=enemies", headers=auth(token))
    assert bad.status_code == 422


async def test_cursor_pages(app: Starlette, client: Any, token: str) -> None:
    beatmap = await support.import_map(app, 0)
    for i in range(52):
        uid = await create_user(app, f"p{i}")
        await user_statistics.lock_row(services(app).db, uid, 0)
        await services(app).db.execute(
            user_statistics.user_statistics.update()
            .where(user_statistics.user_statistics.c.user_id == uid)
            .values(pp=1000.0 - i, ranked_score=10_000 - i)
        )
    first = (await client.get("/api/v2/rankings/osu/performance", headers=auth(token))).json()
    assert len(first["ranking"]) == 50
    assert first["cursor"] == {"page": 2}
    assert decode_cursor(first["cursor_string"]) == {"page": 2}
    second = (
        await client.get(
            f"/api/v2/rankings/osu/performance?cursor_string={first['cursor_string']}",
            headers=auth(token),
        )
    ).json()
    assert len(second["ranking"]) == 2
    assert second["ranking"][0]["global_rank"] == 51
    assert second["cursor"] is None
    legacy = (
        await client.get("/api/v2/rankings/osu/performance?cursor[page]=2", headers=auth(token))
    ).json()
    assert legacy["ranking"] == second["ranking"]
    del beatmap


async def test_rank_history_job_and_profile_extras(app: Starlette, client: Any) -> None:
    ids = await ranked_players(app, client)
    await snapshot_job(app)
    await snapshot_job(app)  # once a day only
    today = dt.datetime.now(dt.UTC).date()
    ranks = await user_statistics.ranks_on(services(app).db, ids, 0, today)
    assert ranks == {ids[0]: 1, ids[1]: 2, ids[2]: 3}
    extras = await user_statistics.profile_extras(services(app).db, ids[1], 0, 2)
    assert extras["rank_history"]["data"][-1] == 2
    assert len(extras["rank_history"]["data"]) == 90
    assert extras["rank_highest"]["rank"] == 2
    assert extras["scores_best_count"] == 1
    assert extras["scores_recent_count"] == 1
