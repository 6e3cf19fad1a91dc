"""Medals: the catalogue, awarding after lazer's submission (profile `user_achievements`, the
unlock on the notification websocket as lazer reads it), `hitcircle recalc` awarding missed
ones, ossapi / aiosu / osu.py reading them; and bad input: concurrent submissions award a medal
once, a rule answering unknown ids or raising is logged and ignored."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from loguru import logger
from starlette.applications import Starlette
from websockets.asyncio.client import connect

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.beatmaps import store as beatmaps_db
from core.config import Settings
from core.hooks import hookimpl
from core.medals import catalogue
from core.medals import store as medals_db
from core.medals.awarding import MedalContext, award_for_score
from core.scores import store as scores_db
from core.scores.recalc import recalc
from core.services import services
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi, run_command
from tests.scores import support
from tests.test_hooks import plugin, serve

SECRET = "s3cret-" + "m" * 30
ID = {slug: medal["id"] for slug, medal in catalogue.by_slug().items()}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def rated_map(app: Starlette, ruleset_id: int, stars: float) -> support.Map:
    """A ranked map whose stored star rating is `stars` (the rules read the stored rating)."""
    beatmap = await support.import_map(app, ruleset_id)
    await services(app).db.execute(
        sa.update(beatmaps_db.beatmaps)
        .where(beatmaps_db.beatmaps.c.id == beatmap.id)
        .values(difficulty_rating=stars)
    )
    return beatmap


async def achievements(client: httpx.AsyncClient, token: str, user_id: int) -> list[int]:
    response = await client.get(f"/api/v2/users/{user_id}/osu", headers=auth(token))
    assert response.status_code == 200, response.text
    rows = response.json()["user_achievements"]
    assert all(set(r) == {"achieved_at", "achievement_id"} for r in rows)
    return sorted(r["achievement_id"] for r in rows)


def test_catalogue_covers_skill_dedication_and_mod_introduction() -> None:
    for ruleset in ("osu", "taiko", "fruits", "mania"):
        for kind in ("pass", "fc"):
            for stars in range(1, 9):
                assert f"{ruleset}-skill-{kind}-{stars}" in ID
    assert {f"osu-skill-{k}-{n}" for k in ("pass", "fc") for n in (9, 10)} <= set(ID)
    assert ID["osu-skill-pass-1"] == 55 and catalogue.get(55)["name"] == "Rising Star"  # type: ignore[index]
    assert catalogue.get(63)["name"] == "Totality"  # type: ignore[index]
    for slug in ("osu-plays-5000", "osu-plays-50000", "taiko-hits-30000", "fruits-hits-20000"):
        assert slug in ID
    assert {"all-intro-hidden", "all-intro-suddendeath", "all-intro-spunout"} <= set(ID)
    for medal in catalogue.medals().values():
        assert medal["icon_url"] == f"https://assets.ppy.sh/medals/web/{medal['slug']}.png"
        assert medal["name"] and medal["description"] and medal["grouping"]
    assert catalogue.get("55") is None and catalogue.get(True) is None and catalogue.get(1) is None


async def test_lazer_submission_awards_once_and_pushes_the_unlock(
    app: Starlette, client: httpx.AsyncClient, app_url: str
) -> None:
    user_id = await create_user(app, "medalist")
    token = await issue_token(app, user_id)
    beatmap = await rated_map(app, 0, 4.5)
    url = app_url.replace("http://", "ws://") + "/notifications/feed"
    async with connect(url, additional_headers=auth(token)) as ws:
        assert orjson.loads(await ws.recv()) == {"event": "connection.ready"}
        body = support.body(beatmap, mods=[{"acronym": "HD"}])
        response = await support.submit(client, token, beatmap, body)
        assert response.status_code == 200, response.text
        pushed = [orjson.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(3)]
    expected = [ID["osu-skill-pass-4"], ID["osu-skill-fc-4"], ID["all-intro-hidden"]]
    assert await achievements(client, token, user_id) == sorted(expected)
    assert [p["event"] for p in pushed] == ["new"] * 3
    data = [p["data"] for p in pushed]
    assert [d["name"] for d in data] == ["user_achievement_unlock"] * 3
    assert sorted(d["object_id"] for d in data) == sorted(expected)
    hidden = next(d for d in data if d["object_id"] == ID["all-intro-hidden"])
    # The fields ppy/osu's UserAchievementUnlock reads.
    assert hidden["object_type"] == "achievement"
    assert hidden["details"] == {
        "achievement_id": ID["all-intro-hidden"],
        "achievement_mode": None,
        "cover_url": "https://assets.ppy.sh/medals/web/all-intro-hidden.png",
        "slug": "all-intro-hidden",
        "title": "Blindsight",
        "description": "I can see just perfectly.",
        "user_id": user_id,
    }
    skill = next(d for d in data if d["object_id"] == ID["osu-skill-pass-4"])
    assert skill["details"]["achievement_mode"] == 0
    # The listing keeps them; playing again awards nothing new.
    listed = (await client.get("/api/v2/notifications", headers=auth(token))).json()
    assert len(listed["notifications"]) == 3
    again = await support.submit(client, token, beatmap, body)
    assert again.status_code == 200
    assert await achievements(client, token, user_id) == sorted(expected)
    listed = (await client.get("/api/v2/notifications", headers=auth(token))).json()
    assert len(listed["notifications"]) == 3


async def test_failed_or_reduced_plays_earn_no_skill_medal(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user_id = await create_user(app)
    token = await issue_token(app, user_id)
    beatmap = await rated_map(app, 1, 2.2)
    failed = await support.submit(client, token, beatmap, support.body(beatmap, passed=False))
    assert failed.status_code == 200
    assert await achievements(client, token, user_id) == []
    easy = support.body(beatmap, mods=[{"acronym": "EZ"}], misses=1)
    assert (await support.submit(client, token, beatmap, easy)).status_code == 200
    # Easy alone earns its introduction medal, not the 2* pass.
    assert await achievements(client, token, user_id) == [ID["all-intro-easy"]]
    plain = support.body(beatmap, misses=1)
    assert (await support.submit(client, token, beatmap, plain)).status_code == 200
    assert await achievements(client, token, user_id) == sorted(
        [ID["all-intro-easy"], ID["taiko-skill-pass-2"]]
    )


async def test_concurrent_submissions_award_a_medal_once(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    user_id = await create_user(app)
    token = await issue_token(app, user_id)
    beatmap = await rated_map(app, 0, 1.5)
    body = support.body(beatmap, misses=1)
    responses = await asyncio.gather(
        *(support.submit(client, token, beatmap, body) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [200] * 4
    assert await achievements(client, token, user_id) == [ID["osu-skill-pass-1"]]
    listed = (await client.get("/api/v2/notifications", headers=auth(token))).json()
    assert [n["object_id"] for n in listed["notifications"]] == [ID["osu-skill-pass-1"]]
    # The same score awarded again from many tasks at once: still one row, nothing given.
    score = await scores_db.get_score(services(app).db, int(responses[0].json()["id"]))
    assert score is not None
    given = await asyncio.gather(*(award_for_score(app, score) for _ in range(5)))
    assert given == [[]] * 5
    await medals_db.revoke(services(app).db, [user_id], ID["osu-skill-pass-1"])
    given = await asyncio.gather(*(award_for_score(app, score) for _ in range(5)))
    assert sorted(map(len, given)) == [0, 0, 0, 0, 1]
    assert await achievements(client, token, user_id) == [ID["osu-skill-pass-1"]]


async def test_a_rule_with_unknown_ids_or_raising_is_logged_not_a_500(
    settings: Settings,
) -> None:
    def strange(ctx: MedalContext) -> list[Any]:
        return [999_999_999, "55", None, 2**70, ID["all-intro-perfect"]]

    async def broken(ctx: MedalContext) -> list[int]:
        raise RuntimeError("rule bug")

    @hookimpl
    def medal_rules(app: Starlette) -> list[Callable[..., Any]]:
        return [strange, broken]

    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="WARNING")
    try:
        async with serve(settings, plugin("odd_rules", medal_rules)) as (app, client):
            user_id = await create_user(app)
            token = await issue_token(app, user_id)
            beatmap = await support.import_map(app, 0)
            response = await support.submit(client, token, beatmap, support.body(beatmap))
            assert response.status_code == 200, response.text
            held = await medals_db.held(services(app).db, user_id)
    finally:
        logger.remove(sink)
    # Its one good id is awarded beside the official rules' medals; nothing else is stored.
    assert ID["all-intro-perfect"] in held and held <= set(catalogue.medals())
    assert any("unknown medal id 999999999" in line for line in lines)
    assert any("unknown medal id '55'" in line for line in lines)
    assert any("rule" in line and "broken" in line and "rule bug" in line for line in lines)


async def test_recalc_awards_missed_medals(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    user_id = await create_user(app)
    token = await issue_token(app, user_id)
    beatmap = await rated_map(app, 2, 3.1)
    body = support.body(beatmap, mods=[{"acronym": "HR"}])
    assert (await support.submit(client, token, beatmap, body)).status_code == 200
    expected = sorted(
        [ID["fruits-skill-pass-3"], ID["fruits-skill-fc-3"], ID["all-intro-hardrock"]]
    )
    assert await achievements(client, token, user_id) == expected
    db = services(app).db
    await medals_db.revoke(db, [user_id], ID["fruits-skill-fc-3"])
    await medals_db.revoke(db, [user_id], ID["all-intro-hardrock"])
    assert await recalc(app, user_ids=[user_id], pp=False) == 1
    assert sorted(await medals_db.held(db, user_id)) == expected
    # The command does it too, in its own process.
    await medals_db.revoke(db, [user_id], ID["fruits-skill-pass-3"])
    done = await run_command(settings, "recalc", "--user", str(user_id), "--no-pp")
    assert done.returncode == 0, done.stderr
    assert sorted(await medals_db.held(db, user_id)) == expected


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    user_id = await create_user(app, "medal holder")
    token = await issue_token(app, user_id)
    beatmap = await rated_map(app, 0, 5.2)
    response = await support.submit(client, token, beatmap, support.body(beatmap, misses=1))
    assert response.status_code == 200
    client_id = await oauth_db.create_client(
        services(app).db,
        user_id=user_id,
        name="medal reader",
        secret_hash=sha256_hex(SECRET),
        redirect="http://localhost/cb",
    )
    return {"user_id": user_id, "client_id": client_id}


async def test_clients_read_user_achievements(
    world_server: LiveServer,
    world: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import aiosu
    from osu import AuthHandler, Client

    user_id, medal = world["user_id"], ID["osu-skill-pass-5"]
    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    user = await asyncio.to_thread(api.user, user_id, mode="osu")
    assert [a.achievement_id for a in user.user_achievements] == [medal]
    assert user.user_achievements[0].achieved_at is not None

    async with aiosu.v2.Client(
        client_id=world["client_id"], client_secret=SECRET, base_url=world_server.url
    ) as aclient:
        auser = await aclient.get_user(user_id)
    assert [a.achievement_id for a in auser.user_achievements or []] == [medal]

    handler = AuthHandler(world["client_id"], SECRET, "http://localhost/cb")
    handler.http.base_url = f"{world_server.url}/api/v2/"
    handler.http.token_url = f"{world_server.url}/oauth/token/"
    handler.http.auth_url = f"{world_server.url}/oauth/authorize/"
    osu_client = Client(handler, request_wait_time=0)
    ouser = await asyncio.to_thread(osu_client.get_user, user_id)
    assert [a.achievement_id for a in ouser.user_achievements] == [medal]


async def test_without_the_medals_plugin_no_official_medal(settings: Settings) -> None:
    disabled = dataclasses.replace(
        settings, plugins=dataclasses.replace(settings.plugins, disabled=("medals",))
    )
    async with serve(disabled) as (app, client):
        user_id = await create_user(app)
        token = await issue_token(app, user_id)
        beatmap = await rated_map(app, 0, 3.3)
        body = support.body(beatmap, mods=[{"acronym": "HD"}])
        assert (await support.submit(client, token, beatmap, body)).status_code == 200
        assert await achievements(client, token, user_id) == []
