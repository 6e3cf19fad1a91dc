"""Two workers against one on MariaDB + Redis, serving the same mix of reads.

    python -m tests.bench.bench_scaling --mysql mysql://root@127.0.0.1:3306/hcbench
                                        --redis redis://127.0.0.1:6379/9
                                        [--seconds 5] [--connections 32] [--rounds 2]

The world is bench_reads' (a ranked map, a player with a score, a playlist room), read with the
player's lazer token. `hitcircle serve` runs with one worker, then with two, rounds alternating;
each measurement drives the mix (`/me`, `users/{id}`, `beatmaps/lookup`, a leaderboard, `rooms`)
at once, one load process per path, and sums their requests per second. Goal: two workers serve
at least 1.6 times what one does. The load processes run on the same cores as the workers, which
the figure printed beside it (the host's CPU count) is there to recall.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

GOAL = 1.6
MIX = ("me", "users", "lookup", "scores", "rooms")


def measure_mix(
    base: str, paths: dict[str, str], seconds: float, connections: int, headers: dict[str, str]
) -> float:
    """Requests per second over the whole mix, every path driven at once."""
    from tests.bench.loadgen import measure

    each = max(1, connections // len(paths))
    with ThreadPoolExecutor(len(paths)) as pool:
        results = list(
            pool.map(lambda path: measure(base + path, seconds, each, headers), paths.values())
        )
    for path, got in zip(paths.values(), results, strict=True):
        bad = {s: n for s, n in got["statuses"].items() if s != "200"}
        if bad:
            raise SystemExit(f"{path}: non-200 answers {bad}")
    return sum(float(got["rps"]) for got in results)


def run(seconds: float, connections: int, rounds: int, database: str, redis: str) -> dict[str, Any]:
    """{"one": req/s, "two": req/s, "ratio": two/one, "goal": GOAL, "cpus": n}."""
    from tests.bench.bench_reads import prepare
    from tests.bench.loadgen import free_port, serve_hitcircle, wait_until_up

    totals = {1: 0.0, 2: 0.0}
    with tempfile.TemporaryDirectory() as data:
        world = asyncio.run(prepare(data, database, redis))
        headers = {"Authorization": f"Bearer {world['token']}", "x-api-version": "20250101"}
        paths = {name: world["paths"][name] for name in MIX}
        for _ in range(rounds):
            for workers in (1, 2):
                env = world["env"] | {"HITCIRCLE_SERVER_WORKERS": str(workers)}
                with serve_hitcircle(free_port(), env) as host:
                    wait_until_up(host + "/health")
                    # Every worker warm (its caches and connections) before the clock starts.
                    for _ in range(4 * workers):
                        for path in paths.values():
                            httpx.get(host + path, headers=headers).raise_for_status()
                    rps = measure_mix(host, paths, seconds, connections, headers)
                    totals[workers] += rps / rounds
    return {
        "one": totals[1],
        "two": totals[2],
        "ratio": totals[2] / totals[1],
        "goal": GOAL,
        "cpus": os.cpu_count() or 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mysql", default=os.environ.get("HITCIRCLE_TEST_MYSQL_URL", ""))
    parser.add_argument("--redis", default=os.environ.get("HITCIRCLE_TEST_REDIS_URL", ""))
    args = parser.parse_args()
    if not (args.mysql and args.redis):
        raise SystemExit("two workers need Redis: give --mysql and --redis")
    result = run(args.seconds, args.connections, args.rounds, args.mysql, args.redis)
    mark = "ok" if result["ratio"] >= result["goal"] else "BELOW"
    print(
        f"two workers {result['two']:8.0f} req/s  one worker {result['one']:8.0f} req/s  "
        f"ratio {result['ratio']:5.2f}  goal {result['goal']:.1f}  {mark}  "
        f"({result['cpus']} CPUs, shared with the load processes)"
    )


if __name__ == "__main__":
    main()
