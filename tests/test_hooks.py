"""One test per hook in `core.hooks`, each through a plugin written as a third party writes one.

Every plugin here is a module (`plugin(name, *functions)`) holding `@hookimpl` functions defined
inside the test, handed to `create_app(settings, extra_plugins=[...])` like a community package
would be found by its entry point. The last test keeps this file, `docs/plugins.md` and
`core.hooks` in step: a new hook needs its documentation and its test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
import textwrap
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from core import hooks, migrate
from core.app import create_app
from core.auth.authorize import Authorization, approved_url
from core.beatmaps import store as beatmaps_db
from core.beatmaps.sources import BeatmapSource, Download, FetchedSet
from core.config import ConfigError, Key, Section, Settings, positive
from core.db import utcnow
from core.hooks import Performance, hookimpl
from core.http import json
from core.jobs import Job
from core.lazer import register_method
from core.lazer.wire import STR
from core.schema import plugin_metadata
from core.services import services
from core.signalr import Connection, Hub, hub_method
from core.storage import Storage, check_key
from core.testing import schema_changed
from tests.beatmaps.support import make_osu, md5
from tests.conftest import ROOT, create_user, free_port, issue_token, running
from tests.scores import support
from tests.signalr.client import HubClient
from tests.test_cli import hitcircle

DOCS = ROOT / "docs" / "plugins.md"


def plugin(name: str, *functions: Callable[..., Any]) -> ModuleType:
    """A plugin module named `name` holding `functions`, as a third party's package would."""
    module = ModuleType(name)
    for function in functions:
        setattr(module, function.__name__, function)
    return module


def with_section(settings: Settings, name: str, **values: Any) -> Settings:
    """`settings` with keys of a plugin's section (`[name]`) set, as the config file would."""
    extra = {**settings.extra, name: {**settings.extra.get(name, {}), **values}}
    return dataclasses.replace(settings, extra=extra)


