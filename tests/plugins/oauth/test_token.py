import base64

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import authenticator, hash_password, sha256_hex
from core.auth import store as oauth_db
from core.services import services
from core.users import store as users_db
from plugins.oauth.grants import LAZER_SECRETS
from tests.conftest import create_user

LAZER = {"client_id": "5", "client_secret": LAZER_SECRETS[0]}
BOUNDARY = "-----------------------------28947758029299"


def multipart(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A body as osu!lazer builds it: fixed boundary, text/plain parts, unquoted names."""
    parts = []
    for name, value in fields.items():
        parts.append(
            f"--{BOUNDARY}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Disposition: form-data; name={name}\r\n\r\n{value}\r\n"
        )
    body = ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def make_client(app: Starlette, owner: int | None, redirect: str = "http://localhost/cb"):
    secret = "s3cret-" + "x" * 30
    client_id = await oauth_db.create_client(
        services(app).db,
        user_id=owner,
        name="test app",
        secret_hash=sha256_hex(secret),
        redirect=redirect,
    )
    return client_id, secret


async def lazer_login(
    client: httpx.AsyncClient, username: str = "peppy", password: str = "password123"
):
    body, headers = multipart(
        {
            "username": username,
            "password": password,
            "grant_type": "password",
            **LAZER,
            "scope": "*",
        }
    )
    return await client.post("/oauth/token", content=body, headers=headers)


async def test_password_grant_multipart_then_me_refresh_revoke(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await create_user(app)
    r = await lazer_login(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token_type", "expires_in", "access_token", "refresh_token"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert "|" not in body["access_token"] and "|" not in body["refresh_token"]
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    me = await client.get("/api/v2/me/", headers=auth | {"x-api-version": "20260821"})
    assert me.status_code == 200 and me.json()["username"] == "peppy"

    refresh_body, headers = multipart(
        {
            "refresh_token": body["refresh_token"],
            "grant_type": "refresh_token",
            **LAZER,
            "scope": "*",
        }
    )
    r = await client.post("/oauth/token", content=refresh_body, headers=headers)
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["refresh_token"] != body["refresh_token"]
    # Rotation: the old access token and the old refresh token are dead.
    assert (await client.get("/api/v2/me", headers=auth)).status_code == 401

    renewed = (await lazer_login(client)).json()
    auth = {"Authorization": f"Bearer {renewed['access_token']}"}
    r = await client.delete("/api/v2/oauth/tokens/current", headers=auth)
    assert (r.status_code, r.content) == (204, b"")
    r = await client.get("/api/v2/me", headers=auth)
    assert (r.status_code, r.json()) == (401, {"authentication": "basic"})
    # The revoked token's refresh token died with it.
    again, headers = multipart(
        {"refresh_token": renewed["refresh_token"], "grant_type": "refresh_token", **LAZER}
    )
    assert (await client.post("/oauth/token", content=again, headers=headers)).status_code == 401


async def test_password_grant_errors(app: Starlette, client: httpx.AsyncClient) -> None:
    await create_user(app)
    r = await lazer_login(client, password="wrong")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant" and r.json()["hint"] == "Incorrect sign in"
    r = await lazer_login(client, username="nobody")
    assert r.json()["hint"] == "Incorrect sign in"
    r = await client.post(
        "/oauth/token", data={"grant_type": "password", **LAZER, "username": "peppy"}
    )
    assert r.json()["hint"] == "Check the `password` parameter"
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": "5",
            "client_secret": "nope",
            "username": "peppy",
            "password": "password123",
            "scope": "*",
        },
    )
    assert r.status_code == 401
    assert r.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
        "message": "Client authentication failed",
    }
    assert "www-authenticate" not in r.headers
    r = await client.post("/oauth/token", data={"grant_type": "magic", **LAZER})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = await client.post("/oauth/token", data={**LAZER})
    assert r.json()["error"] == "unsupported_grant_type"
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            **LAZER,
            "username": "peppy",
            "password": "password123",
            "scope": "* public",
        },
    )
    assert (r.status_code, r.json()) == (400, {"error": "* is not valid with other scopes"})
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            **LAZER,
            "username": "peppy",
            "password": "password123",
            "scope": "users.read",
        },
    )
    assert (
        r.json()["error"] == "invalid_scope" and r.json()["hint"] == "Check the `users.read` scope"
    )


async def test_failed_logins_are_rate_limited(app: Starlette, client: httpx.AsyncClient) -> None:
    await create_user(app)
    for _ in range(10):
        r = await lazer_login(client, password="wrong")
        assert r.json()["hint"] == "Incorrect sign in"
    r = await lazer_login(client)
    assert r.status_code == 400
    assert r.json()["hint"] == "Your IP address is locked. Please wait a few minutes."


@pytest.mark.parametrize("style", ["basic", "form", "json"])
async def test_client_credentials(app: Starlette, client: httpx.AsyncClient, style: str) -> None:
    owner = await create_user(app)
    client_id, secret = await make_client(app, owner)
    if style == "basic":
        creds = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        r = await client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "public"},
            headers={"Authorization": f"Basic {creds}"},
        )
    elif style == "form":
        r = await client.post(
            "/oauth/token/",
            data={
                "grant_type": "client_credentials",
                "scope": "public",
                "client_id": str(client_id),
                "client_secret": secret,
            },
        )
    else:
        r = await client.post(
            "/oauth/token",
            json={
                "grant_type": "client_credentials",
                "scope": "public",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body and "scope" not in body
    claims = authenticator(services(app)).signer.decode(body["access_token"])
    assert claims is not None and claims["sub"] == "" and claims["scopes"] == ["public"]
    assert claims["aud"] == str(client_id)
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get(f"/api/v2/users/{owner}", headers=auth)).status_code == 200
    r = await client.get("/api/v2/me", headers=auth)
    assert r.status_code == 403  # identify is missing; a guest token has no user either


async def test_client_credentials_scope_policy(app: Starlette, client: httpx.AsyncClient) -> None:
    client_id, secret = await make_client(app, await create_user(app))
    base = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    r = await client.post("/oauth/token", json=base | {"scope": "*"})
    assert r.json() == {"error": "* is not allowed with Client Credentials"}
    r = await client.post("/oauth/token", json=base)
    assert r.json() == {"error": "Tokens without scopes are not valid."}
    r = await client.post("/oauth/token", json=base | {"scope": "chat.write"})
    assert r.json() == {"error": "delegate scope is required."}
    r = await client.post("/oauth/token", json=base | {"scope": "delegate chat.write"})
    assert r.json() == {"error": "Delegation with Client Credentials is only available to bots."}
    r = await client.post("/oauth/token", json=base | {"scope": "delegate public"})
    assert r.json() == {"error": "Delegation is not supported for this combination of scopes."}
    r = await client.post("/oauth/token", json=base | {"client_secret": "wrong", "scope": "public"})
    assert r.status_code == 401
    r = await client.post("/oauth/token", json=base | {"client_id": "abc", "scope": "public"})
    assert r.status_code == 401
    r = await client.post("/oauth/token", json=base | {"client_id": [1], "scope": "public"})
    assert r.status_code == 401
    r = await client.post("/oauth/token", json=base | {"client_id": 10**30, "scope": "public"})
    assert r.status_code == 401


async def test_delegation_for_bot_clients(app: Starlette, client: httpx.AsyncClient) -> None:
    bot = await create_user(app, "BanchoBot")
    await users_db.update_user(services(app).db, bot, is_bot=True)
    client_id, secret = await make_client(app, bot)
    r = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "chat.write delegate",
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert authenticator(services(app)).signer.decode(token)["sub"] == ""


async def test_password_grant_needs_a_password_client(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    owner = await create_user(app)
    client_id, secret = await make_client(app, owner)
    r = await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": client_id,
            "client_secret": secret,
            "username": "peppy",
            "password": "password123",
            "scope": "*",
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_password_change_revokes_tokens(app: Starlette, client: httpx.AsyncClient) -> None:
    from core.auth import revoke_user_tokens

    user_id = await create_user(app)
    token = (await lazer_login(client)).json()["access_token"]
    await users_db.update_user(
        services(app).db, user_id, password_hash=await hash_password("another-pass", 4)
    )
    await revoke_user_tokens(services(app), user_id)
    r = await client.get("/api/v2/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
