"""Key-value store and pub/sub with two backends: Redis (coredis) and in-process memory.

Values are bytes (or str, stored as UTF-8). Both backends pass the same test module, so code
written against `Cache` runs on one process or many.
"""

from __future__ import annotations

import asyncio
import builtins
import fnmatch
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, cast

from core.clock import SYSTEM_CLOCK, Clock
from core.config import Settings
from core.redis_client import DOWN_ERRORS, close_client, is_cluster, open_client, publish
from core.redis_client import pubsub as redis_pubsub

if TYPE_CHECKING:
    import coredis

    from core.redis_client import RedisClient

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


# `RedisCache.hit` on a single Redis: KEYS[1] the counter, the other keys read beside it;
# ARGV[1] the window in milliseconds. Answers {count, milliseconds left, {values}}.
_HIT = """
redis.call('set', KEYS[1], 0, 'px', ARGV[1], 'nx')
local count = redis.call('incr', KEYS[1])
local left = redis.call('pttl', KEYS[1])
local found = {}
if #KEYS > 1 then found = redis.call('mget', unpack(KEYS, 2)) end
return {count, left, found}
"""

_HIT_SHA = hashlib.sha1(_HIT.encode()).hexdigest()

_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


# KEYS: the lock, the value; ARGV: token, lock timeout (ms). {1, value} once taken, else {0}.
_LOCK_GET = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('get', KEYS[2])}
end
return {0}
"""
# KEYS: the lock, the value; ARGV: token, 'set' or 'del', value, expiry (ms, 0: none), how
# long to keep the lock (ms, 0: let it go), then channel and message pairs. 1 when done; 0,
# doing nothing, when the token no longer holds.
_UNLOCK_SET = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'set' then
  if ARGV[4] == '0' then
    redis.call('set', KEYS[2], ARGV[3])
  else
    redis.call('set', KEYS[2], ARGV[3], 'PX', ARGV[4])
  end
else
  redis.call('del', KEYS[2])
end
for i = 6, #ARGV, 2 do
  redis.call('publish', ARGV[i], ARGV[i + 1])
end
if ARGV[5] == '0' then
  redis.call('del', KEYS[1])
else
  redis.call('pexpire', KEYS[1], ARGV[5])
end
return 1
"""
_LOCK_GET_SHA = hashlib.sha1(_LOCK_GET.encode()).hexdigest()
_UNLOCK_SET_SHA = hashlib.sha1(_UNLOCK_SET.encode()).hexdigest()


