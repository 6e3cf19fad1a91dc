"""core.users.accounts: one way to create an account, which every path (HTTP, CLI) goes through."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from core.cli import main
from core.hooks import hookimpl
from core.services import services
from core.users import accounts
from core.users import store as users_db

HEARD: list[str] = []


@hookimpl
def user_registered(app: Any, user: Mapping[str, Any]) -> None:
    HEARD.append(str(user["username"]))


def test_the_cli_fires_user_registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HITCIRCLE_CONFIG", "none")
    monkeypatch.setenv("HITCIRCLE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HITCIRCLE_PLUGINS_MODULES", __name__)
    monkeypatch.setenv("HITCIRCLE_AUTH_BCRYPT_ROUNDS", "4")
    HEARD.clear()
    code = main(["user", "create", "from cli", "--password", "a long password"])
    assert code == 0
    assert HEARD == ["from cli"]


async def test_refusals_name_their_field_and_store_nothing(app: Starlette) -> None:
    await accounts.create_account(
        app, username="taken", password="a long password", email="t@example.com"
    )
    with pytest.raises(accounts.AccountRefused) as refused:
        await accounts.create_account(
            app, username="TAKEN", password="taken", email="t@example.com", country="A1"
        )
    assert refused.value.problems["username"] == [accounts.USERNAME_TAKEN]
    assert refused.value.problems["user_email"] == [accounts.EMAIL_TAKEN]
    assert refused.value.problems["password"]
    assert refused.value.problems["country"] == ["country must be two letters, got 'A1'"]
    assert await users_db.username_taken(services(app).db, "taken")
    count = await services(app).db.fetch_val("SELECT COUNT(*) FROM users")
    assert count == 1


async def test_a_new_account_gets_the_default_country(app: Starlette) -> None:
    row = await accounts.create_account(
        app, username="newcomer", password="a long password", email=None
    )
    assert row["username"] == "newcomer"
    assert len(row["country_code"]) == 2
