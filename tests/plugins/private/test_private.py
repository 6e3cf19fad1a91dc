import httpx
from starlette.applications import Starlette

from tests.conftest import create_user, issue_token
from tests.plugins.oauth.test_token import lazer_login


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_rename_keeps_history(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
):
    await create_user(app, "taken")
    r = await client.post(
        "/api/private/me/username", data={"username": "taken"}, headers=bearer(token)
    )
    assert r.status_code == 422 and r.json()["form_error"]["username"]
    r = await client.post(
        "/api/private/me/username", data={"username": "b!d"}, headers=bearer(token)
    )
    assert r.status_code == 422
    r = await client.get(f"/api/v2/users/{user}", headers=bearer(token))  # warm the cache
    r = await client.post(
        "/api/private/me/username", data={"username": "newname"}, headers=bearer(token)
    )
    assert r.json() == {"username": "newname", "previous_usernames": ["peppy"]}
    r = await client.get(f"/api/v2/users/{user}", headers=bearer(token))
    assert r.json()["username"] == "newname" and r.json()["previous_usernames"] == ["peppy"]
    assert (await client.get("/api/v2/users/peppy", headers=bearer(token))).json()["id"] == user
    # The old name stays reserved for its owner.
    other = await issue_token(app, await create_user(app, "third"))
    r = await client.post(
        "/api/private/me/username", data={"username": "Peppy"}, headers=bearer(other)
    )
    assert r.status_code == 422


async def test_password_change_ends_sessions(app: Starlette, client: httpx.AsyncClient, user: int):
    token = (await lazer_login(client)).json()["access_token"]
    r = await client.post(
        "/api/private/me/password",
        data={"current_password": "wrong", "password": "brand new pass"},
        headers=bearer(token),
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/private/me/password",
        data={"current_password": "password123", "password": "x"},
        headers=bearer(token),
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/private/me/password",
        data={"current_password": "password123", "password": "brand new pass"},
        headers=bearer(token),
    )
    assert r.status_code == 204
    assert (await client.get("/api/v2/me", headers=bearer(token))).status_code == 401
    assert (await lazer_login(client)).status_code == 400
    assert (await lazer_login(client, password="brand new pass")).status_code == 200


async def test_oauth_applications(app: Starlette, client: httpx.AsyncClient, user: int, token: str):
    r = await client.post(
        "/api/private/oauth-clients",
        data={"name": "my app", "redirect": "http://localhost/cb"},
        headers=bearer(token),
    )
    assert r.status_code == 200
    created = r.json()
    client_id, secret = created["id"], created["secret"]
    listed = (await client.get("/api/private/oauth-clients", headers=bearer(token))).json()
    assert [c["id"] for c in listed] == [client_id] and "secret" not in listed[0]
    creds = {"grant_type": "client_credentials", "client_id": client_id, "scope": "public"}
    r = await client.post("/oauth/token", json=creds | {"client_secret": secret})
    app_token = r.json()["access_token"]
    assert (await client.get(f"/api/v2/users/{user}", headers=bearer(app_token))).status_code == 200
    r = await client.patch(
        f"/api/private/oauth-clients/{client_id}", data={"name": "renamed"}, headers=bearer(token)
    )
    assert r.json()["name"] == "renamed"
    r = await client.post(
        f"/api/private/oauth-clients/{client_id}/reset-secret", headers=bearer(token)
    )
    new_secret = r.json()["secret"]
    assert new_secret != secret
    # The reset revoked the client's tokens and the old secret.
    assert (await client.get(f"/api/v2/users/{user}", headers=bearer(app_token))).status_code == 401
    assert (
        await client.post("/oauth/token", json=creds | {"client_secret": secret})
    ).status_code == 401
    assert (
        await client.post("/oauth/token", json=creds | {"client_secret": new_secret})
    ).status_code == 200
    # Another user can neither see nor touch it.
    other = await issue_token(app, await create_user(app, "other"))
    assert (await client.get("/api/private/oauth-clients", headers=bearer(other))).json() == []
    for method, path in (
        ("PATCH", f"/api/private/oauth-clients/{client_id}"),
        ("DELETE", f"/api/private/oauth-clients/{client_id}"),
        ("POST", f"/api/private/oauth-clients/{client_id}/reset-secret"),
    ):
        r = await client.request(method, path, data={"name": "stolen"}, headers=bearer(other))
        assert r.status_code == 404, (method, path)
    listed = (await client.get("/api/private/oauth-clients", headers=bearer(token))).json()
    assert listed[0]["name"] == "renamed"
    r = await client.post(
        "/api/private/oauth-clients",
        data={"name": "x", "redirect": "ftp://x"},
        headers=bearer(token),
    )
    assert r.status_code == 422
    assert (
        await client.delete(f"/api/private/oauth-clients/{client_id}", headers=bearer(token))
    ).status_code == 204
    assert (
        await client.post("/oauth/token", json=creds | {"client_secret": new_secret})
    ).status_code == 401


async def test_api_keys(app: Starlette, client: httpx.AsyncClient, user: int, token: str):
    r = await client.post("/api/private/api-keys", data={"name": "bot"}, headers=bearer(token))
    created = r.json()
    assert created["name"] == "bot" and len(created["key"]) == 40
    r = await client.get("/api/get_user", params={"k": created["key"], "u": str(user)})
    assert r.json()[0]["user_id"] == str(user)
    listed = (await client.get("/api/private/api-keys", headers=bearer(token))).json()
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    other = await issue_token(app, await create_user(app, "other"))
    assert (await client.get("/api/private/api-keys", headers=bearer(other))).json() == []
    r = await client.delete(f"/api/private/api-keys/{created['id']}", headers=bearer(other))
    assert r.status_code == 404
    r = await client.delete(f"/api/private/api-keys/{created['id']}", headers=bearer(token))
    assert r.status_code == 204
    r = await client.get("/api/get_user", params={"k": created["key"], "u": str(user)})
    assert r.status_code == 401


async def test_private_routes_need_a_lazer_token(
    app: Starlette, client: httpx.AsyncClient, user: int
):
    weak = await issue_token(app, user, ["identify", "public"])
    r = await client.get("/api/private/api-keys", headers=bearer(weak))
    assert r.status_code == 403
    assert (await client.get("/api/private/api-keys")).status_code == 401
