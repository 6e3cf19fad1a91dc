"""Pages/s of the web site's home, profile and beatmapset pages against bare Starlette rendering
the same template with the same values.

    python -m tests.bench.bench_web [--seconds 3] [--concurrency 8]

Both apps run in this process and are called through httpx's ASGI transport, one after the
other, so the figures compare the work per page (the host: session lookup, the data queries on
the embedded SQLite database and the memory cache, rendering) with rendering alone (the bare
app answers the values the host rendered, captured from its first answer).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

import httpx
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from plugins.web import render

CAPTURED: dict[str, tuple[str, dict[str, Any]]] = {}


def _capture() -> None:
    """Record each page's template and values as the host renders them (for the bare app)."""
    original = jinja2.Template.render_async

    async def recording(self: jinja2.Template, *args: Any, **kwargs: Any) -> str:
        values = dict(*args, **kwargs)
        CAPTURED.setdefault(values["path"], (str(self.name), values))
        return await original(self, values)

    jinja2.Template.render_async = recording  # type: ignore[method-assign]
    _capture.original = original  # type: ignore[attr-defined]


def _release() -> None:
    jinja2.Template.render_async = _capture.original  # type: ignore[attr-defined,method-assign]


async def bare_page(request: Request) -> Response:
    name, values = CAPTURED[request.url.path]
    body = await render.environment().get_template(name).render_async(values)
    return HTMLResponse(body)


bare = Starlette(routes=[Route("/{path:path}", bare_page)])


async def _seed(app: Starlette) -> tuple[int, int]:
    from core.testing import create_user, issue_token
    from tests.scores import support as scores_support

    user_id = await create_user(app, "benchplayer")
    beatmap = await scores_support.import_map(app, 0)
    token = await issue_token(app, user_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for misses in range(3):
            body = scores_support.body(beatmap, misses=misses)
            response = await scores_support.submit(client, token, beatmap, body)
            response.raise_for_status()
    return user_id, 7000


async def _signed_in(app: Starlette) -> httpx.Cookies:
    """The session cookie of `benchplayer` signed in through the login form."""
    import re

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        form = await client.get("/login")
        found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert found
        data = {"csrf_token": found.group(1), "username": "benchplayer", "password": "password123"}
        signed = await client.post("/login", data=data)
        assert signed.status_code == 303, signed.text
        return client.cookies


async def _rate(
    app: Any, path: str, seconds: float, concurrency: int, cookies: httpx.Cookies | None = None
) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", cookies=cookies
    ) as client:
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.get(path)
                if response.status_code != 200:
                    raise SystemExit(f"{path}: {response.status_code}")
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - start)


async def run(seconds: float, concurrency: int) -> None:
    from core.app import create_app
    from core.config import load_settings
    from core.testing import running

    with tempfile.TemporaryDirectory() as data:
        env = {
            "HITCIRCLE_CONFIG": "none",
            "HITCIRCLE_DATA_DIR": data,
            "HITCIRCLE_RATELIMIT_ENABLED": "false",
            "HITCIRCLE_LOG_LEVEL": "WARNING",
            "HITCIRCLE_BEATMAPS_UPSTREAM_OSU_MIRRORS": "",
        }
        settings = load_settings(env=env)
        from core.migrate import upgrade

        upgrade(settings)
        app = create_app(settings)
        async with running(app):
            user_id, set_id = await _seed(app)
            paths = {
                "home": "/",
                "profile": f"/users/{user_id}",
                "beatmapset": f"/beatmapsets/{set_id}",
            }
            _capture()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for path in paths.values():
                    (await client.get(path)).raise_for_status()
            _release()
            cookies = await _signed_in(app)
            print(f"{'page':22s} {'host':>10s} {'bare':>10s} {'host/bare':>10s}")
            rows = [(name, path, None) for name, path in paths.items()]
            # Signed in, the profile is rendered for each request (no shared page).
            rows.append(("profile (signed in)", paths["profile"], cookies))
            for name, path, jar in rows:
                host = await _rate(app, path, seconds, concurrency, jar)
                baseline = await _rate(bare, path, seconds, concurrency)
                print(f"{name:22s} {host:8.0f}/s {baseline:8.0f}/s {host / baseline:10.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