@asynccontextmanager
async def serve(
    settings: Settings, *plugins: object
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = create_app(settings, extra_plugins=plugins)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def submit_score(app: Starlette, client: httpx.AsyncClient) -> tuple[Any, dict[str, Any]]:
    """A ranked osu! map and one passed score on it through the lazer flow: (map, score JSON)."""
    token = await issue_token(app, await create_user(app))
    beatmap = await support.import_map(app, 0)
    response = await support.submit(client, token, beatmap, support.body(beatmap, misses=1))
    assert response.status_code == 200, response.text
    return beatmap, response.json()


# --- serving -----------------------------------------------------------------------------------


async def test_hook_routes(settings: Settings) -> None:
    async def hello(request: Request) -> Response:
        return json({"hello": request.path_params["name"]})

    @hookimpl
    def routes() -> list[BaseRoute]:
        return [Route("/hello/{name}", hello)]

    async with serve(settings, plugin("hello", routes)) as (_, client):
        response = await client.get("/hello/peppy")
        assert (await client.get("/health")).status_code == 200
    assert response.status_code == 200
    assert response.json() == {"hello": "peppy"}


async def test_hook_openapi_schemas(settings: Settings) -> None:
    """A third-party plugin's route appears in /openapi.json with the schema it declares, and its
    live answer validates against it."""
    from core.auth import api_route
    from core.openapi import describe

    @describe(responses={200: "Motd"})
    async def motd(request: Request) -> Response:
        """Today's message."""
        return json({"motd": "welcome"})

    @hookimpl
    def openapi_schemas() -> dict[str, dict[str, Any]]:
        return {
            "Motd": {
                "type": "object",
                "required": ["motd"],
                "properties": {"motd": {"type": "string"}},
            }
        }

    @hookimpl
    def routes() -> list[BaseRoute]:
        return [api_route("/api/v2/motd", motd)]

    async with serve(settings, plugin("motd", openapi_schemas, routes)) as (_, client):
        doc = (await client.get("/openapi.json")).json()
    op = doc["paths"]["/api/v2/motd"]["get"]
    assert op["summary"] == "Today's message." and op["x-scope"] == "public"
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Motd"}
    assert doc["components"]["schemas"]["Motd"]["required"] == ["motd"]
    assert "User" in doc["components"]["schemas"]


register_method("Greet", STR)


class GreeterHub(Hub):
    name = "greeter"
    started: list[str] = []

    async def on_startup(self) -> None:
        GreeterHub.started.append(str(services(self.app).extras["greeting"]))

    @hub_method
    async def Greet(self, conn: Connection, name: str) -> str:
        return f"hello {name} (user {conn.user_id})"


@asynccontextmanager
async def listening(app: Starlette) -> AsyncIterator[str]:
    """`app` under hypercorn on a free loopback port, in this event loop: real WebSockets."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{free_port()}"]
    config.accesslog = config.errorlog = None
    stop = asyncio.Event()
    asgi: Any = app  # hypercorn's ASGI type is narrower than Starlette's signature
    task = asyncio.create_task(hypercorn_serve(asgi, config, shutdown_trigger=stop.wait))
    url = f"http://{config.bind[0]}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                try:
                    if (await http.get(f"{url}/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        yield url
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_hook_hubs(settings: Settings) -> None:
    @hookimpl
    def hubs() -> list[type[Hub]]:
        return [GreeterHub]

    @hookimpl
    def startup(app: Starlette) -> None:
        services(app).extras["greeting"] = "set by startup"

    GreeterHub.started.clear()
    app = create_app(settings, extra_plugins=[plugin("greeter", hubs, startup)])
    assert isinstance(services(app).hubs["greeter"].hub, GreeterHub)
    async with listening(app) as url:
        # The hub starts after every `startup` hook.
        assert GreeterHub.started == ["set by startup"]
        user_id = await create_user(app)
        # As the lazer client connects: negotiate, WebSocket, handshake, invocation.
        client = await HubClient.open(url, "greeter", await issue_token(app, user_id))
        try:
            completion = await client.invoke("Greet", "peppy")
        finally:
            await client.close()
    assert completion.error is None
    assert completion.result == f"hello peppy (user {user_id})"


async def test_hook_jobs(settings: Settings) -> None:
    ran: asyncio.Queue[Starlette] = asyncio.Queue()

    async def tick(app: Starlette) -> None:
        await ran.put(app)

    @hookimpl
    def jobs() -> list[Job]:
        return [Job("tick", 3600.0, tick, run_at_start=True)]

    async with serve(settings, plugin("ticker", jobs)) as (app, _):
        assert await asyncio.wait_for(ran.get(), 10) is app
    # One run at start, the next one only after an hour.
    assert ran.empty()


async def test_hook_startup(settings: Settings) -> None:
    seen: list[str] = []

    @hookimpl
    async def startup(app: Starlette) -> None:
        # The database and the cache are open by now.
        assert await services(app).db.fetch_val(sa.text("SELECT 1")) == 1
        await services(app).cache.set("greeting", "hello")
        seen.append("async")

    # A sync implementation in a second plugin, under a name of its own (pluggy's `specname`).
    @hookimpl(specname="startup")
    def remember_start(app: Starlette) -> None:
        seen.append("sync")

    async def greeting(request: Request) -> Response:
        value = await services(request).cache.get("greeting")
        return json({"greeting": value.decode()})

    @hookimpl
    def routes() -> list[BaseRoute]:
        return [Route("/greeting", greeting)]

    second = plugin("sync_greeting", remember_start)
    async with serve(settings, plugin("greeting", startup, routes), second) as (_, client):
        assert sorted(seen) == ["async", "sync"]
        response = await client.get("/greeting")
    assert response.json() == {"greeting": "hello"}


async def test_hook_shutdown(settings: Settings) -> None:
    closed: list[Any] = []

    @hookimpl
    async def shutdown(app: Starlette) -> None:
        # Still open: the database closes after the plugins' shutdown.
        closed.append(await services(app).db.fetch_val(sa.text("SELECT 1")))

    @hookimpl
    def startup(app: Starlette) -> None:
        closed.append("started")

    async with serve(settings, plugin("closer", shutdown, startup)):
        assert closed == ["started"]
    assert closed == ["started", 1]


# --- schema ------------------------------------------------------------------------------------

GREETINGS_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "hooks_greeting_0001"
down_revision = None
branch_labels = ("hooks_greeting",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hook_greetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_greetings")),
    )


def downgrade() -> None:
    op.drop_table("hook_greetings")
"""


def greetings_table() -> sa.Table:
    return sa.Table(
        "hook_greetings",
        plugin_metadata(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(64), nullable=False),
    )


async def test_hook_tables(settings: Settings) -> None:
    greetings = greetings_table()

    @hookimpl
    def tables(metadata: sa.MetaData) -> list[sa.Table]:
        return [greetings]

    app = create_app(settings, extra_plugins=[plugin("greeting", tables)])
    assert "hook_greetings" in services(app).metadata.tables
    assert "users" in services(app).metadata.tables
    # The migrations see the table: without a migration creating it, autogenerate wants it.
    diffs: list[Any] = migrate.differences(settings, services(app).plugins)
    assert [d[1].name for d in diffs if d[0] == "add_table"] == ["hook_greetings"]


async def test_hook_migration_dirs(settings: Settings, tmp_path: Path) -> None:
    versions = tmp_path / "greeting_migrations"
    versions.mkdir()
    (versions / "hooks_greeting_0001.py").write_text(GREETINGS_MIGRATION)
    greetings = greetings_table()

    @hookimpl
    def tables(metadata: sa.MetaData) -> list[sa.Table]:
        return [greetings]

    @hookimpl
    def migration_dirs() -> list[str]:
        return [str(versions)]

    greeting = plugin("greeting", tables, migration_dirs)
    app = create_app(settings, extra_plugins=[greeting])
    try:
        migrate.upgrade(settings, services(app).plugins)
        assert migrate.differences(settings, services(app).plugins) == []
        async with running(app):
            await services(app).db.execute(greetings.insert().values(text="hello"))
            rows = await services(app).db.fetch_all(sa.select(greetings.c.text))
        assert [row[0] for row in rows] == ["hello"]
    finally:
        schema_changed()  # the shared MySQL database now has the plugin's table


# --- scores and beatmaps -----------------------------------------------------------------------


class Calculator:
    """What a third-party pp calculator records: the arguments it was called with."""

    def __init__(self, pp: float) -> None:
        self.pp = pp
        self.calls: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []

    def module(self, name: str) -> ModuleType:
        @hookimpl
        async def calculate_performance(
            beatmap: Mapping[str, Any], score: Mapping[str, Any]
        ) -> Performance:
            self.calls.append((beatmap, score))
            return {"pp": self.pp}

        return plugin(name, calculate_performance)


async def test_hook_calculate_performance(settings: Settings) -> None:
    mine, other = Calculator(123.5), Calculator(9.0)
    selected = with_section(settings, "pp", calculator="my_pp")
    async with serve(selected, mine.module("my_pp"), other.module("other_pp")) as (app, client):
        beatmap, score = await submit_score(app, client)
    assert score["pp"] == 123.5
    assert other.calls == []
    [(beatmap_arg, score_arg)] = mine.calls
    assert beatmap_arg["osu_file"] == beatmap.osu
    assert beatmap_arg["id"] == beatmap.id
    assert score_arg["ruleset_id"] == 0
    assert score_arg["statistics"]["miss"] == 1


async def test_calculate_performance_default_is_pp_rosu(settings: Settings) -> None:
    # A third-party calculator is installed (and called first by pluggy) but not selected.
    bystander = Calculator(1.0)
    async with serve(settings, bystander.module("my_pp")) as (app, client):
        beatmap, score = await submit_score(app, client)
    expected = support.expected_pp(beatmap, support.body(beatmap, misses=1))
    assert score["pp"] == pytest.approx(expected, rel=1e-9)
    assert bystander.calls == []


async def test_no_calculator_stores_scores_without_pp(settings: Settings) -> None:
    async with serve(with_section(settings, "pp", calculator="")) as (app, client):
        _, score = await submit_score(app, client)
    assert score["pp"] is None


def mirror_set(set_id: int, beatmap_id: int, osu: bytes) -> FetchedSet:
    """A ranked set with one difficulty, as table rows: what a source hands the server."""
    now = utcnow()
    beatmapset = {
        "id": set_id,
        "artist": "Mirror Artist",
        "artist_unicode": "Mirror Artist",
        "title": "Mirrored Song",
        "title_unicode": "Mirrored Song",
        "creator": "mapper",
        "user_id": 2,
        "source": "",
        "tags": "",
        "status": 1,
        "genre_id": 1,
        "language_id": 1,
        "bpm": 120.0,
        "nsfw": False,
        "video": False,
        "storyboard": False,
        "spotlight": False,
        "download_disabled": False,
        "audio_offset": 0,
        "rating": 0.0,
        "favourite_count": 0,
        "play_count": 0,
        "ranked_date": now,
        "submitted_date": now,
        "last_updated": now,
        "origin": "mirror",
        "fetched_at": now,
    }
    difficulty = {
        "id": beatmap_id,
        "beatmapset_id": set_id,
        "checksum": md5(osu),
        "mode": 0,
        "status": 1,
        "version": "Mirrored",
        "user_id": 2,
        "difficulty_rating": 3.5,
        "total_length": 10,
        "hit_length": 9,
        "bpm": 120.0,
        "cs": 4.0,
        "ar": 9.0,
        "accuracy": 7.0,
        "drain": 5.0,
        "count_circles": 12,
        "count_sliders": 1,
        "count_spinners": 1,
        "max_combo": 20,
        "playcount": 0,
        "passcount": 0,
        "last_updated": now,
    }
    return FetchedSet(beatmapset=beatmapset, beatmaps=[difficulty])


class MirrorSource:
    """A source that knows one set, as a mirror of another osu! server would."""

    name = "mirror"

    def __init__(self) -> None:
        self.osu = make_osu(beatmap_id=9001, set_id=9000, title="Mirrored Song")
        self.fetched = mirror_set(9000, 9001, self.osu)

    async def lookup(
        self,
        app: Starlette,
        *,
        beatmap_id: int | None = None,
        checksum: str | None = None,
        filename: str | None = None,
    ) -> FetchedSet | None:
        return self.fetched if beatmap_id == 9001 or checksum == md5(self.osu) else None

    async def beatmapset(self, app: Starlette, set_id: int) -> FetchedSet | None:
        return self.fetched if set_id == 9000 else None

    async def osu_file(self, app: Starlette, beatmap: Mapping[str, Any]) -> bytes | None:
        return self.osu if beatmap["id"] == 9001 else None

    async def download(
        self, app: Starlette, beatmapset: Mapping[str, Any], no_video: bool
    ) -> Download | None:
        return Download(url=f"https://mirror.example/d/{beatmapset['id']}?nv={int(no_video)}")

    def refresh_after(self, app: Starlette) -> float | None:
        return None


async def test_hook_beatmap_sources(settings: Settings) -> None:
    @hookimpl
    def beatmap_sources() -> list[BeatmapSource]:
        return [MirrorSource()]

    ordered = with_section(settings, "beatmaps", sources=["local", "mirror", "upstream"])
    async with serve(ordered, plugin("mirror", beatmap_sources)) as (app, client):
        token = await issue_token(app, await create_user(app))
        shown = await client.get("/api/v2/beatmaps/9001", headers=bearer(token))
        osu = await client.get("/osu/9001")
        download = await client.get(
            "/api/v2/beatmapsets/9000/download?noVideo=1", headers=bearer(token)
        )
        stored = await beatmaps_db.beatmapset_by_id(services(app).db, 9000)
    assert shown.status_code == 200, shown.text
    assert shown.json()["beatmapset"]["title"] == "Mirrored Song"
    assert stored is not None and stored["origin"] == "mirror"
    assert osu.status_code == 200 and osu.content == MirrorSource().osu
    assert download.status_code == 302
    assert download.headers["location"] == "https://mirror.example/d/9000?nv=1"


async def test_unlisted_beatmap_source_is_not_asked(settings: Settings) -> None:
    @hookimpl
    def beatmap_sources() -> list[BeatmapSource]:
        return [MirrorSource()]

    async with serve(settings, plugin("mirror", beatmap_sources)) as (app, client):
        token = await issue_token(app, await create_user(app))
        shown = await client.get("/api/v2/beatmaps/9001", headers=bearer(token))
    assert shown.status_code == 404


class MemoryStorage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.files: dict[str, bytes] = {}

    async def put(self, key: str, data: bytes) -> None:
        check_key(key)
        self.files[key] = bytes(data)

    async def get(self, key: str) -> bytes | None:
        return self.files.get(key)

    async def delete(self, key: str) -> bool:
        return self.files.pop(key, None) is not None

    async def exists(self, key: str) -> bool:
        return key in self.files

    def local_path(self, key: str) -> Path | None:
        return None

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        for key in list(self.files):
            if key.startswith(prefix):
                yield key

    async def close(self) -> None:
        self.closed = True


async def test_hook_storage_backends(settings: Settings) -> None:
    @hookimpl
    def storage_backends() -> dict[str, Callable[[Settings], Storage]]:
        return {"memory": MemoryStorage}

    configured = settings.replace(storage={"backend": "memory"})
    async with serve(configured, plugin("memory_storage", storage_backends)) as (app, client):
        storage = services(app).storage
        assert isinstance(storage, MemoryStorage)
        assert storage.settings is configured
        beatmap = await support.import_map(app, 0)
        osu = await client.get(f"/osu/{beatmap.id}")
    # The imported .osu went to the plugin's storage and was served from there.
    assert storage.files[f"beatmaps/osu/{beatmap.checksum}.osu"] == beatmap.osu
    assert osu.content == beatmap.osu
    assert not (configured.data_dir / "files" / "beatmaps").exists()
    assert [key async for key in storage.keys("beatmaps/osu/")] == [
        f"beatmaps/osu/{beatmap.checksum}.osu"
    ]
    assert storage.closed  # the app's end closed it


# --- events ------------------------------------------------------------------------------------


async def test_hook_score_processed(settings: Settings) -> None:
    processed: list[tuple[Starlette, dict[str, Any]]] = []

    @hookimpl
    async def score_processed(app: Starlette, score: dict[str, Any]) -> None:
        processed.append((app, score))

    async with serve(settings, plugin("score_watch", score_processed)) as (app, client):
        beatmap, score = await submit_score(app, client)
    [(seen_app, row)] = processed
    assert seen_app is app
    assert row["id"] == score["id"]
    assert row["user_id"] == score["user_id"]
    assert row["beatmap_id"] == beatmap.id
    assert row["total_score"] == score["total_score"]
    assert row["pp"] == pytest.approx(score["pp"])


async def test_hook_medal_rules(settings: Settings) -> None:
    from core.medals import catalogue
    from core.medals import store as medals_db
    from core.medals.awarding import MedalContext

    seen: list[MedalContext] = []
    perfectionist = catalogue.by_slug()["all-intro-perfect"]["id"]

    async def any_pass(ctx: MedalContext) -> list[int]:
        seen.append(ctx)
        return [perfectionist] if ctx.score["passed"] else []

    @hookimpl
    def medal_rules(app: Starlette) -> list[Callable[..., Any]]:
        return [any_pass]

    async with serve(settings, plugin("medal_rule", medal_rules)) as (app, client):
        beatmap, score = await submit_score(app, client)
        held = await medals_db.held(services(app).db, score["user_id"])
    [ctx] = seen
    assert ctx.score["id"] == score["id"] and ctx.score["mods"] == []
    assert ctx.beatmap is not None and ctx.beatmap["id"] == beatmap.id
    assert ctx.stars == pytest.approx(float(ctx.beatmap["difficulty_rating"]))
    assert ctx.statistics is not None and ctx.statistics["play_count"] == 1
    assert ctx.held == frozenset() and ctx.ruleset == "osu"
    assert perfectionist in held


async def test_hook_user_registered(settings: Settings) -> None:
    registered: list[Mapping[str, Any]] = []

    @hookimpl
    async def user_registered(app: Starlette, user: Mapping[str, Any]) -> None:
        registered.append(user)

    async with serve(settings, plugin("welcome", user_registered)) as (_, client):
        form = {
            "user[username]": (None, "new player"),
            "user[user_email]": (None, "new@example.com"),
            "user[password]": (None, "correct horse"),
        }
        response = await client.post("/users", files=form)
    assert response.status_code == 200, response.text
    [user] = registered
    assert user["id"] == response.json()["id"]
    assert user["username"] == "new player"


async def _lazer_sign_in(client: httpx.AsyncClient, password: str = "password123") -> Any:
    from plugins.oauth.grants import LAZER_SECRETS

    return await client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "peppy",
            "password": password,
            "scope": "*",
            "client_id": "5",
            "client_secret": LAZER_SECRETS[0],
        },
    )


