"""osu!supporter: one account (`hitcircle user supporter`) or everyone (`[accounts]
everyone_supporter`); supporter-only leaderboard types, the team board, user shapes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from core.services import services
from core.users import profiles
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.scores import support

SUPPORTER_ONLY = {"error": "You must be an osu!supporter to use this feature."}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "x-api-version": "20240101"}


async def board(app: Starlette, client: Any) -> tuple[str, list[tuple[int, str]]]:
    beatmap = await support.import_map(app, 0)
    players = []
    for name, country, score in (("alice", "AU", 900_000), ("bob", "JP", 800_000)):
        uid = await create_user(app, name, country=country)
        token = await issue_token(app, uid)
        await support.submit(client, token, beatmap, support.body(beatmap, total_score=score))
        players.append((uid, token))
    return f"/api/v2/beatmaps/{beatmap.id}/scores", players


async def test_one_supporter_by_hand(app: Starlette, client: Any) -> None:
    url, [(_a, ta), (b, tb)] = await board(app, client)
    for kind in ("country", "friend"):
        refused = await client.get(f"{url}?type={kind}", headers=auth(tb))
        assert (refused.status_code, refused.json()) == (422, SUPPORTER_ONLY)
    guest = await client.get(f"{url}?type=country", headers=auth(await issue_token(app, None)))
    assert (guest.status_code, guest.json()) == (422, SUPPORTER_ONLY)
    me = (await client.get("/api/v2/me/", headers=auth(tb))).json()
    assert (me["is_supporter"], me["support_level"]) == (False, 0)

    svc = services(app)
    await users_db.update_user(svc.db, b, support_level=1, has_supported=True)
    await profiles.invalidate(svc, b)
    country = await client.get(f"{url}?type=country", headers=auth(tb))
    assert [s["user_id"] for s in country.json()["scores"]] == [b]
    friends = await client.get(f"{url}?type=friend", headers=auth(tb))
    assert [s["user_id"] for s in friends.json()["scores"]] == [b]
    me = (await client.get("/api/v2/me/", headers=auth(tb))).json()
    assert (me["is_supporter"], me["support_level"], me["max_friends"]) == (True, 1, 500)
    other = (await client.get(f"/api/v2/users/{b}", headers=auth(ta))).json()
    assert other["is_supporter"] is True
    # Alice is still not one.
    refused = await client.get(f"{url}?type=friend", headers=auth(ta))
    assert refused.status_code == 422


async def test_team_board_is_open_and_empty_without_teams(app: Starlette, client: Any) -> None:
    url, [(_a, ta), _] = await board(app, client)
    team = await client.get(f"{url}?type=team", headers=auth(ta))
    assert team.status_code == 200
    assert (team.json()["scores"], team.json()["score_count"]) == ([], 0)
    assert "user_score" not in team.json()
    # osu-web falls back to the global board for an unknown type.
    odd = await client.get(f"{url}?type=planet", headers=auth(ta))
    assert odd.status_code == 200 and len(odd.json()["scores"]) == 2
    # The mods filter is free for API requests (osu-web assertSupporterOnlyOptions).
    nomod = await client.get(f"{url}?mods[]=NM", headers=auth(ta))
    assert nomod.status_code == 200 and len(nomod.json()["scores"]) == 2


@pytest.mark.parametrize("settings_overrides", [{"accounts": {"everyone_supporter": True}}])
async def test_everyone_a_supporter(app: Starlette, client: Any) -> None:
    url, [(a, ta), (_b, tb)] = await board(app, client)
    country = await client.get(f"{url}?type=country", headers=auth(ta))
    assert [s["user_id"] for s in country.json()["scores"]] == [a]
    me = (await client.get("/api/v2/me/", headers=auth(tb))).json()
    assert (me["is_supporter"], me["support_level"]) == (True, 1)
    listed = (await client.get(f"/api/v2/users?ids[]={a}", headers=auth(tb))).json()
    assert listed["users"][0]["is_supporter"] is True
    # Guests are nobody's supporter.
    guest = await client.get(f"{url}?type=friend", headers=auth(await issue_token(app, None)))
    assert (guest.status_code, guest.json()) == (422, SUPPORTER_ONLY)
