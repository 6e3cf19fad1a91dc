import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import create_user
from tests.plugins.oauth.test_token import lazer_login, multipart


def form(username: str, email: str, password: str) -> tuple[bytes, dict[str, str]]:
    return multipart(
        {"user[username]": username, "user[user_email]": email, "user[password]": password}
    )


async def test_register_then_log_in(app: Starlette, client: httpx.AsyncClient) -> None:
    body, headers = form("new player", "new@example.com", "correct horse")
    r = await client.post("/users", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "new player" and r.json()["country_code"] == "XX"
    r = await lazer_login(client, "New_Player", "correct horse")
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("username", "email", "password", "field"),
    [
        ("ab", "a@example.com", "correct horse", "username"),
        ("x" * 16, "a@example.com", "correct horse", "username"),
        ("bad!name", "a@example.com", "correct horse", "username"),
        ("a_b c", "a@example.com", "correct horse", "username"),
        ("PEPPY", "a@example.com", "correct horse", "username"),
        ("fresh", "not-an-email", "correct horse", "user_email"),
        ("fresh", "PEPPY@example.com", "correct horse", "user_email"),
        ("fresh", "a@example.com", "short", "password"),
        ("fresh", "a@example.com", "aaaaaaaaaaaa", "password"),
        ("fresh", "a@example.com", "myfreshpassword", "password"),
        ("", "a@example.com", "correct horse", "username"),
    ],
)
async def test_register_rules(
    app: Starlette, client: httpx.AsyncClient, username: str, email: str, password: str, field: str
) -> None:
    await create_user(app, "peppy", email="peppy@example.com")
    body, headers = form(username, email, password)
    r = await client.post("/users", content=body, headers=headers)
    assert r.status_code == 422
    errors = r.json()["form_error"]["user"]
    assert set(errors) == {"username", "user_email", "password"}
    assert errors[field], errors
    assert all(not v for k, v in errors.items() if k != field), errors


async def test_register_tolerates_junk(client: httpx.AsyncClient) -> None:
    for kwargs in (
        {},
        {"json": {"user": "x"}},
        {"json": {"user": {"username": ["a"]}}},
        {"data": {"user[username]": "x" * 5000}},
    ):
        r = await client.post("/users", **kwargs)
        assert r.status_code == 422 and "form_error" in r.json()
