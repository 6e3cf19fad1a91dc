"""plugins.account_security with `require_verified_email`: a new account signs in once its
mailed key is back; accounts from before the setting are not held up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core import openapi
from tests.conftest import MailSink, create_user
from tests.plugins.account_security.test_views import PRIVATE, key_in, sign_in
from tests.test_openapi import undocumented


@pytest.fixture
def settings_overrides(mail_sink: MailSink) -> dict[str, Any]:
    return {"mail": mail_sink.settings(), "account_security": {"require_verified_email": True}}


async def test_sign_up_waits_for_the_mailed_key(
    app: Starlette, client: httpx.AsyncClient, mail_sink: MailSink
) -> None:
    await create_user(app, "veteran", password="old account 1", email="v@example.com")
    registered = await client.post(
        "/users",
        data={
            "user[username]": "newcomer",
            "user[user_email]": "n@example.com",
            "user[password]": "fresh password 1",
        },
    )
    assert registered.status_code == 200, registered.text
    key = key_in(await mail_sink.next("n@example.com"))
    refused = await sign_in(client, "newcomer", "fresh password 1")
    assert refused.status_code == 400
    assert "Verify your e-mail address" in refused.json()["hint"]
    # A wrong key changes nothing; a resend replaces the key.
    wrong = await client.post(
        f"{PRIVATE}/email/verify", json={"username": "newcomer", "key": "nope"}
    )
    assert wrong.status_code == 422
    resent = await client.post(f"{PRIVATE}/email/verify/resend", json={"username": "newcomer"})
    assert resent.status_code == 200
    new_key = key_in(await mail_sink.next("n@example.com"))
    assert new_key != key
    stale = await client.post(f"{PRIVATE}/email/verify", json={"username": "newcomer", "key": key})
    assert stale.status_code == 422
    done = await client.post(
        f"{PRIVATE}/email/verify", json={"username": "n@example.com", "key": new_key}
    )
    assert done.status_code == 200, done.text
    # Answers the document walk cannot reach (it has no mail): checked against it here.
    doc = openapi.build(app)
    assert not undocumented(doc, "POST", f"{PRIVATE}/email/verify", done)
    assert not undocumented(doc, "POST", f"{PRIVATE}/email/verify/resend", resent)
    assert (await sign_in(client, "newcomer", "fresh password 1")).status_code == 200
    # Nothing left to verify: the same answer as for any other name, and no mail.
    again = await client.post(f"{PRIVATE}/email/verify/resend", json={"username": "newcomer"})
    unknown = await client.post(f"{PRIVATE}/email/verify/resend", json={"username": "ghost"})
    assert again.json() == unknown.json() == resent.json()
    # An account made before the setting signs in as before.
    assert (await sign_in(client, "veteran", "old account 1")).status_code == 200
