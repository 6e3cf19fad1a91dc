"""Renames racing for one name, and the password change under the sign-in lock."""

import asyncio

import bcrypt
import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.auth.signin import LOCKED
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.plugins.oauth.test_signin_lock import BcryptChecks, checks, from_address
from tests.plugins.oauth.test_token import lazer_login

__all__ = ["checks"]  # the fixture, used by name


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_concurrent_renames_to_one_name(app: Starlette, client: httpx.AsyncClient) -> None:
    tokens = [await issue_token(app, await create_user(app, f"racer{n}")) for n in range(5)]
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/private/me/username",
                data={"username": "Winner" if n % 2 else "winner"},
                headers=bearer(token),
            )
            for n, token in enumerate(tokens)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 422, 422, 422, 422], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 422:
            assert answer.json()["form_error"] == {"username": ["Username is already in use!"]}
    owners = await services(app).db.fetch_all(
        sa.select(users_db.users.c.id).where(users_db.users.c.username_clean == "winner")
    )
    assert len(owners) == 1


async def change(client: httpx.AsyncClient, token: str, current: str) -> httpx.Response:
    return await client.put(
        "/api/private/me/password",
        data={"current_password": current, "password": "brand new pass"},
        headers=bearer(token),
    )


async def test_wrong_current_passwords_are_throttled(
    app: Starlette, client: httpx.AsyncClient, user: int, checks: BcryptChecks
) -> None:
    token = await issue_token(app, user)
    answers = await asyncio.gather(*(change(client, token, "not it!") for _ in range(30)))
    assert sorted(a.status_code for a in answers) == [422] * 10 + [429] * 20
    assert checks.take() == 10
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["form_error"] == {"current_password": [LOCKED]}
    # The right password is refused too while the lock lasts, and nothing changed.
    assert (await change(client, token, "password123")).status_code == 429
    assert checks.take() == 0
    stored = await users_db.password_hash(services(app).db, user)
    assert stored is not None
    assert bcrypt.checkpw(b"482c811da5d5b4bc6d497ffa98491e38", stored.encode())  # md5 of it
    # It is the sign-in lock: the same address cannot sign in either.
    assert (await lazer_login(client)).json()["hint"] == LOCKED


async def test_password_change_failures_count_for_the_account(app: Starlette, user: int) -> None:
    token = await issue_token(app, user)
    for n in range(11):
        async with from_address(app, f"10.3.0.{n}") as other:
            assert (await change(other, token, "not it!")).status_code == 422
    async with from_address(app, "10.3.0.1") as dirty:
        assert (await change(dirty, token, "password123")).status_code == 429
        assert (await lazer_login(dirty)).json()["hint"] == LOCKED
    async with from_address(app, "10.3.9.9") as clean:
        assert (await change(clean, token, "password123")).status_code == 204


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, object]]:
    return {"ratelimit": {"groups": {"/oauth/token": "1000/minute", "/health": "none"}}}
