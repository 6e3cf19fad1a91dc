"""Beatmap lookup by checksum (warm cache) and beatmapset search against bare Starlette, and
attributes calls/s.

    python -m tests.bench.bench_beatmaps [--seconds 5] [--connections 16] [--rounds 2]
                                         [--redis redis://127.0.0.1:6379/2] [--calls 200]

A ranked set is imported into a fresh embedded database; `hitcircle` (core.asgi, one hypercorn
worker) answers `GET /api/v2/beatmaps/lookup?checksum=` with a client-credentials token (the
whole response comes from the encoded-bytes cache) and with a lazer user token (cached bytes plus
that user's play count and favourite, two indexed queries), and `GET /api/v2/beatmapsets/search`
as lazer's browser sends it (the lazer token, ranked sets of the ruleset). The bare app is
Starlette returning
the same bytes from memory, on hypercorn too, measured in the same run, rounds alternating.
Attributes: fresh rosu-pp-py calculations through the process pool (distinct mods, nothing
cached; a cached `POST /attributes` is a cache read like the lookup).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY_FILE = "HITCIRCLE_BENCH_BODY"
SEARCH_BODY_FILE = "HITCIRCLE_BENCH_SEARCH_BODY"
SEARCH = "/api/v2/beatmapsets/search?m=0&s=ranked&q=D3"


def _body(variable: str) -> bytes:
    return Path(os.environ[variable]).read_bytes() if variable in os.environ else b"{}"


async def bare_endpoint(request: Request) -> Response:
    return Response(bare.state.body, media_type="application/json")


async def bare_search(request: Request) -> Response:
    return Response(bare.state.search_body, media_type="application/json")


bare = Starlette(
    routes=[
        Route("/api/v2/beatmaps/lookup", bare_endpoint),
        Route("/api/v2/beatmapsets/search", bare_search),
    ]
)
bare.state.body = _body(BODY_FILE)
bare.state.search_body = _body(SEARCH_BODY_FILE)


async def prepare(data_dir: str, redis: str) -> dict[str, str]:
    """Migrate, import a set, issue tokens; returns the environment of the served app."""
    from core import migrate
    from core.app import create_app
    from core.beatmaps.importer import Importer
    from core.config import settings_from
    from tests.beatmaps.support import make_osu, make_osz
    from tests.conftest import create_user, issue_token, running

    raw = {"data": {"dir": data_dir}, "log": {"level": "WARNING"}}
    if redis:
        raw["redis"] = {"url": redis, "prefix": "hcbench:"}
    settings = settings_from(raw, {})
    migrate.upgrade(settings)
    files = {
        f"{i}.osu": make_osu(beatmap_id=1000 + i, set_id=1000, version=f"D{i}", objects=300 + i)
        for i in range(1, 6)
    }
    app = create_app(settings)
    async with running(app):
        importer = Importer(app, "ranked", 1_500_000_000)
        await importer.import_archive("bench.osz", make_osz(files))
        user = await create_user(app, "bencher")
        client_token = await issue_token(app, None, ("public",))
        lazer_token = await issue_token(app, user, ("*",))
    from tests.beatmaps.support import md5

    env = {
        "HITCIRCLE_CONFIG": "none",
        "HITCIRCLE_DATA_DIR": data_dir,
        "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
        "HITCIRCLE_LOG_LEVEL": "WARNING",
        "HITCIRCLE_BEATMAPS_CACHE_TTL": "3600",
    }
    if redis:
        env |= {"HITCIRCLE_REDIS_URL": redis, "HITCIRCLE_REDIS_PREFIX": "hcbench:"}
    return env | {
        "checksum": md5(files["1.osu"]),
        "client_token": client_token,
        "lazer_token": lazer_token,
        "osu": files["3.osu"].decode(),
    }


def pool_calls_per_second(osu: bytes, calls: int, workers: int) -> float:
    from core import mods
    from core.beatmaps import difficulty

    difficulty.configure(workers)
    combos = [[], *([m] for m in ("HD", "HR", "DT", "EZ", "FL", "HT"))]
    every = [mods.from_bitmask(mask) for mask in range(1 << 11)]
    combos += [m for m in every if all(a in mods.VALID[0] for a in m)]

    async def run() -> float:
        await difficulty.run(difficulty.attributes, osu, 0, [])  # start the workers
        started = time.monotonic()
        await asyncio.gather(
            *(
                difficulty.run(difficulty.attributes, osu, 0, combos[i % len(combos)])
                for i in range(calls)
            )
        )
        return calls / (time.monotonic() - started)

    try:
        return asyncio.run(run())
    finally:
        difficulty.shutdown()


def main() -> None:
    from tests.bench.loadgen import (
        free_port,
        measure,
        serve_app,
        serve_hitcircle,
        wait_until_up,
    )

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--redis", default="", help="use Redis instead of the memory cache")
    parser.add_argument("--calls", type=int, default=200, help="fresh attribute calculations")
    parser.add_argument("--workers", type=int, default=2, help="difficulty process pool size")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        prepared = asyncio.run(prepare(data, args.redis))
        checksum = prepared.pop("checksum")
        tokens = {"client": prepared.pop("client_token"), "lazer": prepared.pop("lazer_token")}
        osu = prepared.pop("osu").encode()
        env = prepared
        host_port, bare_port = free_port(), free_port()
        path = f"/api/v2/beatmaps/lookup?checksum={checksum}"
        with serve_hitcircle(host_port, env) as host_url:
            wait_until_up(f"{host_url}/health")
            headers = {"Authorization": f"Bearer {tokens['client']}"}
            warm = httpx.get(f"{host_url}{path}", headers=headers, timeout=10)
            if warm.status_code != 200:
                raise SystemExit(f"lookup failed: {warm.status_code} {warm.text}")
            body_file = Path(data) / "body.json"
            body_file.write_bytes(warm.content)
            lazer = {"Authorization": f"Bearer {tokens['lazer']}"}
            found = httpx.get(f"{host_url}{SEARCH}", headers=lazer, timeout=10)
            if found.status_code != 200 or not found.json()["beatmapsets"]:
                raise SystemExit(f"search failed: {found.status_code} {found.text}")
            search_file = Path(data) / "search.json"
            search_file.write_bytes(found.content)
            bodies = {BODY_FILE: str(body_file), SEARCH_BODY_FILE: str(search_file)}
            with serve_app("tests.bench.bench_beatmaps:bare", bare_port, bodies) as bare_url:
                wait_until_up(f"{bare_url}{path}")
                totals = dict.fromkeys(("bare", "client", "lazer", "bare search", "search"), 0.0)
                for round_no in range(1, args.rounds + 1):
                    for name, url, token, target in (
                        ("bare", bare_url, None, path),
                        ("client", host_url, tokens["client"], path),
                        ("lazer", host_url, tokens["lazer"], path),
                        ("bare search", bare_url, None, SEARCH),
                        ("search", host_url, tokens["lazer"], SEARCH),
                    ):
                        hdrs = {"Authorization": f"Bearer {token}"} if token else {}
                        result = measure(f"{url}{target}", args.seconds, args.connections, hdrs)
                        bad = {s: n for s, n in result["statuses"].items() if s != "200"}
                        if bad:
                            raise SystemExit(f"{name} answered non-200 statuses: {bad}")
                        totals[name] += result["rps"]
                        print(f"round {round_no} {name:11s} {result['rps']:9.0f} req/s", flush=True)
    fresh = pool_calls_per_second(osu, args.calls, args.workers)
    n = args.rounds
    bare_rps, client_rps, lazer_rps = (totals[k] / n for k in ("bare", "client", "lazer"))
    cache = "redis" if args.redis else "memory"
    print(f"cache backend                         {cache}")
    print(f"bare starlette, same bytes            {bare_rps:9.0f} req/s")
    for label, rps in (("client token", client_rps), ("lazer user token", lazer_rps)):
        share = f"({rps / bare_rps:.0%} of bare)"
        print(f"lookup by checksum, {label:17s} {rps:9.0f} req/s  {share}")
    bare_search_rps, search_rps = totals["bare search"] / n, totals["search"] / n
    print(f"bare starlette, same search bytes     {bare_search_rps:9.0f} req/s")
    share = f"({search_rps / bare_search_rps:.0%} of bare)"
    print(f"beatmapsets/search, lazer user token  {search_rps:9.0f} req/s  {share}")
    print(
        f"attributes, fresh (pool of {args.workers})       {fresh:9.1f} calls/s  (300-object map)"
    )


if __name__ == "__main__":
    main()
