"""Idle memory (RSS) of each serving worker after start-up and one request, against bare Starlette.

    python -m tests.bench.bench_memory [--mysql URL --redis URL] [--workers 1,2] [--settle 1]

The host runs as operators run it, `hitcircle serve`, on a database migrated beforehand (the
usual restart: nothing to migrate at start-up): on the embedded default (SQLite + memory cache,
one worker) and, when `--mysql` and `--redis` are given (or HITCIRCLE_TEST_MYSQL_URL and
HITCIRCLE_TEST_REDIS_URL are set), on MariaDB + Redis with each worker count of `--workers`.
Once `/health` answers, the script waits `--settle` seconds and reads VmRSS from
/proc/PID/status of every worker: the serve process itself with one worker, each spawned worker
with several (the supervisor's own figure is printed beside them). The baseline is this module's
bare Starlette app under plain hypercorn, measured the same way. Goal: at most 80 MiB per worker.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

GOAL_MIB = 80.0


async def bare_health(request: Request) -> Response:
    return PlainTextResponse("ok")


# Only Starlette is imported at this module's top: the baseline process imports nothing else.
bare = Starlette(routes=[Route("/health", bare_health)])


def rss_mib(pid: int) -> float:
    """VmRSS of a process, in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"process {pid} has no VmRSS")


def children(pid: int) -> list[int]:
    """Every descendant of a process, nearest first."""
    import os

    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # The parent is the second field after the command, which is in parentheses.
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    queue = [pid]
    while queue:
        for child in parents.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def workers(pid: int) -> list[int]:
    """The serving processes under `pid`: the spawned workers (multiprocessing's
    `--multiprocessing-fork` children, not its resource tracker), or `pid` itself when it serves
    alone."""
    spawned = []
    for child in children(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                args = cmdline.read().split(b"\0")
        except OSError:
            continue
        if b"--multiprocessing-fork" in args:
            spawned.append(child)
    return spawned or [pid]


def measure(
    name: str, command: list[str], env: dict[str, str], port: int, settle: float
) -> list[float]:
    """Start `command` (with exactly `env`) serving on port, wait for /health, one request per
    worker, settle, print and return each serving worker's RSS."""
    import subprocess
    import sys
    import time

    from tests.bench.loadgen import ROOT, wait_until_up

    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/health"
        try:
            wait_until_up(url, timeout=60)
        except RuntimeError:
            process.terminate()
            _, err = process.communicate(timeout=10)
            raise SystemExit(f"{name} did not come up:\n{err.decode(errors='replace')}") from None
        import httpx

        # Every worker answers one request: with several, requests go to whichever accepts.
        serving = workers(process.pid)
        for _ in range(4 * len(serving)):
            httpx.get(url, timeout=5, headers={"Connection": "close"})
        time.sleep(settle)
        serving = workers(process.pid)
        figures = [rss_mib(pid) for pid in serving]
        for pid, mib in zip(serving, figures, strict=True):
            verdict = "ok" if mib <= GOAL_MIB else f"over by {mib - GOAL_MIB:.1f}"
            print(f"{name:36s} worker {pid:7d} {mib:7.1f} MiB  ({verdict})")
        if serving != [process.pid]:
            supervisor = rss_mib(process.pid)
            print(f"{name:36s} supervisor     {supervisor:7.1f} MiB  (not serving)")
        sys.stdout.flush()
        return figures
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(mysql: str, redis: str, counts: list[int], settle: float) -> dict[str, list[float]]:
    """{label: RSS of each serving worker}: bare Starlette, the embedded default (one worker)
    and, with `mysql` and `redis`, MariaDB + Redis with each worker count of `counts`."""
    import os
    import subprocess
    import sys
    import tempfile

    from tests.bench.loadgen import free_port

    # Only the settings given here reach the servers, not the caller's.
    base = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    print(f"goal: at most {GOAL_MIB:.0f} MiB per worker, idle after start-up and one request")
    port = free_port()
    hypercorn = [sys.executable, "-m", "hypercorn", "--log-level", "WARNING"]
    results = {
        "bare starlette": measure(
            "bare starlette (hypercorn)",
            [*hypercorn, "--bind", f"127.0.0.1:{port}", "tests.bench.bench_memory:bare"],
            base,
            port,
            settle,
        )
    }
    with tempfile.TemporaryDirectory() as data:
        backends: list[tuple[str, dict[str, str], list[int]]] = [
            ("embedded (sqlite + memory)", {}, [1])
        ]
        if mysql:
            remote = {
                "HITCIRCLE_DATABASE_URL": mysql,
                "HITCIRCLE_REDIS_URL": redis,
                "HITCIRCLE_REDIS_PREFIX": "bench_memory:",
            }
            backends.append(("mariadb + redis", remote, counts))
        for label, extra, worker_counts in backends:
            env = base | {
                "HITCIRCLE_CONFIG": "none",
                "HITCIRCLE_DATA_DIR": data,
                "HITCIRCLE_LOG_LEVEL": "WARNING",
                **extra,
            }
            # Migrated first: the start measured is a restart with nothing to migrate.
            subprocess.run(
                [sys.executable, "-m", "core.cli", "migrate"],
                env=env,
                check=True,
                capture_output=True,
            )
            for count in worker_counts:
                port = free_port()
                serve = [sys.executable, "-m", "core.cli", "serve", "--port", str(port)]
                name = f"{label}, {count} worker{'s' if count > 1 else ''}"
                results[name] = measure(name, [*serve, "--workers", str(count)], env, port, settle)
    return results


def main() -> None:
    import argparse
    import os

    parser = argparse.ArgumentParser()
    parser.add_argument("--mysql", default=os.environ.get("HITCIRCLE_TEST_MYSQL_URL", ""))
    parser.add_argument("--redis", default=os.environ.get("HITCIRCLE_TEST_REDIS_URL", ""))
    parser.add_argument(
        "--workers", default="1,2", help="worker counts on MariaDB + Redis, comma-separated"
    )
    parser.add_argument("--settle", type=float, default=1.0, help="seconds idle before reading")
    args = parser.parse_args()
    if bool(args.mysql) != bool(args.redis):
        raise SystemExit("--mysql and --redis go together")
    run(args.mysql, args.redis, [int(n) for n in args.workers.split(",")], args.settle)


if __name__ == "__main__":
    main()
