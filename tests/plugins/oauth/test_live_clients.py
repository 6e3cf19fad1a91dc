"""Real clients against `hitcircle serve` on a loopback port: osu!lazer's wire format, ossapi,
aiosu and osu.py."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from core.config import Settings
from tests.conftest import LiveServer, create_user, local_ossapi
from tests.plugins.oauth.test_token import LAZER, make_client, multipart

REDIRECT = "http://localhost:8080/cb"
LAZER_HEADERS = {"User-Agent": "osu!", "Accept": "application/json"}


@pytest.fixture
def settings_overrides() -> dict:
    return {"plugins": {"disabled": []}}


@pytest.fixture
async def accounts(app: Starlette) -> dict:
    user_id = await create_user(app, "peppy", "password123")
    client_id, secret = await make_client(app, user_id, REDIRECT)
    return {"user_id": user_id, "client_id": client_id, "secret": secret}


@pytest.fixture
def server(settings: Settings, accounts: dict) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def test_lazer_login_me_refresh_revoke(server: LiveServer, accounts: dict) -> None:
    with httpx.Client(base_url=server.url, headers=LAZER_HEADERS) as http:
        body, headers = multipart(
            {
                "username": "peppy",
                "password": "password123",
                "grant_type": "password",
                **LAZER,
                "scope": "*",
            }
        )
        r = http.post("/oauth/token", content=body, headers=headers)
        assert r.status_code == 200, r.text
        token = r.json()
        api = {
            "Authorization": f"Bearer {token['access_token']}",
            "x-api-version": "20260821",
            "Accept-Language": "en",
        }
        me = http.get("/api/v2/me/", headers=api)
        assert me.status_code == 200
        assert me.json()["id"] == accounts["user_id"]
        assert me.json()["session_verification_method"] is None
        for path in (
            "/api/v2/friends",
            "/api/v2/blocks",
            f"/api/v2/users/{accounts['user_id']}/taiko?key=id",
            f"/api/v2/users/?ids[]={accounts['user_id']}",
            f"/api/v2/users/lookup/?ids[]={accounts['user_id']}",
        ):
            assert http.get(path, headers=api).status_code == 200, path
        body, headers = multipart(
            {
                "refresh_token": token["refresh_token"],
                "grant_type": "refresh_token",
                **LAZER,
                "scope": "*",
            }
        )
        r = http.post("/oauth/token", content=body, headers=headers)
        assert r.status_code == 200, r.text
        renewed = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert http.get("/api/v2/me/", headers=api).status_code == 401
        assert http.get("/api/v2/me/", headers=renewed).status_code == 200
        assert http.delete("/api/v2/oauth/tokens/current", headers=renewed).status_code == 204
        r = http.get("/api/v2/me/", headers=renewed)
        assert (r.status_code, r.json()) == (401, {"authentication": "basic"})


def test_ossapi_client_credentials(
    server: LiveServer, accounts: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    api = local_ossapi(
        monkeypatch,
        server.url,
        accounts["client_id"],
        accounts["secret"],
        token_directory=str(tmp_path),
    )
    user = api.user(accounts["user_id"])
    assert user.id == accounts["user_id"] and user.username == "peppy"
    assert api.user("peppy").id == accounts["user_id"]
    assert [u.id for u in api.users([accounts["user_id"]])] == [accounts["user_id"]]


async def test_aiosu_client_credentials(server: LiveServer, accounts: dict) -> None:
    import aiosu

    async with aiosu.v2.Client(
        client_id=accounts["client_id"], client_secret=accounts["secret"], base_url=server.url
    ) as client:
        user = await client.get_user(accounts["user_id"])
        assert user.id == accounts["user_id"] and user.username == "peppy"
        assert user.statistics is not None


def _local_osu_py(auth, server: LiveServer) -> None:
    auth.http.base_url = f"{server.url}/api/v2/"
    auth.http.token_url = f"{server.url}/oauth/token/"
    auth.http.auth_url = f"{server.url}/oauth/authorize/"


def test_osu_py_client_credentials(server: LiveServer, accounts: dict) -> None:
    from osu import AuthHandler, Client

    auth = AuthHandler(accounts["client_id"], accounts["secret"], REDIRECT)
    _local_osu_py(auth, server)
    client = Client(auth, request_wait_time=0)
    user = client.get_user(accounts["user_id"])
    assert user.id == accounts["user_id"] and user.username == "peppy"


def test_osu_py_authorization_code_with_the_test_as_browser(
    server: LiveServer, accounts: dict
) -> None:
    from osu import AuthHandler, Client, Scope

    auth = AuthHandler(
        accounts["client_id"],
        accounts["secret"],
        REDIRECT,
        Scope("public", "identify", "friends.read"),
    )
    _local_osu_py(auth, server)
    url = auth.get_auth_url("browser-state")
    with httpx.Client() as browser:
        page = browser.get(url)
        assert page.status_code == 200 and "<form" in page.text
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        r = browser.post(
            f"{server.url}/oauth/authorize",
            data=query | {"username": "peppy", "password": "password123"},
        )
    assert r.status_code == 302
    location = urlsplit(r.headers["location"])
    assert location.netloc == "localhost:8080"
    returned = parse_qs(location.query)
    assert returned["state"] == ["browser-state"]
    auth.get_auth_token(returned["code"][0])
    client = Client(auth, request_wait_time=0)
    me = client.get_own_data()
    assert me.id == accounts["user_id"]
    assert client.get_friends() == []