class RedisCache:
    """Redis through coredis; every key carries the configured prefix.

    Every call to Redis ends within `timeout` seconds, a stalled server (one that accepts
    connections but never answers) included: the whole call, with coredis's own reconnects and
    retries inside it, is bounded, and a call that fails or runs out of time raises
    CacheUnavailable, which requests answer with 503. A cancelled command makes coredis drop its
    connection (coredis/connection.py `Request.cleanup`), so no late reply reaches a later call.
    """

    def __init__(self, url: str, prefix: str = "hitcircle:", timeout: float = 1.0) -> None:
        # Imported here, not at the top: the memory cache never needs coredis (about 12 MiB
        # with what it imports, in every worker).
        import coredis

        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        # A call that ends in one of these found Redis down (`_call`).
        self._down = (
            TimeoutError,
            *(getattr(coredis.exceptions, name) for name in DOWN_ERRORS),
            # core.resp's connection (`hit`): refused, reset or closed.
            OSError,
        )
        self._nx: Literal[coredis.PureToken.NX] = coredis.PureToken.NX
        # One server, a cluster or a Sentinel-managed master (`core.redis_client`); both client
        # kinds take the same commands, `pipeline(transaction=False)` included (a cluster's
        # sends each command to its key's node, so each command must stay within one slot).
        self.client: RedisClient = open_client(url, timeout)
        self.cluster = is_cluster(self.client)
        # `hit` runs on every request: on a single plain Redis it skips coredis (core.resp).
        from core import resp

        self._fast = resp.PipelinedConnection(url, timeout) if resp.supported(url) else None
        # On a cluster, every message of this installation goes through the node of this key
        # (`core.redis_client.publish`), which keeps them in order.
        self._bus = self._k("bus")

    def _k(self, key: str) -> str:
        return self.prefix + key

    async def _call(self, command: Awaitable[_V], timeout: float | None = None) -> _V:
        """`command`'s answer within `timeout` (default: the configured one), or
        CacheUnavailable."""
        try:
            async with asyncio.timeout(self.timeout if timeout is None else timeout):
                return await command
        except self._down as exc:
            raise CacheUnavailable(f"redis did not answer: {exc!r}") from exc

    async def get(self, key: str) -> bytes | None:
        return await self._call(self.client.get(self._k(key)))

    async def set(self, key: str, value: Value, ex: float | None = None, nx: bool = False) -> bool:
        px = None if ex is None else max(1, int(ex * 1000))
        command = self.client.set(
            self._k(key), _b(value), px=px, condition=self._nx if nx else None
        )
        return bool(await self._call(command))

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return await self._call(self.client.delete([self._k(k) for k in keys]))

    async def exists(self, key: str) -> bool:
        return bool(await self._call(self.client.exists([self._k(key)])))

    async def incr(self, key: str, amount: int = 1) -> int:
        return await self._call(self.client.incrby(self._k(key), amount))

    async def expire(self, key: str, seconds: float) -> bool:
        return await self._call(self.client.pexpire(self._k(key), max(1, int(seconds * 1000))))

    async def ttl(self, key: str) -> float | None:
        ms = await self._call(self.client.pttl(self._k(key)))
        return None if ms < 0 else ms / 1000

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        if self.cluster:
            return await self._call(self._mget_per_slot([self._k(k) for k in keys]))
        return list(await self._call(self.client.mget([self._k(k) for k in keys])))

    async def _mget_per_slot(self, keys: list[str]) -> list[bytes | None]:
        """MGET on a cluster, which refuses keys of several slots in one MGET (coredis splits
        DEL and EXISTS, not MGET): one MGET per slot, all at once, answers in `keys`' order."""
        from coredis._utils import hash_slot

        by_slot: dict[int, list[int]] = {}
        for index, key in enumerate(keys):
            by_slot.setdefault(hash_slot(key.encode()), []).append(index)
        groups = list(by_slot.values())
        answers = await asyncio.gather(
            *(self.client.mget([keys[i] for i in group]) for group in groups)
        )
        values: list[bytes | None] = [None] * len(keys)
        for group, answer in zip(groups, answers, strict=True):
            for index, value in zip(group, answer, strict=True):
                values[index] = value
        return values

    async def hset(self, key: str, mapping: Mapping[str, Value]) -> None:
        if mapping:
            command = self.client.hset(self._k(key), {k: _b(v) for k, v in mapping.items()})
            await self._call(command)

    async def hget(self, key: str, field: str) -> bytes | None:
        return await self._call(self.client.hget(self._k(key), field))

    async def hgetall(self, key: str) -> dict[str, bytes]:
        raw = await self._call(self.client.hgetall(self._k(key)))
        return {k.decode(): v for k, v in raw.items()}

    async def hdel(self, key: str, *fields: str) -> int:
        if not fields:
            return 0
        return await self._call(self.client.hdel(self._k(key), list(fields)))

    async def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        return await self._call(self.client.hincrby(self._k(key), field, amount))

    async def sadd(self, key: str, *members: Value) -> int:
        if not members:
            return 0
        return await self._call(self.client.sadd(self._k(key), [_b(m) for m in members]))

    async def srem(self, key: str, *members: Value) -> int:
        if not members:
            return 0
        return await self._call(self.client.srem(self._k(key), [_b(m) for m in members]))

    async def smembers(self, key: str) -> builtins.set[bytes]:
        return set(await self._call(self.client.smembers(self._k(key))))

    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int:
        if not mapping:
            return 0
        # Typed int | float for ZADD INCR; without it Redis answers the number of members added.
        command = self.client.zadd(self._k(key), {_b(m): float(s) for m, s in mapping.items()})
        added = await self._call(command)
        return int(added)

    async def zrem(self, key: str, *members: str) -> int:
        if not members:
            return 0
        return await self._call(self.client.zrem(self._k(key), [_b(m) for m in members]))

    async def zscore(self, key: str, member: str) -> float | None:
        score = await self._call(self.client.zscore(self._k(key), _b(member)))
        return None if score is None else float(score)

    async def zrange(
        self, key: str, start: int, stop: int, desc: bool = False
    ) -> list[tuple[bytes, float]]:
        command = self.client.zrange(
            self._k(key), start, stop, rev=True if desc else None, withscores=True
        )
        result = await self._call(command)
        # decode_responses=False: members arrive as bytes (ScoredMember types them str | bytes).
        return [(cast(bytes, member), float(score)) for member, score in result]

    async def zcard(self, key: str) -> int:
        return await self._call(self.client.zcard(self._k(key)))

    async def publish(self, channel: str, message: Value) -> None:
        await self._call(publish(self.client, self._bus, self._k(channel), _b(message)))

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[_RedisSubscription]:
        pubsub = redis_pubsub(self.client, self._bus)
        plain = [self._k(c) for c in channels if not _is_pattern(c)]
        patterns = [self._k(c) for c in channels if _is_pattern(c)]
        try:
            if plain:
                await self._call(pubsub.subscribe(*plain))
            if patterns:
                await self._call(pubsub.psubscribe(*patterns))
            yield _RedisSubscription(self, pubsub)
        finally:
            try:
                # Synchronous in coredis 5 (commands/pubsub.py): it releases the connection, and
                # the subscriptions with it, at once.
                pubsub.close()
            except Exception:  # a dead connection has nothing left to unsubscribe
                pass

    @asynccontextmanager
    async def lock(
        self, name: str, timeout: float = 10.0, wait: float = 10.0
    ) -> AsyncIterator[None]:
        key = f"lock:{name}"
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        while not await self.set(key, token, ex=timeout, nx=True):
            if time.monotonic() >= deadline:
                raise LockTimeout(name)
            await asyncio.sleep(0.01)
        try:
            yield
        finally:
            await self._call(self.client.eval(_RELEASE_LOCK, [self._k(key)], [token]))

    async def ping(self) -> None:
        await self._call(self.client.ping())

    async def close(self) -> None:
        close_client(self.client)
        if self._fast is not None:
            await self._fast.close()

    async def hit(
        self, key: str, window: float, reads: Sequence[str] = ()
    ) -> tuple[int, float, list[bytes | None]]:
        """As `MemoryCache.hit`, in one round trip: one script (`_HIT`) on a single Redis, or
        a pipeline on a cluster, where the counter and the reads may live on different nodes.

        SET NX PX opens the window with its expiry and INCR counts in it, so the counter always
        expires (Redis 2.6.12 and later; PEXPIRE NX would need 7.0). In the pipeline, should the
        window end between the two, INCR makes a counter without expiry: PTTL shows it and it is
        given one.
        """
        ms = max(1, int(window * 1000))
        names = [self._k(key), *(self._k(k) for k in reads)]
        if not self.cluster:
            count, left_ms, found = await self._script(_HIT, _HIT_SHA, names, [str(ms).encode()])
            return int(count), int(left_ms) / 1000, list(found)
        pipe = await self.client.pipeline(transaction=False)
        pipe.set(names[0], b"0", px=ms, condition=self._nx)
        pipe.incr(names[0])
        pipe.pttl(names[0])
        # A GET each: a cluster's pipeline sends every command to its key's node, and an MGET
        # of keys in several slots would be refused (CROSSSLOT).
        for name in names[1:]:
            pipe.get(name)
        try:
            answers = await self._call(pipe.execute())
        finally:
            await pipe.clear()
        count, left_ms = int(answers[1]), int(answers[2])
        if left_ms < 0:
            await self.expire(key, window)
            left_ms = ms
        values = cast(list[bytes | None], list(answers[3:]))
        return count, left_ms / 1000, values

    async def _script(self, source: str, sha: str, keys: list[str], args: list[bytes]) -> Any:
        """Run a Lua script by its SHA1 (EVALSHA), sending its source (EVAL, which also
        caches it) only when the server does not know it yet (NOSCRIPT: first use, restart).
        Through core.resp on a single plain Redis, as `hit`."""
        import coredis

        if self._fast is not None:
            from core import resp

            call = self._fast.call
            try:
                return await self._call(call("EVALSHA", sha, len(keys), *keys, *args))
            except resp.ReplyError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
                return await self._call(call("EVAL", source, len(keys), *keys, *args))
        try:
            return await self._call(self.client.evalsha(sha, tuple(keys), tuple(args)))
        except coredis.exceptions.NoScriptError:
            return await self._call(self.client.eval(source, tuple(keys), tuple(args)))

    async def lock_get(
        self, name: str, key: str, timeout: float = 10.0, wait: float = 10.0
    ) -> tuple[str, bytes | None]:
        """As `MemoryCache.lock_get`: one round trip (a script) while the lock is free."""
        token = uuid.uuid4().hex
        keys = [self._k(f"lock:{name}"), self._k(key)]
        args = [token.encode(), str(max(1, int(timeout * 1000))).encode()]
        deadline = time.monotonic() + wait
        while True:
            answer = await self._script(_LOCK_GET, _LOCK_GET_SHA, keys, args)
            if int(answer[0]):
                return token, answer[1] if len(answer) > 1 else None
            if time.monotonic() >= deadline:
                raise LockTimeout(name)
            await asyncio.sleep(0.01)

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
        """As `MemoryCache.unlock_set`, in one round trip (a script; PUBLISH in a script is
        allowed in a cluster, its channels are no keys)."""
        args = [token.encode()]
        if value is None:
            args += [b"del", b"", b"0"]
        else:
            ms = 0 if ex is None else max(1, int(ex * 1000))
            args += [b"set", _b(value), str(ms).encode()]
        args.append(b"0" if hold is None else str(max(1, int(hold * 1000))).encode())
        for channel, message in messages:
            args += [self._k(channel).encode(), _b(message)]
        keys = [self._k(f"lock:{name}"), self._k(key)]
        return bool(await self._script(_UNLOCK_SET, _UNLOCK_SET_SHA, keys, args))


