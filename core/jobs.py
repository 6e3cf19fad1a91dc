"""Periodic jobs from the `jobs` hook, run inside the app's lifespan on the app's clock.

A job runs on every worker that has it, every `interval` seconds. A job marked `once=True` runs
once per interval across every worker and host sharing the cache (purges, snapshots, a daily
challenge): its ticks are the whole multiples of `interval` on the wall clock (since the epoch,
so every host agrees which tick is which), and before each tick every worker tries to claim the
tick's key in the shared cache with SET NX; the one that sets it runs the job, the others skip.
"""

from __future__ import annotations

import asyncio
import math
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from core.clock import Clock, clock_of

# A claimed tick's key outlives its interval by this much: a host whose clock is up to this far
# behind still finds the tick taken instead of running it a second time.
CLAIM_SLACK = 60.0


@dataclass(frozen=True)
class Job:
    name: str
    interval: float
    run: Callable[[Any], Awaitable[None]]
    # Run once right at start-up instead of waiting one interval first (a `once` job: claim the
    # tick under way, unless a worker already ran it).
    run_at_start: bool = False
    # Run each tick on one worker only, across all workers and hosts sharing `app.state.cache`.
    # A run longer than `interval` may overlap the next tick's run on another worker.
    once: bool = False


def claim_key(job: Job, tick: int) -> str:
    """The cache key whose SET NX gives one worker tick `tick` of a `once` job."""
    return f"job:{job.name}:{tick}"


async def _loop(job: Job, app: Any, clock: Clock) -> None:
    if not job.run_at_start:
        await clock.sleep(job.interval)
    while True:
        try:
            await job.run(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failing job must never take the server down; it gets another go next interval.
            logger.exception("job {} failed; retrying in {}s", job.name, job.interval)
        await clock.sleep(job.interval)


async def _loop_once(job: Job, app: Any, clock: Clock, cache: Any) -> None:
    owner = f"{socket.gethostname()}:{os.getpid()}"
    tick = math.floor(clock.time() / job.interval) + (0 if job.run_at_start else 1)
    while True:
        wait = tick * job.interval - clock.time()
        if wait > 0:
            await clock.sleep(wait)
        try:
            if await cache.set(claim_key(job, tick), owner, ex=job.interval + CLAIM_SLACK, nx=True):
                await job.run(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Also a cache that is down: without the claim the tick is skipped, never doubled.
            logger.exception("job {} failed at tick {}", job.name, tick)
        # The next tick still ahead (a run longer than the interval skips the ticks it spanned).
        tick = max(tick + 1, math.floor(clock.time() / job.interval) + 1)


class JobRunner:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, app: Any, clock: Clock | None = None) -> None:
        """Run every job on `clock` (by default the app's, `app.state.clock`); `once` jobs claim
        their ticks in `app.state.cache`."""
        state = getattr(app, "state", None)
        if clock is None:
            clock = clock_of(state)
        cache = getattr(state, "cache", None)
        for job in self.jobs:
            if job.once:
                if cache is None:
                    raise ValueError(f"job {job.name!r} runs once across workers: it needs a cache")
                loop = _loop_once(job, app, clock, cache)
            else:
                loop = _loop(job, app, clock)
            self._tasks.append(asyncio.create_task(loop, name=f"job:{job.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
