"""Set ratings and tag votes (core/beatmaps/feedback.py, plugins/api_v2/beatmap_feedback.py)."""

import argparse

import httpx
import pytest
from starlette.applications import Starlette

from core.beatmaps import feedback
from core.beatmaps import store as beatmaps_db
from core.beatmaps.cli import _tag_add, _tag_list, _tag_remove
from core.services import services
from tests.beatmaps.support import play, ranked_set
from tests.conftest import issue_token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _tag(app: Starlette, name: str, ruleset: int | None = None) -> int:
    return await feedback.add_tag(services(app).db, name, f"{name} maps", ruleset)


async def test_rating_needs_a_pass_and_replaces_the_earlier_one(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, make_user
) -> None:
    await ranked_set(app)
    url = "/api/v2/beatmapsets/100/ratings"
    refused = await client.post(url, json={"rating": 7}, headers=auth(token))
    assert refused.status_code == 403
    await play(app, user, 102, passed=False)
    assert (await client.post(url, json={"rating": 7}, headers=auth(token))).status_code == 403
    assert (await client.get(url, headers=auth(token))).json() == {"rating": None}
    await play(app, user, 102)
    # The set view is cached before the rating: the rating must drop it.
    assert (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()["ratings"] == [
        0
    ] * 11
    done = await client.post(url, json={"rating": 7}, headers=auth(token))
    assert done.status_code == 200
    assert done.json()["ratings"][7] == 1
    again = await client.post(url, data={"rating": "9"}, headers=auth(token))
    expected = [0] * 9 + [1, 0]
    assert again.json() == {"rating": 9, "ratings": expected}
    assert (await client.get(url, headers=auth(token))).json() == {"rating": 9}
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert body["ratings"] == expected
    assert body["rating"] == 9.0
    other = await make_user()
    await play(app, other, 101)
    other_token = await issue_token(app, other, ("*",))
    both = await client.post(url, json={"rating": 5}, headers=auth(other_token))
    assert both.json()["ratings"] == [0] * 5 + [1, 0, 0, 0, 1, 0]
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    assert body["rating"] == 7.0
    lookup = await client.get("/api/v2/beatmaps/lookup", params={"id": 101}, headers=auth(token))
    assert lookup.json()["beatmapset"]["ratings"] == [0] * 5 + [1, 0, 0, 0, 1, 0]
    # A refresh of the set (here a re-import; an upstream one alike) keeps the players' ratings.
    stored = await beatmaps_db.beatmapset_by_id(services(app).db, 100)
    assert stored is not None
    await beatmaps_db.store_set(
        services(app).db,
        {**stored, "ratings": "[9,9,9,9,9,9,9,9,9,9,9]", "rating": 1.0},
        [],
        replace_missing=False,
    )
    stored = await beatmaps_db.beatmapset_by_id(services(app).db, 100)
    assert stored is not None and stored["ratings"] == "[0,0,0,0,0,1,0,0,0,1,0]"
    assert stored["rating"] == 7.0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"rating": 0}, 422),
        ({"rating": 11}, 422),
        ({"rating": -3}, 422),
        ({"rating": "seven"}, 422),
        ({"rating": [5]}, 422),
        ({"rating": True}, 422),
        ({"rating": 10**30}, 422),
        ({}, 422),
    ],
)
async def test_bad_ratings_change_nothing(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, body: dict, status: int
) -> None:
    await ranked_set(app)
    await play(app, user, 101)
    url = "/api/v2/beatmapsets/100/ratings"
    assert (await client.post(url, json={"rating": 4}, headers=auth(token))).status_code == 200
    response = await client.post(url, json=body, headers=auth(token))
    assert response.status_code == status
    assert "error" in response.json()
    assert await feedback.user_rating(services(app).db, 100, user) == 4


async def test_rating_unknown_sets_and_scopes(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int
) -> None:
    await ranked_set(app)
    await play(app, user, 101)
    for set_id in (999, 2**63 - 1):
        response = await client.post(
            f"/api/v2/beatmapsets/{set_id}/ratings", json={"rating": 5}, headers=auth(token)
        )
        assert response.status_code == 404
    huge = await client.post(
        f"/api/v2/beatmapsets/{10**30}/ratings", json={"rating": 5}, headers=auth(token)
    )
    assert huge.status_code == 404
    public = await issue_token(app, user, ("public",))
    response = await client.post(
        "/api/v2/beatmapsets/100/ratings", json={"rating": 5}, headers=auth(public)
    )
    assert response.status_code == 403
    assert await feedback.user_rating(services(app).db, 100, user) is None


