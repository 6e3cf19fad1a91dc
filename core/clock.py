"""The app's clock: wall time, monotonic time and sleeping, in one object that can be swapped.

Components that wait or expire things (the job runner, the memory cache, the spectator hub, the
multiplayer countdowns) read `services(app).clock` instead of `time` and `asyncio.sleep`. The server
runs on `SystemClock`; tests give `create_app(settings, clock=ManualClock())` and move time with
`advance`, so nothing in them waits on the real clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from core.services import Services

T = TypeVar("T")


class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch (as `time.time()`), comparable across hosts."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go backwards (as `time.monotonic()`), for intervals and ttls."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Return once `seconds` have passed on this clock."""
        ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def clock_of(svc: Services | None) -> Clock:
    """The clock of an app's services (`services(app).clock`); the real one without services."""
    found: Clock | None = getattr(svc, "clock", None)
    return found if found is not None else SYSTEM_CLOCK


async def wait_for(clock: Clock, awaitable: Awaitable[T], timeout: float) -> T:
    """`asyncio.wait_for` with the timeout kept on `clock`: TimeoutError (and `awaitable`
    cancelled) once `timeout` seconds pass on it first."""
    if isinstance(clock, SystemClock):
        return await asyncio.wait_for(awaitable, timeout)
    task = asyncio.ensure_future(awaitable)
    timer = asyncio.ensure_future(clock.sleep(timeout))
    try:
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        timer.cancel()
        raise
    if task.done():
        timer.cancel()
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise TimeoutError


class ManualClock:
    """A clock that moves only when told: `advance(seconds)` wakes, in deadline order, every
    sleeper whose deadline it reaches. Wall and monotonic time move together."""

    def __init__(self, start: float | None = None) -> None:
        # A whole second, so deadlines a whole number of seconds away stay exact in floats.
        self._wall = float(int(time.time())) if start is None else start
        self._monotonic = 0.0
        self._order = itertools.count()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._changed: asyncio.Event | None = None

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._monotonic + seconds, next(self._order), future))
        self._notify()
        try:
            await future
        finally:
            if not future.done():  # cancelled while asleep: forget it
                future.cancel()
                self._sleepers = [s for s in self._sleepers if s[2] is not future]
                heapq.heapify(self._sleepers)
                self._notify()

    def advance(self, seconds: float) -> int:
        """Move time forward by `seconds`; returns how many sleepers were woken. They run when
        the caller next yields to the event loop."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        target = self._monotonic + seconds
        woken = 0
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, future = heapq.heappop(self._sleepers)
            self._wall += deadline - self._monotonic
            self._monotonic = deadline
            if not future.done():
                future.set_result(None)
                woken += 1
        self._wall += target - self._monotonic
        self._monotonic = target
        if woken:
            self._notify()
        return woken

    @property
    def sleepers(self) -> list[float]:
        """The deadlines (monotonic) of everyone asleep, earliest first."""
        return sorted(deadline for deadline, _, future in self._sleepers if not future.done())

    async def wait_for_sleepers(self, count: int = 1) -> None:
        """Return once at least `count` callers are asleep on this clock (a loop that ran and
        went back to waiting, a timer that was armed)."""
        while len(self.sleepers) < count:
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    async def wait_for_sleeper(self, deadline: float) -> None:
        """Return once someone is asleep until `deadline` (on the monotonic scale): a timer or
        a retry armed for a known moment, among whatever else sleeps on this clock."""
        while deadline not in self.sleepers:
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
