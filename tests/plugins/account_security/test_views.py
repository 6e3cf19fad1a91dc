"""plugins.account_security over HTTP: password reset, e-mail verification at sign-up, lazer's
session verification by mail and by TOTP, and TOTP itself. Mail goes to a local SMTP server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pyotp
import pytest
from starlette.applications import Starlette

from core import openapi
from core.chat import notifications
from core.clock import ManualClock
from core.services import services
from plugins.oauth.grants import LAZER_SECRETS
from tests.conftest import MailSink, create_user
from tests.test_openapi import undocumented

LAZER = {"client_id": "5", "client_secret": LAZER_SECRETS[0]}
PRIVATE = "/api/private"


@pytest.fixture
def settings_overrides(mail_sink: MailSink) -> dict[str, Any]:
    return {
        "mail": mail_sink.settings(),
        "account_security": {"session_verification": "new_devices"},
    }


def bearer(token: str) -> dict[str, str]:
    # lazer sends the same user agent on every request; with the address it tells the device.
    return {"Authorization": f"Bearer {token}", "User-Agent": "osu!"}


async def sign_in(
    client: httpx.AsyncClient,
    username: str,
    password: str,
    agent: str = "osu!",
    forwarded: str | None = None,
) -> httpx.Response:
    headers = {"User-Agent": agent}
    if forwarded is not None:
        headers["X-Forwarded-For"] = forwarded
    return await client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": username, "password": password,
              "scope": "*", **LAZER},
        headers=headers,
    )  # fmt: skip


def key_in(message: Any) -> str:
    found = re.search(r"^    (\S+)\r?$", message.get_content(), re.M)
    assert found, message.get_content()
    return found.group(1)


# --- password reset ------------------------------------------------------------------------


async def test_password_reset_by_mail(
    app: Starlette, client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    uid = await create_user(app, "resetter", password="old password 1", email="r@example.com")
    old = (await sign_in(client, "resetter", "old password 1")).json()["access_token"]
    asked = await client.post(f"{PRIVATE}/password-reset", json={"username": "r@example.com"})
    nobody = await client.post(f"{PRIVATE}/password-reset", json={"username": "nobody"})
    # The same answer whether or not the account exists.
    assert asked.status_code == nobody.status_code == 200
    assert asked.json() == nobody.json()
    key = key_in(await mail_sink.next("r@example.com", "Reset"))
    stored = await services(app).db.fetch_val(
        "SELECT key_hash FROM account_keys WHERE user_id = :u", {"u": uid}
    )
    assert key not in stored  # kept hashed

    def complete(**body: str) -> Any:
        return client.post(f"{PRIVATE}/password-reset/complete", json=body)

    wrong = await complete(username="resetter", key="not-the-key", password="new password 2")
    assert wrong.status_code == 422 and "invalid" in wrong.json()["error"]
    weak = await complete(username="resetter", key=key, password="short")
    assert weak.status_code == 422 and "password" in weak.json()["form_error"]
    missing = await client.post(f"{PRIVATE}/password-reset/complete", json={"username": 5})
    assert missing.status_code == 422
    done = await complete(username="resetter", key=key, password="new password 2")
    assert done.status_code == 200, done.text
    # Answers the document walk cannot reach (it has no mail): checked against it here.
    doc = openapi.build(app)
    assert not undocumented(doc, "POST", f"{PRIVATE}/password-reset", asked)
    assert not undocumented(doc, "POST", f"{PRIVATE}/password-reset/complete", done)
    # Every old session ended; the new password works, the old one does not; the key is spent.
    assert (await client.get("/api/v2/me/", headers=bearer(old))).status_code == 401
    assert (await sign_in(client, "resetter", "new password 2")).status_code == 200
    assert (await sign_in(client, "resetter", "old password 1")).status_code == 400
    again = await complete(username="resetter", key=key, password="third password 3")
    assert again.status_code == 422
    # No mail was sent for the unknown name: the next one is the resetter's own.
    await client.post(f"{PRIVATE}/password-reset", json={"username": "resetter"})
    assert await mail_sink.next("r@example.com", "Reset")


async def test_too_many_wrong_keys_spend_the_key(
    app: Starlette, client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    await create_user(app, "guessed", password="old password 1", email="g@example.com")
    await client.post(f"{PRIVATE}/password-reset", json={"username": "guessed"})
    key = key_in(await mail_sink.next("g@example.com", "Reset"))
    for n in range(5):
        await client.post(
            f"{PRIVATE}/password-reset/complete",
            json={"username": "guessed", "key": f"guess-{n}", "password": "new password 2"},
        )
    late = await client.post(
        f"{PRIVATE}/password-reset/complete",
        json={"username": "guessed", "key": key, "password": "new password 2"},
    )
    assert late.status_code == 422


# --- lazer's session verification ----------------------------------------------------------


async def test_a_new_device_verifies_by_mail(
    app: Starlette, client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    uid = await create_user(app, "traveller", password="my password 1", email="t@example.com")
    signed = (await sign_in(client, "traveller", "my password 1")).json()
    token = signed["access_token"]
    me = (await client.get("/api/v2/me/", headers=bearer(token))).json()
    assert me["session_verification_method"] == "mail" and me["session_verified"] is False
    # Reading works; changing anything waits for the key.
    blocked = await client.post("/api/v2/friends?target=1", headers=bearer(token))
    assert blocked.status_code == 401 and blocked.json() == {"method": "mail"}
    key = key_in(await mail_sink.next("t@example.com"))
    wrong = await client.post(
        "/api/v2/session/verify", data={"verification_key": "00000000"}, headers=bearer(token)
    )
    assert wrong.status_code == 422 and wrong.json()["method"] == "mail"
    # A refresh keeps the session waiting.
    renewed = (
        await client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": signed["refresh_token"], **LAZER},
        )
    ).json()
    token = renewed["access_token"]
    me = (await client.get("/api/v2/me/", headers=bearer(token))).json()
    assert me["session_verification_method"] == "mail"
    # A new key on request replaces the first one.
    reissued = await client.post("/api/v2/session/verify/reissue", headers=bearer(token))
    assert reissued.status_code == 200 and "message" in reissued.json()
    doc = openapi.build(app)
    assert not undocumented(doc, "POST", "/api/v2/session/verify/reissue", reissued)
    new_key = key_in(await mail_sink.next("t@example.com"))
    stale = await client.post(
        "/api/v2/session/verify", data={"verification_key": key}, headers=bearer(token)
    )
    assert stale.status_code == 422
    # lazer hears of it on its notification socket too (`verified`).
    async with services(app).cache.subscribe(notifications.BUS) as bus:
        ok = await client.post(
            "/api/v2/session/verify", data={"verification_key": new_key}, headers=bearer(token)
        )
        assert ok.status_code == 204
        _, data = await bus.get(5)
    header, text = notifications.decode(data)
    assert header["u"] == [uid] and orjson.loads(text) == {"event": "verified"}
    me = (await client.get("/api/v2/me/", headers=bearer(token))).json()
    assert me["session_verification_method"] is None and me["session_verified"] is True
    # Verified once, nothing more to do; the device is trusted for the next sign-in.
    assert (
        await client.post("/api/v2/session/verify/reissue", headers=bearer(token))
    ).status_code == 422
    again = (await sign_in(client, "traveller", "my password 1")).json()["access_token"]
    me = (await client.get("/api/v2/me/", headers=bearer(again))).json()
    assert me["session_verified"] is True
    # Another device is asked again.
    elsewhere = (await sign_in(client, "traveller", "my password 1", agent="other")).json()
    me = (await client.get("/api/v2/me/", headers=bearer(elsewhere["access_token"]))).json()
    assert me["session_verified"] is False


async def test_other_grants_are_born_verified(app: Starlette, client: httpx.AsyncClient) -> None:
    from tests.conftest import issue_token

    uid = await create_user(app, "scripted", email="s@example.com")
    token = await issue_token(app, uid)
    me = (await client.get("/api/v2/me/", headers=bearer(token))).json()
    assert me["session_verification_method"] is None and me["session_verified"] is True
    # The verification routes have nothing to do for it.
    assert (await client.post("/api/v2/session/verify", headers=bearer(token))).status_code == 204
    assert (
        await client.post("/api/v2/session/verify/mail-fallback", headers=bearer(token))
    ).status_code == 422
    assert (await client.post("/api/v2/session/verify")).status_code == 401


# --- TOTP ----------------------------------------------------------------------------------


async def test_totp_enable_verify_and_disable(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, mail_sink: MailSink
) -> None:
    from tests.conftest import issue_token

    uid = await create_user(app, "careful", password="my password 1", email="c@example.com")
    token = await issue_token(app, uid)
    status = await client.get(f"{PRIVATE}/me/totp", headers=bearer(token))
    assert status.json() == {"enabled": False, "backup_codes_left": 0}
    not_yet = await client.post(
        f"{PRIVATE}/me/totp/enable", json={"code": "123456"}, headers=bearer(token)
    )
    assert not_yet.status_code == 422
    setup = (await client.post(f"{PRIVATE}/me/totp/setup", headers=bearer(token))).json()
    totp = pyotp.TOTP(setup["secret"])
    assert setup["uri"].startswith("otpauth://totp/") and "careful" in setup["uri"]
    bad = await client.post(
        f"{PRIVATE}/me/totp/enable", json={"code": "000000"}, headers=bearer(token)
    )
    assert bad.status_code == 422
    enabled = await client.post(
        f"{PRIVATE}/me/totp/enable", json={"code": totp.at(clock.time())}, headers=bearer(token)
    )
    assert enabled.status_code == 200, enabled.text
    doc = openapi.build(app)
    assert not undocumented(doc, "POST", f"{PRIVATE}/me/totp/enable", enabled)
    codes = enabled.json()["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await client.post(f"{PRIVATE}/me/totp/setup", headers=bearer(token))).status_code == 422

    # A sign-in from a new device now asks for a TOTP code.
    session = (await sign_in(client, "careful", "my password 1")).json()["access_token"]
    me = (await client.get("/api/v2/me/", headers=bearer(session))).json()
    assert me["session_verification_method"] == "totp"
    blocked = await client.post("/api/v2/chat/ack", headers=bearer(session))
    assert blocked.status_code == 401 and blocked.json() == {"method": "totp"}
    # The code used to enable is spent; a later one works, once.
    clock.advance(30)
    code = totp.at(clock.time())
    ok = await client.post(
        "/api/v2/session/verify", data={"verification_key": code}, headers=bearer(session)
    )
    assert ok.status_code == 204
    other = (await sign_in(client, "careful", "my password 1", agent="phone")).json()[
        "access_token"
    ]
    replay = await client.post(
        "/api/v2/session/verify", data={"verification_key": code}, headers=bearer(other)
    )
    assert replay.status_code == 422 and replay.json()["method"] == "totp"
    # No authenticator at hand: a backup code works, once; or fall back to mail.
    backup = await client.post(
        "/api/v2/session/verify", data={"verification_key": codes[0]}, headers=bearer(other)
    )
    assert backup.status_code == 204
    third = (await sign_in(client, "careful", "my password 1", agent="tablet")).json()[
        "access_token"
    ]
    fallback = await client.post("/api/v2/session/verify/mail-fallback", headers=bearer(third))
    assert fallback.status_code == 200
    assert not undocumented(doc, "POST", "/api/v2/session/verify/mail-fallback", fallback)
    key = key_in(await mail_sink.next("c@example.com"))
    me = (await client.get("/api/v2/me/", headers=bearer(third))).json()
    assert me["session_verification_method"] == "mail"
    assert (
        await client.post(
            "/api/v2/session/verify", data={"verification_key": key}, headers=bearer(third)
        )
    ).status_code == 204
    status = await client.get(f"{PRIVATE}/me/totp", headers=bearer(token))
    assert status.json() == {"enabled": True, "backup_codes_left": 9}
    # Turning it off takes a code too.
    refused = await client.post(
        f"{PRIVATE}/me/totp/disable", json={"code": codes[0]}, headers=bearer(token)
    )
    assert refused.status_code == 422
    off = await client.post(
        f"{PRIVATE}/me/totp/disable", json={"code": codes[1]}, headers=bearer(token)
    )
    assert off.status_code == 204
    assert (await client.get(f"{PRIVATE}/me/totp", headers=bearer(token))).json()[
        "enabled"
    ] is False


async def test_totp_routes_need_a_lazer_token(app: Starlette, client: httpx.AsyncClient) -> None:
    from tests.conftest import issue_token

    uid = await create_user(app, "thirdparty", email="p@example.com")
    token = await issue_token(app, uid, ("public", "identify"))
    assert (await client.post(f"{PRIVATE}/me/totp/setup", headers=bearer(token))).status_code == 403
    assert (await client.get(f"{PRIVATE}/me/totp")).status_code == 401
