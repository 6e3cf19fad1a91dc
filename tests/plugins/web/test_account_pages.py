"""plugins.web account pages with mail: the password reset by a mailed key (sessions and tokens
end), TOTP from the settings page (then asked at sign-in), an OAuth application's secret shown
once, favourites, and a replay download."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyotp
import pytest
from starlette.applications import Starlette

from core.scores import store as scores_db
from core.services import services
from tests.conftest import MailSink, create_user
from tests.plugins.account_security.test_views import key_in
from tests.plugins.web.test_pages import csrf_of, form_token, login


@pytest.fixture
def settings_overrides(mail_sink: MailSink) -> dict[str, Any]:
    return {"mail": mail_sink.settings()}


async def test_password_reset_by_mail(
    app: Starlette, client: httpx.AsyncClient, mail_sink: MailSink, make_token: Any
) -> None:
    uid = await create_user(app, "forgetful", password="old password 1", email="f@example.com")
    api_token = await make_token(uid)
    token = await form_token(client, "/password-reset")
    sent = await client.post(
        "/password-reset", data={"csrf_token": token, "username": "f@example.com"}
    )
    assert sent.status_code == 200 and "Key from the mail" in sent.text
    key = key_in(await mail_sink.next("f@example.com", "Reset"))
    weak = await client.post(
        "/password-reset",
        data={"csrf_token": token, "username": "forgetful", "key": key, "password": "forgetful"},
    )
    assert weak.status_code == 422 and 'class="errors"' in weak.text
    wrong = await client.post(
        "/password-reset",
        data={
            "csrf_token": token,
            "username": "forgetful",
            "key": "nope",
            "password": "new pass 12",
        },
    )
    assert wrong.status_code == 422 and "invalid or has expired" in wrong.text
    done = await client.post(
        "/password-reset",
        data={"csrf_token": token, "username": "forgetful", "key": key, "password": "new pass 12"},
    )
    assert done.status_code == 200 and "Sign in with the new one" in done.text
    me = await client.get("/api/v2/me", headers={"Authorization": f"Bearer {api_token}"})
    assert me.status_code == 401
    assert (await login(client, "forgetful", "old password 1")).status_code == 422
    assert (await login(client, "forgetful", "new pass 12")).status_code == 303


async def test_totp_from_settings_then_at_sign_in(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await create_user(app, "careful", password="careful password 1")
    assert (await login(client, "careful", "careful password 1")).status_code == 303
    token = await form_token(client, "/settings")
    setup = await client.post("/settings", data={"csrf_token": token, "action": "totp_setup"})
    assert setup.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text)
    assert secret
    wrong = await client.post(
        "/settings", data={"csrf_token": token, "action": "totp_enable", "code": "000000"}
    )
    assert wrong.status_code == 422 and "Incorrect code." in wrong.text
    code = pyotp.TOTP(secret.group(1)).at(services(app).clock.time())
    enabled = await client.post(
        "/settings", data={"csrf_token": token, "action": "totp_enable", "code": code}
    )
    assert enabled.status_code == 200 and "Backup codes" in enabled.text
    backup = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", enabled.text)
    assert len(backup) == 10
    await client.post("/logout", data={"csrf_token": token})
    asked = await login(client, "careful", "careful password 1")
    assert asked.status_code == 422 and "authenticator" in asked.text
    token = csrf_of(asked.text)
    signed = await client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": "careful",
            "password": "careful password 1",
            "code": backup[0],
        },
    )
    assert signed.status_code == 303


async def test_oauth_application_secret_is_shown_once_and_favourites(
    app: Starlette, client: httpx.AsyncClient, make_token: Any
) -> None:
    from tests.scores import support as scores_support

    uid = await create_user(app, "builder", password="builder password 1")
    assert (await login(client, "builder", "builder password 1")).status_code == 303
    token = await form_token(client, "/settings")
    bad = await client.post(
        "/settings",
        data={"csrf_token": token, "action": "client_create", "name": "app", "redirect": "ftp://x"},
    )
    assert bad.status_code == 422 and "http(s) URL" in bad.text
    made = await client.post(
        "/settings",
        data={
            "csrf_token": token,
            "action": "client_create",
            "name": "my app",
            "redirect": "https://example.com/cb",
        },
    )
    assert made.status_code == 200
    secret = re.search(r'id="shown-secret">([^<]+)<', made.text)
    assert secret
    listed = await client.get("/settings")
    assert "my app" in listed.text and secret.group(1) not in listed.text
    # Another user's application is not ours to delete.
    other = await create_user(app, "other")
    other_token = await make_token(other)
    theirs = await client.post(
        "/api/private/oauth-clients",
        data={"name": "theirs", "redirect": "https://example.com/t"},
        headers={"Authorization": f"Bearer {other_token}"},
    )
    assert theirs.status_code == 200
    refused = await client.post(
        "/settings",
        data={"csrf_token": token, "action": "client_delete", "id": str(theirs.json()["id"])},
    )
    assert refused.status_code == 422
    # Favourite a set from its page.
    beatmap = await scores_support.import_map(app, 0)
    shown = await client.get(f"/beatmapsets/{7000}")
    assert "Add to favourites" in shown.text
    favoured = await client.post(
        "/beatmapsets/7000/favourite", data={"csrf_token": token, "action": "favourite"}
    )
    assert favoured.status_code == 303
    assert "Remove from favourites" in (await client.get("/beatmapsets/7000")).text
    profile = await client.get(f"/users/{uid}")
    assert "Song 7000" in profile.text
    # The replay of a submitted score downloads from its page.
    api_token = await make_token(uid)
    submitted = await scores_support.submit(
        client, api_token, beatmap, scores_support.body(beatmap, misses=1)
    )
    score_id = submitted.json()["id"]
    missing = await client.get(f"/scores/{score_id}/download")
    assert missing.status_code == 404  # no replay uploaded yet
    svc = services(app)
    await svc.storage.put(scores_db.replay_key(score_id), b"replay bytes")
    await scores_db.set_has_replay(svc.db, score_id)
    page = await client.get(f"/scores/{score_id}")
    assert f"/scores/{score_id}/download" in page.text
    replay = await client.get(f"/scores/{score_id}/download")
    assert replay.status_code == 200 and replay.content == b"replay bytes"
    assert "attachment" in replay.headers["content-disposition"]


@pytest.fixture
def new_devices(settings_overrides: dict[str, Any]) -> None:
    settings_overrides["account_security"] = {"session_verification": "new_devices"}


async def test_new_device_confirms_a_mailed_key(
    new_devices: None, app: Starlette, mail_sink: MailSink
) -> None:
    """Signing in on the site from a new device needs the mailed key, as lazer's sign-in does;
    the device is trusted afterwards."""
    await create_user(app, "traveller", password="travel password 1", email="t@example.com")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        held = await client.post(
            "/login",
            data={
                "csrf_token": await form_token(client, "/login?next=/settings"),
                "username": "traveller",
                "password": "travel password 1",
                "next": "/settings",
            },
        )
        assert held.status_code == 200 and "Confirm this device" in held.text
        # Not signed in while the key is outstanding.
        assert (await client.get("/settings")).status_code == 303
        token = csrf_of(held.text)
        wrong = await client.post(
            "/login/verify", data={"csrf_token": token, "key": "00000000", "next": "/settings"}
        )
        assert wrong.status_code == 422 and "Incorrect key." in wrong.text
        key = key_in(await mail_sink.next("t@example.com", "verification"))
        done = await client.post(
            "/login/verify", data={"csrf_token": token, "key": key, "next": "/settings"}
        )
        assert done.status_code == 303 and done.headers["location"] == "/settings"
        assert (await client.get("/settings")).status_code == 200
        # The same device is trusted now: the next sign-in goes straight through.
        again = await login(client, "traveller", "travel password 1")
        assert again.status_code == 303
