"""core.scores.submit: bad input is refused with 422 and stores nothing; recalc agrees."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.db import utcnow
from core.scores import scoring
from core.scores import store as scores_db
from core.scores.recalc import recalc
from core.services import services
from core.users import user_statistics
from tests.conftest import create_user, issue_token
from tests.scores import support


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stored(app: Starlette) -> tuple[int, int, int, int]:
    db = services(app).db
    totals = []
    for table in (
        scores_db.scores,
        scores_db.score_bests,
        user_statistics.user_statistics,
    ):
        totals.append(int(await db.fetch_val(sa.select(sa.func.count()).select_from(table))))
    used = await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(scores_db.score_tokens)
        .where(scores_db.score_tokens.c.score_id.is_not(None))
    )
    return (*totals, int(used))


async def new_token(client: Any, token: str, beatmap: support.Map, ruleset_id: int = 0) -> int:
    created = await client.post(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
        data={"ruleset_id": str(ruleset_id), "beatmap_hash": beatmap.checksum},
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    return int(created.json()["id"])


def mutate(**changes: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def apply(body: dict[str, Any]) -> dict[str, Any]:
        result = dict(body)
        for key, value in changes.items():
            if value is KeyError:
                result.pop(key, None)
            else:
                result[key] = value
        return result

    return apply


def more_than_maximum(body: dict[str, Any]) -> dict[str, Any]:
    stats = dict(body["statistics"])
    stats["great"] += 5
    return {**body, "statistics": stats}


def more_than_the_beatmap(body: dict[str, Any]) -> dict[str, Any]:
    stats, maximum = dict(body["statistics"]), dict(body["maximum_statistics"])
    stats["great"] += 500
    maximum["great"] += 500
    accuracy = scoring.lazer_accuracy(stats, maximum, "osu")
    return {**body, "statistics": stats, "maximum_statistics": maximum, "accuracy": accuracy}


BAD_BODIES = {
    "wrong ruleset for the token": (mutate(ruleset_id=1), "ruleset_id does not match"),
    "negative count": (
        lambda b: {**b, "statistics": {**b["statistics"], "ok": -1}},
        "must not be negative",
    ),
    "more judgements than maximum": (more_than_maximum, "more basic judgements"),
    "more judgements than objects": (more_than_the_beatmap, "more judgements than the beatmap"),
    "accuracy above 1": (mutate(accuracy=1.5), "accuracy must be between 0 and 1"),
    "accuracy not matching": (mutate(accuracy=0.5), "accuracy does not match"),
    "combo too large": (mutate(max_combo=100000), "max_combo is larger"),
    "negative combo": (mutate(max_combo=-1), "max_combo is out of range"),
    "unknown mod": (mutate(mods=[{"acronym": "ZZ"}]), "unknown mod ZZ"),
    "unknown mod setting": (
        mutate(mods=[{"acronym": "DT", "settings": {"warp": 2}}]),
        "unknown setting warp",
    ),
    "incompatible mods": (
        mutate(mods=[{"acronym": "HR"}, {"acronym": "EZ"}]),
        "incompatible",
    ),
    "autoplay": (mutate(mods=[{"acronym": "AT"}]), "cannot be used"),
    "string score": (mutate(total_score="lots"), "total_score must be an integer"),
    "huge score": (mutate(total_score=10**15), "total_score is out of range"),
    "missing passed": (mutate(passed=KeyError), "passed must be a boolean"),
    "bad rank": (mutate(rank="Z"), "rank must be one of"),
    "failed with a grade": (mutate(passed=False), "rank F is for failed scores only"),
    "unknown hit result": (
        lambda b: {**b, "statistics": {**b["statistics"], "bogus": 1}},
        "unknown hit result",
    ),
    "statistics not an object": (mutate(statistics=[1, 2]), "statistics must be an object"),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_bad_bodies_get_422_and_store_nothing(
    app: Starlette, client: Any, token: str, case: str
) -> None:
    beatmap = await support.import_map(app, 0)
    change, message = BAD_BODIES[case]
    token_id = await new_token(client, token, beatmap)
    before = await stored(app)
    response = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}",
        json=change(support.body(beatmap, misses=1)),
        headers=auth(token),
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["error"]
    assert await stored(app) == before
    # The token is still good for a correct body afterwards.
    fixed = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}",
        json=support.body(beatmap, misses=1),
        headers=auth(token),
    )
    assert fixed.status_code == 200


async def test_token_problems_are_422_never_401_or_403(
    app: Starlette, client: Any, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    other_map = await support.import_map(app, 0, set_id=7050)
    payload = support.body(beatmap)
    before = await stored(app)
    # Another user's token.
    other = await create_user(app, "other")
    other_token = await issue_token(app, other)
    theirs = await new_token(client, other_token, beatmap)
    response = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{theirs}", json=payload, headers=auth(token)
    )
    assert (response.status_code, response.json()) == (422, {"error": "invalid token"})
    # A token of another beatmap.
    mine = await new_token(client, token, other_map)
    response = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{mine}", json=payload, headers=auth(token)
    )
    assert response.status_code == 422
    assert "another beatmap" in response.json()["error"]
    # Unknown and malformed tokens.
    for bad in ("999999", "abc"):
        response = await client.put(
            f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{bad}", json=payload, headers=auth(token)
        )
        assert (response.status_code, response.json()) == (422, {"error": "invalid token"})
    # An expired token.
    expired = await new_token(client, token, beatmap)
    await services(app).db.execute(
        scores_db.score_tokens.update()
        .where(scores_db.score_tokens.c.id == expired)
        .values(created_at=utcnow() - dt.timedelta(days=2))
    )
    response = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{expired}", json=payload, headers=auth(token)
    )
    assert (response.status_code, response.json()) == (422, {"error": "expired token"})
    # A body that is not JSON at all.
    fresh = await new_token(client, token, beatmap)
    response = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{fresh}",
        content=b"not json",
        headers={**auth(token), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert await stored(app) == before


async def test_token_request_checks(app: Starlette, client: Any, token: str) -> None:
    beatmap = await support.import_map(app, 1)
    url = f"/api/v2/beatmaps/{beatmap.id}/solo/scores"
    wrong_hash = await client.post(
        url, data={"ruleset_id": "1", "beatmap_hash": "0" * 32}, headers=auth(token)
    )
    assert (wrong_hash.status_code, wrong_hash.json()) == (
        422,
        {"error": "invalid or missing beatmap_hash"},
    )
    # A taiko map can't be played as osu!, and unknown rulesets are refused.
    assert (
        await client.post(url, data={"ruleset_id": "0"}, headers=auth(token))
    ).status_code == 422
    assert (
        await client.post(url, data={"ruleset_id": "9"}, headers=auth(token))
    ).status_code == 422
    missing = await client.post(
        "/api/v2/beatmaps/123456789/solo/scores", data={"ruleset_id": "0"}, headers=auth(token)
    )
    assert missing.status_code == 404
    # Non-lazer tokens are refused by scope (403 is right here: lazer always has `*`).
    public = await issue_token(app, await create_user(app, "pub"), ("public",))
    assert (
        await client.post(url, data={"ruleset_id": "1"}, headers=auth(public))
    ).status_code == 403


async def test_ranked_after_the_token_was_made_is_refused(
    app: Starlette, client: Any, token: str
) -> None:
    from core.beatmaps import store as beatmaps_db

    beatmap = await support.import_map(app, 0, status="pending")
    token_id = await new_token(client, token, beatmap)
    row = await beatmaps_db.beatmap_by_id(services(app).db, beatmap.id)
    await services(app).db.execute(
        beatmaps_db.beatmapsets.update()
        .where(beatmaps_db.beatmapsets.c.id == row["beatmapset_id"])
        .values(status=1, ranked_date=utcnow() + dt.timedelta(seconds=5))
    )
    response = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}",
        json=support.body(beatmap),
        headers=auth(token),
    )
    assert (response.status_code, response.json()) == (
        422,
        {"error": "beatmapset state has been updated"},
    )


async def test_unranked_maps_give_no_pp_and_failed_plays_count_plays(
    app: Starlette, client: Any, token: str, user: int
) -> None:
    loved = await support.import_map(app, 0, status="loved")
    score = (await support.submit(client, token, loved, support.body(loved))).json()
    assert score["pp"] is None
    ranked = await support.import_map(app, 0, set_id=7050)
    failed = support.body(ranked, misses=3, passed=False)
    failed["rank"] = "F"
    response = await support.submit(client, token, ranked, failed)
    assert response.status_code == 200, response.text
    assert response.json()["pp"] is None
    assert response.json()["position"] is None
    row = (await user_statistics.rows_for(services(app).db, [user], 0))[user]
    # The loved pass counts for ranked score; the failed play was too short to count.
    assert row["ranked_score"] == score["classic_total_score"]
    assert row["play_count"] == 1


async def snapshot(app: Starlette, user_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = await user_statistics.rows_for(services(app).db, user_ids, 0)
    return {uid: {k: rows[uid][k] for k in user_statistics.DERIVED} for uid in user_ids}


async def test_concurrent_submissions_equal_a_recalc(app: Starlette, client: Any) -> None:
    maps = [await support.import_map(app, 0, set_id=7000 + 10 * i) for i in range(5)]
    users = [await create_user(app, f"player{i}") for i in range(4)]
    tokens = [await issue_token(app, uid) for uid in users]

    async def play(n: int) -> int:
        beatmap = maps[n % len(maps)]
        payload = support.body(beatmap, misses=n % 4, total_score=400_000 + 7919 * n % 500_000)
        response = await support.submit(client, tokens[n % len(tokens)], beatmap, payload)
        return response.status_code

    statuses = await asyncio.gather(*(play(n) for n in range(50)))
    assert statuses == [200] * 50
    incremental = await snapshot(app, users)
    assert sum(v["play_count"] for v in incremental.values()) == 50
    await recalc(app, ruleset_id=0)
    recomputed = await snapshot(app, users)
    for uid in users:
        for key in user_statistics.DERIVED:
            assert incremental[uid][key] == pytest.approx(recomputed[uid][key], rel=1e-9), key


async def test_the_purge_job_forgets_expired_unused_tokens_only(
    app: Starlette, client: Any, token: str
) -> None:
    from core.scores.submit import purge_tokens

    beatmap = await support.import_map(app, 0)
    used = await new_token(client, token, beatmap)
    put = await client.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{used}",
        json=support.body(beatmap),
        headers=auth(token),
    )
    assert put.status_code == 200, put.text
    abandoned = await new_token(client, token, beatmap)
    fresh = await new_token(client, token, beatmap)
    two_days_ago = utcnow() - dt.timedelta(days=2)
    await services(app).db.execute(
        scores_db.score_tokens.update()
        .where(scores_db.score_tokens.c.id.in_([used, abandoned]))
        .values(created_at=two_days_ago)
    )
    await purge_tokens(app)
    assert await scores_db.get_token(services(app).db, abandoned) is None
    assert await scores_db.get_token(services(app).db, used) is not None
    assert await scores_db.get_token(services(app).db, fresh) is not None
    # The score of the used token is still served with its token's data.
    assert (
        await client.get(f"/api/v2/scores/{put.json()['id']}", headers=auth(token))
    ).status_code == 200
