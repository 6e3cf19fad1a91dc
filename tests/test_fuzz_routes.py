"""Hostile input on every route: no 5xx, ever.

Every HTTP route every enabled plugin mounts is called with hostile values in its path
parameters, in the query parameters and body fields the handlers read (their names are taken
from the plugins' source, so a new parameter is fuzzed without touching this file), and in JSON
and form bodies; with a real token and without one. The values are the ones that broke the
server before: integers past 64 bits, negative and non-numeric ids, unicode, very long strings,
JSON of the wrong type and malformed cursors. A seeded generator keeps the run deterministic and
bounded (a few thousand requests per backend).
"""

from __future__ import annotations

import base64
import inspect
import os
import random
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from core.http import INT64_MAX, encode_cursor
from core.moderation import store as moderation_db
from core.services import services
from core.testing import create_user
from core.users import store as users_db
from tests.scores import support as scores_support

ROOT = Path(__file__).resolve().parent.parent

# Run with every built-in plugin, without the network (no upstream mirror) and without the rate
# limiter (it would answer 429 before the handlers see the input).
FUZZ_SETTINGS = {
    "ratelimit": {"enabled": False},
    "beatmaps_upstream": {"osu_mirrors": []},
}

PATH_VALUES = [
    str(INT64_MAX + 1),
    str(INT64_MAX),
    "18446744073709551616",
    "9" * 400,
    "0",
    "-1",
    "-9223372036854775809",
    "abc",
    "1.5",
    "1e400",
    "@",
    "%F0%9F%98%80",
    "%00",
    "x" * 3000,
    "latest",
]

TEXT_VALUES = [
    str(INT64_MAX + 1),
    str(-(2**63) - 1),
    "18446744073709551616",
    "9" * 400,
    "-1",
    "0",
    "abc",
    "1.5",
    "1e400",
    "NaN",
    "true",
    "\U0001f600",
    "\x00",
    "x" * 5000,
    "[]",
    "{}",
    "osu",
    base64.urlsafe_b64encode(b'{"id": 9223372036854775808}').rstrip(b"=").decode(),
    encode_cursor({"id": "abc", "score": [1], "page": {"a": 1}}) or "",
    encode_cursor({"id": -1, "pp": 1e308, "page": -5}) or "",
    "!!!not-base64!!!",
]

JSON_VALUES: list[Any] = [
    2**63,
    2**64 - 1,
    INT64_MAX,
    -(2**63),
    -1,
    0,
    1.5,
    1e308,
    -1e308,
    None,
    True,
    False,
    "",
    "abc",
    "9" * 30,
    "\U0001f600",
    "x" * 5000,
    [],
    [1, 2],
    [INT64_MAX, -1],
    {},
    {"id": INT64_MAX},
    [{"id": "x"}],
]


NAME = re.compile(
    r"""(?:\.(?:int|str|list|bool|get|dict|pop)|_int|_str|_bool|_list)\(\s*(?:body,\s*)?"""
    r"""["']([A-Za-z_][A-Za-z0-9_\[\]]{0,40})["']"""
    r"""|\[["']([a-z_][a-z0-9_]{1,40})["']\]"""
)


def names_in(path: Path) -> list[str]:
    """Parameter names a module reads: `p.int("limit")`, `body.get("target_id")`, ..."""
    return sorted({m.group(1) or m.group(2) for m in NAME.finditer(path.read_text())})


def parameter_names() -> list[str]:
    """Every name read anywhere in the plugins and the core."""
    found: set[str] = set()
    for path in [*(ROOT / "plugins").rglob("*.py"), *(ROOT / "core").rglob("*.py")]:
        found.update(names_in(path))
    return sorted(found)


def handler_module(route: Route) -> Path | None:
    """The file of the plugin function behind a route (`api_route` wraps it in a closure)."""
    endpoint: Any = route.endpoint
    for cell in getattr(endpoint, "__closure__", None) or ():
        inner = cell.cell_contents
        if inspect.isfunction(inner) and inner.__module__.startswith("plugins."):
            endpoint = inner
    source = inspect.getsourcefile(endpoint)
    return Path(source) if source else None


def http_routes(app: Starlette) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path template, path parameter names, names its module reads) of every route."""
    found = []
    for route in app.router.routes:
        if not isinstance(route, Route) or not route.methods:
            continue
        module = handler_module(route)
        local = names_in(module) if module else []
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path, list(route.param_convertors), local))
    return found


def pick(local: list[str], names: list[str], count: int, rng: random.Random) -> list[str]:
    """Mostly names the route's own module reads, some from anywhere."""
    mine = rng.sample(local, min(len(local), count - 2))
    return [*mine, *rng.sample(names, count - len(mine))]


def fill(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], template)


def requests_for(
    method: str,
    template: str,
    path_names: list[str],
    local: list[str],
    names: list[str],
    rng: random.Random,
) -> Iterator[dict[str, Any]]:
    """The hostile requests for one route: path values first, then query and body fields."""
    base = dict.fromkeys(path_names, "1")
    for name in path_names:
        for value in PATH_VALUES:
            yield {"path": fill(template, {**base, name: value})}
    for _ in range(12):
        path = fill(template, {n: rng.choice(["1", "2", *PATH_VALUES[:4]]) for n in path_names})
        picked = pick(local, names, 6, rng)
        query = "&".join(f"{quote(n)}={quote(rng.choice(TEXT_VALUES))}" for n in picked)
        yield {"path": f"{path}?{query}"}
        if method == "GET":
            continue
        fields = {n: rng.choice(JSON_VALUES) for n in pick(local, names, 8, rng)}
        yield {"path": path, "json": fields}
        yield {"path": path, "json": rng.choice(JSON_VALUES)}
        form = {n: rng.choice(TEXT_VALUES) for n in pick(local, names, 6, rng)}
        yield {"path": path, "data": form}


