"""The API reference (core/openapi.py): the document covers every route the app serves (the drift
check), says what the code enforces (scopes, rate limits, parameter limits), follows the enabled
plugins, renders at /docs without the internet, and live answers match it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute

from core import openapi
from core.app import create_app
from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.beatmaps import feedback, packs
from core.chat import store as chat_db
from core.comments import posting
from core.db import utcnow
from core.moderation import identity, recognition, sanctions
from core.moderation.audit import OPERATOR
from core.reports import store as reports_db
from core.scores import store as scores_db
from core.services import services
from core.spotlights import store as spotlights_db
from core.teams import lifecycle as teams
from core.testing import create_user, issue_token, make_settings
from core.users import store as users_db
from tests.plugins.api_v1 import v1_support
from tests.plugins.content.support import write_content
from tests.scores import support as scores_support
from tests.test_fuzz_routes import seed

NO_LIMITS = {"ratelimit": {"enabled": False}, "beatmaps_upstream": {"osu_mirrors": []}}
# A running season, so `/api/v2/seasonal-backgrounds` answers its full shape.
LIVE_SETTINGS = {
    **NO_LIMITS,
    "content": {"seasonal_backgrounds": ["https://assets.ppy.sh/bg/1.jpg"]},
    # The walk sends a PM by three routes within a second.
    "chat": {"private_limit": 10},
}


def served(app: Starlette) -> set[tuple[str, str]]:
    """(METHOD, OpenAPI path) of every HTTP endpoint the app routes, HEAD aside."""
    found = set()
    for path, route in openapi.walk(app.routes):
        if isinstance(route, Route):
            for method in route.methods or ["GET"]:
                if method != "HEAD" or "GET" not in (route.methods or ()):
                    found.add((method, openapi.openapi_path(path)))
        elif isinstance(route, Mount):
            found.add(("GET", openapi.openapi_path(path) + "/{path}"))
    return found


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in doc["paths"].items() for method in item}


def all_plugins_app(tmp_path: Path, **sections: dict[str, Any]) -> Starlette:
    return create_app(make_settings("sqlite_memory", tmp_path / "data", **sections))


def test_the_document_misses_no_route(tmp_path: Path) -> None:
    app = all_plugins_app(tmp_path)
    doc = openapi.build(app)
    routes = served(app)
    assert len(routes) > 150
    assert routes - documented(doc) == set(), "routes the document misses"
    assert documented(doc) - routes == set(), "documented routes nothing serves"
    websockets = {p for p, r in openapi.walk(app.routes) if isinstance(r, WebSocketRoute)}
    assert {ws["path"] for ws in doc["x-websockets"]} == websockets
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_every_json_answer_declares_its_shape(tmp_path: Path) -> None:
    """No success answer is documented as JSON of any shape: each route says what it answers
    (`core.openapi.describe`), so the live walk below can check it."""
    doc = openapi.build(all_plugins_app(tmp_path))
    shapeless = [
        f"{method.upper()} {path} {status}"
        for path, item in doc["paths"].items()
        for method, op in item.items()
        for status, response in op["responses"].items()
        if status.startswith("2")
        and "application/json" in response.get("content", {})
        and not response["content"]["application/json"].get("schema")
    ]
    assert not shapeless, shapeless


def test_the_document_is_valid_openapi_3_1(tmp_path: Path) -> None:
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    doc = openapi.build(all_plugins_app(tmp_path))
    assert doc["openapi"] == "3.1.0"
    jsonschema.Draft202012Validator(OPENAPI_31).validate(doc)
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema), name


def test_a_disabled_plugin_leaves_the_document(tmp_path: Path) -> None:
    doc = openapi.build(all_plugins_app(tmp_path, plugins={"disabled": ["api_v1"]}))
    assert not [p for p in doc["paths"] if p.startswith(("/api/get_", "/api/v1/"))]
    assert "/api/v2/me" in doc["paths"]


def test_scopes_and_rate_limits_are_those_the_code_enforces(tmp_path: Path) -> None:
    app = all_plugins_app(tmp_path)
    doc = openapi.build(app)
    limits = services(app).ratelimits
    checked = 0
    for path, route in openapi.walk(app.routes):
        if not isinstance(route, Route):
            continue
        item = doc["paths"][openapi.openapi_path(path)]
        for method in route.methods or ["GET"]:
            op = item.get(method.lower())
            if op is None:
                continue
            scope = getattr(route, "required_scope", "-")
            if scope not in ("-", None):
                assert op["x-scope"] == scope, path
                assert "401" in op["responses"], path
                checked += 1
            elif scope is None:
                assert op["security"] == [{}, {"oauth2": []}], path
            _, limit = limits.limit_for(path)
            if limit is None:
                assert "x-rate-limit" not in op, path
            else:
                assert op["x-rate-limit"]["limit"] == str(limit), path
    assert checked > 100
    token_limit = doc["paths"]["/oauth/token"]["post"]["x-rate-limit"]
    assert token_limit["group"] == "/oauth/token"


def test_parameters_carry_the_limits_the_handlers_enforce(tmp_path: Path) -> None:
    doc = openapi.build(all_plugins_app(tmp_path))
    beatmaps = {p["name"]: p for p in doc["paths"]["/api/v2/beatmaps"]["get"]["parameters"]}
    assert (
        beatmaps["ids[]"]["schema"]
        == {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": 50,
        }
        or beatmaps["ids[]"]["schema"]["maxItems"] > 0
    )
    scores = {p["name"]: p for p in doc["paths"]["/api/v2/scores"]["get"]["parameters"]}
    assert scores["cursor_string"]["schema"]["maxLength"] == 1000
    user = {p["name"]: p for p in doc["paths"]["/api/v2/users/{user}"]["get"]["parameters"]}
    assert user["user"]["in"] == "path" and user["user"]["required"]
    # Bodies as lazer sends them: JSON, form or multipart, the same fields.
    body = doc["paths"]["/api/v2/chat/new"]["post"]["requestBody"]["content"]
    assert set(body) == {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }
    assert "target_id" in body["multipart/form-data"]["schema"]["properties"]


def test_declarations_read_through_wrappers_and_redirects_claim_no_json(tmp_path: Path) -> None:
    doc = openapi.build(all_plugins_app(tmp_path))
    # `/me/osu` runs `me` through a per-ruleset wrapper; the web forms run through `guarded`.
    shape = doc["paths"]["/api/v2/me/osu"]["get"]["responses"]["200"]["content"]
    assert shape == {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}
    # A sign-out only redirects (refusing with pages): no JSON success is listed.
    logout = doc["paths"]["/logout"]["post"]["responses"]
    assert "200" not in logout and "303" in logout
    assert "text/html" in logout["403"]["content"]
    # Non-JSON answers declare their type.
    osu_file = doc["paths"]["/osu/{beatmap}"]["get"]["responses"]["200"]["content"]
    assert list(osu_file) == ["text/plain"]


def test_every_hub_is_described(tmp_path: Path) -> None:
    app = all_plugins_app(tmp_path)
    hubs = {ws["path"]: ws for ws in openapi.build(app)["x-websockets"] if ws["kind"] == "signalr"}
    assert set(hubs) == {f"/signalr/{name}" for name in services(app).hubs}
    spectator = hubs["/signalr/spectator"]
    assert "BeginPlaySession" in spectator["methods"] and spectator["scope"] == "*"


async def test_docs_page_needs_no_internet(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # Nothing loaded from elsewhere: no external scripts, stylesheets, images or fonts.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.text)
    assert "<script" not in page.text
    assert 'href="/docs/realtime"' in page.text and 'href="/openapi.json"' in page.text
    assert "/api/v2/me" in page.text and "/signalr/spectator" in page.text
    notes = await client.get("/docs/realtime")
    assert notes.status_code == 200 and "/notifications/feed" in notes.text
    doc = await client.get("/openapi.json")
    assert doc.status_code == 200 and doc.json()["openapi"] == "3.1.0"


# --- live answers against the document ---------------------------------------------------------

SEEDED = {"beatmapset": "1", "beatmap": "2", "score": "1", "mode": "osu", "ruleset": "osu"}


# Query strings that find the seeded objects, so the lookups answer with success.
QUERIES = {
    "/api/v2/beatmaps/lookup": "id=2",
    "/api/v2/beatmapsets/lookup": "beatmap_id=2",
    "/api/v2/users/lookup": "ids[]={user}",
    "/api/v2/users": "ids[]={user}",
    "/api/v2/beatmaps": "ids[]=2",
    "/api/v2/chat/updates": "since=0",
}
WALK_SECRET = "walk-secret-0123456789"
# Bodies of the non-GET calls, keyed "METHOD /path" (the document's path), so writes run to
# success and their answers are checked against their shape too. Sent as JSON; a string
# "{name}" stands for the value of that name `seed_shapes` made (an id, the room play's body).
BODIES: dict[str, Any] = {
    "POST /api/v2/beatmaps/{beatmap}/solo/scores": {"ruleset_id": 0, "version_hash": "0" * 32},
    "POST /api/v2/beatmapsets/{beatmapset}/favourites": {"action": "favourite"},
    "POST /api/v2/beatmapsets/{beatmapset}/ratings": {"rating": 8},
    "POST /api/v2/blocks": {"target": "{blocked}"},
    "POST /api/v2/chat/channels": {"type": "PM", "target_id": "{friend}"},
    "POST /api/v2/chat/channels/{channel}/messages": {"message": "hello again"},
    "POST /api/v2/chat/new": {"target_id": "{friend}", "message": "hello"},
    "POST /api/private/admin/groups": {
        "identifier": "walkers",
        "name": "Walkers",
        "short_name": "WLK",
        "colour": "#123456",
    },
    "POST /api/private/admin/users/{user}/badges": {
        "description": "Walked every route",
        "image_url": "https://example.com/badge.png",
    },
    "POST /api/private/admin/users/{user}/ban": {"reason": "walk"},
    "POST /api/private/admin/users/{user}/groups": {"group": "gmt"},
    "POST /api/private/admin/users/{user}/rename": {"username": "walkrenamed"},
    "POST /api/private/admin/users/{user}/restrict": {"reason": "walk"},
    "POST /api/private/admin/users/{user}/silence": {"duration": "1h", "reason": "walk"},
    "POST /api/private/admin/users/{user}/supporter": {"supporter": True},
    "PUT /api/private/admin/users/{user}/supporter": {"supporter": False},
    "POST /api/private/api-keys": {"name": "walk key"},
    "POST /api/private/me/username": {"username": "walker"},
    "PUT /api/private/me/username": {"username": "walker2"},
    "POST /api/private/oauth-clients": {"name": "Walk app", "redirect": "https://example.com/cb"},
    "PATCH /api/private/oauth-clients/{client}": {"name": "Walk app 2"},
    "PUT /api/private/oauth-clients/{client}": {"name": "Walk app 3"},
    "POST /oauth/token": {
        "grant_type": "client_credentials",
        "client_id": "{app_client}",
        "client_secret": WALK_SECRET,
        "scope": "public",
    },
    "POST /users": {
        "user": {"username": "walkjoin", "user_email": "j@example.com", "password": "a walk pw 123"}
    },
    "PUT /beatmap-submission/beatmapsets": {"beatmaps_to_create": 1, "target": "WIP"},
    "POST /api/v2/comments": {
        "comment": {"commentable_type": "beatmapset", "commentable_id": 1, "message": "nice"}
    },
    "PATCH /api/v2/comments/{comment}": {"comment": {"message": "edited"}},
    "PUT /api/v2/comments/{comment}": {"comment": {"message": "edited again"}},
    "POST /api/v2/friends": {"target": "{friend}"},
    "POST /api/v2/rooms": {
        "name": "contract",
        "duration": 60,
        "playlist": [{"beatmap_id": 2, "ruleset_id": 0}],
    },
    "POST /api/v2/rooms/{room}/playlist/{item}/scores": {"beatmap_id": 2, "ruleset_id": 0},
    "PATCH /api/v2/rooms/{room}/playlist/{item}/scores/{token}": "{play}",
    "PUT /api/v2/rooms/{room}/playlist/{item}/scores/{token}": "{play}",
}
V1_QUERIES = {
    "get_beatmaps": "b=2",
    "get_scores": "b=2",
    "get_user": "u={user}&type=id",
    "get_user_best": "u={user}&type=id",
    "get_user_recent": "u={user}&type=id",
    "get_replay": "s=1",
    "get_match": "mp={realtime}",
}


def fill(path: str, user: int, names: dict[str, str] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if names and name in names:
            return names[name]
        if name in ("user", "user_id", "id") and "user" in path:
            return str(user)
        return SEEDED.get(name, "1")

    return re.sub(r"\{([^}]+)\}", value, path)


async def seed_shapes(
    client: httpx.AsyncClient, app: Starlette, user: int, token: str
) -> tuple[dict[str, dict[str, str]], dict[str, Any]]:
    """More objects than `seed` makes, so every route declaring a shape answers with success:
    rooms (a playlist with a play, one to close, a realtime one with a game), a replay, a team,
    a pack, a tag, a spotlight and the operator's content files. Returns the path names per route
    ("METHOD /path" or "/path") and the values `BODIES` refer to."""
    svc = services(app)
    db = svc.db
    headers = {"Authorization": f"Bearer {token}"}
    write_content(svc.settings.data_dir / "content")
    friend = await create_user(app, "contractfriend")
    blocked = await create_user(app, "contractblocked")
    leader = await create_user(app, "contractleader")
    team = await teams.create(svc, leader, {"name": "Contract team", "short_name": "CT"})
    await packs.add_set(db, await packs.create(db, "S1", "Starter", "op", 0), 1)
    await feedback.add_tag(db, "style/jumps", "Jumps", 0)
    now = utcnow()
    await spotlights_db.create(
        db, name="Contract", type="monthly", start=now, end=now, mode_specific=True
    )
    body = BODIES["POST /api/v2/rooms"]
    rooms: list[dict[str, Any]] = []
    for _ in range(2):
        created = await client.post("/api/v2/rooms", json=body, headers=headers)
        assert created.status_code == 200, created.text
        rooms.append(created.json())
    room, closing = rooms
    item = room["playlist"][0]["id"]
    scores = f"/api/v2/rooms/{room['id']}/playlist/{item}/scores"
    tokens = []
    for _ in range(2):
        created = await client.post(scores, json={"ruleset_id": 0}, headers=headers)
        assert created.status_code == 200, created.text
        tokens.append(created.json()["id"])
    # The map `seed` imported, as the score material knows it.
    osu = (await client.get("/osu/2")).content
    beatmap = scores_support.Map(2, 0, osu, hashlib.md5(osu).hexdigest())
    play = scores_support.body(beatmap, misses=2)
    played = await client.put(f"{scores}/{tokens[0]}", json=play, headers=headers)
    assert played.status_code == 200, played.text
    # The seeded score gets its replay, and a realtime game with it (events, API v1 match).
    score = await scores_db.get_score(db, 1)
    assert score is not None
    await v1_support.store_replay(app, score, "peppy")
    realtime, _ = await v1_support.realtime_room(app, user, beatmap, [score])
    room_names = {"room": str(room["id"]), "item": str(item)}
    # The PM channel `seed` opened, and a public channel to join.
    pen_pal = await users_db.find_by_username(db, "fuzzfriend")
    assert pen_pal is not None
    pm = await chat_db.find_pm(db, user, int(pen_pal["id"]))
    assert pm is not None
    pm_channel = {"channel": str(pm["id"])}
    public = await chat_db.find_channel(db, "#osu", "PUBLIC")
    assert public is not None
    # Comments: one to read and edit, one to delete, and another player's to vote on.
    comment_ids = []
    for author in (user, user, friend):
        row = await users_db.get_user(db, author)
        assert row is not None
        comment_ids.append(
            await posting.post(
                svc,
                row,
                commentable_type="beatmapset",
                commentable_id=1,
                parent_id=None,
                message="seeded",
            )
        )
    # Two OAuth applications of the player's: one to edit and reset, one to delete.
    clients = [
        await oauth_db.create_client(
            db, user_id=user, name=f"Seeded {n}", secret_hash="0" * 64, redirect="https://e.x/cb"
        )
        for n in range(2)
    ]
    admin_names = await seed_moderation(client, app, user, beatmap)
    names = {
        **admin_names,
        "/api/private/oauth-clients/{client}": {"client": str(clients[0])},
        "/api/private/oauth-clients/{client}/reset-secret": {"client": str(clients[0])},
        "DELETE /api/private/oauth-clients/{client}": {"client": str(clients[1])},
        "/api/v2/comments/{comment}": {"comment": str(comment_ids[0])},
        "DELETE /api/v2/comments/{comment}": {"comment": str(comment_ids[1])},
        "/api/v2/comments/{comment}/vote": {"comment": str(comment_ids[2])},
        "/api/v2/chat/channels/{channel}": pm_channel,
        "/api/v2/chat/channels/{channel}/messages": pm_channel,
        "PUT /api/v2/chat/channels/{channel}/users/{user}": {"channel": str(public["id"])},
        "/api/v2/beatmaps/packs/{pack}": {"pack": "S1"},
        "/api/v2/changelog/{changelog}": {"changelog": "2026.1201.0"},
        "/api/v2/changelog/{stream}/{build}": {"stream": "hitcircle", "build": "2026.1201.0"},
        "/api/v2/news/{news}": {"news": "2026-01-10-first-light"},
        "/api/v2/rankings/{mode}/{type}": {"type": "performance"},
        "/api/v2/teams/{team}": {"team": str(team)},
        "/api/v2/users/{user}/beatmapsets/{type}": {"type": "most_played"},
        "/api/v2/users/{user}/scores/{type}": {"type": "best"},
        "/api/v2/wiki/{locale}": {"locale": "en"},
        "/api/v2/wiki/{locale}/{path}": {"locale": "en", "path": "People"},
        "/api/v2/rooms/{room}": room_names,
        "DELETE /api/v2/rooms/{room}": {"room": str(closing["id"])},
        "/api/v2/rooms/{room}/events": {"room": str(realtime)},
        "/api/v2/rooms/{room}/leaderboard": room_names,
        "/api/v2/rooms/{room}/playlist/{item}/scores": room_names,
        "/api/v2/rooms/{room}/playlist/{item}/scores/users/{user}": room_names,
        "/api/v2/rooms/{room}/playlist/{item}/scores/{score}": {
            **room_names,
            "score": str(played.json()["id"]),
        },
        "/api/v2/rooms/{room}/playlist/{item}/scores/{token}": {
            **room_names,
            "token": str(tokens[1]),
        },
        "/api/v2/rooms/{room}/users/{user}": room_names,
    }
    # A third-party application with a known secret, for the client-credentials grant.
    app_client = await oauth_db.create_client(
        db, user_id=friend, name="Walk bot", secret_hash=sha256_hex(WALK_SECRET), redirect=""
    )
    return names, {
        "friend": friend,
        "blocked": blocked,
        "play": play,
        "realtime": realtime,
        "app_client": app_client,
    }


async def seed_moderation(
    client: httpx.AsyncClient,
    app: Starlette,
    user: int,
    beatmap: scores_support.Map,
) -> dict[str, dict[str, str]]:
    """A player of their own for each admin action on a player (one already silenced, one
    restricted, one in a group, one with a badge), a score to delete and two reports to close;
    returns their path names."""
    svc = services(app)
    admin = "/api/private/admin"
    names: dict[str, dict[str, str]] = {}
    actions = (
        "silence",
        "unsilence",
        "restrict",
        "unrestrict",
        "ban",
        "rename",
        "groups",
        "groups/{group}",
        "badges",
        "badges/{badge}",
        "supporter",
        "wipe-scores",
    )
    for number, action in enumerate(actions):
        target = await create_user(app, f"walktarget{number}")
        row = await users_db.get_user(svc.db, target)
        assert row is not None
        extra: dict[str, str] = {}
        if action == "unsilence":
            await sanctions.silence(svc, OPERATOR, row, 3600, "seeded")
        elif action == "unrestrict":
            await sanctions.restrict(svc, OPERATOR, row, "seeded")
        elif action == "groups/{group}":
            await identity.add_to_group(svc, OPERATOR, row, "gmt")
            extra = {"group": "gmt"}
        elif action == "badges/{badge}":
            entry = await recognition.add_badge(
                svc, OPERATOR, row, description="Seeded", image_url="https://e.x/b.png"
            )
            extra = {"badge": str(entry["details"]["badge_id"])}
        names[f"{admin}/users/{{user}}/{action}"] = {"user": str(target), **extra}
    # Another player's score to delete (one's own is refused; `seed`'s is read later).
    scorer = await create_user(app, "walkscorer")
    submitted = await scores_support.submit(
        client, await issue_token(app, scorer, ["*"]), beatmap, scores_support.body(beatmap)
    )
    assert submitted.status_code == 200, submitted.text
    names[f"{admin}/scores/{{score}}"] = {"score": str(submitted.json()["id"])}
    reporter = await create_user(app, "walkreporter")
    for close in ("resolve", "dismiss"):
        report = await reports_db.insert_report(
            svc.db,
            reporter_id=reporter,
            user_id=user,
            reportable_type="user",
            reportable_id=user,
            reason="Spam",
            comments="seeded",
        )
        names[f"{admin}/reports/{{report}}/{close}"] = {"report": str(report)}
    return names


def body_of(key: str, values: dict[str, Any]) -> Any:
    """`BODIES[key]` with its "{name}" strings replaced by the seeded values."""

    def resolve(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return values[value[1:-1]]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return resolve(BODIES[key]) if key in BODIES else None


def undocumented(doc: dict[str, Any], method: str, path: str, response: httpx.Response) -> str:
    """Why a live answer of `method path` (the document's path) differs from the document:
    its status, content type or JSON body; "" when it matches. For tests elsewhere that drive a
    route the walk below cannot bring to success."""
    op = doc["paths"][path][method.lower()]
    declared = op["responses"].get(str(response.status_code))
    if declared is None:
        return f"{method} {path}: {response.status_code} not declared"
    content = declared.get("content")
    if not content or not response.content:
        return ""
    kind = response.headers.get("content-type", "").split(";")[0]
    if kind not in content:
        return f"{method} {path}: {kind} not in {list(content)}"
    schema = content[kind].get("schema")
    if kind == "application/json" and schema:
        errors = list(validator(doc, schema).iter_errors(response.json()))
        if errors:
            return f"{method} {path}: {errors[0].message[:200]}"
    return ""


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    # The document is the root, so `#/components/schemas/...` references resolve.
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


@pytest.mark.parametrize("settings_overrides", [LIVE_SETTINGS])
async def test_live_answers_match_the_document(
    app: Starlette, user: int, make_token: Callable[..., Awaitable[str]]
) -> None:
    """Every GET route on seeded data, with a lazer token: the status is one the document lists,
    the content type is the declared one, and a JSON body validates against the declared schema.
    Other methods send their `BODIES` entry (none: a refusal, mostly, which must be listed too).
    Paths name the objects `seed` and `seed_shapes` made."""
    doc = openapi.build(app)
    failures: list[str] = []
    # The routes whose success answer validated against a named shape.
    shapes: set[str] = set()
    made_keys: list[int] = []
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await seed(client, app, user, await make_token(user))
        names, values = await seed_shapes(client, app, user, await make_token(user))
        for path, item in sorted(doc["paths"].items()):
            for method, op in sorted(item.items(), key=lambda kv: kv[0] != "get"):
                if path.startswith("/api/v2/oauth/tokens") or path in ("/logout",):
                    continue  # would end the session the next requests use
                token = await make_token(user)
                key = f"{method.upper()} {path}"
                url = fill(path, user, names.get(key) or names.get(path))
                query = QUERIES.get(path, "")
                if path.startswith(("/api/get_", "/api/v1/")):
                    # A fresh key: an earlier route may have deleted the last one.
                    key_id, key = await users_db.create_api_key(services(app).db, user, "docs")
                    made_keys.append(key_id)
                    query = f"k={key}&" + V1_QUERIES.get(path.rsplit("/", 1)[1], "")
                if query:
                    url += "?" + query.format(user=user, **values)
                response = await client.request(
                    method.upper(),
                    url,
                    json=body_of(key, values),
                    headers={"Authorization": f"Bearer {token}", "x-api-version": "20240529"},
                )
                status = str(response.status_code)
                # A player holds a few keys at most: the walk's own go once used.
                for key_id in made_keys:
                    await users_db.delete_api_key(services(app).db, user, key_id)
                made_keys.clear()

                if response.status_code >= 500:
                    failures.append(f"{method} {url}: {status}")
                    continue
                declared = op["responses"].get(status)
                if declared is None:
                    failures.append(f"{method} {path}: {status} not declared")
                    continue
                content = declared.get("content")
                if not content or not response.content:
                    continue
                kind = response.headers.get("content-type", "").split(";")[0]
                if kind not in content:
                    failures.append(f"{method} {path}: {status} {kind} not in {list(content)}")
                    continue
                schema = content[kind].get("schema")
                if kind == "application/json" and schema:
                    errors = list(validator(doc, schema).iter_errors(response.json()))
                    if errors:
                        failures.append(f"{method} {path}: {errors[0].message[:200]}")
                    elif response.is_success and "$ref" in schema:
                        shapes.add(f"{method} {path}")
    assert not failures, f"{len(failures)} answers differ from the document:\n" + "\n".join(
        failures
    )
    # Every route declaring a shape was reached with success on the seeded data and checked.
    declared = {
        f"{method} {path}"
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if any(
            "$ref" in entry.get("schema", {})
            for status, response in op["responses"].items()
            if status.startswith("2")
            for entry in response.get("content", {}).values()
        )
    }
    # Scores by their stable (legacy) id: the seeded score, submitted by lazer, has none.
    # The mailed-key routes answer 200 only with mail and a key from it:
    # tests/plugins/account_security checks their answers against the document (`undocumented`).
    unseeded = {
        "post /api/private/password-reset",
        "post /api/private/password-reset/complete",
        "post /api/private/email/verify",
        "post /api/private/email/verify/resend",
        # Team management needs several players taking turns (tests/plugins/private/
        # test_teams.py::test_team_answers_match_the_document checks these against the document).
        "post /api/private/teams",
        "patch /api/private/teams/{team}",
        "put /api/private/teams/{team}",
        "post /api/private/teams/{team}/invites",
        "post /api/private/teams/{team}/leader",
        "put /api/private/teams/{team}/leader",
        "get /api/v2/scores/{ruleset}/{score}",
        "post /api/v2/session/verify/mail-fallback",
        "post /api/v2/session/verify/reissue",
    }
    assert declared - shapes == unseeded, "declared shapes never checked"
    assert len(shapes) >= 15


@pytest.mark.parametrize("settings_overrides", [NO_LIMITS])
async def test_every_ranking_type_matches_the_rankings_shape(
    app: Starlette, user: int, make_token: Callable[..., Awaitable[str]]
) -> None:
    """`GET rankings/{mode}/{type}` lists other entries per type (the live check reaches only
    `performance`): users' statistics, countries, teams, a spotlight's chart."""
    doc = openapi.build(app)
    op = doc["paths"]["/api/v2/rankings/{mode}/{type}"]["get"]
    check = validator(doc, op["responses"]["200"]["content"]["application/json"]["schema"])
    token = await make_token(user)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await seed(client, app, user, token)
        svc = services(app)
        await teams.create(svc, user, {"name": "Ranked team", "short_name": "RT"})
        now = utcnow()
        spotlight = await spotlights_db.create(
            svc.db,
            name="Now",
            type="monthly",
            start=now - dt.timedelta(days=1),
            end=now + dt.timedelta(days=1),
            mode_specific=False,
        )
        await spotlights_db.add_set(svc.db, spotlight, 1)
        for kind in ("performance", "score", "country", "team", "charts"):
            response = await client.get(
                f"/api/v2/rankings/osu/{kind}", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 200, (kind, response.text)
            body = response.json()
            assert body["ranking"], kind
            errors = [e.message for e in check.iter_errors(body)]
            assert not errors, (kind, errors[:3])


# --- what the contract run (schemathesis) found --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        # Digits Python's `str.isdigit` accepts and `int` refuses (superscripts, circled and
        # parenthesized digits) passed the id checks and raised ValueError: 500.
        ("/api/v2/rooms/%E2%91%B9/events", 404),
        ("/api/v2/users/%C2%B2", 404),
        ("/scores/0%C2%B9/download", 404),
        ("/users/%C2%B2", 404),
    ],
)
async def test_unicode_digits_that_gave_500s(
    client: httpx.AsyncClient, token: str, path: str, status: int
) -> None:
    response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status, response.text


async def test_unicode_digits_in_user_ids_name_nobody(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.get(
        "/api/v2/users?ids[]=%C2%B2&ids[]=__main__", headers={"Authorization": f"Bearer {token}"}
    )
    assert (response.status_code, response.json()) == (200, {"users": []})


async def test_an_oversized_verification_key_is_refused_on_a_verified_session(
    client: httpx.AsyncClient, token: str
) -> None:
    """It was answered 204 unread (nothing waited for a key), so malformed input passed."""
    response = await client.post(
        "/api/v2/session/verify",
        data={"verification_key": "0" * 65},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    response = await client.post(
        "/api/v2/session/verify",
        data={"verification_key": "00000000"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 204


@pytest.mark.parametrize(
    ("path", "body"),
    [("/api/v2/session/verify", b"[null, null]"), ("/api/private/api-keys", b"0")],
)
async def test_a_json_body_that_is_not_an_object_changes_nothing(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, path: str, body: bytes
) -> None:
    """The contract run's negative-data check: these passed as "nothing given" (a 204, and a new
    API key with the default name)."""
    response = await client.post(
        path,
        content=body,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert await users_db.list_api_keys(services(app).db, user) == []


async def test_a_text_route_documents_its_text_refusal(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    """The contract run: `/osu/{beatmap}` refuses with empty text/plain, and the document
    listed only JSON for its errors."""
    response = await client.get("/osu/0", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    kind = response.headers["content-type"].split(";")[0]
    listed = openapi.build(app)["paths"]["/osu/{beatmap}"]["get"]["responses"]["404"]["content"]
    assert kind == "text/plain" and kind in listed


def test_parameters_read_by_core_helpers_are_documented(tmp_path: Path) -> None:
    """The admin API reads its input through core.moderation.inputs (`inputs.reason(p)`,
    `inputs.text(p, "ruleset", max_length=16)`): those fields are in the document too."""
    doc = openapi.build(all_plugins_app(tmp_path))

    def body(path: str) -> dict[str, Any]:
        content = doc["paths"][path]["post"]["requestBody"]["content"]
        return dict(content["application/x-www-form-urlencoded"]["schema"]["properties"])

    admin = "/api/private/admin/users/{user}"
    assert {"duration", "reason"} <= set(body(f"{admin}/silence"))
    assert body(f"{admin}/wipe-scores")["ruleset"] == {"type": "string", "maxLength": 16}
    assert {"group", "reason"} <= set(body(f"{admin}/groups"))
    assert "supporter" in body(f"{admin}/supporter")


async def test_an_overlong_query_alias_is_refused_beside_q(
    client: httpx.AsyncClient, token: str
) -> None:
    """The contract run: `query` was read only without `q`, so an overlong one passed."""
    from core.beatmaps.search import MAX_QUERY

    response = await client.get(
        "/api/v2/beatmapsets/search",
        params={"q": "a", "query": "x" * (MAX_QUERY + 1)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
