"""Score submissions on the embedded SQLite database under sustained load: lost plays and 5xx.

    python -m tests.bench.drill_scores [--workers 2] [--clients 16] [--seconds 60]

`hitcircle serve --workers N` runs on a fresh SQLite file (N > 1 needs Redis, as `serve` says:
the drill starts a private redis-server for it; one worker uses the memory cache, the embedded
default). Each client is one player doing the lazer flow in a loop for `--seconds`: a score token
(multipart POST), then the PUT of the score. Every answer is counted by status; at the end the
SQLite file is read directly and every acknowledged (200) submission must be there: its score row
with the answered id, user and total, attached to its token. A 503 is not a lost play (the
client was told, the token stays usable); a 500 or an acknowledged score that is missing is.

Prints the statuses, the lost plays and the acknowledged submissions/s. Exits 1 when any PUT got
a 5xx other than 503 or an acknowledged score is missing.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Tally:
    statuses: Counter[str] = field(default_factory=Counter)
    # (token id, score id, user id, total score) of every 200 answer to a PUT.
    acknowledged: list[tuple[int, int, int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # Seconds each PUT took.
    latencies: list[float] = field(default_factory=list)


async def player(
    client: httpx.AsyncClient, world: dict[str, Any], n: int, deadline: float, tally: Tally
) -> None:
    from tests.bench.bench_scores import MAPS
    from tests.scores import support

    token = world["tokens"][n]
    auth = {"Authorization": f"Bearer {token}"}
    play = 0
    while time.monotonic() < deadline:
        beatmap = world["maps"][(n + play) % MAPS]
        payload = support.body(
            beatmap, misses=play % 5, total_score=300_000 + (n * 7919 + play * 104_729) % 600_000
        )
        play += 1
        created = await client.post(
            f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
            files={
                "version_hash": (None, "0" * 32),
                "beatmap_hash": (None, beatmap.checksum),
                "ruleset_id": (None, "0"),
            },
            headers=auth,
        )
        tally.statuses[f"token {created.status_code}"] += 1
        if created.status_code != 200:
            tally.errors.append(f"token {created.status_code}: {created.text[:200]}")
            continue
        token_id = created.json()["id"]
        sent = time.monotonic()
        put = await client.put(
            f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token_id}", json=payload, headers=auth
        )
        tally.latencies.append(time.monotonic() - sent)
        tally.statuses[f"PUT {put.status_code}"] += 1
        if put.status_code == 200:
            body = put.json()
            tally.acknowledged.append(
                (token_id, body["id"], body["user_id"], payload["total_score"])
            )
        else:
            tally.errors.append(f"PUT {put.status_code}: {put.text[:200]}")


def missing(database_file: str, acknowledged: list[tuple[int, int, int, int]]) -> list[str]:
    """Acknowledged submissions the database does not hold as answered."""
    connection = sqlite3.connect(database_file)
    try:
        scores = {
            row[0]: row[1:]
            for row in connection.execute("SELECT id, user_id, total_score FROM scores")
        }
        tokens = dict(connection.execute("SELECT id, score_id FROM score_tokens"))
    finally:
        connection.close()
    lost = []
    for token_id, score_id, user_id, total in acknowledged:
        if scores.get(score_id) != (user_id, total) or tokens.get(token_id) != score_id:
            lost.append(f"token {token_id} score {score_id}")
    return lost


async def drive(url: str, world: dict[str, Any], clients: int, seconds: float) -> Tally:
    tally = Tally()
    limits = httpx.Limits(max_connections=clients * 2)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(player(client, world, n, deadline, tally) for n in range(clients)))
    return tally


def main() -> int:
    from tests.bench.bench_scores import prepare
    from tests.bench.loadgen import free_port, serve_hitcircle, wait_until_up
    from tests.conftest import RedisProcess

    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data, ExitStack() as stack:
        redis_url = ""
        if args.workers > 1:
            redis = RedisProcess()
            redis.start()
            stack.callback(redis.stop)
            redis_url = redis.url
        world = asyncio.run(prepare(data, "", redis_url, players=args.clients))
        env = {**world["env"], "HITCIRCLE_SERVER_WORKERS": str(args.workers)}
        with serve_hitcircle(free_port(), env) as url:
            wait_until_up(f"{url}/health", timeout=120)
            started = time.monotonic()
            tally = asyncio.run(drive(url, world, args.clients, args.seconds))
            elapsed = time.monotonic() - started
        database_file = world["database"].removeprefix("sqlite:///")
        lost = missing(database_file, tally.acknowledged)

    server_errors = sum(n for k, n in tally.statuses.items() if k.startswith("PUT 5"))
    bad = sum(n for k, n in tally.statuses.items() if k.startswith("PUT 5") and k != "PUT 503")
    print(
        f"SQLite, {args.workers} worker(s), {args.clients} clients, {elapsed:.0f} s "
        f"({'Redis' if redis_url else 'memory'} cache)"
    )
    for key, count in sorted(tally.statuses.items()):
        print(f"  {key:10s} {count:6d}")
    print(f"  PUT 5xx    {server_errors:6d}  (other than 503: {bad})")
    print(f"  acknowledged but missing {len(lost)}")
    print(f"  acknowledged submissions {len(tally.acknowledged) / elapsed:7.1f} /s")
    if tally.latencies:
        ordered = sorted(tally.latencies)
        p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
        print(f"  PUT seconds: median {p50:.2f}, p99 {p99:.2f}, max {ordered[-1]:.2f}")
    for line in sorted(set(tally.errors))[:5]:
        print("  e.g.", line)
    for line in lost[:5]:
        print("  lost:", line)
    return 1 if bad or lost else 0


if __name__ == "__main__":
    sys.exit(main())
