"""plugins.web.consent: the OAuth consent page in the site's style. Signed out, a browser signs
in on /login and comes back; signed in, the page names the app, its owner and the scopes; the
form needs the session's CSRF token; Cancel answers `access_denied`, Authorise the code."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth.store import oauth_auth_codes
from core.services import services
from tests.conftest import create_user
from tests.plugins.oauth.test_token import make_client
from tests.plugins.web.test_pages import csrf_of, login

REDIRECT = "http://localhost:8080/cb"
HTML = {"Accept": "text/html,application/xhtml+xml"}


async def codes(app: Starlette) -> int:
    query = sa.select(sa.func.count()).select_from(oauth_auth_codes)
    return int(await services(app).db.fetch_val(query))


async def setup(app: Starlette, scope: str = "public friends.read") -> dict[str, str]:
    """An app by `appmaker`, the player `peppy`, and the authorize query for the app."""
    owner = await create_user(app, "appmaker", password="maker password 1")
    await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    return {
        "client_id": str(client_id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": scope,
        "state": "st<ate>",
    }


async def consent_form(client: httpx.AsyncClient, query: dict[str, str]) -> dict[str, str]:
    """The consent page's form fields (hidden request and CSRF token), for a signed-in user."""
    page = await client.get("/oauth/authorize", params=query, headers=HTML)
    assert page.status_code == 200, page.text
    return {**query, "csrf_token": csrf_of(page.text)}


def answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)


async def test_signed_out_browser_signs_in_and_comes_back(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    query = await setup(app)
    r = await client.get("/oauth/authorize", params=query, headers=HTML)
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == "/login"
    back = parse_qs(target.query)["next"][0]
    assert back == "/oauth/authorize?" + urlencode(query)
    signed_in = await client.get(r.headers["location"])
    form = {"csrf_token": csrf_of(signed_in.text), "username": "peppy", "password": "password123"}
    r = await client.post("/login", data=form | {"next": back})
    assert r.status_code == 303 and r.headers["location"] == back
    page = await client.get(back, headers=HTML)
    assert page.status_code == 200
    assert "Authorise test app" in page.text and "signed in as" in page.text


async def test_the_page_names_app_owner_scopes_and_viewer(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    query = await setup(app)
    await login(client, "peppy", "password123")
    # Signed in, any client asking gets the site's page.
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    text = page.text
    assert '<link rel="stylesheet" href="/assets/site.css">' in text
    assert "<h1>Authorise test app</h1>" in text and ">appmaker</a>" in text
    assert "See who you are following." in text and "Identify you and read" in text
    assert "You are signed in as" in text and ">peppy</a>" in text
    assert 'value="st&lt;ate&gt;"' in text and "st<ate>" not in text
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert csrf_of(text)


async def test_csrf_refused_then_deny_then_approve(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    query = await setup(app)
    await login(client, "peppy", "password123")
    form = await consent_form(client, query)

    refused = await client.post("/oauth/authorize", data=form | {"csrf_token": "forged"})
    assert refused.status_code == 403 and "location" not in refused.headers
    assert "This form has expired" in refused.text
    # Another browser (no session) with the token it saw elsewhere: refused too.
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        stranger = await other.post("/oauth/authorize", data=form | {"approve": "1"})
    assert stranger.status_code == 403
    assert await codes(app) == 0

    denied = answer(await client.post("/oauth/authorize", data=form | {"deny": "1"}))
    assert denied["error"] == ["access_denied"] and denied["state"] == ["st<ate>"]
    assert "code" not in denied and await codes(app) == 0

    approved = answer(await client.post("/oauth/authorize", data=form | {"approve": "1"}))
    assert approved["state"] == ["st<ate>"] and await codes(app) == 1
    exchange = {
        "grant_type": "authorization_code",
        "client_id": query["client_id"],
        "client_secret": "s3cret-" + "x" * 30,
        "code": approved["code"][0],
        "redirect_uri": REDIRECT,
    }
    token = await client.post("/oauth/token", data=exchange)
    assert token.status_code == 200, token.text
    assert sorted(token.json()) == ["access_token", "expires_in", "refresh_token", "token_type"]


async def test_signed_out_post_and_scope_policy_issue_no_code(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    # chat.read is for bots or the app's own owner: the player may not grant it to this app.
    query = await setup(app, "public chat.read")
    await login(client, "peppy", "password123")
    form = await consent_form(client, query)
    r = await client.post("/oauth/authorize", data=form | {"approve": "1"})
    assert r.status_code == 422 and "only available for bots or your own clients" in r.text
    # Signed out (the visitor's session and its token are still valid): sign in first.
    await client.post("/logout", data={"csrf_token": form["csrf_token"]})
    visitor = await client.get("/login")
    form["csrf_token"] = csrf_of(visitor.text)
    r = await client.post("/oauth/authorize", data=form | {"approve": "1"})
    assert r.status_code == 303 and urlsplit(r.headers["location"]).path == "/login"
    assert await codes(app) == 0


async def test_without_the_site_the_oauth_page_still_serves(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """A program (no HTML in Accept, no session) still gets the oauth plugin's password page;
    the site's consent page is what browsers get."""
    query = await setup(app)
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200 and 'name="password"' in page.text
    assert "/assets/site.css" not in page.text


@pytest.mark.parametrize("settings_overrides", [{"plugins": {"disabled": ["web"]}}])
async def test_with_the_site_disabled_browsers_get_the_oauth_page(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    query = await setup(app)
    page = await client.get("/oauth/authorize", params=query, headers=HTML)
    assert page.status_code == 200 and 'name="password"' in page.text
    form = query | {"username": "peppy", "password": "password123", "approve": "1"}
    approved = answer(await client.post("/oauth/authorize", data=form))
    assert approved["state"] == ["st<ate>"] and await codes(app) == 1
