"""core.cache on both backends. The memory backend expires keys on a manual clock; Redis
expires them on its own, so there the expiry tests watch for it (short polls, a deadline)."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from core.cache import Cache, CacheUnavailable, LockTimeout, MemoryCache
from core.clock import ManualClock
from core.redis_cache import CoredisCache, RedisCache, RespCache, open_cache

from .conftest import REDIS_PREFIX, REDIS_URLS, RedisProcess, flush_redis, free_port

# Also on a Redis Cluster and through Sentinel (tests/conftest.py).
pytestmark = pytest.mark.redis_cluster


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def cache(backend: str, clock: ManualClock) -> AsyncIterator[Cache]:
    if backend == "embedded":
        instance: Cache = MemoryCache(clock)
    else:
        await flush_redis(REDIS_URLS[backend])
        instance = open_cache(REDIS_URLS[backend], prefix=REDIS_PREFIX)
    yield instance
    await instance.close()


async def test_get_set_delete(cache: Cache) -> None:
    assert await cache.get("k") is None
    assert await cache.set("k", b"v")
    assert await cache.get("k") == b"v"
    assert await cache.set("k", "text")
    assert await cache.get("k") == b"text"
    assert await cache.exists("k")
    assert await cache.delete("k", "missing") == 1
    assert await cache.get("k") is None
    assert not await cache.exists("k")


async def expired(cache: Cache, clock: ManualClock, key: str, seconds: float) -> None:
    """Let `seconds` pass for `key`: the manual clock moves (and the key must still be there
    just before), or Redis is watched until it drops the key (it must within a second)."""
    if isinstance(cache, MemoryCache):
        clock.advance(seconds - 0.001)
        assert await cache.get(key) is not None, "expired early"
        clock.advance(0.001)
        return
    deadline = asyncio.get_running_loop().time() + 1.0
    while await cache.exists(key):
        assert asyncio.get_running_loop().time() < deadline, f"{key} never expired"
        await asyncio.sleep(0.005)


async def test_expiry(cache: Cache, clock: ManualClock) -> None:
    await cache.set("short", b"1", ex=0.05)
    ttl = await cache.ttl("short")
    assert ttl is not None and 0 < ttl <= 0.05
    await expired(cache, clock, "short", 0.05)
    assert await cache.get("short") is None
    assert await cache.ttl("short") is None
    await cache.set("later", b"1")
    assert await cache.ttl("later") is None
    assert await cache.expire("later", 0.05)
    await expired(cache, clock, "later", 0.05)
    assert await cache.get("later") is None
    assert not await cache.expire("gone", 1)


async def test_a_set_without_expiry_clears_the_old_one(cache: Cache, clock: ManualClock) -> None:
    await cache.set("k", b"1", ex=0.05)
    await cache.set("k", b"2")
    assert await cache.ttl("k") is None
    clock.advance(1)
    assert await cache.get("k") == b"2"


async def test_an_emptied_collection_takes_its_expiry_with_it(
    cache: Cache, clock: ManualClock
) -> None:
    await cache.hset("h", {"a": 1})
    await cache.sadd("s", "a")
    await cache.zadd("z", {"a": 1})
    for key in ("h", "s", "z"):
        assert await cache.expire(key, 0.05)
    assert await cache.hdel("h", "a") == 1
    assert await cache.srem("s", "a") == 1
    assert await cache.zrem("z", "a") == 1
    # Built again from nothing: a new key, with no expiry of the old one.
    await cache.hset("h", {"b": 2})
    await cache.sadd("s", "b")
    await cache.zadd("z", {"b": 2})
    for key in ("h", "s", "z"):
        assert await cache.ttl(key) is None


async def test_set_nx(cache: Cache) -> None:
    assert await cache.set("once", b"a", nx=True)
    assert not await cache.set("once", b"b", nx=True)
    assert await cache.get("once") == b"a"


async def test_incr_and_mget(cache: Cache) -> None:
    assert await cache.incr("n") == 1
    assert await cache.incr("n", 5) == 6
    assert await cache.mget(["n", "none"]) == [b"6", None]
    assert await cache.mget([]) == []


@pytest.mark.parametrize("how", ["own", "coredis script", "coredis pipeline"])
async def test_hit_counts_in_a_fixed_window_and_reads_beside_it(
    cache: Cache, clock: ManualClock, how: str
) -> None:
    """One script on a single Redis (through core.resp, or coredis where core.resp cannot go),
    a pipeline where keys may span nodes (a cluster)."""
    if how != "own":
        if not isinstance(cache, RedisCache):
            pytest.skip("the memory cache has one way")
        if not isinstance(cache, CoredisCache):
            # The same server through coredis, as a URL core.resp does not take would reach it.
            cache = CoredisCache(cache.url, cache.prefix, cache.timeout)
        if how == "coredis script" and cache.cluster:
            pytest.skip("a cluster runs no script over keys of several slots")
        # A cluster's way, here on one server too (the pipeline sends each command to its node).
        cache.cluster = cache.cluster or how == "coredis pipeline"
    await cache.set("token", b"row")
    count, left, values = await cache.hit("window", 0.05, ["token", "none"])
    assert (count, values) == (1, [b"row", None])
    assert 0 < left <= 0.05
    count, left, values = await cache.hit("window", 0.05)
    assert (count, values) == (2, [])
    # The window lasts from its first hit: a later hit does not stretch it.
    assert 0 < left <= 0.05
    await expired(cache, clock, "window", 0.05)
    count, left, _ = await cache.hit("window", 60)
    assert count == 1 and 0.05 < left <= 60
    if how != "own":
        await cache.close()


async def test_rolling_hit_counts_the_last_window_not_a_fixed_one(cache: Cache) -> None:
    """osu-web's chat limit: at most `limit` in any `window` seconds, refused hits uncounted."""
    # The hits are dated by the cache's clock (the manual one here, on either backend).
    clock = ManualClock()
    if isinstance(cache, MemoryCache):
        cache._clock = clock
    else:
        assert isinstance(cache, RedisCache)
        cache.clock = clock
    assert await cache.rolling_hit("chat", 2, 10)
    clock.advance(6)
    assert await cache.rolling_hit("chat", 2, 10)
    clock.advance(3)
    assert not await cache.rolling_hit("chat", 2, 10)
    # Ten seconds after the first hit it leaves the window, and one more fits; a fixed window
    # opened by the first hit would have let two in.
    clock.advance(1)
    assert await cache.rolling_hit("chat", 2, 10)
    assert not await cache.rolling_hit("chat", 2, 10)
    # The second hit (at 6) leaves at 16; the refused ones never counted.
    clock.advance(5.5)
    assert not await cache.rolling_hit("chat", 2, 10)
    clock.advance(1)
    assert await cache.rolling_hit("chat", 2, 10)
    # Keys apart, limits apart.
    assert await cache.rolling_hit("other", 1, 10)
    assert not await cache.rolling_hit("other", 1, 10)


