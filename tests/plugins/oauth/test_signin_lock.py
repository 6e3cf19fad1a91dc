"""The failed sign-in lock (core.auth.signin): atomic, per address and per account, and the same
bcrypt work for a name no account has."""

import asyncio
import threading
from collections.abc import Iterator

import bcrypt
import httpx
import pytest
from starlette.applications import Starlette

from core.auth.signin import LOCKED
from core.clock import ManualClock
from tests.conftest import create_user
from tests.plugins.oauth.test_token import lazer_login

LIMIT = 10


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, object]]:
    # The request rate limit of /oauth/token (60 a minute) is not what these tests are about.
    return {"ratelimit": {"groups": {"/oauth/token": "1000/minute", "/health": "none"}}}


class BcryptChecks:
    """Counts bcrypt.checkpw calls (the threads bcrypt runs in included)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            count, self.count = self.count, 0
        return count


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[BcryptChecks]:
    counter = BcryptChecks()
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        with counter._lock:
            counter.count += 1
        return real(password, hashed)

    monkeypatch.setattr(bcrypt, "checkpw", counting)
    yield counter


def from_address(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def hint(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    value: str = response.json()["hint"]
    return value


async def test_concurrent_wrong_passwords_get_limit_checks(
    app: Starlette, client: httpx.AsyncClient, checks: BcryptChecks
) -> None:
    await create_user(app)
    answers = await asyncio.gather(*(lazer_login(client, password="wrong!!") for _ in range(60)))
    hints = [hint(a) for a in answers]
    assert hints.count("Incorrect sign in") == LIMIT
    assert hints.count(LOCKED) == 60 - LIMIT
    assert checks.take() == LIMIT
    # Locked: the right password too, and without a bcrypt check.
    assert hint(await lazer_login(client)) == LOCKED
    assert checks.take() == 0


async def test_the_lock_ends_with_its_window(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock, backend: str
) -> None:
    if backend != "embedded":
        pytest.skip("Redis expires keys by its own clock; the window is the memory cache's here")
    await create_user(app)
    for _ in range(LIMIT):
        assert hint(await lazer_login(client, password="wrong!!")) == "Incorrect sign in"
    assert hint(await lazer_login(client)) == LOCKED
    clock.advance(601)
    assert (await lazer_login(client)).status_code == 200


async def test_successes_do_not_count(app: Starlette, client: httpx.AsyncClient) -> None:
    await create_user(app)
    for _ in range(LIMIT - 1):
        assert hint(await lazer_login(client, password="wrong!!")) == "Incorrect sign in"
    for _ in range(3):
        assert (await lazer_login(client)).status_code == 200
    assert hint(await lazer_login(client, password="wrong!!")) == "Incorrect sign in"
    assert hint(await lazer_login(client)) == LOCKED


async def test_others_failing_cannot_lock_the_player_out(app: Starlette) -> None:
    await create_user(app)
    # Eleven addresses fail once each against the account: past its limit.
    for n in range(LIMIT + 1):
        async with from_address(app, f"10.0.0.{n}") as attacker:
            assert hint(await lazer_login(attacker, password="wrong!!")) == "Incorrect sign in"
    # An address that failed before is refused now, even with the right password ...
    async with from_address(app, "10.0.0.1") as attacker:
        assert hint(await lazer_login(attacker)) == LOCKED
    # ... while the player, from an address with no failure, signs in.
    async with from_address(app, "192.0.2.7") as player:
        assert (await lazer_login(player)).status_code == 200
        assert (await lazer_login(player)).status_code == 200
    # A fresh address gets one guess at a locked account, then it is refused too.
    async with from_address(app, "10.0.1.1") as guesser:
        assert hint(await lazer_login(guesser, password="wrong!!")) == "Incorrect sign in"
        assert hint(await lazer_login(guesser, password="wrong!!")) == LOCKED
        assert hint(await lazer_login(guesser)) == LOCKED


async def test_username_and_email_share_one_bucket(app: Starlette) -> None:
    await create_user(app, "peppy", email="peppy@example.com")
    async with from_address(app, "10.1.0.1") as dirty:
        assert hint(await lazer_login(dirty, "PEPPY@example.com", "wrong!!")) == "Incorrect sign in"
    # Half of the failures by name, half by address, from other addresses: eleven in all.
    for n in range(LIMIT):
        name = "peppy" if n % 2 else "Peppy@Example.com"
        async with from_address(app, f"10.1.1.{n}") as other:
            assert hint(await lazer_login(other, name, "wrong!!")) == "Incorrect sign in"
    async with from_address(app, "10.1.0.1") as dirty:
        assert hint(await lazer_login(dirty, "peppy")) == LOCKED
        assert hint(await lazer_login(dirty, "peppy@example.com")) == LOCKED
    async with from_address(app, "10.1.2.1") as clean:
        assert (await lazer_login(clean, "peppy@example.com")).status_code == 200


async def test_unknown_names_cost_the_same_bcrypt_check(
    app: Starlette, client: httpx.AsyncClient, checks: BcryptChecks
) -> None:
    await create_user(app)
    assert hint(await lazer_login(client, "nobody", "wrong!!")) == "Incorrect sign in"
    assert checks.take() == 1
    assert hint(await lazer_login(client, "peppy", "wrong!!")) == "Incorrect sign in"
    assert checks.take() == 1
    assert hint(await lazer_login(client, "nobody@example.com", "wrong!!")) == "Incorrect sign in"
    assert checks.take() == 1
    # The dummy hash has the configured cost (the test user's hash is cheaper on purpose).
    from core.auth import authenticator
    from core.services import services

    auth = authenticator(services(app))
    assert auth.dummy_hash is not None
    assert auth.dummy_hash.split("$")[2] == f"{auth.bcrypt_rounds:02d}"


async def test_unknown_names_are_locked_as_accounts_are(app: Starlette) -> None:
    for n in range(LIMIT + 1):
        async with from_address(app, f"10.2.0.{n}") as other:
            assert hint(await lazer_login(other, "nobody", "wrong!!")) == "Incorrect sign in"
    async with from_address(app, "10.2.0.3") as dirty:
        assert hint(await lazer_login(dirty, "nobody", "wrong!!")) == LOCKED
