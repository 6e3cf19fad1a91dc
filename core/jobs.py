"""Periodic jobs from the `jobs` hook, run inside the app's lifespan on the app's clock."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from loguru import logger

from core.clock import Clock, clock_of


@dataclass(frozen=True)
class Job:
    name: str
    interval: float
    run: Callable[[Any], Awaitable[None]]
    # Run once right at start-up instead of waiting one interval first.
    run_at_start: bool = False


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


class JobRunner:
    def __init__(self, jobs: list[Job]) -> None:
        self.jobs = jobs
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, app: Any, clock: Clock | None = None) -> None:
        """Run every job on `clock` (by default the app's, `app.state.clock`)."""
        if clock is None:
            clock = clock_of(getattr(app, "state", None))
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(_loop(job, app, clock), name=f"job:{job.name}"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