async def test_hashes(cache: Cache) -> None:
    await cache.hset("h", {"a": b"1", "b": 2})
    assert await cache.hget("h", "a") == b"1"
    assert await cache.hgetall("h") == {"a": b"1", "b": b"2"}
    assert await cache.hincrby("h", "b", 3) == 5
    assert await cache.hdel("h", "a", "zz") == 1
    assert await cache.hgetall("h") == {"b": b"5"}
    assert await cache.hgetall("nothing") == {}


async def test_sets(cache: Cache) -> None:
    assert await cache.sadd("s", "a", "b") == 2
    assert await cache.sadd("s", "a") == 0
    assert await cache.smembers("s") == {b"a", b"b"}
    assert await cache.srem("s", "a") == 1
    assert await cache.smembers("s") == {b"b"}


async def test_sorted_sets(cache: Cache) -> None:
    assert await cache.zadd("z", {"a": 3, "b": 1, "c": 2}) == 3
    assert await cache.zadd("z", {"a": 4}) == 0
    assert await cache.zscore("z", "a") == 4.0
    assert await cache.zscore("z", "x") is None
    assert await cache.zcard("z") == 3
    assert await cache.zrange("z", 0, -1) == [(b"b", 1.0), (b"c", 2.0), (b"a", 4.0)]
    assert await cache.zrange("z", 0, 1, desc=True) == [(b"a", 4.0), (b"c", 2.0)]
    assert await cache.zrem("z", "b") == 1
    assert await cache.zcard("z") == 2


async def test_publish_subscribe(cache: Cache) -> None:
    async with cache.subscribe("room:1", "user:*") as sub:
        await cache.publish("room:1", b"hello")
        await cache.publish("room:2", b"not for us")
        await cache.publish("user:7", "pattern")
        await cache.publish("room:1", b"last")
        # Delivered in publication order: room:2's message would have come before this one.
        assert await sub.get(timeout=2) == ("room:1", b"hello")
        assert await sub.get(timeout=2) == ("user:7", b"pattern")
        assert await sub.get(timeout=2) == ("room:1", b"last")


