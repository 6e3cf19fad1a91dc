"""The cache on Redis: `RespCache` for one plain server, `CoredisCache` for the rest.

A plain `redis://HOST:PORT/DB` is served entirely through `core.resp`, one pipelined connection
for commands and one per subscription. A Redis Cluster, a Sentinel-managed master or TLS
(`core.redis_client`) go through coredis, which knows slots, failovers and certificates. coredis
with what it imports costs a worker about 12 MiB, and most installations run one plain Redis,
so coredis is imported only by `CoredisCache` and the start-up probe of those URLs.

Both take the same scripts (`_HIT`, `_LOCK_GET`, `_UNLOCK_SET`, `_ROLLING`, `_RELEASE_LOCK`) and
keep every key under the configured prefix; both pass `tests/test_cache.py`.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from core import resp
from core.cache import CacheUnavailable, LockTimeout, Value, _b
from core.clock import SYSTEM_CLOCK, Clock
from core.config import Settings

if TYPE_CHECKING:
    import coredis

    from core.redis_client import RedisClient

_V = TypeVar("_V")


class CacheRefused(CacheUnavailable):
    """Redis answered, and refused us (a wrong password, a user without rights): trying again
    will not help."""


def _script(source: str) -> tuple[str, str]:
    return source, hashlib.sha1(source.encode()).hexdigest()


# `hit` on a single Redis: KEYS[1] the counter, the other keys read beside it; ARGV[1] the
# window in milliseconds. Answers {count, milliseconds left, {values}}.
_HIT = _script("""
redis.call('set', KEYS[1], 0, 'px', ARGV[1], 'nx')
local count = redis.call('incr', KEYS[1])
local left = redis.call('pttl', KEYS[1])
local found = {}
if #KEYS > 1 then found = redis.call('mget', unpack(KEYS, 2)) end
return {count, left, found}
""")

_RELEASE_LOCK = _script("""
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
""")

# KEYS: the lock, the value; ARGV: token, lock timeout (ms). {1, value} once taken, else {0}.
_LOCK_GET = _script("""
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('get', KEYS[2])}
end
return {0}
""")

# KEYS: the lock, the value; ARGV: token, 'set' or 'del', value, expiry (ms, 0: none), how
# long to keep the lock (ms, 0: let it go), then channel and message pairs. 1 when done; 0,
# doing nothing, when the token no longer holds.
_UNLOCK_SET = _script("""
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
""")

# `rolling_hit`: KEYS[1] a list of the window's hits, newest first, in milliseconds; ARGV: the
# limit, the window (ms), now (ms). 1 when counted, 0 when the window is full. Now comes from
# the caller (the workers of one installation share a clock; a script that reads TIME and then
# writes needs effects replication, which Redis before 5 does not default to).
_ROLLING = _script("""
local limit = tonumber(ARGV[1])
local now = tonumber(ARGV[3])
local oldest = redis.call('lindex', KEYS[1], limit - 1)
if oldest and now - tonumber(oldest) < tonumber(ARGV[2]) then return 0 end
redis.call('lpush', KEYS[1], ARGV[3])
redis.call('ltrim', KEYS[1], 0, limit - 1)
redis.call('pexpire', KEYS[1], ARGV[2])
return 1
""")


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _is_pattern(channel: str) -> bool:
    return any(ch in channel for ch in "*?[")


class RedisCache:
    """What both kinds share: the prefix, the bound on every call, and everything built on the
    scripts (counters, locks, the read-modify-write of `lock_get` and `unlock_set`).

    Every call to Redis ends within `timeout` seconds, a stalled server (one that accepts
    connections but never answers) included, and a call that fails or runs out of time raises
    CacheUnavailable, which requests answer with 503.
    """

    url: str
    prefix: str
    timeout: float
    # Only for what the scripts are told the time is (`rolling_hit`); keys expire on the
    # server's clock.
    clock: Clock
    # A call that ends in one of these found Redis down (`_call`).
    _down: tuple[type[BaseException], ...]

    def __init__(self, url: str, prefix: str, timeout: float, clock: Clock) -> None:
        self.url = url
        self.prefix = prefix
        self.timeout = timeout
        self.clock = clock

    def _k(self, key: str) -> str:
        return self.prefix + key

    def _channels(self, channels: Sequence[str]) -> tuple[list[str], list[str]]:
        """(channels, patterns) to subscribe to, each under the prefix."""
        plain = [self._k(c) for c in channels if not _is_pattern(c)]
        patterns = [self._k(c) for c in channels if _is_pattern(c)]
        return plain, patterns

    async def _call(self, command: Awaitable[_V], timeout: float | None = None) -> _V:
        """`command`'s answer within `timeout` (default: the configured one), or
        CacheUnavailable."""
        try:
            async with asyncio.timeout(self.timeout if timeout is None else timeout):
                return await command
        except self._down as exc:
            raise CacheUnavailable(f"redis did not answer: {exc!r}") from exc

    async def _script(self, script: tuple[str, str], keys: list[str], args: list[bytes]) -> Any:
        """Run a Lua script by its SHA1 (EVALSHA), sending its source (EVAL, which also caches
        it) only when the server does not know it yet (NOSCRIPT: first use, restart)."""
        raise NotImplementedError

    async def set(self, key: str, value: Value, ex: float | None = None, nx: bool = False) -> bool:
        raise NotImplementedError

    async def describe(self) -> str:
        """What `redis.url` reached, for `config check --connect`: "" for one server."""
        return ""

    def refused(self, exc: BaseException) -> bool:
        """Whether `exc`, raised by `ping`, is a refusal (not worth trying again)."""
        return isinstance(exc, CacheRefused)

    async def hit(
        self, key: str, window: float, reads: Sequence[str] = ()
    ) -> tuple[int, float, list[bytes | None]]:
        """As `MemoryCache.hit`, in one round trip (one script).

        SET NX PX opens the window with its expiry and INCR counts in it, so the counter always
        expires (Redis 2.6.12 and later; PEXPIRE NX would need 7.0).
        """
        names = [self._k(key), *(self._k(k) for k in reads)]
        count, left_ms, found = await self._script(_HIT, names, [b"%d" % _ms(window)])
        return int(count), int(left_ms) / 1000, list(found)

    async def rolling_hit(self, key: str, limit: int, window: float) -> bool:
        """As `MemoryCache.rolling_hit`, in one round trip (one script)."""
        now = int(self.clock.time() * 1000)
        args = [b"%d" % limit, b"%d" % _ms(window), b"%d" % now]
        return bool(await self._script(_ROLLING, [self._k(key)], args))

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
            await self._script(_RELEASE_LOCK, [self._k(key)], [token.encode()])

    async def lock_get(
        self, name: str, key: str, timeout: float = 10.0, wait: float = 10.0
    ) -> tuple[str, bytes | None]:
        """As `MemoryCache.lock_get`: one round trip (a script) while the lock is free."""
        token = uuid.uuid4().hex
        keys = [self._k(f"lock:{name}"), self._k(key)]
        args = [token.encode(), b"%d" % _ms(timeout)]
        deadline = time.monotonic() + wait
        while True:
            answer = await self._script(_LOCK_GET, keys, args)
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
            args += [b"set", _b(value), b"0" if ex is None else b"%d" % _ms(ex)]
        args.append(b"0" if hold is None else b"%d" % _ms(hold))
        for channel, message in messages:
            args += [self._k(channel).encode(), _b(message)]
        keys = [self._k(f"lock:{name}"), self._k(key)]
        return bool(await self._script(_UNLOCK_SET, keys, args))


# --- one plain server: core.resp ------------------------------------------------------------

# Error replies that are a refusal: a wrong password, no password sent, a user without rights.
_REFUSALS = ("WRONGPASS", "NOAUTH", "NOPERM", "ERR invalid password", "ERR AUTH")


class RespCache(RedisCache):
    """One plain Redis (`redis://`, no TLS, no options; `resp.supported`), through one
    pipelined connection (`core.resp.PipelinedConnection`): the calls of concurrent requests
    share its writes, and no call pays for a client library's layers.

    A connection that breaks fails the calls waiting on it (CacheUnavailable); the next call
    opens a new one. A call given up on (its timeout) leaves its reply to be dropped when it
    comes, so no late reply reaches a later call.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "hitcircle:",
        timeout: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(url, prefix, timeout, clock)
        # Refused, reset or closed connections are OSErrors (resp.ConnectionLost among them).
        self._down = (TimeoutError, OSError)
        self._conn = resp.PipelinedConnection(url, timeout)

    async def _do(self, *args: bytes | str | int) -> Any:
        try:
            return await self._call(self._conn.call(*args))
        except resp.ReplyError as exc:
            if str(exc).startswith(_REFUSALS):
                raise CacheRefused(str(exc)) from None
            raise

    async def _script(self, script: tuple[str, str], keys: list[str], args: list[bytes]) -> Any:
        source, sha = script
        try:
            return await self._do("EVALSHA", sha, len(keys), *keys, *args)
        except resp.ReplyError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            return await self._do("EVAL", source, len(keys), *keys, *args)

    async def get(self, key: str) -> bytes | None:
        return cast(bytes | None, await self._do("GET", self._k(key)))

    async def set(self, key: str, value: Value, ex: float | None = None, nx: bool = False) -> bool:
        args: list[bytes | str | int] = ["SET", self._k(key), _b(value)]
        if ex is not None:
            args += ["PX", _ms(ex)]
        if nx:
            args.append("NX")
        return await self._do(*args) is not None

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(await self._do("DEL", *(self._k(k) for k in keys)))

    async def exists(self, key: str) -> bool:
        return bool(await self._do("EXISTS", self._k(key)))

    async def incr(self, key: str, amount: int = 1) -> int:
        return int(await self._do("INCRBY", self._k(key), amount))

    async def expire(self, key: str, seconds: float) -> bool:
        return bool(await self._do("PEXPIRE", self._k(key), _ms(seconds)))

    async def ttl(self, key: str) -> float | None:
        ms = int(await self._do("PTTL", self._k(key)))
        return None if ms < 0 else ms / 1000

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        return list(await self._do("MGET", *(self._k(k) for k in keys)))

    async def hset(self, key: str, mapping: Mapping[str, Value]) -> None:
        if mapping:
            fields = [part for k, v in mapping.items() for part in (k, _b(v))]
            await self._do("HSET", self._k(key), *fields)

    async def hget(self, key: str, field: str) -> bytes | None:
        return cast(bytes | None, await self._do("HGET", self._k(key), field))

    async def hgetall(self, key: str) -> dict[str, bytes]:
        flat = await self._do("HGETALL", self._k(key))
        return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}

    async def hdel(self, key: str, *fields: str) -> int:
        if not fields:
            return 0
        return int(await self._do("HDEL", self._k(key), *fields))

    async def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        return int(await self._do("HINCRBY", self._k(key), field, amount))

    async def sadd(self, key: str, *members: Value) -> int:
        if not members:
            return 0
        return int(await self._do("SADD", self._k(key), *(_b(m) for m in members)))

    async def srem(self, key: str, *members: Value) -> int:
        if not members:
            return 0
        return int(await self._do("SREM", self._k(key), *(_b(m) for m in members)))

    async def smembers(self, key: str) -> builtins.set[bytes]:
        return set(await self._do("SMEMBERS", self._k(key)))

    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int:
        if not mapping:
            return 0
        # repr: the shortest text that reads back as the same float (Redis parses it with
        # strtod); inf and -inf are spelt as Redis spells them.
        pairs = [part for m, s in mapping.items() for part in (repr(float(s)), _b(m))]
        return int(await self._do("ZADD", self._k(key), *pairs))

    async def zrem(self, key: str, *members: str) -> int:
        if not members:
            return 0
        return int(await self._do("ZREM", self._k(key), *(_b(m) for m in members)))

    async def zscore(self, key: str, member: str) -> float | None:
        score = await self._do("ZSCORE", self._k(key), _b(member))
        return None if score is None else float(score)

    async def zrange(
        self, key: str, start: int, stop: int, desc: bool = False
    ) -> list[tuple[bytes, float]]:
        # ZREVRANGE rather than ZRANGE ... REV, which needs Redis 6.2.
        command = "ZREVRANGE" if desc else "ZRANGE"
        flat = await self._do(command, self._k(key), start, stop, "WITHSCORES")
        return [(flat[i], float(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def zcard(self, key: str) -> int:
        return int(await self._do("ZCARD", self._k(key)))

    async def publish(self, channel: str, message: Value) -> None:
        await self._do("PUBLISH", self._k(channel), _b(message))

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[_RespSubscription]:
        subscriber = resp.Subscriber(self.url, self.timeout)
        plain, patterns = self._channels(channels)
        try:
            try:
                await self._call(subscriber.open(plain, patterns))
            except resp.ReplyError as exc:
                raise CacheUnavailable(f"redis refused the subscription: {exc}") from exc
            yield _RespSubscription(self, subscriber)
        finally:
            await subscriber.close()

    async def ping(self) -> None:
        await self._do("PING")

    async def close(self) -> None:
        await self._conn.close()


class _Subscription:
    """What both subscriptions share: iterating waits for each message in turn."""

    async def get(self, timeout: float | None = None) -> tuple[str, bytes] | None:
        raise NotImplementedError

    async def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            item = await self.get(None)
            if item is not None:
                yield item


class _RespSubscription(_Subscription):
    def __init__(self, cache: RespCache, subscriber: resp.Subscriber) -> None:
        self._subscriber = subscriber
        self._prefix_len = len(cache.prefix)

    async def get(self, timeout: float | None = None) -> tuple[str, bytes] | None:
        """The next message, None when none came within `timeout` seconds; CacheUnavailable
        once the connection is lost (the caller subscribes again)."""
        try:
            message = await self._subscriber.get(timeout)
        except OSError as exc:
            raise CacheUnavailable(f"redis subscription lost: {exc!r}") from exc
        if message is None:
            return None
        channel, data = message
        return channel.decode()[self._prefix_len :], data


# --- a cluster, a Sentinel-managed master, TLS: coredis -----------------------------------------


class CoredisCache(RedisCache):
    """Redis through coredis, for what `RespCache` does not reach (`core.redis_client`).

    The whole call, with coredis's own reconnects and retries inside it, is bounded by the
    timeout. A cancelled command makes coredis drop its connection (coredis/connection.py
    `Request.cleanup`), so no late reply reaches a later call.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "hitcircle:",
        timeout: float = 1.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        import coredis

        from core.redis_client import DOWN_ERRORS, is_cluster, open_client

        super().__init__(url, prefix, timeout, clock)
        self._down = (
            TimeoutError,
            *(getattr(coredis.exceptions, name) for name in DOWN_ERRORS),
        )
        self._refusals = (
            coredis.exceptions.AuthenticationError,
            coredis.exceptions.AuthorizationError,
        )
        self._nx: Literal[coredis.PureToken.NX] = coredis.PureToken.NX
        # One server, a cluster or a Sentinel-managed master; both client kinds take the same
        # commands, `pipeline(transaction=False)` included (a cluster's sends each command to
        # its key's node, so each command must stay within one slot).
        self.client: RedisClient = open_client(url, timeout)
        self.cluster = is_cluster(self.client)
        # On a cluster, every message of this installation goes through the node of this key
        # (`core.redis_client.publish`), which keeps them in order.
        self._bus = self._k("bus")

    def refused(self, exc: BaseException) -> bool:
        return isinstance(exc, self._refusals)

    async def describe(self) -> str:
        """'' for one server, 'a cluster of N primaries', or 'master HOST:PORT through
        Sentinel'."""
        from coredis.sentinel import SentinelConnectionPool

        if self.cluster:
            nodes = cast("coredis.pool.ClusterConnectionPool", self.client.connection_pool).nodes
            return f"a cluster of {len(list(nodes.all_primaries()))} primaries"
        pool = self.client.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            host, port = await self._call(pool.get_primary_address())
            return f"master {host}:{port} through Sentinel"
        return ""

    async def _script(self, script: tuple[str, str], keys: list[str], args: list[bytes]) -> Any:
        import coredis

        source, sha = script
        try:
            return await self._call(self.client.evalsha(sha, tuple(keys), tuple(args)))
        except coredis.exceptions.NoScriptError:
            return await self._call(self.client.eval(source, tuple(keys), tuple(args)))

    async def get(self, key: str) -> bytes | None:
        return await self._call(self.client.get(self._k(key)))

    async def set(self, key: str, value: Value, ex: float | None = None, nx: bool = False) -> bool:
        px = None if ex is None else _ms(ex)
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
        return await self._call(self.client.pexpire(self._k(key), _ms(seconds)))

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
        from core.redis_client import publish

        await self._call(publish(self.client, self._bus, self._k(channel), _b(message)))

    @asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[_CoredisSubscription]:
        from core.redis_client import pubsub as redis_pubsub

        pubsub = redis_pubsub(self.client, self._bus)
        plain, patterns = self._channels(channels)
        try:
            if plain:
                await self._call(pubsub.subscribe(*plain))
            if patterns:
                await self._call(pubsub.psubscribe(*patterns))
            yield _CoredisSubscription(self, pubsub)
        finally:
            try:
                # Synchronous in coredis 5 (commands/pubsub.py): it releases the connection, and
                # the subscriptions with it, at once.
                pubsub.close()
            except Exception:  # a dead connection has nothing left to unsubscribe
                pass

    async def ping(self) -> None:
        await self._call(self.client.ping())

    async def close(self) -> None:
        from core.redis_client import close_client

        close_client(self.client)

    async def hit(
        self, key: str, window: float, reads: Sequence[str] = ()
    ) -> tuple[int, float, list[bytes | None]]:
        """One script on a single server; on a cluster, where the counter and the reads may
        live on different nodes, one pipeline. Should the window end between SET NX PX and
        INCR there, INCR makes a counter without expiry: PTTL shows it and it is given one."""
        if not self.cluster:
            return await super().hit(key, window, reads)
        ms = _ms(window)
        names = [self._k(key), *(self._k(k) for k in reads)]
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


class _CoredisSubscription(_Subscription):
    def __init__(self, cache: CoredisCache, pubsub: Any) -> None:
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


def open_cache(
    url: str, prefix: str = "hitcircle:", timeout: float = 1.0, clock: Clock = SYSTEM_CLOCK
) -> RespCache | CoredisCache:
    """The cache for `url`: `RespCache` where core.resp reaches it, else `CoredisCache`."""
    if resp.supported(url):
        return RespCache(url, prefix, timeout, clock)
    return CoredisCache(url, prefix, timeout, clock)


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
    attempts = attempts or settings.database.connect_attempts
    backoff = settings.database.connect_backoff
    cache = open_cache(url, "", timeout)
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff, max=10),
            retry=retry_if_exception(lambda exc: not cache.refused(exc)),
            reraise=False,
        ):
            with attempt:
                # The probe's own bound: a cluster's first call also discovers its nodes.
                async with asyncio.timeout(timeout * 2):
                    await cache.ping()
                    reached = await cache.describe()
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        # The driver's error, not ours wrapped around it (CacheUnavailable says only "no
        # answer").
        while isinstance(cause, CacheUnavailable) and cause.__cause__ is not None:
            cause = cause.__cause__
        reason = f"{type(cause).__name__}: {cause}" if str(cause) else f"no answer in {timeout:g} s"
        reason = " ".join(reason.split())  # one line (a cluster's lists every node's error)
        raise CacheUnavailable(
            f"redis {redact(url)} unreachable after {attempts} attempt"
            f"{'s' if attempts != 1 else ''}: {reason}"
        ) from None
    except Exception as exc:
        if not cache.refused(exc):
            raise
        raise CacheUnavailable(f"redis {redact(url)} refused: {exc}") from None
    finally:
        await cache.close()
    return reached