async def test_tags_votes_and_top_tags(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, make_user
) -> None:
    await ranked_set(app)
    jumps = await _tag(app, "style/jumps", 0)
    tech = await _tag(app, "style/tech")
    mania = await _tag(app, "keys/7k", 3)
    listed = (await client.get("/api/v2/tags", headers=auth(token))).json()["tags"]
    assert [t["name"] for t in listed] == ["keys/7k", "style/jumps", "style/tech"]
    assert set(listed[0]) == {"id", "name", "ruleset_id", "description", "created_at", "updated_at"}
    assert listed[0]["ruleset_id"] == 3 and listed[2]["ruleset_id"] is None

    url = f"/api/v2/beatmaps/101/tags/{jumps}"
    assert (await client.put(url, headers=auth(token))).status_code == 403
    await play(app, user, 101)
    other = await make_user()
    other_token = await issue_token(app, other, ("*",))
    await play(app, other, 101)
    # A cached set view from before the votes must not survive them.
    await client.get("/api/v2/beatmapsets/100", headers=auth(token))
    for who in (token, other_token):
        assert (await client.put(url, headers=auth(who))).status_code == 204
    assert (await client.put(url, headers=auth(token))).status_code == 204  # twice: one vote
    tech_url = f"/api/v2/beatmaps/101/tags/{tech}"
    assert (await client.put(tech_url, headers=auth(token))).status_code == 204
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(token))).json()
    first = body["beatmaps"][0]
    assert first["top_tag_ids"] == [{"tag_id": jumps, "count": 2}, {"tag_id": tech, "count": 1}]
    assert first["current_user_tag_ids"] == sorted([jumps, tech])
    assert body["beatmaps"][1]["top_tag_ids"] == []
    assert (await client.delete(tech_url, headers=auth(token))).status_code == 204
    body = (await client.get("/api/v2/beatmapsets/100", headers=auth(other_token))).json()
    assert body["beatmaps"][0]["top_tag_ids"] == [{"tag_id": jumps, "count": 2}]
    assert body["beatmaps"][0]["current_user_tag_ids"] == [jumps]
    # A mania tag on an osu! map, unknown tags and maps: refused, nothing stored.
    wrong = await client.put(f"/api/v2/beatmaps/101/tags/{mania}", headers=auth(token))
    assert wrong.status_code == 422
    for path in (
        "/api/v2/beatmaps/101/tags/9999",
        f"/api/v2/beatmaps/9999/tags/{jumps}",
        f"/api/v2/beatmaps/101/tags/{2**63 - 1}",
        f"/api/v2/beatmaps/101/tags/{10**30}",
        "/api/v2/beatmaps/101/tags/jumps",
    ):
        assert (await client.put(path, headers=auth(token))).status_code == 404, path
    tops = await feedback.top_tags(services(app).db, [101])
    assert tops[101] == [{"tag_id": jumps, "count": 2}]


async def test_tag_commands(app: Starlette, capsys: pytest.CaptureFixture[str]) -> None:
    def ns(**kw: object) -> argparse.Namespace:
        return argparse.Namespace(**kw)

    assert await _tag_add(app, ns(name="genre/rock", description="Rock", ruleset=None)) == 0
    assert await _tag_add(app, ns(name="genre/rock", description="again", ruleset=None)) == 1
    assert await _tag_add(app, ns(name="x" * 101, description="long", ruleset=None)) == 1
    assert await _tag_add(app, ns(name="  ", description="blank", ruleset=None)) == 1
    mariadb = str(services(app).db.url).startswith("mysql")
    other_case = await _tag_add(app, ns(name="Genre/Rock", description="Rock", ruleset=None))
    assert other_case == (1 if mariadb else 0)
    if not mariadb:
        assert await _tag_remove(app, ns(name="Genre/Rock")) == 0
    assert await _tag_list(app, ns()) == 0
    out = capsys.readouterr().out
    assert "genre/rock\truleset all\tRock" in out
    assert len(await feedback.all_tags(services(app).db)) == 1
    assert await _tag_remove(app, ns(name="nope")) == 1
    assert await _tag_remove(app, ns(name="genre/rock")) == 0
    assert await feedback.all_tags(services(app).db) == []
