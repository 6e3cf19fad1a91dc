"""The job runner on a manual clock: every run is caused by moving time, none by waiting."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.applications import Starlette

from core.clock import ManualClock
from core.jobs import Job, JobRunner


async def test_jobs_run_periodically_and_survive_failures() -> None:
    clock = ManualClock()
    calls: list[int] = []

    async def flaky(app: object) -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("first run fails")

    runner = JobRunner([Job("flaky", 0.5, flaky, run_at_start=True)])
    runner.start(app=None, clock=clock)
    # Ran at start (and failed), then went to sleep for one interval.
    await clock.wait_for_sleepers(1)
    assert calls == [0]
    assert clock.advance(0.25) == 0
    for expected in (2, 3, 4):
        assert clock.advance(0.25 if expected == 2 else 0.5) == 1
        await clock.wait_for_sleepers(1)
        assert len(calls) == expected  # the failure did not stop the loop
    await runner.stop()
    assert clock.sleepers == []


async def test_jobs_wait_one_interval_by_default() -> None:
    clock = ManualClock()
    calls: list[str] = []

    async def job(app: object) -> None:
        calls.append("x")

    runner = JobRunner([Job("slow", 10, job)])
    runner.start(app=None, clock=clock)
    await clock.wait_for_sleepers(1)
    assert calls == [] and clock.sleepers == [10]
    assert clock.advance(9.5) == 0
    assert calls == []
    assert clock.advance(0.5) == 1
    await clock.wait_for_sleepers(1)
    assert calls == ["x"] and clock.sleepers == [20]
    await runner.stop()


async def test_jobs_take_the_clock_of_the_app() -> None:
    clock = ManualClock()
    seen: list[object] = []
    app = SimpleNamespace(services=SimpleNamespace(clock=clock))

    async def job(given: object) -> None:
        seen.append(given)

    runner = JobRunner([Job("tick", 5, job)])
    runner.start(app)
    await clock.wait_for_sleepers(1)
    clock.advance(5)
    await clock.wait_for_sleepers(1)
    assert seen == [app]
    await runner.stop()


async def test_runs_are_recorded(app: Starlette, clock: ManualClock) -> None:
    from core.jobs import last_runs
    from core.services import services

    calls: list[int] = []

    async def flaky(given: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("disk full")

    runner = JobRunner([Job("flaky", 60, flaky, run_at_start=True)])
    runner.start(app, clock)
    await runner.settled()
    row = (await last_runs(services(app).db))["flaky"]
    assert (row["runs"], row["failures"], row["error"]) == (1, 1, "RuntimeError: disk full")
    assert row["started_at"].timestamp() == pytest.approx(clock.time(), abs=1)
    clock.advance(60)
    await runner.settled()
    row = (await last_runs(services(app).db))["flaky"]
    assert (row["runs"], row["failures"], row["error"]) == (2, 1, None)
    await runner.stop()