async def test_hook_login_refused(settings: Settings) -> None:
    @hookimpl
    async def login_refused(app: Starlette, user: Mapping[str, Any]) -> str | None:
        return "Banned: cheating." if user["username"] == "peppy" else None

    async with serve(settings, plugin("bans", login_refused)) as (app, client):
        await create_user(app)
        refused = await _lazer_sign_in(client)
        wrong = await _lazer_sign_in(client, "wrong password")
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert refused.json()["hint"] == "Banned: cheating."
    # A wrong password is refused before the hook is asked.
    assert wrong.json()["hint"] != "Banned: cheating."


async def test_hook_session_verification(settings: Settings) -> None:
    asked: list[str] = []

    @hookimpl
    def session_verification(app: Starlette, user: Mapping[str, Any], request: Request) -> str:
        asked.append(request.headers.get("user-agent", ""))
        return "totp"

    async with serve(settings, plugin("second_factor", session_verification)) as (app, client):
        await create_user(app)
        token = (await _lazer_sign_in(client)).json()["access_token"]
        me = await client.get("/api/v2/me/", headers=bearer(token))
        change = await client.post("/api/v2/chat/ack", headers=bearer(token))
    assert me.json()["session_verification_method"] == "totp"
    assert me.json()["session_verified"] is False
    assert change.status_code == 401 and change.json() == {"method": "totp"}
    assert len(asked) == 1


