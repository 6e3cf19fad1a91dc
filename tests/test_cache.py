import asyncio
from collections.abc import AsyncIterator

import pytest

from core.cache import Cache, LockTimeout, MemoryCache, RedisCache

from .conftest import REDIS_PREFIX, REDIS_URL, flush_redis


@pytest.fixture
async def cache(backend: str) -> AsyncIterator[Cache]:
    if backend == "embedded":
        instance: Cache = MemoryCache()
    else:
        await flush_redis()
        instance = RedisCache(REDIS_URL, prefix=REDIS_PREFIX)
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


async def test_expiry(cache: Cache) -> None:
    await cache.set("short", b"1", ex=0.05)
    ttl = await cache.ttl("short")
    assert ttl is not None and 0 < ttl <= 0.05
    await asyncio.sleep(0.1)
    assert await cache.get("short") is None
    await cache.set("later", b"1")
    assert await cache.ttl("later") is None
    assert await cache.expire("later", 0.05)
    await asyncio.sleep(0.1)
    assert await cache.get("later") is None
    assert not await cache.expire("gone", 1)


async def test_set_nx(cache: Cache) -> None:
    assert await cache.set("once", b"a", nx=True)
    assert not await cache.set("once", b"b", nx=True)
    assert await cache.get("once") == b"a"


async def test_incr_and_mget(cache: Cache) -> None:
    assert await cache.incr("n") == 1
    assert await cache.incr("n", 5) == 6
    assert await cache.mget(["n", "none"]) == [b"6", None]
    assert await cache.mget([]) == []


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
        assert await sub.get(timeout=2) == ("room:1", b"hello")
        assert await sub.get(timeout=2) == ("user:7", b"pattern")
        assert await sub.get(timeout=0.1) is None


async def test_fan_out_to_every_subscriber(cache: Cache) -> None:
    async with cache.subscribe("c") as one, cache.subscribe("c") as two:
        await cache.publish("c", b"x")
        assert await one.get(timeout=2) == ("c", b"x")
        assert await two.get(timeout=2) == ("c", b"x")


async def test_lock_serialises(cache: Cache) -> None:
    order: list[str] = []

    async def worker(name: str) -> None:
        async with cache.lock("room:1"):
            order.append(f"{name}-in")
            await asyncio.sleep(0.02)
            order.append(f"{name}-out")

    await asyncio.gather(worker("a"), worker("b"))
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])


async def test_lock_wait_times_out(cache: Cache) -> None:
    async with cache.lock("busy", timeout=5):
        with pytest.raises(LockTimeout):
            async with cache.lock("busy", wait=0.05):
                pass
    async with cache.lock("busy", wait=0.05):
        pass


async def test_ping(cache: Cache) -> None:
    await cache.ping()
