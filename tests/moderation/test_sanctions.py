"""Silence, restrict, ban and unrestrict through `/api/private/admin/`: what each changes (chat,
sign-in, leaderboards, account history), the audit entry, who may do it, and bad input."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import signin
from core.chat import service as chat
from core.chat import store as chat_db
from core.http import INT64_MAX
from core.moderation import store as moderation_db
from core.services import services
from core.users import store as users_db
from plugins.oauth.grants import LAZER_SECRETS
from tests.moderation.support import ADMIN, snapshot, staff
from tests.plugins.oauth.test_authorize import REDIRECT, approve
from tests.plugins.oauth.test_token import make_client
from tests.scores import support as scores


async def login(client: httpx.AsyncClient, username: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": "password123",
            "client_id": "5",
            "client_secret": LAZER_SECRETS[0],
            "scope": "*",
        },
    )


async def test_silence_stops_chat_and_lazer_hears_of_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await staff(app)
    db = services(app).db
    channel = await chat_db.create_channel(db, name="#osu", type_="PUBLIC")
    for who, uid in (("player", s.player), ("admin", s.admin)):
        r = await client.put(f"/api/v2/chat/channels/{channel}/users/{uid}", headers=s.auth(who))
        assert r.status_code == 200, r.text
    r = await client.post(
        f"{ADMIN}/users/player/silence",
        json={"duration": "1h", "reason": "spam"},
        headers=s.auth("moderator"),
    )
    assert r.status_code == 200, r.text
    entry = r.json()
    assert entry["action"] == "silence" and entry["actor_id"] == s.moderator
    assert entry["user_id"] == s.player and entry["reason"] == "spam"
    assert entry["details"]["seconds"] == 3600
    # Chat refuses with the official words.
    r = await client.post(
        f"/api/v2/chat/channels/{channel}/messages",
        data={"message": "hello"},
        headers=s.auth("player"),
    )
    assert r.status_code == 422 and r.json() == {"error": chat.RESTRICTED}
    # lazer polls chat/updates and drops the silenced user's messages.
    r = await client.get(
        "/api/v2/chat/updates", params={"since": 0, "history_since": 0}, headers=s.auth("admin")
    )
    assert r.json()["silences"] == [{"id": entry["details"]["silence_id"], "user_id": s.player}]
    # Everyone sees the silence in the account history.
    r = await client.get(f"/api/v2/users/{s.player}", headers=s.auth("admin"))
    [history] = r.json()["account_history"]
    assert (history["type"], history["length"], history["description"]) == (
        "silence",
        3600,
        "spam",
    )
    # Lifted early: chat works again, the log has both.
    r = await client.post(f"{ADMIN}/users/{s.player}/unsilence", headers=s.auth("moderator"))
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/api/v2/chat/channels/{channel}/messages",
        data={"message": "hello"},
        headers=s.auth("player"),
    )
    assert r.status_code == 200, r.text
    log = await moderation_db.log_entries(db, user_id=s.player)
    assert [e["action"] for e in log] == ["unsilence", "silence"]
    r = await client.post(f"{ADMIN}/users/{s.player}/unsilence", headers=s.auth("moderator"))
    assert r.status_code == 422 and r.json() == {"error": "That user is not silenced."}


async def test_restrict_hides_from_leaderboards_and_unrestrict_brings_back(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await staff(app)
    beatmap = await scores.import_map(app, 0)
    r = await scores.submit(client, s.player_token, beatmap, scores.body(beatmap))
    assert r.status_code == 200, r.text

    async def board() -> list[int]:
        r = await client.get(f"/api/v2/beatmaps/{beatmap.id}/scores", headers=s.auth("admin"))
        return [x["user_id"] for x in r.json()["scores"]]

    assert await board() == [s.player]
    r = await client.post(
        f"{ADMIN}/users/{s.player}/restrict", data={"reason": "cheating"}, headers=s.auth("admin")
    )
    assert r.status_code == 200, r.text
    assert await board() == []
    row = await users_db.get_user(services(app).db, s.player)
    assert row is not None and row["restricted"] and not row["banned"]
    r = await client.get("/api/v2/me", headers=s.auth("player"))
    [history] = r.json()["account_history"]
    assert history["type"] == "restriction" and history["permanent"] is True
    r = await client.post(
        f"{ADMIN}/users/{s.player}/restrict", data={"reason": "again"}, headers=s.auth("admin")
    )
    assert r.status_code == 422
    # A moderator may lift a restriction.
    r = await client.post(f"{ADMIN}/users/{s.player}/unrestrict", headers=s.auth("moderator"))
    assert r.status_code == 200, r.text
    assert await board() == [s.player]


async def test_ban_refuses_sign_in_and_ends_sessions(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await staff(app)
    assert (await login(client, "player")).status_code == 200
    # A moderator may not ban.
    r = await client.post(
        f"{ADMIN}/users/player/ban", data={"reason": "x"}, headers=s.auth("moderator")
    )
    assert r.status_code == 403
    r = await client.post(
        f"{ADMIN}/users/player/ban", data={"reason": "multi-accounting"}, headers=s.auth("admin")
    )
    assert r.status_code == 200, r.text
    r = await login(client, "player")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant" and r.json()["hint"] == signin.BANNED
    # The session they had is over.
    r = await client.get("/api/v2/me", headers=s.auth("player"))
    assert r.status_code == 401
    # A wrong password learns nothing about the ban.
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "player",
            "password": "wrong password",
            "client_id": "5",
            "client_secret": LAZER_SECRETS[0],
            "scope": "*",
        },
    )
    assert r.json()["hint"] == "Incorrect sign in"
    # The authorization page (the code flow of third-party applications) refuses it too.
    client_id, _ = await make_client(app, s.admin, REDIRECT)
    r = await approve(client, client_id, username="player")
    assert r.status_code == 422 and signin.BANNED in r.text
    # Only an admin lifts a ban.
    r = await client.post(f"{ADMIN}/users/player/unrestrict", headers=s.auth("moderator"))
    assert r.status_code == 403
    r = await client.post(f"{ADMIN}/users/player/unrestrict", headers=s.auth("admin"))
    assert r.status_code == 200 and r.json()["details"] == {"was_banned": True}
    assert (await login(client, "player")).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("users/player/silence", {"reason": "x"}, 422),
        ("users/player/silence", {"duration": "1h"}, 422),
        ("users/player/silence", {"duration": [1], "reason": "x"}, 422),
        ("users/player/silence", {"duration": "forever", "reason": "x"}, 422),
        ("users/player/silence", {"duration": -5, "reason": "x"}, 422),
        ("users/player/silence", {"duration": 10**30, "reason": "x"}, 422),
        ("users/player/silence", {"duration": "1h", "reason": {"a": 1}}, 422),
        ("users/player/silence", {"duration": "1h", "reason": "x" * 300}, 422),
        (f"users/{INT64_MAX + 1}/silence", {"duration": "1h", "reason": "x"}, 404),
        ("users/nobody/restrict", {"reason": "x"}, 404),
        ("users/player/restrict", {}, 422),
        ("users/player/ban", {"reason": True}, 422),
        ("users/player/unrestrict", {}, 422),
        ("users/boss/restrict", {"reason": "self"}, 422),
    ],
)
async def test_bad_input_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, path: str, body: dict[str, object], status: int
) -> None:
    s = await staff(app)
    before = await snapshot(app)
    r = await client.post(f"{ADMIN}/{path}", json=body, headers=s.auth("admin"))
    assert r.status_code == status, r.text
    assert isinstance(r.json()["error"], str) and r.json()["error"]
    assert await snapshot(app) == before


async def test_callers_without_the_groups_are_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await staff(app)
    before = await snapshot(app)
    body = {"duration": "1h", "reason": "x"}
    r = await client.post(f"{ADMIN}/users/other/silence", json=body, headers=s.auth("player"))
    assert r.status_code == 403
    assert r.json() == {"error": "You must be an admin or moderator to do that."}
    r = await client.post(f"{ADMIN}/users/other/silence", json=body)
    assert r.status_code == 401
    # A moderator cannot sanction staff.
    r = await client.post(f"{ADMIN}/users/boss/silence", json=body, headers=s.auth("moderator"))
    assert r.status_code == 403
    # A token without the full scope is refused even for an admin.
    from tests.conftest import issue_token

    limited = await issue_token(app, s.admin, ("public",))
    r = await client.post(
        f"{ADMIN}/users/other/silence",
        json=body,
        headers={"Authorization": f"Bearer {limited}"},
    )
    assert r.status_code == 403
    assert await snapshot(app) == before