async def test_one_publishers_messages_arrive_in_order(cache: Cache) -> None:
    """A hub's updates are only right in the order they were made. A cluster passes messages
    between its nodes, and two that entered through different nodes could swap places."""
    async with cache.subscribe("order:*") as sub:
        for i in range(200):
            await cache.publish(f"order:{i % 7}", str(i))
        received = [await sub.get(timeout=2) for _ in range(200)]
    assert received == [(f"order:{i % 7}", str(i).encode()) for i in range(200)]


async def test_fan_out_to_every_subscriber(cache: Cache) -> None:
    async with cache.subscribe("c") as one, cache.subscribe("c") as two:
        await cache.publish("c", b"x")
        assert await one.get(timeout=2) == ("c", b"x")
        assert await two.get(timeout=2) == ("c", b"x")


async def test_lock_serialises(cache: Cache, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    refused = asyncio.Event()
    real_set = cache.set

    async def watched_set(key: str, value: Any, ex: float | None = None, nx: bool = False) -> bool:
        taken = await real_set(key, value, ex=ex, nx=nx)
        if key == "lock:room:1" and not taken:
            refused.set()
        return taken

    monkeypatch.setattr(cache, "set", watched_set)

    entered = asyncio.Event()

    async def worker(name: str, hold_until: asyncio.Event | None = None) -> None:
        async with cache.lock("room:1"):
            order.append(f"{name}-in")
            entered.set()
            if hold_until is not None:
                await hold_until.wait()
            order.append(f"{name}-out")

    first = asyncio.create_task(worker("a", hold_until=refused))
    await entered.wait()
    # "b" asks while "a" holds the lock: refused, it waits, and "a" lets go only after that.
    await asyncio.gather(first, worker("b"))
    assert order == ["a-in", "a-out", "b-in", "b-out"]


async def test_lock_wait_times_out(cache: Cache) -> None:
    async with cache.lock("busy", timeout=5):
        with pytest.raises(LockTimeout):
            async with cache.lock("busy", wait=0.05):
                pass
    async with cache.lock("busy", wait=0.05):
        pass


async def test_ping(cache: Cache) -> None:
    # Answers while the backend is there; a Redis that is not there fails the ping, which is
    # what /health reports as "unavailable".
    assert await cache.ping() is None
    if isinstance(cache, RedisCache):
        gone = open_cache(f"redis://127.0.0.1:{free_port()}/0", prefix=REDIS_PREFIX, timeout=0.5)
        try:
            with pytest.raises(CacheUnavailable):
                await gone.ping()
        finally:
            await gone.close()


# --- a stalled Redis ------------------------------------------------------------------------------

STALL_TIMEOUT = 0.5
# Event-loop and scheduling slack on a loaded machine; coredis alone took 3x the timeout here.
SLACK = 0.6


@pytest.mark.parametrize("kind", [RespCache, CoredisCache])
async def test_every_call_ends_within_the_timeout_on_a_stalled_redis(
    private_redis: RedisProcess, kind: type[RespCache | CoredisCache]
) -> None:
    """SIGSTOP: the server keeps its sockets open and answers nothing. Every kind of call fails
    with CacheUnavailable within `redis.timeout`, and all work again once it runs on."""
    from limits import parse

    from core.config import settings_from
    from core.ratelimit import RateLimits

    cache = kind(private_redis.url, prefix="stall:", timeout=STALL_TIMEOUT)
    limits = RateLimits(
        settings_from({"redis": {"url": private_redis.url, "timeout": STALL_TIMEOUT}}, {})
    )
    per_minute = parse("100/minute")
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "get": lambda: cache.get("k"),
        "set": lambda: cache.set("k", "v", ex=10),
        "delete": lambda: cache.delete("k"),
        "incr": lambda: cache.incr("n"),
        "mget": lambda: cache.mget(["k", "n"]),
        "hit": lambda: cache.hit("w", 60, ["k"]),
        "hset": lambda: cache.hset("h", {"f": 1}),
        "hgetall": lambda: cache.hgetall("h"),
        "zadd": lambda: cache.zadd("z", {"m": 1.0}),
        "zrange": lambda: cache.zrange("z", 0, -1),
        "publish": lambda: cache.publish("ch", "x"),
        "ping": cache.ping,
    }
    try:
        async with cache.subscribe("ch") as subscription:
            for call in calls.values():
                await call()
            assert (await limits.hit(cache, per_minute, "me", reads=["k"]))[0] is not None
            assert await subscription.get(1.0) == ("ch", b"x")
            held = cache.lock("held", timeout=30, wait=1)
            await held.__aenter__()

            private_redis.pause()
            for name, call in calls.items():
                started = time.monotonic()
                with pytest.raises(CacheUnavailable):
                    await call()
                took = time.monotonic() - started
                assert took < STALL_TIMEOUT + SLACK, (name, took)
            started = time.monotonic()
            with pytest.raises(CacheUnavailable):
                async with cache.lock("other", timeout=5, wait=5):
                    pass
            assert time.monotonic() - started < STALL_TIMEOUT + SLACK
            # The release of a lock taken before the stall.
            started = time.monotonic()
            with pytest.raises(CacheUnavailable):
                await held.__aexit__(None, None, None)
            assert time.monotonic() - started < STALL_TIMEOUT + SLACK
            # Waiting for a message is bounded by its own timeout plus the call's.
            started = time.monotonic()
            try:
                assert await subscription.get(0.2) is None
            except CacheUnavailable:
                pass
            assert time.monotonic() - started < 0.2 + STALL_TIMEOUT + SLACK
            # The rate limiter fails open, as quickly.
            started = time.monotonic()
            assert await limits.hit(cache, per_minute, "me", reads=["k"]) == (None, {})
            assert time.monotonic() - started < STALL_TIMEOUT + SLACK

            private_redis.resume()
            for call in calls.values():
                await call()
            await cache.set("k", "back")
            assert await cache.get("k") == b"back"
            assert (await limits.hit(cache, per_minute, "me", reads=["k"]))[0] is not None
        async with cache.subscribe("ch") as again:
            await cache.publish("ch", "back")
            assert await again.get(2.0) == ("ch", b"back")
    finally:
        private_redis.resume()
        await cache.close()


