"""A third-party plugin, complete: a route, a table with its migration, a job that runs once
across workers and a hub whose method declares its wire signature.

It is a package with a `hitcircle.plugins` entry point (pyproject.toml); its tests (tests/) use
the fixtures of hitcircle's pytest plugin, `core.testing`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.hooks import hookimpl
from core.http import json
from core.jobs import Job
from core.lazer.wire import I32, I64, STR, Wire
from core.schema import TABLE_ARGS, plugin_metadata
from core.services import services
from core.signalr import Connection, Hub, hub_method

# Greetings older than this are purged.
KEEP = dt.timedelta(days=1)
PURGE_INTERVAL = 3600.0

# --- the table (its migration: migrations/hello_0001_greetings.py) ----------------------------

greetings = sa.Table(
    "hello_greetings",
    plugin_metadata(),
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("user_id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False, index=True),
    **TABLE_ARGS,
)


def now(app: Any) -> dt.datetime:
    """The app's clock as the naive UTC the DATETIME column holds (tests move that clock)."""
    return dt.datetime.fromtimestamp(int(services(app).clock.time()), dt.UTC).replace(tzinfo=None)


@hookimpl
def tables(metadata: sa.MetaData) -> list[sa.Table]:
    return [greetings]


@hookimpl
def migration_dirs() -> list[str]:
    return [str(Path(__file__).resolve().parent / "migrations")]


# --- routes ------------------------------------------------------------------------------------


async def hello(request: Request) -> Response:
    return json({"hello": "from a package"})


async def latest(request: Request) -> Response:
    rows = await services(request).db.fetch_all(
        sa.select(greetings.c.user_id, greetings.c.name).order_by(greetings.c.id.desc()).limit(50)
    )
    return json([{"user_id": row["user_id"], "name": row["name"]} for row in rows])


@hookimpl
def routes() -> list[BaseRoute]:
    return [Route("/hello", hello), Route("/hello/greetings", latest)]


# --- the hub -----------------------------------------------------------------------------------


class HelloHub(Hub):
    """`/signalr/hello`: `Greet(name)` stores a greeting and tells every connected greeter."""

    name = "hello"
    # Callbacks this hub sends, with their argument types: Greeted(user id, name).
    callbacks: ClassVar[dict[str, tuple[Wire, ...]]] = {"Greeted": (I32, STR)}

    async def on_connected(self, conn: Connection) -> None:
        await self.add_to_group(conn, "greeters")

    @hub_method(args=(STR,), returns=I64)
    async def Greet(self, conn: Connection, name: str) -> int:
        name = name[:32]
        greeting_id: int = await self.services.db.execute(
            greetings.insert().values(user_id=conn.user_id, name=name, created_at=now(self.app))
        )
        await self.send_group("greeters", "Greeted", conn.user_id, name)
        return greeting_id


@hookimpl
def hubs() -> list[type[Hub]]:
    return [HelloHub]


# --- the job -----------------------------------------------------------------------------------


async def purge(app: Starlette) -> None:
    """Forget greetings older than a day; once an hour, on one worker of all of them."""
    await services(app).db.execute(
        greetings.delete().where(greetings.c.created_at < now(app) - KEEP)
    )


@hookimpl
def jobs() -> list[Job]:
    return [Job("hello-purge", PURGE_INTERVAL, purge, once=True)]
