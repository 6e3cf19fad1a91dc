"""The hello plugin's own tests, on hitcircle's fixtures: they run with `pytest` in this folder
(hitcircle installed with its `test` extra, this package installed or on the path)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

import httpx
import sqlalchemy as sa
from hitcircle_hello import PURGE_INTERVAL, greetings, now
from starlette.applications import Starlette

from core import migrate
from core.config import Settings
from core.services import services
from core.testing import HubClient, advance


async def test_the_route(client: httpx.AsyncClient) -> None:
    response = await client.get("/hello")
    assert response.status_code == 200
    assert response.json() == {"hello": "from a package"}


async def test_greet_through_the_hub(
    client: httpx.AsyncClient,
    hub_client: Callable[..., Awaitable[HubClient]],
    make_user: Callable[..., Awaitable[int]],
    make_token: Callable[..., Awaitable[str]],
) -> None:
    alice, bob = await make_user("alice"), await make_user("bob")
    watcher = await hub_client("hello", await make_token(bob))
    greeter = await hub_client("hello", await make_token(alice))
    completion = await greeter.invoke("Greet", "world")
    assert completion.error is None
    assert isinstance(completion.result, int)  # the stored greeting's id (declared returns=I64)
    # Every connected greeter hears of it, the greeter too.
    assert (await watcher.callback("Greeted")).arguments == [alice, "world"]
    assert (await greeter.callback("Greeted")).arguments == [alice, "world"]
    assert (await client.get("/hello/greetings")).json() == [{"user_id": alice, "name": "world"}]


async def test_old_greetings_are_purged_every_hour(app: Starlette) -> None:
    db = services(app).db
    await db.execute(
        greetings.insert().values(user_id=1, name="old", created_at=now(app) - dt.timedelta(days=2))
    )
    await db.execute(greetings.insert().values(user_id=1, name="new", created_at=now(app)))
    # An hour on the app's clock; `advance` returns once the job that came due has run.
    await advance(app, PURGE_INTERVAL)
    names = [row[0] for row in await db.fetch_all(sa.select(greetings.c.name))]
    assert names == ["new"]


def test_the_migration_matches_the_table(settings: Settings) -> None:
    # The test database was migrated with this plugin's migrations: autogenerate sees no change.
    assert migrate.differences(settings) == []
