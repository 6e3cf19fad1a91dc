"""The moderation commands against a running `hitcircle serve`, seen through real clients:
ossapi reads groups and badges, a silenced player's message is refused, a banned player's
lazer sign-in is refused with the ban's words, and the audit log lists it all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import signin
from core.chat import service as chat
from core.chat import store as chat_db
from core.config import Settings
from core.services import services
from plugins.oauth.grants import LAZER_SECRETS
from tests.conftest import LiveServer, issue_token, lazer_login, run_command
from tests.moderation.support import staff


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    # The server re-reads token rows this often, so a ban from the command line ends its
    # sessions there on the embedded backend too (separate memory caches).
    return {"auth": {"cache_seconds": 1}}


async def cli(settings: Settings, *args: str) -> str:
    r = await run_command(settings, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def refused_login(url: str, username: str) -> httpx.Response:
    return httpx.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": "password123",
            "client_id": "5",
            "client_secret": LAZER_SECRETS[0],
            "scope": "*",
        },
        timeout=30,
    )


async def test_moderation_commands_through_real_clients(
    app: Starlette,
    settings: Settings,
    live_server: LiveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ossapi import Ossapi

    s = await staff(app)
    channel = await chat_db.create_channel(services(app).db, name="#osu", type_="PUBLIC")
    url = live_server.url
    player = lazer_login(url, "player", "password123")
    r = httpx.put(f"{url}/api/v2/chat/channels/{channel}/users/{s.player}", headers=player)
    assert r.status_code == 200, r.text

    await cli(settings, "user", "group", "add", "player", "nat", "--playmodes", "osu,mania")
    badge_id = (
        await cli(
            settings,
            "user",
            "badge",
            "add",
            "player",
            "--description",
            "Mapping contest winner",
            "--image-url",
            "https://assets.ppy.sh/profile-badges/contest.png",
        )
    ).strip()
    assert badge_id.isdigit()
    assert "silenced for 1h" in await cli(
        settings, "user", "silence", "player", "--duration", "1h", "--reason", "spam"
    )

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    scopes = ["public", "identify"]

    class Local(Ossapi):
        TOKEN_URL = f"{url}/oauth/token"
        AUTH_CODE_URL = f"{url}/oauth/authorize"
        BASE_URL = f"{url}/api/v2"

    api = Local(
        5,
        "unused-secret",
        "http://localhost:7270/callback",
        scopes,
        grant="authorization",
        access_token=await issue_token(app, s.other, scopes),
        refresh_token="unused",
        token_directory=str(tmp_path),
    )
    user = api.user(s.player)
    [group] = user.groups
    assert (group.identifier, group.short_name, group.colour) == ("nat", "NAT", "#FA3703")
    assert [str(getattr(m, "value", m)) for m in group.playmodes] == ["osu", "mania"]
    [badge] = user.badges
    assert badge.description == "Mapping contest winner"
    assert badge.image_2x_url == "https://assets.ppy.sh/profile-badges/contest@2x.png"
    assert [h.type.value for h in user.account_history] == ["silence"]

    # The silenced player's message is refused through the live server.
    r = httpx.post(
        f"{url}/api/v2/chat/channels/{channel}/messages", data={"message": "hi"}, headers=player
    )
    assert r.status_code == 422 and r.json() == {"error": chat.RESTRICTED}

    assert "banned" in await cli(settings, "user", "ban", "player", "--reason", "cheating")
    r = refused_login(url, "player")
    assert r.status_code == 400 and r.json()["hint"] == signin.BANNED
    assert "unrestricted" in await cli(settings, "user", "unrestrict", "player")
    assert refused_login(url, "player").status_code == 200

    log = await cli(settings, "audit", "--user", "player")
    actions = [line.split()[4] for line in log.splitlines()]
    assert actions == ["unrestrict", "ban", "silence", "badge_add", "group_add"]
    assert all(line.split()[3] == "cli" for line in log.splitlines())
