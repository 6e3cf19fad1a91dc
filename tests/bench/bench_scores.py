"""Score submissions/s on MariaDB or the embedded SQLite (pp included), and leaderboard
requests/s against bare Starlette.

    python -m tests.bench.bench_scores [--mysql mysql://root@127.0.0.1:3306/bench_scores]
        [--redis redis://127.0.0.1:6379/5] [--sqlite] [--submissions 200] [--concurrency 16]
        [--seconds 5] [--connections 16] [--rounds 2]

A fresh MariaDB schema (with --sqlite: the embedded default, an SQLite file and the memory
cache) gets 10 ranked osu! maps and 8 players; `hitcircle serve` (hypercorn, one worker) takes
the lazer flow (multipart token request, then the JSON PUT;
validation, rosu-pp-py pp in the process pool, statistics in one transaction) from concurrent
clients. Then `GET /api/v2/beatmaps/{id}/scores` (50 scores with users) is measured against a
bare Starlette app on hypercorn returning the same bytes, in the same run, rounds alternating.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY_FILE = "HITCIRCLE_BENCH_BODY"
MAPS = 10
PLAYERS = 8


async def bare_endpoint(request: Request) -> Response:
    return Response(bare.state.body, media_type="application/json")


bare = Starlette(routes=[Route("/api/v2/beatmaps/{beatmap}/scores", bare_endpoint)])
bare.state.body = Path(os.environ[BODY_FILE]).read_bytes() if BODY_FILE in os.environ else b"{}"


def reset_mysql(url: str) -> None:
    import sqlalchemy as sa

    from core.db import sync_url

    base, _, name = url.rpartition("/")
    engine = sa.create_engine(sync_url(base + "/"))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{name}`")
    engine.dispose()


async def prepare(
    data_dir: str, database: str, redis: str, players: int = PLAYERS
) -> dict[str, Any]:
    """A migrated database (MariaDB reset first; SQLite under `data_dir` when `database` is
    empty) with MAPS ranked maps and `players` users, and the environment for `hitcircle serve`
    on it."""
    from core import migrate
    from core.app import create_app
    from core.config import settings_from
    from core.services import services
    from tests.conftest import create_user, issue_token, running
    from tests.scores import support

    if database.startswith("mysql"):
        reset_mysql(database)
    raw: dict[str, dict[str, Any]] = {
        "data": {"dir": data_dir},
        "log": {"level": "WARNING"},
        "database": {"url": database, "pool_size": 20},
        "redis": {"url": redis, "prefix": "hcbench:"},
    }
    settings = settings_from(raw, {})
    migrate.upgrade(settings)
    app = create_app(settings)
    async with running(app):
        maps = [await support.import_map(app, 0, set_id=9000 + 10 * i) for i in range(MAPS)]
        tokens = []
        for i in range(players):
            uid = await create_user(app, f"bench{i}", country=("AU", "JP", "DE")[i % 3])
            tokens.append(await issue_token(app, uid))
        await services(app).cache.delete(*[f"auth:user:{i}" for i in range(players + 1)])
    env = {
        "HITCIRCLE_CONFIG": "none",
        "HITCIRCLE_DATA_DIR": data_dir,
        "HITCIRCLE_DATABASE_URL": database,
        "HITCIRCLE_DATABASE_POOL_SIZE": "20",
        "HITCIRCLE_REDIS_URL": redis,
        "HITCIRCLE_REDIS_PREFIX": "hcbench:",
        "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
        "HITCIRCLE_LOG_LEVEL": "WARNING",
    }
    return {"env": env, "maps": maps, "tokens": tokens, "database": settings.database_url}


async def submissions(url: str, world: dict[str, Any], count: int, concurrency: int) -> float:
    from tests.scores import support

    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    failures: list[str] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            beatmap = world["maps"][n % MAPS]
            payload = support.body(
                beatmap, misses=n % 5, total_score=300_000 + (n * 7919) % 600_000
            )
            response = await support.submit(client, world["tokens"][n % PLAYERS], beatmap, payload)
            if response.status_code != 200:
                failures.append(response.text)

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} submissions failed, first: {failures[0]}")
    return count / elapsed


def main() -> None:
    from tests.bench.loadgen import (
        free_port,
        measure,
        serve_app,
        serve_hitcircle,
        wait_until_up,
    )

    parser = argparse.ArgumentParser()
    parser.add_argument("--mysql", default="mysql://root@127.0.0.1:3306/bench_scores")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument(
        "--sqlite", action="store_true", help="the embedded default: SQLite and the memory cache"
    )
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        database, redis = ("", "") if args.sqlite else (args.mysql, args.redis)
        backends = "SQLite + memory" if args.sqlite else "MariaDB + Redis"
        world = asyncio.run(prepare(data, database, redis))
        host_port, bare_port = free_port(), free_port()
        with serve_hitcircle(host_port, world["env"]) as host_url:
            wait_until_up(f"{host_url}/health")
            rate = asyncio.run(submissions(host_url, world, args.submissions, args.concurrency))
            print(
                f"submissions      {rate:9.1f} /s  ({args.submissions} lazer token+PUT flows, "
                f"{args.concurrency} concurrent, {backends}, pp included)"
            )
            beatmap = world["maps"][0]
            path = f"/api/v2/beatmaps/{beatmap.id}/scores"
            headers = {"Authorization": f"Bearer {world['tokens'][0]}", "x-api-version": "20240101"}
            body = httpx.get(host_url + path, headers=headers).content
            body_file = Path(data) / "body.json"
            body_file.write_bytes(body)
            with serve_app(
                "tests.bench.bench_scores:bare", bare_port, {BODY_FILE: str(body_file)}
            ) as bare_url:
                wait_until_up(bare_url + path)
                totals = {"bare": 0.0, "host": 0.0}
                for round_no in range(1, args.rounds + 1):
                    for name, base in (("bare", bare_url), ("host", host_url)):
                        result = measure(base + path, args.seconds, args.connections, headers)
                        bad = {s: n for s, n in result["statuses"].items() if s != "200"}
                        if bad:
                            raise SystemExit(f"{name} answered non-200 statuses: {bad}")
                        totals[name] += result["rps"]
                        print(f"round {round_no} {name:5s} {result['rps']:9.0f} req/s")
    bare_rps, host_rps = totals["bare"] / args.rounds, totals["host"] / args.rounds
    print(f"leaderboard ({len(body)} bytes)")
    print(f"bare starlette   {bare_rps:9.0f} req/s")
    print(f"hitcircle host   {host_rps:9.0f} req/s")
    print(f"ratio            {host_rps / bare_rps:9.2f}")


if __name__ == "__main__":
    main()