async def test_hook_user_logged_in(settings: Settings) -> None:
    logins: list[tuple[int, str, str | None]] = []

    @hookimpl
    async def user_logged_in(
        app: Starlette, user: Mapping[str, Any], token_id: str, verification: str | None,
        request: Request,
    ) -> None:  # fmt: skip
        logins.append((int(user["id"]), token_id, verification))
        raise RuntimeError("a failing listener does not fail the sign-in")

    async with serve(settings, plugin("login_history", user_logged_in)) as (app, client):
        uid = await create_user(app)
        signed = await _lazer_sign_in(client)
    assert signed.status_code == 200
    [(user_id, token_id, verification)] = logins
    assert user_id == uid and verification is None
    assert authenticator_jti(signed.json()["access_token"]) == token_id


def authenticator_jti(token: str) -> str:
    import base64

    payload = token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


# --- command line ------------------------------------------------------------------------------

GREETING_COMMAND = """
import argparse

from core.hooks import hookimpl


def greet(args: argparse.Namespace) -> int:
    print(f"hello {args.name}")
    return 0


@hookimpl
def commands(cli: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    cmd = cli.add_parser("greet", help="say hello")
    cmd.add_argument("name")
    cmd.set_defaults(func=greet)
"""


def test_hook_commands(tmp_path: Path) -> None:
    # The command line finds plugins through the configuration, so this one is a module file.
    (tmp_path / "greeting_cli.py").write_text(GREETING_COMMAND)
    env = {
        "PYTHONPATH": str(tmp_path),
        "HITCIRCLE_PLUGINS_MODULES": "greeting_cli",
        "HITCIRCLE_DATA_DIR": str(tmp_path / "data"),
    }
    result = hitcircle("greet", "peppy", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello peppy\n"
    assert "greet" in hitcircle("--help", env=env).stdout


# --- configuration -----------------------------------------------------------------------------


GREETING_SECTION = Section(
    "greeting",
    (
        Key("text", "hello", "What the greeting says."),
        Key("max_per_minute", 10, "Greetings per user and minute.", min=1),
        Key("timeout", 2.0, check=positive),
    ),
)


@hookimpl
def settings_sections() -> list[Section]:
    return [GREETING_SECTION]


async def test_hook_settings_sections(settings: Settings) -> None:
    async def said(request: Request) -> Response:
        return json(GREETING_SECTION.read(services(request).settings))

    @hookimpl
    def routes() -> list[BaseRoute]:
        return [Route("/greeting", said)]

    greeting = plugin("greeting_settings", settings_sections, routes)
    configured = dataclasses.replace(
        settings,
        extra={"greeting": {"text": "hi"}},
        env={"HITCIRCLE_GREETING_MAX_PER_MINUTE": "3"},
    )
    async with serve(configured, greeting) as (_, client):
        body = (await client.get("/greeting")).json()
    assert body == {"text": "hi", "max_per_minute": 3, "timeout": 2.0}
    # Checked when the plugins load: the app is never built.
    for extra, env, line in [
        ({"greeting": {"max_per_minute": 0}}, {}, "greeting.max_per_minute: must be at least 1"),
        ({"greeting": {"txt": "x"}}, {}, "greeting.txt: unknown key (did you mean text?)"),
        ({}, {"HITCIRCLE_GREETING_TIMEOUT": "soon"}, "greeting.timeout: expected a number"),
        ({}, {"HITCIRCLE_GREETNG_TEXT": "x"}, "(did you mean HITCIRCLE_GREETING_TEXT?)"),
    ]:
        broken = dataclasses.replace(settings, extra=extra, env=env)
        with pytest.raises(ConfigError, match=re.escape(line)):
            create_app(broken, extra_plugins=[greeting])
    # Without the plugin nobody declares [greeting].
    with pytest.raises(ConfigError, match=re.escape("[greeting]: unknown section")):
        create_app(configured)


# --- the contract stays in step ----------------------------------------------------------------


def hookspecs() -> dict[str, Callable[..., Any]]:
    return {
        name: value
        for name, value in vars(hooks).items()
        if inspect.isfunction(value) and hasattr(value, f"{hooks.PROJECT}_spec")
    }


def test_every_hook_is_documented_and_tested() -> None:
    specs = hookspecs()
    assert "routes" in specs and "calculate_performance" in specs
    # "### `name(...)`" up to the next heading: one section per hook.
    sections = dict(
        re.findall(r"^### `(\w+)\(.*?$(.*?)(?=^#)", DOCS.read_text() + "\n#", re.M | re.S)
    )
    tests = {name for name in globals() if name.startswith("test_hook_")}
    for name, spec in specs.items():
        doc = textwrap.dedent(spec.__doc__ or "")
        assert "Kind:" in doc and "\n\n" in doc, f"core.hooks.{name} has no full docstring"
        assert name in sections, f"docs/plugins.md has no section for the hook {name!r}"
        for part in ("**Kind**", "**When**", "```python"):
            assert part in sections[name], f"docs/plugins.md: {name!r} section lacks {part}"
        assert f"test_hook_{name}" in tests, f"tests/test_hooks.py has no test_hook_{name}"
    assert set(sections) <= set(specs), "docs/plugins.md documents a hook that does not exist"
    assert {t.removeprefix("test_hook_") for t in tests} <= set(specs)


async def test_hook_authorize_page(settings: Settings) -> None:
    from tests.plugins.oauth.test_token import make_client

    seen: list[tuple[str, str, list[str]]] = []

    @hookimpl
    async def authorize_page(request: Request, authorization: Authorization) -> Response | None:
        seen.append((request.method, authorization.client["name"], authorization.scopes))
        if request.method == "POST":
            user_id = int(authorization.client["user_id"])
            target = await approved_url(services(request), authorization, user_id)
            return Response(status_code=302, headers={"location": target})
        if authorization.state == "mine":
            return HTMLResponse(f"<h1>Allow {authorization.client['name']}?</h1>")
        return None

    async with serve(settings, plugin("consent", authorize_page)) as (app, client):
        owner = await create_user(app)
        client_id, _ = await make_client(app, owner, "http://localhost/cb")
        query = {"client_id": str(client_id), "response_type": "code", "scope": "public"}
        mine = await client.get("/oauth/authorize", params=query | {"state": "mine"})
        theirs = await client.get("/oauth/authorize", params=query | {"state": "other"})
        posted = await client.post("/oauth/authorize", data=query | {"state": "s"})
        # An invalid request is refused before any plugin is asked.
        bad = await client.get("/oauth/authorize", params=query | {"scope": "bogus"})
    assert mine.text.startswith("<h1>Allow ")
    # None from every plugin: the oauth plugin's own page (password and approval in one form).
    assert theirs.status_code == 200 and 'name="password"' in theirs.text
    assert posted.status_code == 302
    assert posted.headers["location"].startswith("http://localhost/cb?code=")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_scope"
    assert [m for m, _, _ in seen] == ["GET", "GET", "POST"]
    assert seen[0][2] == ["identify", "public"]


async def test_hook_not_found_page(settings: Settings) -> None:
    asked: list[str] = []

    @hookimpl
    def not_found_page(request: Request) -> Response | None:
        asked.append(request.url.path)
        if request.url.path.startswith("/shop"):
            return HTMLResponse("<h1>No shop here</h1>", 404)
        return None

    async with serve(settings, plugin("pages", not_found_page)) as (_app, client):
        shop = await client.get("/shop/cart")
        other = await client.get("/elsewhere")
        posted = await client.post("/shop/cart")
        known = await client.get("/api/v2/users/999999")
    assert (shop.status_code, shop.text) == (404, "<h1>No shop here</h1>")
    # None from every plugin: osu-web's JSON 404; other methods and the API's own 404s are not
    # asked about.
    assert (other.status_code, other.json()) == (404, {"error": None})
    assert posted.json() == {"error": None}
    assert known.status_code in (401, 404)
    assert asked[:2] == ["/shop/cart", "/elsewhere"]
    assert "/api/v2/users/999999" not in asked
