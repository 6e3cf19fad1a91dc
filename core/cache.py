"""Key-value store and pub/sub with two backends: Redis (`core.redis_cache`) and in-process memory.

Values are bytes (or str, stored as UTF-8). Both backends pass the same test module, so code
written against `Cache` runs on one process or many.
"""

from __future__ import annotations

import asyncio
import builtins
import fnmatch
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from core.clock import SYSTEM_CLOCK, Clock

Value = bytes | str | int | float
# How a caller reads the cache: `Cache.get`, or a request's values read ahead with its token
# (`core.auth.reader`).
Read = Callable[[str], Awaitable[bytes | None]]


class CacheUnavailable(Exception):
    """The cache backend did not answer in time."""


class LockTimeout(Exception):
    """A lock could not be taken within its wait time."""


def _b(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode()


class Subscription(Protocol):
    async def get(self, timeout: float | None = None) -> tuple[str, bytes] | None: ...

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]: ...


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(
        self, key: str, value: Value, ex: float | None = None, nx: bool = False
    ) -> bool: ...
    async def delete(self, *keys: str) -> int: ...
    async def exists(self, key: str) -> bool: ...
    async def incr(self, key: str, amount: int = 1) -> int: ...
    async def expire(self, key: str, seconds: float) -> bool: ...
    async def ttl(self, key: str) -> float | None: ...
    async def mget(self, keys: list[str]) -> list[bytes | None]: ...
    async def hset(self, key: str, mapping: Mapping[str, Value]) -> None: ...
    async def hget(self, key: str, field: str) -> bytes | None: ...
    async def hgetall(self, key: str) -> dict[str, bytes]: ...
    async def hdel(self, key: str, *fields: str) -> int: ...
    async def hincrby(self, key: str, field: str, amount: int = 1) -> int: ...
    async def sadd(self, key: str, *members: Value) -> int: ...
    async def srem(self, key: str, *members: Value) -> int: ...
    async def smembers(self, key: str) -> builtins.set[bytes]: ...
    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int: ...
    async def zrem(self, key: str, *members: str) -> int: ...
    async def zscore(self, key: str, member: str) -> float | None: ...
    async def zrange(
        self, key: str, start: int, stop: int, desc: bool = False
    ) -> list[tuple[bytes, float]]: ...
    async def zcard(self, key: str) -> int: ...
    async def publish(self, channel: str, message: Value) -> None: ...
    def subscribe(self, *channels: str) -> Any: ...
    def lock(self, name: str, timeout: float = 10.0, wait: float = 10.0) -> Any: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...
    async def hit(
        self, key: str, window: float, reads: Sequence[str] = ()
    ) -> tuple[int, float, list[bytes | None]]: ...
    async def rolling_hit(self, key: str, limit: int, window: float) -> bool: ...
    async def lock_get(
        self, name: str, key: str, timeout: float = 10.0, wait: float = 10.0
    ) -> tuple[str, bytes | None]: ...
    async def unlock_set(
        self,
        name: str,
        token: str,
        key: str,
        value: Value | None,
        ex: float | None = None,
        messages: Sequence[tuple[str, Value]] = (),
        hold: float | None = None,
    ) -> bool: ...


_V = TypeVar("_V")


