"""Requests/s of `GET /api/v2/users/{id}` (warm cache, bearer token) against bare Starlette.

    python -m tests.bench.bench_users [--seconds 5] [--connections 16] [--rounds 2]
                                      [--redis redis://127.0.0.1:6379/15]

The host runs `core.asgi:app` (every plugin, the embedded SQLite database, the memory cache or
Redis) under hypercorn with one worker; each request is authenticated (JWT signature, token row
and user row from the cache) and answered from the cached profile bytes. The baseline is a bare
Starlette app returning the same bytes, also under hypercorn, measured in the same run with
alternating rounds. Target: at least 50% of the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY_FILE = os.environ.get("HITCIRCLE_BENCH_BODY", "")


async def bare_endpoint(request: Request) -> Response:
    return Response(request.app.state.body, media_type="application/json")


bare = Starlette(routes=[Route("/api/v2/users/{user}", bare_endpoint)])
bare.state.body = Path(BODY_FILE).read_bytes() if BODY_FILE else b"{}"


def _env(data: str, redis: str) -> dict[str, str]:
    return {
        "HITCIRCLE_CONFIG": "none",
        "HITCIRCLE_DATA_DIR": data,
        "HITCIRCLE_REDIS_URL": redis,
        "HITCIRCLE_REDIS_PREFIX": "hcbench:",
        "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
        "HITCIRCLE_LOG_LEVEL": "WARNING",
    }


async def _prepare(env: dict[str, str]) -> tuple[int, str]:
    """A user and a `*` token in a fresh database; returns (user id, token)."""
    from core.app import standalone
    from core.auth import hash_password, issue_access_token
    from core.auth import store as oauth_db
    from core.config import load_settings
    from core.services import services
    from core.users import store as users_db

    settings = load_settings(env=env)
    async with standalone(settings) as app:
        state = services(app)
        user_id = await users_db.insert_user(
            state.db,
            username="peppy",
            password_hash=await hash_password("password123", 4),
            email="peppy@example.com",
            country_code="AU",
        )
        await oauth_db.ensure_builtin_client(state.db, 5, "osu!lazer")
        token, _ = await issue_access_token(state, user_id=user_id, client_id=5, scopes=["*"])
    return user_id, token


def main() -> None:
    from tests.bench.loadgen import free_port, measure, serve_app, wait_until_up

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis", default="", help="use this Redis instead of the memory cache")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        env = _env(data, args.redis)
        user_id, token = asyncio.run(_prepare({**os.environ, **env}))
        headers = {"Authorization": f"Bearer {token}", "x-api-version": "20260821"}
        host_port, bare_port = free_port(), free_port()
        with serve_app("core.asgi:app", host_port, env) as host_url:
            path = f"/api/v2/users/{user_id}"
            wait_until_up(f"{host_url}/health")
            warm = httpx.get(host_url + path, headers=headers)
            warm.raise_for_status()
            body_file = Path(data) / "body.json"
            # The baseline serves exactly what the host answers this viewer.
            body_file.write_bytes(warm.content)
            with serve_app(
                "tests.bench.bench_users:bare", bare_port, {"HITCIRCLE_BENCH_BODY": str(body_file)}
            ) as bare_url:
                wait_until_up(bare_url + path)
                assert httpx.get(bare_url + path).content == warm.content
                totals = {"bare": 0.0, "host": 0.0}
                for round_no in range(1, args.rounds + 1):
                    for name, url in (("bare", bare_url), ("host", host_url)):
                        result = measure(url + path, args.seconds, args.connections, headers)
                        bad = {s: n for s, n in result["statuses"].items() if s != "200"}
                        if bad:
                            raise SystemExit(f"{name} answered non-200 statuses: {bad}")
                        totals[name] += result["rps"]
                        print(f"round {round_no} {name:5s} {result['rps']:9.0f} req/s")
    bare_rps, host_rps = totals["bare"] / args.rounds, totals["host"] / args.rounds
    print(f"cache            {'redis' if args.redis else 'memory'}")
    print(f"bare starlette   {bare_rps:9.0f} req/s")
    print(f"GET users/{{id}}  {host_rps:9.0f} req/s")
    print(f"ratio host/bare  {host_rps / bare_rps:9.2%}  (target >= 50%)")


if __name__ == "__main__":
    main()
