"""`once` jobs: one run per tick across every worker sharing the cache, on a manual clock.

Two job runners stand for two workers: on the embedded backend they share one memory cache (one
process), on mysql_redis each has its own Redis client, as two processes or hosts would.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from starlette.applications import Starlette

from core.app import create_app
from core.cache import CacheUnavailable, make_cache
from core.clock import ManualClock
from core.config import Settings
from core.hooks import hookimpl
from core.jobs import Job, JobRunner, claim_key
from core.testing import advance, running

INTERVAL = 60.0
# A whole number of intervals since the epoch: the first tick is one interval away.
START = 30_000_000 * INTERVAL


def caches(settings: Settings, clock: ManualClock) -> list[Any]:
    """The caches of two workers: one shared memory cache, or two clients of the same Redis."""
    if not settings.redis.url:
        return [make_cache("", clock=clock)] * 2
    return [make_cache(settings.redis.url, settings.redis.prefix, 1.0, clock) for _ in range(2)]


def workers(
    settings: Settings, clock: ManualClock, runs: list[tuple[str, float]], **options: Any
) -> tuple[list[JobRunner], list[Any]]:
    """Two job runners (workers "a" and "b") with the same `once` job, not started yet."""
    runners = []
    for worker in "ab":

        async def run(app: Any, worker: str = worker) -> None:
            runs.append((worker, clock.time()))

        runners.append(JobRunner([Job("purge", INTERVAL, run, once=True, **options)]))
    return runners, caches(settings, clock)


def start(runner: JobRunner, cache: Any, clock: ManualClock) -> None:
    runner.start(SimpleNamespace(services=SimpleNamespace(cache=cache, clock=clock)))


async def stop(runners: list[JobRunner], caches: list[Any]) -> None:
    for runner in runners:
        await runner.stop()
    for cache in {id(c): c for c in caches}.values():
        await cache.close()


async def test_a_once_job_runs_once_per_tick_across_workers(settings: Settings) -> None:
    clock = ManualClock(start=START)
    runs: list[tuple[str, float]] = []
    runners, shared = workers(settings, clock, runs)
    try:
        start(runners[0], shared[0], clock)
        await clock.wait_for_sleepers(1)
        # The second worker starts 25 s later, yet both wait for the same tick: ticks are whole
        # multiples of the interval on the wall clock.
        assert clock.advance(25) == 0
        start(runners[1], shared[1], clock)
        await clock.wait_for_sleepers(2)
        assert clock.sleepers == [INTERVAL, INTERVAL]
        assert runs == []
        for tick in range(1, 6):
            assert clock.advance(INTERVAL if tick > 1 else INTERVAL - 25) == 2
            await clock.wait_for_sleepers(2)  # both went back to sleep: the tick is over
            assert len(runs) == tick
            # The tick's key in the shared cache names the process that ran it.
            key = claim_key(runners[0].jobs[0], int(START / INTERVAL) + tick)
            assert (await shared[1].get(key) or b"").endswith(f":{os.getpid()}".encode())
        assert [at for _, at in runs] == [START + k * INTERVAL for k in range(1, 6)]
    finally:
        await stop(runners, shared)


async def test_run_at_start_claims_the_tick_under_way_once(settings: Settings) -> None:
    clock = ManualClock(start=START + 30)
    runs: list[tuple[str, float]] = []
    runners, shared = workers(settings, clock, runs, run_at_start=True)
    try:
        start(runners[0], shared[0], clock)
        await clock.wait_for_sleepers(1)
        start(runners[1], shared[1], clock)
        await clock.wait_for_sleepers(2)
        # One run for the tick under way, whichever worker started first; the next at its end.
        assert runs == [("a", START + 30)]
        assert clock.sleepers == [30, 30]
        clock.advance(30)
        await clock.wait_for_sleepers(2)
        assert [at for _, at in runs] == [START + 30, START + INTERVAL]
    finally:
        await stop(runners, shared)


async def test_a_failed_run_or_a_missing_cache_skips_the_tick_only() -> None:
    clock = ManualClock(start=START)
    attempts: list[float] = []

    async def flaky(app: Any) -> None:
        attempts.append(clock.time())
        if len(attempts) == 1:
            raise RuntimeError("first run fails")

    class FlakyCache:
        """The memory cache, down for the third tick."""

        def __init__(self) -> None:
            self.inner = make_cache("", clock=clock)
            self.calls = 0

        async def set(self, *args: Any, **kwargs: Any) -> bool:
            self.calls += 1
            if self.calls == 3:
                raise CacheUnavailable("redis is restarting")
            result: bool = await self.inner.set(*args, **kwargs)
            return result

    runner = JobRunner([Job("flaky", INTERVAL, flaky, once=True)])
    start(runner, FlakyCache(), clock)
    try:
        for _ in range(4):
            await clock.wait_for_sleepers(1)
            clock.advance(INTERVAL)
        await clock.wait_for_sleepers(1)
        # Tick 1 failed (logged), tick 2 ran, tick 3 had no claim so nobody ran it, tick 4 ran.
        assert attempts == [START + INTERVAL, START + 2 * INTERVAL, START + 4 * INTERVAL]
    finally:
        await runner.stop()


async def test_a_once_job_needs_a_cache() -> None:
    async def job(app: Any) -> None:
        pass

    runner = JobRunner([Job("lonely", INTERVAL, job, once=True)])
    with pytest.raises(ValueError, match="'lonely' runs once across workers: it needs a cache"):
        runner.start(SimpleNamespace(services=SimpleNamespace()), ManualClock())


@pytest.mark.redis_cluster("mysql_cluster")
async def test_two_apps_on_redis_run_a_plugin_job_once(settings: Settings, backend: str) -> None:
    if backend == "embedded":
        pytest.skip("two apps share a cache only through Redis; memory is one process")
    clock = ManualClock(start=START)
    runs: list[Starlette] = []

    async def purge(app: Starlette) -> None:
        runs.append(app)

    @hookimpl
    def jobs() -> list[Job]:
        return [Job("purge", INTERVAL, purge, once=True)]

    purger = ModuleType("purger")
    purger.jobs = jobs  # type: ignore[attr-defined]
    apps = [create_app(settings, extra_plugins=[purger], clock=clock) for _ in range(2)]
    async with running(apps[0]), running(apps[1]):
        for tick in range(1, 4):
            await advance(apps, INTERVAL)
            assert len(runs) == tick
    assert set(map(id, runs)) <= {id(app) for app in apps}


async def test_settled_waits_for_the_jobs_that_came_due() -> None:
    clock = ManualClock(start=START)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(app: Any) -> None:
        started.set()
        await release.wait()

    runner = JobRunner([Job("slow", INTERVAL, slow)])
    app = SimpleNamespace(services=SimpleNamespace(clock=clock))
    runner.start(app)
    assert app.services.jobs is runner
    await runner.settled()  # started, and asleep until its first interval is over
    assert clock.sleepers == [INTERVAL] and not started.is_set()
    clock.advance(INTERVAL)
    settled = asyncio.create_task(runner.settled())
    await started.wait()
    assert not settled.done()  # the job that came due is still running
    release.set()
    await settled
    assert clock.sleepers == [2 * INTERVAL]
    await runner.stop()


TICKER = """
import os

