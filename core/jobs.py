"""Periodic jobs from the `jobs` hook, run inside the app's lifespan on the app's clock.

A job runs on every worker that has it, every `interval` seconds. A job marked `once=True` runs
once per interval across every worker and host sharing the cache (purges, snapshots, a daily
challenge): its ticks are the whole multiples of `interval` on the wall clock (since the epoch,
so every host agrees which tick is which), and before each tick every worker tries to claim the
tick's key in the shared cache with SET NX; the one that sets it runs the job, the others skip.

Each run is recorded in `job_runs` (one row per job: the last run, its outcome and how many runs
there were), which `hitcircle jobs` shows.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import math
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from loguru import logger

from core import metrics
from core.clock import Clock, clock_of
from core.db import as_rows
from core.schema import TABLE_ARGS, metadata

if TYPE_CHECKING:
    from databases import Database

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


job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("started_at", sa.DateTime(), nullable=False),
    sa.Column("seconds", sa.Float(), nullable=False),
    # The exception of a failed run, None after a good one.
    sa.Column("error", sa.Text(), nullable=True),
    # host:pid of the worker that ran it.
    sa.Column("worker", sa.String(128), nullable=False),
    sa.Column("runs", sa.BigInteger(), nullable=False),
    sa.Column("failures", sa.BigInteger(), nullable=False),
    **TABLE_ARGS,
)


async def record_run(
    db: Database, name: str, started: float, seconds: float, error: str | None, worker: str
) -> None:
    """Note a finished run of job `name` (`started`: wall-clock seconds since the epoch)."""
    values = {
        "started_at": dt.datetime.fromtimestamp(started, dt.UTC).replace(
            tzinfo=None, microsecond=0
        ),
        "seconds": seconds,
        "error": error,
        "worker": worker,
    }
    failed = int(error is not None)
    updated = await db.execute(
        job_runs.update()
        .where(job_runs.c.name == name)
        .values(**values, runs=job_runs.c.runs + 1, failures=job_runs.c.failures + failed)
    )
    if not updated:
        try:
            await db.execute(job_runs.insert().values(name=name, **values, runs=1, failures=failed))
        except sa.exc.IntegrityError:
            # Another worker's first run of the same job came first: count this one on top.
            await db.execute(
                job_runs.update()
                .where(job_runs.c.name == name)
                .values(**values, runs=job_runs.c.runs + 1, failures=job_runs.c.failures + failed)
            )


async def last_runs(db: Database) -> dict[str, Mapping[str, Any]]:
    """Every recorded job's row, by name."""
    return {row["name"]: row for row in as_rows(await db.fetch_all(job_runs.select()))}


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _run(job: Job, app: Any, clock: Clock) -> None:
    """One run of `job`, recorded in `job_runs` when the app has a database. A failure is logged
    and recorded, never raised: a failing job must never take the server down."""
    started, begun = clock.time(), clock.monotonic()
    error: str | None = None
    try:
        await job.run(app)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        logger.exception("job {} failed; it runs again next interval", job.name)
    metrics.job_run(job.name, clock.monotonic() - begun, error is not None)
    try:
        db = app.services.db
    except (AttributeError, RuntimeError):
        return  # a test's stand-in app, or no database open
    try:
        await record_run(db, job.name, started, clock.monotonic() - begun, error, worker_name())
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # the database may be what is down; the job itself ran
        logger.warning("job {}: its run could not be recorded: {}", job.name, exc)


# The tick a `once` job's run belongs to (whole multiples of its interval since the epoch), for a
# job that keys its work by it (a daily room, a snapshot): `current_tick()` inside the run.
_TICK: contextvars.ContextVar[int | None] = contextvars.ContextVar("job_tick", default=None)


def current_tick() -> int | None:
    """Inside a `once` job's run: the tick it claimed; None elsewhere."""
    return _TICK.get()


def claim_key(job: Job, tick: int) -> str:
    """The cache key whose SET NX gives one worker tick `tick` of a `once` job."""
    return f"job:{job.name}:{tick}"


Nap = Callable[[float], Awaitable[None]]


async def _loop(job: Job, app: Any, clock: Clock, nap: Nap) -> None:
    if not job.run_at_start:
        await nap(job.interval)
    while True:
        await _run(job, app, clock)
        await nap(job.interval)


async def _loop_once(job: Job, app: Any, clock: Clock, nap: Nap, cache: Any) -> None:
    owner = worker_name()
    tick = math.floor(clock.time() / job.interval) + (0 if job.run_at_start else 1)
    while True:
        wait = tick * job.interval - clock.time()
        if wait > 0:
            await nap(wait)
        try:
            claimed = await cache.set(
                claim_key(job, tick), owner, ex=job.interval + CLAIM_SLACK, nx=True
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # A cache that is down: without the claim the tick is skipped, never doubled.
            logger.exception("job {}: tick {} could not be claimed", job.name, tick)
            claimed = False
        if claimed:
            reset = _TICK.set(tick)
            try:
                await _run(job, app, clock)
            finally:
                _TICK.reset(reset)
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