async def seed(client: httpx.AsyncClient, app: Starlette, user: int, token: str) -> None:
    """Objects with small ids, so the handlers reached with ids 1 and 2 run past their lookups:
    beatmapset 1 / beatmap 2, a submitted score, a PM channel with a message."""
    beatmap = await scores_support.import_map(app, 0, set_id=1)
    submitted = await scores_support.submit(
        client, token, beatmap, scores_support.body(beatmap, misses=1)
    )
    assert submitted.status_code == 200, submitted.text
    other = await create_user(app, "fuzzfriend")
    pm = await client.post(
        "/api/v2/chat/new",
        data={"target_id": str(other), "message": "hi"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert pm.status_code == 200, pm.text
    # An admin, so the moderation routes parse their input instead of refusing the caller.
    admin = await moderation_db.group_by_identifier(services(app).db, "admin")
    assert admin is not None
    await moderation_db.add_member(services(app).db, user, int(admin["id"]))


@pytest.mark.parametrize("settings_overrides", [FUZZ_SETTINGS])
async def test_no_route_answers_5xx_to_hostile_input(
    app: Starlette, user: int, make_token: Callable[..., Awaitable[str]]
) -> None:
    db = services(app).db
    names = parameter_names()
    assert {"limit", "cursor_string", "target_id", "id"} <= set(names)
    routes = http_routes(app)
    assert len(routes) > 80
    failures: list[str] = []
    sent = 0
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await seed(client, app, user, await make_token(user))
        for index, (method, template, path_names, local) in enumerate(routes):
            rng = random.Random(index)
            # Fresh credentials per route: an earlier route may have revoked the token
            # (DELETE /api/v2/oauth/tokens/current) or deleted the API key.
            token = await make_token(user)
            _, key = await users_db.create_api_key(db, user, "fuzz")
            v1 = template.startswith(("/api/get_", "/api/v1/"))
            for number, request in enumerate(
                requests_for(method, template, path_names, local, names, rng)
            ):
                # Mostly with a token (the handlers run further), every third without one.
                signed = number % 3 != 2
                headers = {"Authorization": f"Bearer {token}"} if signed else {}
                path = request["path"]
                if v1 and signed:
                    path += ("&" if "?" in path else "?") + f"k={key}"
                response = await client.request(
                    method,
                    path,
                    json=request.get("json"),
                    data=request.get("data"),
                    headers=headers,
                )
                sent += 1
                if os.environ.get("HITCIRCLE_FUZZ_STATS"):
                    print("STAT", method, template, response.status_code)
                if response.status_code >= 500:
                    shown = {k: str(v)[:200] for k, v in request.items()}
                    failures.append(f"{method} {shown} -> {response.status_code}")
    assert sent > 2000
    assert not failures, f"{len(failures)} of {sent} requests got 5xx:\n" + "\n".join(failures[:60])


HUGE = str(INT64_MAX + 1)


@pytest.mark.parametrize(
    ("method", "path", "form", "signed", "status"),
    [
        ("GET", f"/osu/{HUGE}", None, False, 404),
        ("GET", f"/api/v2/chat/channels/{HUGE}", None, True, 404),
        ("GET", f"/api/v2/chat/channels/{HUGE}/messages", None, True, 404),
        ("GET", f"/api/v2/beatmaps/{HUGE}", None, True, 404),
        ("GET", f"/api/v2/beatmapsets/{HUGE}", None, True, 404),
        ("GET", f"/api/v2/beatmaps/lookup?id={HUGE}", None, True, 422),
        ("GET", f"/api/v2/beatmapsets/lookup?beatmap_id={HUGE}", None, True, 422),
        ("GET", f"/api/v2/chat/updates?since={HUGE}", None, True, 422),
        ("GET", f"/api/v2/users/{HUGE}", None, True, 404),
        ("POST", "/api/v2/chat/new", {"target_id": HUGE, "message": "hi"}, True, 422),
        ("POST", "/api/v2/chat/channels", {"type": "PM", "target_id": HUGE}, True, 422),
    ],
)
async def test_integers_past_64_bits_that_gave_500s(
    client: httpx.AsyncClient,
    token: str,
    method: str,
    path: str,
    form: dict[str, str] | None,
    signed: bool,
    status: int,
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if signed else {}
    response = await client.request(method, path, data=form, headers=headers)
    assert response.status_code == status, response.text
    assert "error" in response.json()


async def test_cursors_with_numbers_past_64_bits_start_over(
    client: httpx.AsyncClient, token: str
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v2/beatmapsets/search", "/api/v2/rooms", "/api/v2/users/1/scores/best"):
        base = await client.get(path, headers=headers)
        for raw in (
            f'{{"id": {HUGE}, "_id": {HUGE}, "page": {HUGE}}}',
            '{"id": -9223372036854775809, "score": 1000000000000000000000000000000}',
        ):
            cursor = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
            response = await client.get(f"{path}?cursor_string={cursor}", headers=headers)
            assert response.status_code == base.status_code, (path, response.text)
