"""core.users.accounts: one way to create an account, which every path (HTTP, CLI) goes through."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from core.hooks import hookimpl
from core.services import services
from core.users import accounts
from core.users import store as users_db
from tests.conftest import ROOT

# Where the subprocess's hook below writes the names it heard.
HEARD_FILE = "HC_TEST_HEARD_FILE"


@hookimpl
def user_registered(app: Any, user: Mapping[str, Any]) -> None:
    with open(os.environ[HEARD_FILE], "a") as heard:
        heard.write(f"{user['username']}\n")


def test_the_cli_fires_user_registered(tmp_path: Path) -> None:
    # A subprocess, as an operator runs it: nothing of this process's plugin state counts.
    heard = tmp_path / "heard"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    env.update(
        HITCIRCLE_CONFIG="none",
        HITCIRCLE_DATA_DIR=str(tmp_path),
        HITCIRCLE_PLUGINS_MODULES=__name__,
        HITCIRCLE_AUTH_BCRYPT_ROUNDS="4",
        HC_TEST_HEARD_FILE=str(heard),
    )
    done = subprocess.run(
        [sys.executable, "-m", "core.cli", "user", "create", "from cli", "--password", "pw long 1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert heard.read_text().splitlines() == ["from cli"]


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