class MemoryCache:
    """One process's memory; `serve` refuses more than one worker with it.

    Expiry follows `clock` (the app's), so tests move it instead of waiting; a lock's wait for
    another holder polls on the real clock, as it waits on other tasks, not on time.
    """

    def __init__(self, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._data: dict[str, Any] = {}
        self._expiry: dict[str, float] = {}
        self._subscribers: dict[str, set[asyncio.Queue[tuple[str, bytes]]]] = {}
        self._lock_tokens: dict[str, str] = {}

    def _alive(self, key: str) -> bool:
        deadline = self._expiry.get(key)
        if deadline is not None and deadline <= self._clock.monotonic():
            self._data.pop(key, None)
            self._expiry.pop(key, None)
        return key in self._data

    def _drop(self, key: str) -> None:
        """As Redis deletes a hash, set or sorted set left empty, and its expiry with it."""
        self._data.pop(key, None)
        self._expiry.pop(key, None)

    def _get(self, key: str, kind: type[_V]) -> _V | None:
        if not self._alive(key):
            return None
        value = self._data[key]
        if not isinstance(value, kind):
            raise TypeError(f"{key} holds a {type(value).__name__}, not a {kind.__name__}")
        return value

    def _container(self, key: str, kind: type[_V]) -> _V:
        value = self._get(key, kind)
        if value is None:
            value = self._data[key] = kind()
        return value

    async def get(self, key: str) -> bytes | None:
        return self._get(key, bytes)

    async def set(self, key: str, value: Value, ex: float | None = None, nx: bool = False) -> bool:
        if nx and self._alive(key):
            return False
        self._data[key] = _b(value)
        if ex is not None:
            self._expiry[key] = self._clock.monotonic() + ex
        else:
            self._expiry.pop(key, None)
        return True

    async def delete(self, *keys: str) -> int:
        count = 0
        for key in keys:
            if self._alive(key):
                count += 1
            self._data.pop(key, None)
            self._expiry.pop(key, None)
        return count

    async def exists(self, key: str) -> bool:
        return self._alive(key)

    async def incr(self, key: str, amount: int = 1) -> int:
        current = self._get(key, bytes)
        value = (int(current) if current is not None else 0) + amount
        self._data[key] = str(value).encode()
        return value

    async def expire(self, key: str, seconds: float) -> bool:
        if not self._alive(key):
            return False
        self._expiry[key] = self._clock.monotonic() + seconds
        return True

    async def ttl(self, key: str) -> float | None:
        if not self._alive(key) or key not in self._expiry:
            return None
        return max(0.0, self._expiry[key] - self._clock.monotonic())

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self._get(key, bytes) for key in keys]

    async def hset(self, key: str, mapping: Mapping[str, Value]) -> None:
        self._container(key, dict).update({k: _b(v) for k, v in mapping.items()})

    async def hget(self, key: str, field: str) -> bytes | None:
        return (self._get(key, dict) or {}).get(field)

    async def hgetall(self, key: str) -> dict[str, bytes]:
        return dict(self._get(key, dict) or {})

    async def hdel(self, key: str, *fields: str) -> int:
        container = self._get(key, dict) or {}
        removed = sum(1 for f in fields if container.pop(f, None) is not None)
        if not container:
            self._drop(key)
        return removed

    async def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        container = self._container(key, dict)
        value = int(container.get(field, b"0")) + amount
        container[field] = str(value).encode()
        return value

    async def sadd(self, key: str, *members: Value) -> int:
        container = self._container(key, set)
        before = len(container)
        container.update(_b(m) for m in members)
        return len(container) - before

    async def srem(self, key: str, *members: Value) -> int:
        container = self._get(key, set) or set()
        before = len(container)
        container.difference_update(_b(m) for m in members)
        if not container:
            self._drop(key)
        return before - len(container)

    async def smembers(self, key: str) -> builtins.set[bytes]:
        return set(self._get(key, set) or set())

    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int:
        container = self._container(key, dict)
        added = sum(1 for member in mapping if _b(member) not in container)
        container.update({_b(m): float(s) for m, s in mapping.items()})
        return added

    async def zrem(self, key: str, *members: str) -> int:
        container = self._get(key, dict) or {}
        removed = sum(1 for m in members if container.pop(_b(m), None) is not None)
        if not container:
            self._drop(key)
        return removed

    async def zscore(self, key: str, member: str) -> float | None:
        return (self._get(key, dict) or {}).get(_b(member))

    async def zrange(
        self, key: str, start: int, stop: int, desc: bool = False
    ) -> list[tuple[bytes, float]]:
        items = sorted((self._get(key, dict) or {}).items(), key=lambda kv: (kv[1], kv[0]))
        if desc:
            items.reverse()
        # Redis semantics: `stop` is inclusive and -1 means the last element.
        end = None if stop == -1 else stop + 1
        return items[start:end]

    async def zcard(self, key: str) -> int:
        return len(self._get(key, dict) or {})

    async def publish(self, channel: str, message: Value) -> None:
        data = _b(message)
        for pattern, queues in list(self._subscribers.items()):
            if pattern == channel or fnmatch.fnmatchcase(channel, pattern):
                for queue in queues:
                    queue.put_nowait((channel, data))

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[_MemorySubscription]:
        queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(queue)
        try:
            yield _MemorySubscription(queue)
        finally:
            for channel in channels:
                subscribers = self._subscribers.get(channel)
                if subscribers is not None:
                    subscribers.discard(queue)
                    if not subscribers:
                        del self._subscribers[channel]

    @asynccontextmanager
    async def lock(
        self, name: str, timeout: float = 10.0, wait: float = 10.0
    ) -> AsyncIterator[None]:
        token = await self.acquire_lock(name, timeout, wait)
        try:
            yield
        finally:
            await self.release_lock(name, token)

    async def acquire_lock(self, name: str, timeout: float, wait: float) -> str:
        """Take `lock(name)` and return its holder's token (also for `core.cache_share`)."""
        key = f"lock:{name}"
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        while not await self.set(key, token, ex=timeout, nx=True):
            if time.monotonic() >= deadline:
                raise LockTimeout(name)
            await asyncio.sleep(0.005)
        return token

    async def release_lock(self, name: str, token: str) -> None:
        """Let go of a lock, unless it expired and someone else holds it now."""
        key = f"lock:{name}"
        if self._get(key, bytes) == token.encode():
            await self.delete(key)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._data.clear()
        self._expiry.clear()

    async def hit(
        self, key: str, window: float, reads: Sequence[str] = ()
    ) -> tuple[int, float, list[bytes | None]]:
        """Count one more in the fixed window `key` and read `reads` with it: (count, seconds
        until the window ends, values). The window starts at its first hit and lasts `window`."""
        count = await self.incr(key)
        if count == 1:
            await self.expire(key, window)
        left = await self.ttl(key)
        return count, window if left is None else left, await self.mget(list(reads))

    async def rolling_hit(self, key: str, limit: int, window: float) -> bool:
        """Count one more in the rolling window `key` unless `limit` were counted in the last
        `window` seconds: True when counted (osu-web's chat limits are such windows)."""
        now = self._clock.monotonic()
        hits = self._container(key, list)
        if len(hits) >= limit and now - hits[limit - 1] < window:
            return False
        hits.insert(0, now)
        del hits[limit:]
        self._expiry[key] = now + window
        return True

    async def lock_get(
        self, name: str, key: str, timeout: float = 10.0, wait: float = 10.0
    ) -> tuple[str, bytes | None]:
        """Take `lock(name)` (waiting for it as `lock` does) and read `key` with it: (the
        holder's token, the value). With `unlock_set`, a read-modify-write under the lock is two
        round trips on Redis. There both are one script, so in a Redis Cluster `key` and the
        lock's key (`lock:` + name) must share a hash tag (`mp:{room:1}` and `lock:mp:{room:1}`).
        """
        token = await self.acquire_lock(name, timeout, wait)
        return token, self._get(key, bytes)

    async def unlock_set(
        self,
        name: str,
        token: str,
        key: str,
        value: Value | None,
        ex: float | None = None,
        messages: Sequence[tuple[str, Value]] = (),
        hold: float | None = None,
    ) -> bool:
        """If lock `name` is still the holder `token`'s: set `key` to `value` (expiring after
        `ex` seconds; `None` deletes it), publish `messages` ((channel, message), in order) and
        let the lock go, all at once; or, with `hold`, keep it for `hold` more seconds (for the
        holder's next change). False, with nothing done, once the lock expired."""
        lock_key = f"lock:{name}"
        if self._get(lock_key, bytes) != token.encode():
            return False
        if value is None:
            await self.delete(key)
        else:
            await self.set(key, value, ex=ex)
        for channel, message in messages:
            await self.publish(channel, message)
        if hold is None:
            await self.delete(lock_key)
        else:
            await self.expire(lock_key, hold)
        return True


class _MemorySubscription:
    def __init__(self, queue: asyncio.Queue[tuple[str, bytes]]) -> None:
        self._queue = queue

    async def get(self, timeout: float | None = None) -> tuple[str, bytes] | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            yield await self._queue.get()


def make_cache(
    url: str, prefix: str = "hitcircle:", timeout: float = 1.0, clock: Clock = SYSTEM_CLOCK
) -> Cache:
    """Redis when `url` is set (its keys expire on the server's clock, `clock` only dates
    `rolling_hit`'s hits), else process memory (expiring on `clock`)."""
    if url:
        from core.redis_cache import open_cache

        return open_cache(url, prefix, timeout, clock)
    return MemoryCache(clock)
