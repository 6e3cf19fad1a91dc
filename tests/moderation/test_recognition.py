"""Badges and supporter through `/api/private/admin/`: shown on the profile in osu-web's shape;
another user's badge is not found; bad input refused unchanged."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.moderation.support import ADMIN, snapshot, staff

IMAGE = "https://assets.ppy.sh/profile-badges/owc.png"


async def test_badges(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    r = await client.post(
        f"{ADMIN}/users/{s.player}/badges",
        json={"description": "World Cup winner", "image_url": IMAGE, "url": "https://x.test/"},
        headers=s.auth("admin"),
    )
    assert r.status_code == 200, r.text
    badge_id = r.json()["details"]["badge_id"]
    r = await client.get(f"/api/v2/users/{s.player}", headers=s.auth("other"))
    [badge] = r.json()["badges"]
    assert badge == {
        "awarded_at": badge["awarded_at"],
        "description": "World Cup winner",
        "image_url": IMAGE,
        "image@2x_url": "https://assets.ppy.sh/profile-badges/owc@2x.png",
        "url": "https://x.test/",
    }
    assert badge["awarded_at"].endswith("+00:00")
    # Another user's badge is not theirs to lose.
    before = await snapshot(app)
    r = await client.delete(f"{ADMIN}/users/{s.other}/badges/{badge_id}", headers=s.auth("admin"))
    assert r.status_code == 404
    assert await snapshot(app) == before
    r = await client.delete(f"{ADMIN}/users/{s.player}/badges/{badge_id}", headers=s.auth("admin"))
    assert r.status_code == 200
    r = await client.get(f"/api/v2/users/{s.player}", headers=s.auth("other"))
    assert r.json()["badges"] == []


async def test_supporter(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    r = await client.put(
        f"{ADMIN}/users/{s.player}/supporter", json={"supporter": True}, headers=s.auth("admin")
    )
    assert r.status_code == 200 and r.json()["details"] == {"supporter": True}
    r = await client.get(f"/api/v2/users/{s.player}", headers=s.auth("other"))
    assert r.json()["is_supporter"] is True and r.json()["support_level"] == 1
    r = await client.put(
        f"{ADMIN}/users/{s.player}/supporter", json={"supporter": "false"}, headers=s.auth("admin")
    )
    assert r.status_code == 200
    r = await client.get(f"/api/v2/users/{s.player}", headers=s.auth("other"))
    assert r.json()["is_supporter"] is False and r.json()["has_supported"] is True


async def test_bad_input_changes_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    before = await snapshot(app)
    for method, path, body, who, status in (
        ("POST", "users/player/badges", {"image_url": IMAGE}, "admin", 422),
        ("POST", "users/player/badges", {"description": "x"}, "admin", 422),
        ("POST", "users/player/badges", {"description": "x", "image_url": "ftp://a"}, "admin", 422),
        ("POST", "users/player/badges", {"description": ["x"], "image_url": IMAGE}, "admin", 422),
        ("POST", "users/player/badges", {"description": "x", "image_url": IMAGE}, "moderator", 403),
        ("POST", "users/player/badges", {"description": "x", "image_url": IMAGE}, "player", 403),
        ("DELETE", "users/player/badges/99999999999999999999", {}, "admin", 404),
        ("DELETE", "users/player/badges/1", {}, "admin", 404),
        ("PUT", "users/player/supporter", {}, "admin", 422),
        ("PUT", "users/player/supporter", {"supporter": True}, "moderator", 403),
        ("PUT", "users/nobody/supporter", {"supporter": True}, "admin", 404),
    ):
        r = await client.request(method, f"{ADMIN}/{path}", json=body, headers=s.auth(who))
        assert r.status_code == status, (path, body, who, r.text)
        assert r.json()["error"]
    assert await snapshot(app) == before