def _is_pattern(channel: str) -> bool:
    return any(ch in channel for ch in "*?[")


class _RedisSubscription:
    def __init__(self, cache: RedisCache, pubsub: Any) -> None:
        self._cache = cache
        self._pubsub = pubsub
        self._prefix_len = len(cache.prefix)

    async def get(self, timeout: float | None = None) -> tuple[str, bytes] | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            step = 1.0 if remaining is None else min(1.0, remaining)
            # Only (re)connecting talks to the server, so only that is bounded by the configured
            # timeout. The wait itself reads the queue coredis' reader task fills: bounding it a
            # second time (step + timeout) let both deadlines fire in one late turn of a busy
            # loop, and the bus resubscribed and lost the messages in between.
            await self._cache._call(self._pubsub.initialize())
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=step)
            if message is not None and message["type"] in ("message", "pmessage"):
                channel = message["channel"].decode()[self._prefix_len :]
                return channel, message["data"]
            if deadline is not None and time.monotonic() >= deadline:
                return None

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            item = await self.get(None)
            if item is not None:
                yield item


async def probe_redis(settings: Settings, attempts: int | None = None) -> str:
    """Check at start that `redis.url` answers (nothing to check without one), retrying a server
    that is not up yet as the database is (`database.connect_attempts`, unless `attempts` says,
    and `connect_backoff`) but not a refusal (a wrong password); raises `CacheUnavailable` with
    one line naming the URL. A cluster answers once every primary does.

    Returns what was reached, for `config check --connect`: "" for one server, "a cluster of N
    primaries", or "master HOST:PORT through Sentinel"."""
    from tenacity import (
        AsyncRetrying,
        RetryError,
        retry_if_exception,
        stop_after_attempt,
        wait_exponential,
    )

    from core.db import redact

    url, timeout = settings.redis.url, settings.redis.timeout
    if not url:
        return ""
    import coredis  # only with Redis configured (see RedisCache)

    attempts = attempts or settings.database.connect_attempts
    backoff = settings.database.connect_backoff
    refused = (coredis.exceptions.AuthenticationError, coredis.exceptions.AuthorizationError)
    client = open_client(url, timeout)
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff, max=10),
            retry=retry_if_exception(lambda exc: not isinstance(exc, refused)),
            reraise=False,
        ):
            with attempt:
                async with asyncio.timeout(timeout * 2):
                    await client.ping()
                    reached = await _reached(client)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        reason = f"{type(cause).__name__}: {cause}" if str(cause) else f"no answer in {timeout:g} s"
        reason = " ".join(reason.split())  # one line (a cluster's lists every node's error)
        raise CacheUnavailable(
            f"redis {redact(url)} unreachable after {attempts} attempt"
            f"{'s' if attempts != 1 else ''}: {reason}"
        ) from None
    except refused as exc:
        raise CacheUnavailable(f"redis {redact(url)} refused: {exc}") from None
    finally:
        close_client(client)
    return reached


async def _reached(client: RedisClient) -> str:
    from coredis.sentinel import SentinelConnectionPool

    if is_cluster(client):
        primaries = len(list(client.connection_pool.nodes.all_primaries()))
        return f"a cluster of {primaries} primaries"
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        host, port = await pool.get_primary_address()
        return f"master {host}:{port} through Sentinel"
    return ""


def make_cache(
    url: str, prefix: str = "hitcircle:", timeout: float = 1.0, clock: Clock = SYSTEM_CLOCK
) -> Cache:
    """Redis when `url` is set (its keys expire on the server's clock), else process memory
    (expiring on `clock`)."""
    if url:
        return RedisCache(url, prefix, timeout)
    return MemoryCache(clock)
