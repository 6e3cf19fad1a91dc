"""Requests/s of a plugin route through the full host against bare Starlette, same bytes.

    python -m tests.bench.bench_host [--seconds 5] [--connections 16] [--rounds 2]

Bare Starlette runs under plain hypercorn (asyncio loop); the host runs as operators run it,
`hitcircle serve` with one worker, once with `server.uvloop = false` and once with uvloop. The
host goes through its whole stack (request-id and trailing-slash middleware, the rate limiter with
a limit high enough never to refuse, the error handlers). Rounds alternate so drift on a shared
machine hits all three alike. Target: the host keeps at least 70% of bare Starlette's throughput.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.hooks import hookimpl
from core.http import json

BODY = {"id": 2, "username": "peppy", "country_code": "AU", "is_active": True, "pp": 1234.5}
BODY_BYTES = orjson.dumps(BODY)


async def bare_endpoint(request: Request) -> Response:
    return Response(BODY_BYTES, media_type="application/json")


bare = Starlette(routes=[Route("/bench", bare_endpoint)])


async def host_endpoint(request: Request) -> Response:
    return json(BODY)


@hookimpl
def routes() -> list[Route]:
    return [Route("/bench", host_endpoint)]


def main() -> None:
    from tests.bench.loadgen import free_port, measure, serve_app, serve_hitcircle, wait_until_up

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        env = {
            "HITCIRCLE_CONFIG": "none",
            "HITCIRCLE_DATA_DIR": data,
            "HITCIRCLE_PLUGINS_MODULES": "tests.bench.bench_host",
            "HITCIRCLE_RATELIMIT_DEFAULT": "100000000/minute",
            "HITCIRCLE_LOG_LEVEL": "WARNING",
        }
        # The host's plugins open their tables at start-up: migrate the fresh database first.
        subprocess.run(
            [sys.executable, "-m", "core.cli", "migrate"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        # The host as operators run it (`hitcircle serve`), with asyncio's loop and with uvloop;
        # bare Starlette under plain hypercorn (asyncio) is the baseline for both.
        ports = {name: free_port() for name in ("bare", "asyncio", "uvloop")}
        with (
            serve_app("tests.bench.bench_host:bare", ports["bare"]) as bare_url,
            serve_hitcircle(
                ports["asyncio"], env | {"HITCIRCLE_SERVER_UVLOOP": "false"}
            ) as asyncio_url,
            serve_hitcircle(ports["uvloop"], env | {"HITCIRCLE_SERVER_UVLOOP": "true"}) as uv_url,
        ):
            urls = {"bare": bare_url, "asyncio": asyncio_url, "uvloop": uv_url}
            for url in urls.values():
                wait_until_up(f"{url}/bench")
            totals = dict.fromkeys(urls, 0.0)
            for round_no in range(1, args.rounds + 1):
                for name, url in urls.items():
                    result = measure(f"{url}/bench", args.seconds, args.connections)
                    bad = {s: n for s, n in result["statuses"].items() if s != "200"}
                    if bad:
                        raise SystemExit(f"{name} answered non-200 statuses: {bad}")
                    totals[name] += result["rps"]
                    print(f"round {round_no} {name:7s} {result['rps']:9.0f} req/s")
    rps = {name: total / args.rounds for name, total in totals.items()}
    print(f"bare starlette          {rps['bare']:9.0f} req/s")
    print(f"hitcircle, asyncio loop {rps['asyncio']:9.0f} req/s")
    print(f"hitcircle, uvloop       {rps['uvloop']:9.0f} req/s")
    print(f"ratio asyncio/bare      {rps['asyncio'] / rps['bare']:9.2%}  (target >= 70%)")
    print(f"ratio uvloop/bare       {rps['uvloop'] / rps['bare']:9.2%}")
    print(f"uvloop/asyncio          {rps['uvloop'] / rps['asyncio']:9.2f}x")


if __name__ == "__main__":
    main()
