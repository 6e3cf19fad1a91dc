"""Requests/s of a plugin route through the full host against bare Starlette, same bytes.

    python -m tests.bench.bench_host [--seconds 5] [--connections 16] [--rounds 2]

Both apps run under hypercorn with one worker on loopback; the host goes through its whole stack
(request-id and trailing-slash middleware, the rate limiter with a limit high enough never to
refuse, the error handlers). Rounds alternate so drift on a shared machine hits both alike.
Target: the host keeps at least 70% of bare Starlette's throughput.
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
    from tests.bench.loadgen import free_port, measure, serve_app, wait_until_up

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data:
        env = {
            "HITCIRCLE_CONFIG": "/nonexistent.toml",
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
        bare_port, host_port = free_port(), free_port()
        with (
            serve_app("tests.bench.bench_host:bare", bare_port) as bare_url,
            serve_app("core.asgi:app", host_port, env) as host_url,
        ):
            wait_until_up(f"{bare_url}/bench")
            wait_until_up(f"{host_url}/bench")
            totals = {"bare": 0.0, "host": 0.0}
            for round_no in range(1, args.rounds + 1):
                for name, url in (("bare", bare_url), ("host", host_url)):
                    result = measure(f"{url}/bench", args.seconds, args.connections)
                    bad = {s: n for s, n in result["statuses"].items() if s != "200"}
                    if bad:
                        raise SystemExit(f"{name} answered non-200 statuses: {bad}")
                    totals[name] += result["rps"]
                    print(f"round {round_no} {name:5s} {result['rps']:9.0f} req/s")
    bare_rps, host_rps = totals["bare"] / args.rounds, totals["host"] / args.rounds
    print(f"bare starlette   {bare_rps:9.0f} req/s")
    print(f"hitcircle host   {host_rps:9.0f} req/s")
    print(f"ratio host/bare  {host_rps / bare_rps:9.2%}  (target >= 70%)")


if __name__ == "__main__":
    main()
