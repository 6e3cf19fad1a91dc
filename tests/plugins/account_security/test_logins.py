"""Sign-ins are recorded with their GeoIP country, behind a trusted proxy too; sign-ups get the
country they come from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.config import Settings
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token, run_command
from tests.geoip_support import write_country_db
from tests.plugins.account_security.test_views import PRIVATE, bearer, sign_in


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    database = write_country_db(tmp_path / "geo" / "countries.mmdb")
    return {
        "geoip": {"database": str(database)},
        # The in-process client connects from 127.0.0.1: as if through a local proxy.
        "server": {"trusted_proxies": ["127.0.0.1"]},
    }


async def test_sign_ups_and_sign_ins_know_their_country(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    registered = await client.post(
        "/users",
        data={
            "user[username]": "tokyo",
            "user[user_email]": "t@example.com",
            "user[password]": "fresh password 1",
        },
        headers={"X-Forwarded-For": "203.0.113.20"},
    )
    assert registered.status_code == 200, registered.text
    assert registered.json()["country_code"] == "JP"
    # No match: the configured default.
    elsewhere = await client.post(
        "/users",
        data={
            "user[username]": "nowhere",
            "user[user_email]": "n@example.com",
            "user[password]": "fresh password 1",
        },
        headers={"X-Forwarded-For": "192.0.2.1"},
    )
    assert elsewhere.json()["country_code"] == "XX"

    signed = await sign_in(client, "tokyo", "fresh password 1", forwarded="198.51.100.4")
    token = signed.json()["access_token"]
    # A forged first hop is not believed: the proxy's own entry counts.
    await sign_in(client, "nowhere", "fresh password 1", forwarded="6.6.6.6, 198.51.100.9")
    logins = (await client.get(f"{PRIVATE}/me/logins", headers=bearer(token))).json()["logins"]
    assert [(x["ip"], x["country_code"], x["client"]) for x in logins] == [
        ("198.51.100.4", "FR", "osu!")
    ]
    nowhere = await users_db.find_by_username(services(app).db, "nowhere", previous=False)
    assert nowhere is not None and nowhere["country_code"] == "FR"  # XX filled at sign-in
    tokyo = await users_db.find_by_username(services(app).db, "tokyo", previous=False)
    assert tokyo is not None and tokyo["country_code"] == "JP"  # a known country stays

    listed = await run_command(settings, "security", "logins", "nowhere")
    assert listed.returncode == 0, listed.stderr
    assert "198.51.100.9" in listed.stdout and "FR" in listed.stdout
    never = await create_user(app, "never")
    assert (
        "has not signed in"
        in (await run_command(settings, "security", "logins", str(never))).stdout
    )


async def test_logins_need_a_lazer_token_and_take_a_sane_limit(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    uid = await create_user(app, "someone")
    token = await issue_token(app, uid)
    assert (await client.get(f"{PRIVATE}/me/logins", headers=bearer(token))).json() == {
        "logins": []
    }
    for bad in ("0", "101", "ten"):
        answer = await client.get(f"{PRIVATE}/me/logins?limit={bad}", headers=bearer(token))
        assert answer.status_code == 422
    public = await issue_token(app, uid, ("public",))
    assert (await client.get(f"{PRIVATE}/me/logins", headers=bearer(public))).status_code == 403
