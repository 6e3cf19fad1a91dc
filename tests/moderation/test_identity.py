"""Rename and groups through `/api/private/admin/`: the built-in groups, custom groups with
colours, memberships shown in `groups` of user objects, and bad input refused unchanged."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.moderation.support import ADMIN, snapshot, staff


async def test_builtin_groups_exist(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    r = await client.get(f"{ADMIN}/groups", headers=s.auth("moderator"))
    assert r.status_code == 200
    found = {g["identifier"]: g for g in r.json()}
    assert set(found) == {"admin", "gmt", "nat", "bot"}
    assert found["gmt"]["colour"] == "#99EB47" and found["gmt"]["short_name"] == "GMT"
    assert found["gmt"]["id"] == 4 and found["nat"]["has_playmodes"] is True


async def test_groups_show_on_users(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    r = await client.post(
        f"{ADMIN}/groups",
        json={
            "identifier": "mappers",
            "name": "Featured Mappers",
            "short_name": "MAP",
            "colour": "#a347eb",
            "description": "They map.",
            "has_playmodes": True,
        },
        headers=s.auth("admin"),
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        f"{ADMIN}/users/{s.player}/groups",
        json={"group": "mappers", "playmodes": ["mania", "osu"], "probationary": True},
        headers=s.auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["details"]["playmodes"] == ["osu", "mania"]
    r = await client.get(f"/api/v2/users/{s.player}", headers=s.auth("other"))
    [group] = r.json()["groups"]
    assert group == {
        "colour": "#A347EB",
        "description": {"html": "They map.", "markdown": "They map."},
        "has_listing": True,
        "has_playmodes": True,
        "id": group["id"],
        "identifier": "mappers",
        "is_probationary": True,
        "name": "Featured Mappers",
        "playmodes": ["osu", "mania"],
        "short_name": "MAP",
    }
    assert group["id"] > 29
    # Cards (user lists) carry groups too.
    r = await client.get(
        "/api/v2/users", params={"ids[]": [s.player, s.admin]}, headers=s.auth("other")
    )
    by_id = {u["id"]: u for u in r.json()["users"]}
    assert [g["identifier"] for g in by_id[s.player]["groups"]] == ["mappers"]
    assert [g["identifier"] for g in by_id[s.admin]["groups"]] == ["admin"]
    # The bot group marks the account a bot, as osu-web reads it.
    r = await client.post(
        f"{ADMIN}/users/{s.other}/groups", json={"group": "bot"}, headers=s.auth("admin")
    )
    assert r.status_code == 200
    r = await client.get(f"/api/v2/users/{s.other}", headers=s.auth("player"))
    assert r.json()["is_bot"] is True
    r = await client.delete(f"{ADMIN}/users/{s.other}/groups/bot", headers=s.auth("admin"))
    assert r.status_code == 200
    r = await client.get(f"/api/v2/users/{s.other}", headers=s.auth("player"))
    assert r.json()["is_bot"] is False and r.json()["groups"] == []
    r = await client.delete(f"{ADMIN}/users/{s.other}/groups/bot", headers=s.auth("admin"))
    assert r.status_code == 422


async def test_rename(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    r = await client.post(
        f"{ADMIN}/users/player/rename",
        json={"username": "Renamed", "reason": "offensive name"},
        headers=s.auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["details"] == {"old": "player", "new": "Renamed"}
    r = await client.get(f"/api/v2/users/{s.player}", headers=s.auth("other"))
    assert r.json()["username"] == "Renamed"
    assert r.json()["previous_usernames"] == ["player"]
    # The old name stays its owner's; another's name is taken.
    r = await client.post(
        f"{ADMIN}/users/other/rename", json={"username": "player"}, headers=s.auth("admin")
    )
    assert r.status_code == 422 and r.json() == {"error": "Username is already in use!"}


@pytest.mark.parametrize(
    ("path", "body", "who", "status"),
    [
        ("users/player/rename", {"username": "Renamed"}, "moderator", 403),
        ("users/player/rename", {"username": "Renamed"}, "player", 403),
        ("users/player/rename", {}, "admin", 422),
        ("users/player/rename", {"username": ["a"]}, "admin", 422),
        ("users/player/rename", {"username": "a"}, "admin", 422),
        ("users/player/rename", {"username": "bad/name!"}, "admin", 422),
        ("users/player/rename", {"username": "other"}, "admin", 422),
        ("users/player/groups", {"group": "nope"}, "admin", 404),
        ("users/player/groups", {}, "admin", 422),
        ("users/player/groups", {"group": 5}, "admin", 422),
        ("users/player/groups", {"group": "nat", "playmodes": ["chess"]}, "admin", 422),
        ("users/player/groups", {"group": "gmt", "playmodes": ["osu"]}, "admin", 422),
        ("users/player/groups", {"group": "admin"}, "moderator", 403),
        ("users/99999999999999999999/groups", {"group": "nat"}, "admin", 404),
        ("groups", {"identifier": "Bad Id", "name": "x", "short_name": "x"}, "admin", 422),
        ("groups", {"identifier": "gmt", "name": "x", "short_name": "x"}, "admin", 422),
        (
            "groups",
            {"identifier": "ok", "name": "x", "short_name": "x", "colour": "red"},
            "admin",
            422,
        ),
        ("groups", {"identifier": "ok", "short_name": "x"}, "admin", 422),
        ("groups", {"identifier": "ok", "name": "x", "short_name": "TOOLONGNAME"}, "admin", 422),
        ("groups", {"identifier": "ok", "name": "x", "short_name": "x"}, "moderator", 403),
    ],
)
async def test_bad_input_changes_nothing(
    app: Starlette,
    client: httpx.AsyncClient,
    path: str,
    body: dict[str, object],
    who: str,
    status: int,
) -> None:
    s = await staff(app)
    before = await snapshot(app)
    r = await client.post(f"{ADMIN}/{path}", json=body, headers=s.auth(who))
    assert r.status_code == status, r.text
    assert r.json()["error"]
    assert await snapshot(app) == before
    row = await users_db.get_user(services(app).db, s.player)
    assert row is not None and row["username"] == "player"
