import asyncio

from core.jobs import Job, JobRunner


async def test_jobs_run_periodically_and_survive_failures() -> None:
    calls: list[int] = []

    async def flaky(app: object) -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("first run fails")

    runner = JobRunner([Job("flaky", 0.01, flaky, run_at_start=True)])
    runner.start(app=None)
    await asyncio.sleep(0.1)
    await runner.stop()
    assert len(calls) >= 3  # the failure did not stop the loop


async def test_jobs_wait_one_interval_by_default() -> None:
    calls: list[str] = []

    async def job(app: object) -> None:
        calls.append("x")

    runner = JobRunner([Job("slow", 10, job)])
    runner.start(app=None)
    await asyncio.sleep(0.05)
    await runner.stop()
    assert calls == []
