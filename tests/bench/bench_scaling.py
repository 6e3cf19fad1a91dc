"""Two workers against one on MariaDB + Redis, serving the same mix of reads.

    python -m tests.bench.bench_scaling --mysql mysql://root@127.0.0.1:3306/hcbench
                                        --redis redis://127.0.0.1:6379/9
                                        [--seconds 5] [--connections 32] [--rounds 2]

The world is bench_reads' (a ranked map, a player with a score, a playlist room), read with the
player's lazer token. `hitcircle serve` runs with one worker, then with two, rounds alternating;
each measurement drives the mix (`/me`, `users/{id}`, `beatmaps/lookup`, a leaderboard, `rooms`)
at once, one load process per path, and sums their requests per second. Goal: two workers serve
at least 1.6 times what one does. The load processes run on the same cores as the workers, so
the script also prints where the cores went during each measurement: the server's processes,
the load processes (their own CPU time) and the rest of the machine (MariaDB, Redis, system).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

GOAL = 1.6
# Seconds a load process takes to start (an interpreter, its imports) before it drives load.
STARTUP = 1.0
MIX = ("me", "users", "lookup", "scores", "rooms")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, every core (/proc/stat)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its descendants (the serve command's workers)."""
    from tests.bench.bench_memory import children

    total = 0
    for member in [pid, *children(pid)]:
        try:
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def measure_mix(
    base: str,
    paths: dict[str, str],
    seconds: float,
    connections: int,
    headers: dict[str, str],
    server: int | None = None,
) -> dict[str, float]:
    """Requests per second over the whole mix, every path driven at once, and the cores each
    side kept busy meanwhile: "load" (the load processes' own CPU time), "server" (the serve
    command's process tree, when its pid is given), "machine" (everything: the rest is MariaDB,
    Redis and the system)."""
    from tests.bench.loadgen import measure

    each = max(1, connections // len(paths))

    def sample() -> tuple[float, float, float]:
        return time.monotonic(), machine_cpu()[0], tree_cpu(server) if server else 0.0

    def steady() -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        # The machine and the server are sampled inside the clients' run, past their start-up
        # (a Python interpreter each, which would count as load the server never saw).
        time.sleep(STARTUP)
        first = sample()
        time.sleep(max(0.1, seconds - STARTUP - 0.5))
        return first, sample()

    with ThreadPoolExecutor(len(paths) + 1) as pool:
        sampled = pool.submit(steady)
        results = list(
            pool.map(lambda path: measure(base + path, seconds, each, headers), paths.values())
        )
        (t0, busy_before, server_before), (t1, busy_after, server_after) = sampled.result()
    for path, got in zip(paths.values(), results, strict=True):
        bad = {s: n for s, n in got["statuses"].items() if s != "200"}
        if bad:
            raise SystemExit(f"{path}: non-200 answers {bad}")
    # Each client's CPU over its own run; the machine's and the server's over the sample.
    load = sum(float(got["cpu_seconds"]) / float(got["seconds"]) for got in results)
    return {
        "rps": sum(float(got["rps"]) for got in results),
        "load": load,
        "server": (server_after - server_before) / (t1 - t0),
        "machine": (busy_after - busy_before) / (t1 - t0),
    }


def run(seconds: float, connections: int, rounds: int, database: str, redis: str) -> dict[str, Any]:
    """{"one": req/s, "two": req/s, "ratio": two/one, "goal": GOAL, "cpus": n}."""
    from tests.bench.bench_reads import prepare
    from tests.bench.loadgen import free_port, serve_hitcircle, wait_until_up

    totals = {1: 0.0, 2: 0.0}
    # Cores kept busy, per worker count: by the load, by the server, by the whole machine.
    cores = {n: {"load": 0.0, "server": 0.0, "machine": 0.0} for n in (1, 2)}
    with tempfile.TemporaryDirectory() as data:
        world = asyncio.run(prepare(data, database, redis))
        headers = {"Authorization": f"Bearer {world['token']}", "x-api-version": "20250101"}
        paths = {name: world["paths"][name] for name in MIX}
        for _ in range(rounds):
            for workers in (1, 2):
                env = world["env"] | {"HITCIRCLE_SERVER_WORKERS": str(workers)}
                pid: list[int] = []
                with serve_hitcircle(free_port(), env, pid) as host:
                    wait_until_up(host + "/health")
                    # Every worker warm (its caches and connections) before the clock starts.
                    for _ in range(4 * workers):
                        for path in paths.values():
                            httpx.get(host + path, headers=headers).raise_for_status()
                    got = measure_mix(host, paths, seconds, connections, headers, pid[0])
                    totals[workers] += got["rps"] / rounds
                    for side in cores[workers]:
                        cores[workers][side] += got[side] / rounds
    return {
        "one": totals[1],
        "two": totals[2],
        "ratio": totals[2] / totals[1],
        "goal": GOAL,
        "cpus": os.cpu_count() or 1,
        "cores": cores,
    }


def print_cores(result: dict[str, Any]) -> None:
    """Where the machine's cores went, with one worker and with two."""
    for workers, label in ((1, "one worker "), (2, "two workers")):
        used = result["cores"][workers]
        rest = used["machine"] - used["load"] - used["server"]
        print(
            f"{label}: cores busy {used['machine']:.2f} of {result['cpus']}: server "
            f"{used['server']:.2f}, load processes {used['load']:.2f}, the rest (MariaDB, "
            f"Redis, system) {rest:.2f}"
        )


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
    print_cores(result)


if __name__ == "__main__":
    main()
