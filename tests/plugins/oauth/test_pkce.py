"""PKCE (RFC 7636): a code asked for with a challenge is exchanged only with its verifier."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.services import services
from plugins.oauth.grants import pkce_challenge
from tests.conftest import create_user
from tests.plugins.oauth.test_authorize import REDIRECT, approve
from tests.plugins.oauth.test_token import make_client


def test_s256_matches_the_rfc_example() -> None:
    # RFC 7636 appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier, "S256") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert pkce_challenge(verifier, "plain") == verifier


async def code_with(
    app: Starlette, client: httpx.AsyncClient, **pkce: str
) -> tuple[dict[str, str], str]:
    owner = await create_user(app)
    client_id, secret = await make_client(app, owner, REDIRECT)
    response = await approve(client, client_id, **pkce)
    assert response.status_code == 302, response.text
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "client_id": str(client_id),
        "client_secret": secret,
        "code": code,
        "redirect_uri": REDIRECT,
    }
    return exchange, code


@pytest.mark.parametrize("method", ["S256", "plain", None])
async def test_challenge_is_enforced(
    app: Starlette, client: httpx.AsyncClient, method: str | None
) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = pkce_challenge(verifier, method or "plain")
    pkce = {"code_challenge": challenge}
    if method is not None:
        pkce["code_challenge_method"] = method
    exchange, code = await code_with(app, client, **pkce)
    row = await oauth_db.auth_code_row(services(app).db, sha256_hex(code))
    assert row is not None
    assert (row["code_challenge"], row["code_challenge_method"]) == (challenge, method or "plain")

    missing = await client.post("/oauth/token", data=exchange)
    assert missing.status_code == 400
    assert missing.json()["hint"] == "Check the `code_verifier` parameter"
    malformed = await client.post("/oauth/token", data=exchange | {"code_verifier": "short"})
    assert malformed.json()["error"] == "invalid_request"
    wrong = await client.post(
        "/oauth/token", data=exchange | {"code_verifier": secrets.token_urlsafe(48)}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["hint"] == "Failed to verify `code_verifier`."
    if method == "S256":
        # The challenge itself is no verifier of an S256 code.
        as_plain = await client.post("/oauth/token", data=exchange | {"code_verifier": challenge})
        assert as_plain.json()["hint"] == "Failed to verify `code_verifier`."
    # Failed verifications do not use the code up: its rightful client still exchanges it.
    right = await client.post("/oauth/token", data=exchange | {"code_verifier": verifier})
    assert right.status_code == 200, right.text


async def test_code_without_challenge_needs_no_verifier(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    exchange, _ = await code_with(app, client)
    assert (await client.post("/oauth/token", data=exchange)).status_code == 200


@pytest.mark.parametrize(
    ("pkce", "hint"),
    [
        ({"code_challenge": "x" * 43, "code_challenge_method": "S512"}, "Code challenge method"),
        ({"code_challenge": "short"}, "Code challenge must follow"),
        ({"code_challenge": "x" * 129}, "Code challenge must follow"),
        ({"code_challenge": "a b" * 20}, "Code challenge must follow"),
    ],
)
async def test_bad_challenges_are_refused(
    app: Starlette, client: httpx.AsyncClient, pkce: dict[str, str], hint: str
) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    query = {
        "client_id": str(client_id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "identify",
        **pkce,
    }
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 400
    assert page.json()["hint"].startswith(hint)
    form = query | {"username": "peppy", "password": "password123"}
    submitted = await client.post("/oauth/authorize", data=form)
    assert submitted.status_code == 400 and "location" not in submitted.headers


def test_s256_is_the_unpadded_base64url_sha256() -> None:
    verifier = "a" * 43
    digest = hashlib.sha256(verifier.encode()).digest()
    assert pkce_challenge(verifier, "S256") == base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def test_the_page_carries_the_challenge_to_its_form(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    challenge = pkce_challenge(secrets.token_urlsafe(48), "S256")
    query = {
        "client_id": str(client_id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    assert f'name="code_challenge" value="{challenge}"' in page.text
    assert 'name="code_challenge_method" value="S256"' in page.text