from core.hooks import hookimpl
from core.jobs import Job, current_tick


async def tick(app):
    with open(os.environ["HITCIRCLE_TEST_TICKS"], "a") as out:
        out.write(f"{current_tick()} {os.getpid()}\\n")


@hookimpl
def jobs():
    return [Job("ticker", 1.0, tick, once=True)]
"""


def test_two_server_processes_run_a_once_job_once(
    settings: Settings, backend: str, tmp_path: Path
) -> None:
    """Two `hitcircle serve` processes on one Redis: every tick of a `once` job runs in exactly
    one of them (the claim is SET NX in the shared cache)."""
    if backend != "mysql_redis":
        pytest.skip("two processes share a cache only through Redis; memory is one process")
    from tests.conftest import LiveServer

    (tmp_path / "ticker.py").write_text(TICKER)
    ticks = tmp_path / "ticks.txt"
    ticks.touch()
    env = {
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "HITCIRCLE_PLUGINS_MODULES": "ticker",
        "HITCIRCLE_TEST_TICKS": str(ticks),
    }
    servers = [LiveServer(settings, extra_env=env) for _ in range(2)]
    try:
        for server in servers:
            server.start()
        # Wait (for a condition, not a time) until eight ticks ran, with both processes up.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(ticks.read_text().splitlines()) < 8:
            time.sleep(0.1)
        assert all(server.process and server.process.poll() is None for server in servers)
    finally:
        for server in servers:
            server.stop()
    lines = [line.split() for line in ticks.read_text().splitlines()]
    ran = [int(tick) for tick, _ in lines]
    assert len(ran) >= 8, lines
    assert len(ran) == len(set(ran)), f"a tick ran twice: {lines}"
