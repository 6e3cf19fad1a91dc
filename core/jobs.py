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
from typing import TYPE_CHECKING, Any

from loguru import logger

from core.clock import Clock, clock_of

if TYPE_CHECKING:
    from core.cache import Cache
    from core.services import Services

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
    # Run each tick on one worker only, across all workers and hosts sharing `services(app).cache`.
    # A run longer than `interval` may overlap the next tick's run on another worker.
    once: bool = False


def claim_key(job: Job, tick: int) -> str:
    """The cache key whose SET NX gives one worker tick `tick` of a `once` job."""
    return f"job:{job.name}:{tick}"


Nap = Callable[[float], Awaitable[None]]


async def _loop(job: Job, app: Any, clock: Clock, nap: Nap) -> None:
    if not job.run_at_start:
        await nap(job.interval)
    while True:
        try:
            await job.run(app)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failing job must never take the server down; it gets another go next interval.
            logger.exception("job {} failed; retrying in {}s", job.name, job.interval)
        await nap(job.interval)


async def _loop_once(job: Job, app: Any, clock: Clock, nap: Nap, cache: Any) -> None:
    owner = f"{socket.gethostname()}:{os.getpid()}"
    tick = math.floor(clock.time() / job.interval) + (0 if job.run_at_start else 1)
    while True:
        wait = tick * job.interval - clock.time()
        if wait > 0:
            await nap(wait)
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
    """The app's jobs, each in a task of its own; `start` makes it `services(app).jobs`."""

    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []
        self._clock: Clock | None = None
        # Per job loop: the moment (monotonic, on the clock) it sleeps until; None while awake.
        self._asleep_until: list[float | None] = []
        self._changed = asyncio.Event()

    def start(self, app: Any, clock: Clock | None = None) -> None:
        """Run every job on `clock` (by default the app's, `services(app).clock`); `once` jobs claim
        their ticks in `services(app).cache`."""
        # The app's `Services` (or a test's stand-in with `clock` and `cache`); None runs
        # the jobs without one.
        svc: Services | None = getattr(app, "services", None)
        if clock is None:
            clock = clock_of(svc)
        self._clock = clock
        cache: Cache | None = getattr(svc, "cache", None)
        for job in self.jobs:
            nap = self._napper(len(self._asleep_until), clock)
            self._asleep_until.append(None)
            if job.once:
                if cache is None:
                    raise ValueError(f"job {job.name!r} runs once across workers: it needs a cache")
                loop = _loop_once(job, app, clock, nap, cache)
            else:
                loop = _loop(job, app, clock, nap)
            self._tasks.append(asyncio.create_task(loop, name=f"job:{job.name}"))
        if svc is not None:
            svc.jobs = self

    def _napper(self, slot: int, clock: Clock) -> Nap:
        async def nap(seconds: float) -> None:
            self._asleep_until[slot] = clock.monotonic() + seconds
            self._changed.set()
            self._changed = asyncio.Event()
            try:
                await clock.sleep(seconds)
            finally:
                self._asleep_until[slot] = None

        return nap

    async def settled(self) -> None:
        """Return once every job is asleep until a moment still ahead on its clock: each has
        started, and whatever came due (a test moved a manual clock past it) has run."""
        while self._clock is not None and not all(
            until is not None and until > self._clock.monotonic() for until in self._asleep_until
        ):
            await self._changed.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
