"""`/users/{user}/scores/{type}`: best (with weights), firsts, recent (fails), pinned."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from tests.conftest import create_user, issue_token
from tests.scores import support

NEW = {"x-api-version": "20240101"}


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def test_best_recent_and_firsts(app: Starlette, client: Any, token: str, user: int) -> None:
    maps = [
        await support.import_map(app, 0, set_id=7000 + 10 * i, objects=20 + 10 * i)
        for i in range(3)
    ]
    for beatmap in maps:
        await support.submit(client, token, beatmap, support.body(beatmap, misses=1))
    failed = support.body(maps[0], misses=4, passed=False)
    failed["rank"] = "F"
    await support.submit(client, token, maps[0], failed)
    best = (
        await client.get(
            f"/api/v2/users/{user}/scores/best?mode=osu&limit=10", headers=auth(token, **NEW)
        )
    ).json()
    assert len(best) == 3
    pps = [s["pp"] for s in best]
    assert pps == sorted(pps, reverse=True)
    assert best[1]["weight"] == {
        "percentage": pytest.approx(95.0),
        "pp": pytest.approx(pps[1] * 0.95),
    }
    assert list(best[0]).index("beatmap") < list(best[0]).index("beatmapset")
    page = (
        await client.get(
            f"/api/v2/users/{user}/scores/best?mode=osu&limit=1&offset=2", headers=auth(token)
        )
    ).json()
    assert page[0]["weight"]["percentage"] == pytest.approx(100 * 0.95**2)
    recent = await client.get(f"/api/v2/users/{user}/scores/recent", headers=auth(token))
    assert len(recent.json()) == 3
    with_fails = await client.get(
        f"/api/v2/users/{user}/scores/recent?include_fails=1", headers=auth(token, **NEW)
    )
    assert len(with_fails.json()) == 4
    assert with_fails.json()[0]["passed"] is False
    firsts = await client.get(f"/api/v2/users/{user}/scores/firsts", headers=auth(token))
    assert len(firsts.json()) == 3
    rival = await create_user(app, "rival")
    rival_token = await issue_token(app, rival)
    await support.submit(client, rival_token, maps[0], support.body(maps[0], total_score=999_999))
    firsts = await client.get(f"/api/v2/users/{user}/scores/firsts", headers=auth(token))
    assert len(firsts.json()) == 2


async def test_unknown_type_mode_and_user(client: Any, token: str, user: int) -> None:
    assert (
        await client.get(f"/api/v2/users/{user}/scores/worst", headers=auth(token))
    ).status_code == 404
    assert (
        await client.get(f"/api/v2/users/{user}/scores/best?mode=piano", headers=auth(token))
    ).status_code == 404
    assert (
        await client.get("/api/v2/users/424242/scores/best", headers=auth(token))
    ).status_code == 404
    by_name = await client.get("/api/v2/users/peppy/scores/best", headers=auth(token))
    assert (by_name.status_code, by_name.json()) == (200, [])
