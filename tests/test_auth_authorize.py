"""`core.auth.authorize`: the authorize-request checks the OAuth plugin and the site's consent
page share. A bad request is answered with its OAuth error (never a redirect to an untrusted
URI, RFC 6749 4.1.2.1) and no code is issued."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth import authorize
from core.auth import store as oauth_db
from core.auth.store import oauth_auth_codes
from core.http import ApiError, Params
from core.services import services
from tests.conftest import create_user
from tests.plugins.oauth.test_token import make_client

REDIRECT = "http://localhost:8080/cb"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


async def codes(app: Starlette) -> int:
    query = sa.select(sa.func.count()).select_from(oauth_auth_codes)
    count = await services(app).db.fetch_val(query)
    return int(count)


async def test_validate_reads_a_good_request(app: Starlette) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    found = await authorize.validate(
        services(app),
        Params(
            {
                "client_id": str(client_id),
                "redirect_uri": REDIRECT,
                "response_type": "code",
                "scope": "friends.read public",
                "state": "s",
                "code_challenge": CHALLENGE,
                "code_challenge_method": "S256",
            }
        ),
    )
    assert found.client["id"] == client_id and found.target == REDIRECT
    assert found.scopes == ["friends.read", "identify", "public"]
    assert found.scope_text()[0] == "See who you are following."
    assert (found.state, found.code_challenge, found.code_challenge_method) == (
        "s",
        CHALLENGE,
        "S256",
    )
    assert found.form_fields()["scope"] == "friends.read identify public"
    # Without a method the challenge is plain (league's default).
    plain = await authorize.validate(
        services(app),
        Params({"client_id": client_id, "response_type": "code", "code_challenge": "a" * 43}),
    )
    assert plain.code_challenge_method == "plain" and plain.redirect_uri is None


@pytest.mark.parametrize(
    ("change", "status", "error", "hint"),
    [
        ({"client_id": "999999"}, 401, "invalid_client", None),
        ({"client_id": "abc"}, 401, "invalid_client", None),
        ({"client_id": ""}, 401, "invalid_client", None),
        ({"redirect_uri": "http://evil.example/cb"}, 401, "invalid_client", None),
        ({"redirect_uri": REDIRECT + "/"}, 401, "invalid_client", None),
        ({"response_type": "token"}, 400, "unsupported_response_type", None),
        ({"response_type": ""}, 400, "unsupported_response_type", None),
        ({"scope": "public bogus"}, 400, "invalid_scope", "Check the `bogus` scope"),
        (
            {"code_challenge": CHALLENGE, "code_challenge_method": "S512"},
            400,
            "invalid_request",
            "Code challenge method must be one of `S256`, `plain`",
        ),
        (
            {"code_challenge": "short", "code_challenge_method": "S256"},
            400,
            "invalid_request",
            "Code challenge must follow the specifications of RFC-7636.",
        ),
    ],
)
async def test_bad_requests_are_refused_without_a_code(
    app: Starlette,
    client: httpx.AsyncClient,
    change: dict[str, str],
    status: int,
    error: str,
    hint: str | None,
) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    query = {
        "client_id": str(client_id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "public",
        "state": "s",
    } | change
    with pytest.raises(ApiError) as raised:
        await authorize.validate(services(app), Params(query))
    assert raised.value.status == status and raised.value.body["error"] == error
    if hint is not None:
        assert raised.value.body["hint"] == hint
    # Over HTTP, every method of /oauth/authorize: the error itself, never a redirect, no code
    # (the approval carries a correct password, so only the request's fault can stop it).
    form = query | {"username": "peppy", "password": "password123"}
    answers = [
        await client.get("/oauth/authorize", params=query),
        await client.post("/oauth/authorize", data=form),
        await client.request("DELETE", "/oauth/authorize", params=query),
    ]
    for r in answers:
        assert r.status_code == status and r.json()["error"] == error
        assert "location" not in r.headers
    assert await codes(app) == 0


async def test_a_revoked_client_or_one_without_redirect_is_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app)
    revoked, _ = await make_client(app, owner, REDIRECT)
    await oauth_db.update_client(services(app).db, revoked, revoked=True)
    no_redirect, _ = await make_client(app, owner, "")
    for client_id in (revoked, no_redirect):
        r = await client.get(
            "/oauth/authorize", params={"client_id": str(client_id), "response_type": "code"}
        )
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert await codes(app) == 0


async def test_approved_and_denied_urls(app: Starlette) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT + "?from=app")
    found = await authorize.validate(
        services(app), Params({"client_id": client_id, "response_type": "code", "state": "x y"})
    )
    denied = urlsplit(authorize.denied_url(found))
    query: dict[str, Any] = parse_qs(denied.query)
    assert query["from"] == ["app"] and query["error"] == ["access_denied"]
    assert query["state"] == ["x y"] and await codes(app) == 0
    approved = parse_qs(urlsplit(await authorize.approved_url(services(app), found, owner)).query)
    assert approved["state"] == ["x y"] and len(approved["code"][0]) >= 40
    assert await codes(app) == 1
