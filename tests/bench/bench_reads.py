"""The authenticated reads lazer makes most, and /health, against bare Starlette, on one backend.

    python -m tests.bench.bench_reads [--seconds 3] [--connections 32] [--rounds 1]
                                      [--mysql mysql://root@127.0.0.1:3306/hcbench]
                                      [--redis redis://127.0.0.1:6379/9] [--paths me,users,...]

A fresh database (SQLite under a temporary directory, or the MariaDB database given, emptied
first) gets a ranked map, a player with a submitted score and a playlist room. `hitcircle serve`
(one worker; the memory cache, or Redis with `--redis`) answers each path with the player's lazer
token; the baseline is a bare Starlette app on hypercorn returning the bytes the host answered
for that path, measured in the same run, rounds alternating. Prints req/s and the ratio per path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODIES = "HITCIRCLE_BENCH_BODIES"
# The goal of issue "hot paths": at least this share of bare Starlette.
GOALS = {"health": 0.7}
DEFAULT_GOAL = 0.5


def _bodies() -> dict[str, bytes]:
    if BODIES not in os.environ:
        return {}
    raw = json.loads(Path(os.environ[BODIES]).read_text())
    return {path: bytes.fromhex(body) for path, body in raw.items()}


async def bare_endpoint(request: Request) -> Response:
    """The recorded answer of this path, as the host gave it."""
    key = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Response(bare.state.bodies.get(key, b"{}"), media_type="application/json")


bare = Starlette(routes=[Route("/{path:path}", bare_endpoint)])
bare.state.bodies = _bodies()


async def forget_redis(url: str) -> None:
    """Drop an earlier run's keys (the `hcbench:` prefix)."""
    import coredis

    client: coredis.Redis[bytes] = coredis.Redis.from_url(url)
    try:
        keys: list[str | bytes] = [k async for k in client.scan_iter(match="hcbench:*")]
        if keys:
            await client.delete(keys)
    finally:
        client.connection_pool.disconnect()


async def prepare(data_dir: str, database: str, redis: str) -> dict[str, Any]:
    """Seed the world; returns the served app's environment and the paths to read."""
    from core import migrate
    from core.app import create_app
    from core.config import settings_from
    from tests.bench.bench_scores import reset_mysql
    from tests.conftest import create_user, issue_token, running
    from tests.scores import support

    if database:
        reset_mysql(database)
    if redis:
        await forget_redis(redis)
    raw: dict[str, dict[str, Any]] = {"data": {"dir": data_dir}, "log": {"level": "WARNING"}}
    if database:
        raw["database"] = {"url": database}
    if redis:
        raw["redis"] = {"url": redis, "prefix": "hcbench:"}
    settings = settings_from(raw, {})
    migrate.upgrade(settings)
    app = create_app(settings)
    async with running(app):
        beatmap = await support.import_map(app, 0)
        user = await create_user(app, "reader")
        token = await issue_token(app, user, ("*",))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            submitted = await support.submit(client, token, beatmap, support.body(beatmap))
            assert submitted.status_code == 200, submitted.text
            room = await client.post(
                "/api/v2/rooms",
                json={
                    "name": "bench room",
                    "duration": 60,
                    "playlist": [{"beatmap_id": beatmap.id, "ruleset_id": 0}],
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            assert room.status_code == 200, room.text
    env = {
        "HITCIRCLE_CONFIG": "none",
        "HITCIRCLE_DATA_DIR": data_dir,
        "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
        "HITCIRCLE_LOG_LEVEL": "WARNING",
        "HITCIRCLE_SERVER_WORKERS": "1",
    }
    if database:
        env["HITCIRCLE_DATABASE_URL"] = database
    if redis:
        env |= {"HITCIRCLE_REDIS_URL": redis, "HITCIRCLE_REDIS_PREFIX": "hcbench:"}
    paths = {
        "me": "/api/v2/me/",
        "users": f"/api/v2/users/{user}",
        "lookup": f"/api/v2/beatmaps/lookup?checksum={beatmap.checksum}",
        "scores": f"/api/v2/beatmaps/{beatmap.id}/scores",
        "rooms": "/api/v2/rooms",
        "health": "/health",
    }
    return {"env": env, "token": token, "paths": paths}


def run(
    seconds: float,
    connections: int,
    rounds: int,
    database: str = "",
    redis: str = "",
    only: list[str] | None = None,
) -> dict[str, dict[str, float]]:
    """{name: {"bare": req/s, "host": req/s, "ratio": host/bare, "goal": goal}}."""
    from tests.bench.loadgen import free_port, measure, serve_app, serve_hitcircle, wait_until_up

    with tempfile.TemporaryDirectory() as data:
        world = asyncio.run(prepare(data, database, redis))
        headers = {"Authorization": f"Bearer {world['token']}", "x-api-version": "20250101"}
        paths: dict[str, str] = {k: v for k, v in world["paths"].items() if not only or k in only}
        with serve_hitcircle(free_port(), world["env"]) as host:
            wait_until_up(host + "/health")
            recorded = {}
            for path in paths.values():
                answer = httpx.get(host + path, headers=headers)
                answer.raise_for_status()
                recorded[path] = answer.content.hex()
            bodies = Path(data) / "bodies.json"
            bodies.write_text(json.dumps(recorded))
            with serve_app(
                "tests.bench.bench_reads:bare", free_port(), {BODIES: str(bodies)}
            ) as base:
                wait_until_up(base + "/health")
                results: dict[str, dict[str, float]] = {}
                for name, path in paths.items():
                    totals = {"bare": 0.0, "host": 0.0}
                    for _ in range(rounds):
                        for side, url in (("bare", base), ("host", host)):
                            got = measure(url + path, seconds, connections, headers)
                            bad = {s: n for s, n in got["statuses"].items() if s != "200"}
                            if bad:
                                raise SystemExit(f"{side} {path}: non-200 answers {bad}")
                            totals[side] += got["rps"] / rounds
                    results[name] = {
                        **totals,
                        "ratio": totals["host"] / totals["bare"],
                        "goal": GOALS.get(name, DEFAULT_GOAL),
                    }
    return results


def print_table(backend: str, results: dict[str, dict[str, float]]) -> None:
    for name, row in results.items():
        mark = "ok" if row["ratio"] >= row["goal"] else "BELOW"
        print(
            f"{backend:12s} {name:8s} host {row['host']:8.0f} req/s  bare {row['bare']:8.0f} "
            f"req/s  ratio {row['ratio']:6.3f}  goal {row['goal']:.2f}  {mark}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--mysql", default="", help="a MariaDB database to empty and use")
    parser.add_argument("--redis", default="", help="use this Redis instead of the memory cache")
    parser.add_argument("--paths", default="", help="comma-separated: me,users,lookup,...")
    args = parser.parse_args()
    only = [p for p in args.paths.split(",") if p]
    results = run(args.seconds, args.connections, args.rounds, args.mysql, args.redis, only)
    print_table("mysql+redis" if args.mysql else "embedded", results)


if __name__ == "__main__":
    main()
