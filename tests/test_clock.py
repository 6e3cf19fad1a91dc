"""core.clock: the manual clock wakes sleepers in deadline order, exactly when time reaches them."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.clock import SYSTEM_CLOCK, ManualClock, SystemClock, clock_of, wait_for


async def test_system_clock_is_the_real_one() -> None:
    clock = SystemClock()
    assert abs(clock.time() - time.time()) < 1
    before = clock.monotonic()
    await clock.sleep(0)
    assert clock.monotonic() >= before
    assert clock_of(None) is SYSTEM_CLOCK
    manual = ManualClock()
    assert clock_of(type("State", (), {"clock": manual})()) is manual


async def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock(start=1000.0)
    assert (clock.time(), clock.monotonic()) == (1000.0, 0.0)
    clock.advance(2.5)
    assert (clock.time(), clock.monotonic()) == (1002.5, 2.5)
    with pytest.raises(ValueError):
        clock.advance(-1)


async def test_sleepers_wake_in_deadline_order_when_their_time_comes() -> None:
    clock = ManualClock(start=0.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 3), ("early", 1), ("mid", 2))]
    await clock.wait_for_sleeper(2)
    await clock.wait_for_sleepers(3)
    assert clock.sleepers == [1, 2, 3]
    assert clock.advance(0.5) == 0
    assert clock.advance(2) == 2  # to 2.5: "early" and "mid" are due, "late" is not
    await asyncio.gather(*tasks[1:])
    # Each woke seeing the time of the last deadline reached by that advance.
    assert [name for name, _ in woke] == ["early", "mid"]
    assert clock.sleepers == [3]
    clock.advance(10)
    await tasks[0]
    assert woke[-1] == ("late", 12.5)
    assert clock.time() == 12.5


async def test_a_cancelled_sleeper_is_forgotten_and_zero_returns_at_once() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(5))
    await clock.wait_for_sleepers(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.sleepers == []
    assert clock.advance(10) == 0
    await clock.sleep(0)
    await clock.sleep(-1)


async def test_wait_for_times_out_on_the_clock() -> None:
    clock = ManualClock()
    never = asyncio.Event()
    waiting = asyncio.create_task(wait_for(clock, never.wait(), 2))
    await clock.wait_for_sleepers(1)
    clock.advance(1.5)
    assert not waiting.done()
    clock.advance(0.5)
    with pytest.raises(TimeoutError):
        await waiting
    assert clock.sleepers == []

    answer = asyncio.get_running_loop().create_future()
    answered = asyncio.create_task(wait_for(clock, answer, 2))
    await clock.wait_for_sleepers(1)
    answer.set_result(42)
    assert await answered == 42
    await asyncio.sleep(0)  # the timer's cancellation runs
    assert clock.sleepers == []
    assert await wait_for(SYSTEM_CLOCK, asyncio.sleep(0, "real"), 1) == "real"
