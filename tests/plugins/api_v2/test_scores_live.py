"""Against `hitcircle serve`: the lazer flow for every ruleset, then ossapi and aiosu reading
scores, leaderboards and rankings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.services import services
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi
from tests.scores import support

SECRET = "s3cret-" + "z" * 30
LAZER = {"User-Agent": "osu!", "x-api-version": "20260821", "Accept-Language": "en"}


@pytest.fixture
async def world(app: Starlette) -> dict[str, Any]:
    alice = await create_user(app, "alice", country="AU")
    bob = await create_user(app, "bob", country="JP")
    client_id = await oauth_db.create_client(
        services(app).db,
        user_id=alice,
        name="live scores",
        secret_hash=sha256_hex(SECRET),
        redirect="http://localhost/cb",
    )
    maps = {r: await support.import_map(app, r) for r in range(4)}
    return {
        "alice": alice,
        "bob": bob,
        "tokens": {alice: await issue_token(app, alice), bob: await issue_token(app, bob)},
        "client_id": client_id,
        "maps": maps,
    }


def lazer_submit(world_server: LiveServer, token: str, beatmap: support.Map, payload: dict) -> dict:
    """Exactly what lazer sends: a multipart token request, then the JSON score."""
    headers = {**LAZER, "Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=world_server.url, headers=headers, timeout=30) as http:
        created = http.post(
            f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
            files={
                "version_hash": (None, "1" * 32, "text/plain; charset=utf-8"),
                "beatmap_hash": (None, beatmap.checksum, "text/plain; charset=utf-8"),
                "ruleset_id": (None, str(beatmap.ruleset_id), "text/plain; charset=utf-8"),
            },
        )
        assert created.status_code == 200, created.text
        response = http.put(
            f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{created.json()['id']}", json=payload
        )
        assert response.status_code == 200, response.text
        return response.json()


def played(world_server: LiveServer, world: dict[str, Any]) -> dict[int, dict]:
    """Alice plays all four rulesets, Bob the osu! map less well; Alice's scores by ruleset."""
    scores = {}
    for ruleset_id, beatmap in world["maps"].items():
        payload = support.body(beatmap, misses=1)
        score = lazer_submit(world_server, world["tokens"][world["alice"]], beatmap, payload)
        score["expected_pp"] = support.expected_pp(beatmap, payload)
        scores[ruleset_id] = score
    osu_map = world["maps"][0]
    lazer_submit(
        world_server, world["tokens"][world["bob"]], osu_map, support.body(osu_map, misses=3)
    )
    return scores


def test_lazer_flow_for_every_ruleset(world_server: LiveServer, world: dict[str, Any]) -> None:
    scores = played(world_server, world)
    alice = world["alice"]
    headers = {**LAZER, "Authorization": f"Bearer {world['tokens'][alice]}"}
    with httpx.Client(base_url=world_server.url, headers=headers, timeout=30) as http:
        for ruleset_id, score in scores.items():
            mode = ("osu", "taiko", "fruits", "mania")[ruleset_id]
            beatmap = world["maps"][ruleset_id]
            assert score["position"] == 1
            assert score["pp"] == pytest.approx(score["expected_pp"], rel=1e-9)
            board = http.get(f"/api/v2/beatmaps/{beatmap.id}/scores?mode={mode}").json()
            assert board["scores"][0]["id"] == score["id"]
            assert board["user_score"]["position"] == 1
            best = http.get(f"/api/v2/users/{alice}/scores/best?mode={mode}").json()
            assert [s["id"] for s in best] == [score["id"]]
            assert best[0]["pp"] == pytest.approx(score["expected_pp"], rel=1e-9)
            recent = http.get(f"/api/v2/users/{alice}/scores/recent?mode={mode}").json()
            assert [s["id"] for s in recent] == [score["id"]]
            ranking = http.get(f"/api/v2/rankings/{mode}/performance").json()["ranking"]
            assert ranking[0]["user"]["id"] == alice
            assert ranking[0]["pp"] > score["pp"]  # weighted pp plus the bonus
            me = http.get(f"/api/v2/me/{mode}").json()
            assert me["statistics"]["global_rank"] == 1
            assert me["statistics"]["play_count"] == 1


def test_ossapi_reads_scores_and_rankings(
    world_server: LiveServer, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    scores = played(world_server, world)
    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    osu_map = world["maps"][0]
    board = api.beatmap_scores(osu_map.id)
    assert [s.user_id for s in board.scores] == [world["alice"], world["bob"]]
    assert board.scores[0].pp == pytest.approx(scores[0]["expected_pp"])
    mine = api.beatmap_user_score(osu_map.id, world["bob"])
    assert mine.position == 2
    assert len(api.beatmap_user_scores(osu_map.id, world["alice"])) == 1
    best = api.user_scores(world["alice"], "best", mode="taiko")
    assert [s.id for s in best] == [scores[1]["id"]]
    assert api.user_scores(world["alice"], "recent", mode="mania", include_fails=True)
    assert api.score(scores[2]["id"]).id == scores[2]["id"]
    ranking = api.ranking("osu", "performance")
    assert [r.user.id for r in ranking.ranking] == [world["alice"], world["bob"]]
    assert api.ranking("osu", "score").ranking
    assert len(api.ranking("osu", "country").ranking) == 2


async def test_aiosu_reads_scores_and_rankings(
    world_server: LiveServer, world: dict[str, Any]
) -> None:
    import aiosu
    from aiosu.models import Gamemode

    scores = played(world_server, world)
    osu_map = world["maps"][0]
    async with aiosu.v2.Client(
        client_id=world["client_id"], client_secret=SECRET, base_url=world_server.url
    ) as client:
        board = await client.get_beatmap_scores(osu_map.id)
        assert [s.user_id for s in board] == [world["alice"], world["bob"]]
        assert board[0].pp == pytest.approx(scores[0]["expected_pp"])
        bests = await client.get_user_bests(world["alice"], mode=Gamemode.CTB)
        assert [s.id for s in bests] == [scores[2]["id"]]
        recents = await client.get_user_recents(world["alice"], mode=Gamemode.MANIA)
        assert [s.id for s in recents] == [scores[3]["id"]]
        mine = await client.get_user_beatmap_scores(world["bob"], osu_map.id)
        assert len(mine) == 1
        lazer = await client.get_score_lazer(scores[0]["id"])
        assert lazer.id == scores[0]["id"]
        ranking = await client.get_rankings(Gamemode.STANDARD, "performance")
        assert [r.user.id for r in ranking.ranking] == [world["alice"], world["bob"]]
