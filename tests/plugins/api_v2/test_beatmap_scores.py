"""Beatmap leaderboards: global, country, friend, mods filter, own entry, a user's scores."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.scores import support

NEW = {"x-api-version": "20240101"}


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


async def players(app: Starlette) -> list[tuple[int, str]]:
    result = []
    for name, country in (("alice", "AU"), ("bob", "JP"), ("carol", "AU")):
        uid = await create_user(app, name, country=country)
        result.append((uid, await issue_token(app, uid)))
    return result


async def test_leaderboard_is_one_best_score_per_user(app: Starlette, client: Any) -> None:
    beatmap = await support.import_map(app, 0)
    (a, ta), (b, tb), (c, tc) = await players(app)
    await support.submit(client, ta, beatmap, support.body(beatmap, misses=1, total_score=500_000))
    await support.submit(client, ta, beatmap, support.body(beatmap, total_score=900_000))
    await support.submit(client, tb, beatmap, support.body(beatmap, misses=2, total_score=700_000))
    hd = support.body(beatmap, total_score=800_000, mods=[{"acronym": "HD"}])
    await support.submit(client, tc, beatmap, hd)
    board = await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores", headers=auth(tb, **NEW))
    assert board.status_code == 200
    body = board.json()
    assert [s["user_id"] for s in body["scores"]] == [a, c, b]
    assert [s["total_score"] for s in body["scores"]] == [900_000, 800_000, 700_000]
    assert body["score_count"] == 3
    assert body["scores"][0]["user"]["country"]["code"] == "AU"
    assert body["user_score"]["position"] == 3
    assert body["userScore"] == body["user_score"]
    # A new best score shows at once (the cached board is retired by the submission).
    await support.submit(client, tb, beatmap, support.body(beatmap, total_score=950_000))
    again = await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores", headers=auth(tb, **NEW))
    assert [s["user_id"] for s in again.json()["scores"]] == [b, a, c]
    assert again.json()["user_score"]["position"] == 1
    assert again.json()["user_score"]["score"]["current_user_attributes"]["pin"] is not None
    assert again.json()["scores"][1]["current_user_attributes"]["pin"] is None
    # The mods filter: exactly those mods; NM = no mod.
    hd_only = await client.get(
        f"/api/v2/beatmaps/{beatmap.id}/scores?mods[]=HD", headers=auth(tb, **NEW)
    )
    assert [s["user_id"] for s in hd_only.json()["scores"]] == [c]
    assert "user_score" not in hd_only.json()
    nomod = await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores?mods[]=NM", headers=auth(tb))
    assert [s["user_id"] for s in nomod.json()["scores"]] == [b, a]
    # Legacy format without x-api-version (aiosu).
    legacy = await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores", headers=auth(tb))
    first = legacy.json()["scores"][0]
    assert set(first["statistics"]) == {
        "count_50", "count_100", "count_300", "count_geki", "count_katu", "count_miss",
    }  # fmt: skip
    assert first["mode"] == "osu"
    assert first["rank"] == "X"


async def test_country_and_friend_boards_need_a_supporter(app: Starlette, client: Any) -> None:
    beatmap = await support.import_map(app, 0)
    (a, ta), (b, tb), (c, tc) = await players(app)
    for token, score in ((ta, 900_000), (tb, 800_000), (tc, 700_000)):
        await support.submit(client, token, beatmap, support.body(beatmap, total_score=score))
    url = f"/api/v2/beatmaps/{beatmap.id}/scores"
    refused = await client.get(url + "?type=country", headers=auth(tc))
    assert (refused.status_code, refused.json()) == (
        422,
        {"error": "You must be an osu!supporter to use this feature."},
    )
    await users_db.update_user(services(app).db, c, support_level=1)
    await services(app).cache.delete(f"auth:user:{c}")
    country = await client.get(url + "?type=country", headers=auth(tc, **NEW))
    assert [s["user_id"] for s in country.json()["scores"]] == [a, c]
    assert country.json()["user_score"]["position"] == 2
    await users_db.set_relation(services(app).db, c, b, users_db.RELATION_FRIEND)
    friends = await client.get(url + "?type=friend", headers=auth(tc, **NEW))
    assert [s["user_id"] for s in friends.json()["scores"]] == [b, c]


async def test_unranked_maps_have_no_leaderboard(app: Starlette, client: Any, token: str) -> None:
    beatmap = await support.import_map(app, 0, status="pending")
    await support.submit(client, token, beatmap, support.body(beatmap))
    board = await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores", headers=auth(token))
    assert board.json() == {"scores": []}
    bad_mode = await client.get(
        f"/api/v2/beatmaps/{beatmap.id}/scores?mode=piano", headers=auth(token)
    )
    assert (bad_mode.status_code, bad_mode.json()) == (422, {"error": "invalid mode specified"})
    missing = await client.get("/api/v2/beatmaps/99999999/scores", headers=auth(token))
    assert missing.status_code == 404


async def test_user_beatmap_score_and_all(
    app: Starlette, client: Any, token: str, user: int
) -> None:
    beatmap = await support.import_map(app, 0)
    await support.submit(client, token, beatmap, support.body(beatmap, total_score=600_000))
    await support.submit(client, token, beatmap, support.body(beatmap, total_score=650_000))
    one = await client.get(
        f"/api/v2/beatmaps/{beatmap.id}/scores/users/{user}", headers=auth(token, **NEW)
    )
    assert one.status_code == 200
    assert one.json()["position"] == 1
    assert one.json()["score"]["total_score"] == 650_000
    assert one.json()["score"]["beatmap"]["id"] == beatmap.id
    every = await client.get(
        f"/api/v2/beatmaps/{beatmap.id}/scores/users/{user}/all", headers=auth(token, **NEW)
    )
    assert [s["total_score"] for s in every.json()["scores"]] == [650_000, 600_000]
    unknown_ruleset = await client.get(
        f"/api/v2/beatmaps/{beatmap.id}/scores/users/{user}/all?ruleset=piano", headers=auth(token)
    )
    assert (unknown_ruleset.status_code, unknown_ruleset.json()) == (
        404,
        {"error": "unknown ruleset name"},
    )
    nobody = await client.get(
        f"/api/v2/beatmaps/{beatmap.id}/scores/users/987654", headers=auth(token)
    )
    assert nobody.status_code == 404


async def test_the_cached_board_follows_pins_and_positions(app: Starlette, client: Any) -> None:
    """The board, the viewer's pins and their own entry off the board are cached (read with
    the token in one round trip); a pin, an unpin and someone else's better score each show at
    once, on the board asked with `mode` and on the one asked without."""
    beatmap = await support.import_map(app, 0)
    (a, ta), (_, tb), (_, tc) = await players(app)
    await support.submit(client, ta, beatmap, support.body(beatmap, total_score=900_000))
    mine = await support.submit(client, tb, beatmap, support.body(beatmap, total_score=700_000))
    score_id = mine.json()["id"]

    async def own() -> list[tuple[int, bool]]:
        """(position, pinned) of b's entry, off a board of one, as each board shows it."""
        found = []
        for mode in ("", "&mode=osu"):
            url = f"/api/v2/beatmaps/{beatmap.id}/scores?limit=1{mode}"
            body = (await client.get(url, headers=auth(tb, **NEW))).json()
            assert [s["user_id"] for s in body["scores"]] == [a]
            entry = body["user_score"]
            pin = entry["score"]["current_user_attributes"]["pin"]
            assert pin["score_id"] == score_id
            found.append((entry["position"], pin["is_pinned"]))
        return found

    assert await own() == [(2, False)] * 2
    assert await own() == [(2, False)] * 2  # from the cache
    pinned = await client.put(f"/api/v2/score-pins/{score_id}", headers=auth(tb))
    assert pinned.status_code == 204
    assert await own() == [(2, True)] * 2
    unpinned = await client.delete(f"/api/v2/score-pins/{score_id}", headers=auth(tb))
    assert unpinned.status_code == 204
    assert await own() == [(2, False)] * 2
    await support.submit(client, tc, beatmap, support.body(beatmap, total_score=800_000))
    assert await own() == [(3, False)] * 2
    # On the board itself the owner's pin shows the same way.
    await client.put(f"/api/v2/score-pins/{score_id}", headers=auth(tb))
    body = (
        await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores", headers=auth(tb, **NEW))
    ).json()
    assert body["scores"][2]["current_user_attributes"]["pin"]["is_pinned"] is True
    assert body["user_score"]["position"] == 3