async def test_a_late_turn_of_the_event_loop_keeps_a_subscription(cache: Cache) -> None:
    """A loop that stalls past both the wait and the server timeout (a busy worker) must not end
    the subscription: the wait used a second, outer deadline, both fired in the same late turn,
    and the bus resubscribed, losing the messages sent meanwhile."""
    timeout = cache.timeout if isinstance(cache, RedisCache) else 0.0
    async with cache.subscribe("late") as subscription:
        # Stalls the loop (as a long synchronous step in a handler does) while `get` waits.
        asyncio.get_running_loop().call_later(0.05, time.sleep, 1.0 + timeout + 0.3)
        assert await subscription.get(1.2) is None
        await cache.publish("late", "still here")
        assert await subscription.get(2.0) == ("late", b"still here")


async def test_many_keys_at_once_across_slots(cache: Cache) -> None:
    """MGET and DEL of keys that a cluster keeps in different slots (and nodes): the values in
    the order asked, the deleted counted once each."""
    keys = [f"many:{i}" for i in range(40)]
    for i, key in enumerate(keys[::2]):
        await cache.set(key, str(i))
    assert await cache.mget(keys) == [
        str(i // 2).encode() if i % 2 == 0 else None for i in range(len(keys))
    ]
    assert await cache.delete(*keys) == 20
    assert await cache.mget(keys) == [None] * len(keys)


async def test_a_pipeline_without_transaction_spans_slots(cache: Cache) -> None:
    """What a caller of `CoredisCache.client` may batch: one round trip of single-key commands,
    whatever slots they fall in (a cluster sends each to its node)."""
    import coredis

    if not isinstance(cache, CoredisCache):
        pytest.skip("only coredis's cache has a client")
    await cache.set("p:token", b"t")
    await cache.set("p:user", b"u")
    pipe = await cache.client.pipeline(transaction=False)
    counter = cache.prefix + "p:count"
    pipe.incrby(counter, 1)
    pipe.pexpire(counter, 60_000, condition=coredis.PureToken.NX)
    for key in ("p:token", "p:user", "p:none"):
        pipe.get(cache.prefix + key)
    assert await pipe.execute() == (1, True, b"t", b"u", None)


# --- a read-modify-write under a lock: lock_get, unlock_set ------------------------------------


async def test_lock_get_then_unlock_set_writes_publishes_and_lets_go(cache: Cache) -> None:
    async with cache.subscribe("room:{r}:a", "room:{r}:b") as subscription:
        token, value = await cache.lock_get("{r}", "{r}:state", timeout=5, wait=1)
        assert value is None
        # Held: neither kind of taker gets it meanwhile.
        with pytest.raises(LockTimeout):
            await cache.lock_get("{r}", "{r}:state", wait=0.05)
        with pytest.raises(LockTimeout):
            async with cache.lock("{r}", wait=0.05):
                pass
        messages = [("room:{r}:a", b"one"), ("room:{r}:b", "two"), ("room:{r}:a", b"three")]
        assert await cache.unlock_set("{r}", token, "{r}:state", b"v1", ex=60, messages=messages)
        received = [await subscription.get(2.0) for _ in messages]
        assert received == [
            ("room:{r}:a", b"one"),
            ("room:{r}:b", b"two"),
            ("room:{r}:a", b"three"),
        ]
    ttl = await cache.ttl("{r}:state")
    assert ttl is not None and 0 < ttl <= 60
    # Let go: the next taker gets it at once, and the value with it.
    token, value = await cache.lock_get("{r}", "{r}:state", wait=0.05)
    assert value == b"v1"
    assert await cache.unlock_set("{r}", token, "{r}:state", "v2")
    assert await cache.get("{r}:state") == b"v2"
    assert await cache.ttl("{r}:state") is None
    # None deletes the value.
    token, value = await cache.lock_get("{r}", "{r}:state", wait=0.05)
    assert value == b"v2"
    assert await cache.unlock_set("{r}", token, "{r}:state", None)
    assert await cache.get("{r}:state") is None
    async with cache.lock("{r}", wait=0.05):
        pass


async def test_unlock_set_does_nothing_once_the_lock_expired(
    cache: Cache, clock: ManualClock
) -> None:
    await cache.set("{r}:state", b"before")
    token, _ = await cache.lock_get("{r}", "{r}:state", timeout=0.05, wait=1)
    await expired(cache, clock, "lock:{r}", 0.05)
    other, value = await cache.lock_get("{r}", "{r}:state", timeout=5, wait=0.05)
    assert value == b"before"
    async with cache.subscribe("room:{r}") as subscription:
        late = await cache.unlock_set(
            "{r}", token, "{r}:state", b"late", messages=[("room:{r}", b"x")]
        )
        assert not late
        assert await cache.get("{r}:state") == b"before"
        # The other holder still has the lock, and its own release is what gets published.
        with pytest.raises(LockTimeout):
            await cache.lock_get("{r}", "{r}:state", wait=0.05)
        assert await cache.unlock_set(
            "{r}", other, "{r}:state", b"after", messages=[("room:{r}", b"y")]
        )
        assert await subscription.get(2.0) == ("room:{r}", b"y")
    assert await cache.get("{r}:state") == b"after"


async def test_lock_get_serialises_read_modify_write(cache: Cache) -> None:
    async def bump() -> None:
        token, value = await cache.lock_get("{n}", "{n}:count", timeout=5, wait=5)
        await asyncio.sleep(0)  # others try meanwhile
        assert await cache.unlock_set("{n}", token, "{n}:count", int(value or b"0") + 1)

    await asyncio.gather(*(bump() for _ in range(5)))
    assert await cache.get("{n}:count") == b"5"


async def test_unlock_set_with_hold_keeps_the_lock_for_the_next_change(
    cache: Cache, clock: ManualClock
) -> None:
    token, _ = await cache.lock_get("{h}", "{h}:state", timeout=1, wait=1)
    assert await cache.unlock_set("{h}", token, "{h}:state", b"one", hold=5)
    assert await cache.get("{h}:state") == b"one"
    # Still held, now for `hold` seconds: others wait; its holder writes on with its token.
    with pytest.raises(LockTimeout):
        await cache.lock_get("{h}", "{h}:state", wait=0.05)
    ttl = await cache.ttl("lock:{h}")
    assert ttl is not None and 1 < ttl <= 5
    assert await cache.unlock_set("{h}", token, "{h}:state", b"two", hold=0.05)
    await expired(cache, clock, "lock:{h}", 0.05)
    _, value = await cache.lock_get("{h}", "{h}:state", wait=0.05)
    assert value == b"two"
