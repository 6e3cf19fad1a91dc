"""A replayed authorization code or rotated refresh token ends what it gave (RFC 6749 4.1.2,
RFC 9700 4.14.2), also when the replay races the first use."""

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
from starlette.applications import Starlette

from tests.conftest import create_user
from tests.plugins.oauth.test_authorize import REDIRECT, approve
from tests.plugins.oauth.test_token import LAZER, lazer_login, make_client, multipart


async def me(client: httpx.AsyncClient, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return (await client.get("/api/v2/me", headers=headers)).status_code


async def code_exchange(app: Starlette, client: httpx.AsyncClient) -> dict[str, str]:
    owner = await create_user(app)
    client_id, secret = await make_client(app, owner, REDIRECT)
    location = (await approve(client, client_id)).headers["location"]
    return {
        "grant_type": "authorization_code",
        "client_id": str(client_id),
        "client_secret": secret,
        "code": parse_qs(urlsplit(location).query)["code"][0],
        "redirect_uri": REDIRECT,
    }


async def test_code_reuse_revokes_its_tokens_and_their_refreshes(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    exchange = await code_exchange(app, client)
    first = (await client.post("/oauth/token", data=exchange)).json()
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": exchange["client_id"],
        "client_secret": exchange["client_secret"],
    }
    refreshed = (await client.post("/oauth/token", data=refresh)).json()
    assert await me(client, refreshed["access_token"]) == 200
    # An unrelated sign-in of the same user is another family and survives.
    other = (await lazer_login(client)).json()

    replay = await client.post("/oauth/token", data=exchange)
    assert replay.status_code == 400
    assert replay.json()["hint"] == "Authorization code has been revoked"
    assert await me(client, first["access_token"]) == 401
    assert await me(client, refreshed["access_token"]) == 401
    again = refresh | {"refresh_token": refreshed["refresh_token"]}
    assert (await client.post("/oauth/token", data=again)).status_code == 401
    assert await me(client, other["access_token"]) == 200


async def test_concurrent_code_uses_leave_no_valid_token(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    exchange = await code_exchange(app, client)
    answers = await asyncio.gather(*(client.post("/oauth/token", data=exchange) for _ in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(400) >= 3, statuses
    # Whichever use won, the replay revoked what it was given.
    for answer in answers:
        if answer.status_code == 200:
            assert await me(client, answer.json()["access_token"]) == 401


async def test_refresh_reuse_revokes_the_chain(app: Starlette, client: httpx.AsyncClient) -> None:
    await create_user(app)
    login = (await lazer_login(client)).json()
    body, headers = multipart(
        {"refresh_token": login["refresh_token"], "grant_type": "refresh_token", **LAZER}
    )
    renewed = (await client.post("/oauth/token", content=body, headers=headers)).json()
    body2, _ = multipart(
        {"refresh_token": renewed["refresh_token"], "grant_type": "refresh_token", **LAZER}
    )
    newest = (await client.post("/oauth/token", content=body2, headers=headers)).json()
    assert await me(client, newest["access_token"]) == 200
    other = (await lazer_login(client)).json()

    # The first, rotated-out refresh token comes back: the whole chain ends.
    replay = await client.post("/oauth/token", content=body, headers=headers)
    assert replay.status_code == 401
    assert replay.json()["error_description"] == "The refresh token is invalid."
    assert await me(client, newest["access_token"]) == 401
    body3, _ = multipart(
        {"refresh_token": newest["refresh_token"], "grant_type": "refresh_token", **LAZER}
    )
    assert (await client.post("/oauth/token", content=body3, headers=headers)).status_code == 401
    # Another sign-in is another chain.
    assert await me(client, other["access_token"]) == 200


async def test_concurrent_refreshes_leave_no_valid_token(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await create_user(app)
    login = (await lazer_login(client)).json()
    body, headers = multipart(
        {"refresh_token": login["refresh_token"], "grant_type": "refresh_token", **LAZER}
    )
    answers = await asyncio.gather(
        *(client.post("/oauth/token", content=body, headers=headers) for _ in range(4))
    )
    assert sum(a.status_code == 401 for a in answers) >= 3
    for answer in answers:
        if answer.status_code == 200:
            assert await me(client, answer.json()["access_token"]) == 401
    assert await me(client, login["access_token"]) == 401
