from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette

from tests.conftest import create_user
from tests.plugins.oauth.test_token import make_client

REDIRECT = "http://localhost:8080/cb"


async def approve(client: httpx.AsyncClient, client_id: int, **extra: str) -> httpx.Response:
    query = {
        "client_id": str(client_id),
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "public identify",
        "state": "xyz",
    }
    page = await client.get("/oauth/authorize/", params=query)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    form = {**query, "username": "peppy", "password": "password123", **extra}
    return await client.post("/oauth/authorize", data=form)


async def test_code_flow(app: Starlette, client: httpx.AsyncClient) -> None:
    owner = await create_user(app)
    client_id, secret = await make_client(app, owner, REDIRECT)
    r = await approve(client, client_id)
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    code = query["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "client_id": str(client_id),
        "client_secret": secret,
        "code": code,
        "redirect_uri": REDIRECT,
    }
    r = await client.post("/oauth/token", data=exchange | {"redirect_uri": REDIRECT + "x"})
    assert r.json()["hint"] == "Invalid redirect URI"
    r = await client.post(
        "/oauth/token", data={k: v for k, v in exchange.items() if k != "redirect_uri"}
    )
    assert r.json()["hint"] == "Check the `redirect_uri` parameter"
    r = await client.post("/oauth/token", data=exchange)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" in body
    me = await client.get("/api/v2/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["id"] == owner
    # Single use.
    r = await client.post("/oauth/token", data=exchange)
    assert r.status_code == 400 and r.json()["hint"] == "Authorization code has been revoked"


async def test_code_of_another_client_and_garbage(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    other_id, other_secret = await make_client(app, owner, REDIRECT)
    code = parse_qs(urlsplit((await approve(client, client_id)).headers["location"]).query)["code"][
        0
    ]
    base = {
        "grant_type": "authorization_code",
        "client_id": str(other_id),
        "client_secret": other_secret,
        "redirect_uri": REDIRECT,
    }
    r = await client.post("/oauth/token", data=base | {"code": code})
    assert r.json()["hint"] == "Authorization code was not issued to this client"
    r = await client.post("/oauth/token", data=base | {"code": "garbage"})
    assert r.json()["hint"] == "Cannot decrypt the authorization code"
    r = await client.post("/oauth/token", data=base)
    assert r.json()["hint"] == "Check the `code` parameter"


async def test_denied_and_wrong_credentials(app: Starlette, client: httpx.AsyncClient) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    r = await approve(client, client_id, password="wrong")
    assert r.status_code == 422 and "Incorrect sign in" in r.text
    r = await approve(client, client_id, deny="1")
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["xyz"]
    r = await client.request(
        "DELETE",
        "/oauth/authorize",
        params={"client_id": str(client_id), "response_type": "code", "state": "s"},
    )
    assert r.status_code == 302 and "error=access_denied" in r.headers["location"]


async def test_bad_authorize_requests(app: Starlette, client: httpx.AsyncClient) -> None:
    owner = await create_user(app)
    client_id, _ = await make_client(app, owner, REDIRECT)
    ok = {"client_id": str(client_id), "redirect_uri": REDIRECT, "response_type": "code"}
    r = await client.get("/oauth/authorize", params=ok | {"redirect_uri": "http://evil/cb"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await client.get("/oauth/authorize", params=ok | {"client_id": "999"})
    assert r.json()["error"] == "invalid_client"
    r = await client.get("/oauth/authorize", params=ok | {"response_type": "token"})
    assert r.json()["error"] == "unsupported_response_type"
    r = await client.get("/oauth/authorize", params=ok | {"scope": "bogus"})
    assert r.json()["error"] == "invalid_scope"
    # Names are escaped in the page.
    page = await client.get("/oauth/authorize", params=ok | {"state": '"><script>'})
    assert "<script>" not in page.text
