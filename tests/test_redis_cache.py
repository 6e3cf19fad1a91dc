"""core.redis_cache: which cache a URL gets, what only core.resp's cache does (its own
subscription connection, refusals), and the start-up probe. The commands themselves are
tests/test_cache.py's, on every Redis backend."""

import pytest

from core.cache import CacheUnavailable
from core.config import settings_from
from core.redis_cache import CacheRefused, CoredisCache, RespCache, open_cache, probe_redis

from .conftest import RedisProcess, free_port


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/0", RespCache),
        ("redis://user:secret@127.0.0.1:6379/3", RespCache),
        ("rediss://127.0.0.1:6379/0", CoredisCache),
        ("redis://127.0.0.1:6379/0?protocol=3", CoredisCache),
        ("redis+cluster://127.0.0.1:7000", CoredisCache),
        ("redis+sentinel://127.0.0.1:26379/main", CoredisCache),
    ],
)
async def test_plain_redis_goes_through_core_resp_and_the_rest_through_coredis(
    url: str, kind: type
) -> None:
    cache = open_cache(url)
    try:
        assert type(cache) is kind
    finally:
        await cache.close()


async def test_a_lost_subscription_is_unavailable_and_a_new_one_works(
    private_redis: RedisProcess,
) -> None:
    cache = RespCache(private_redis.url, prefix="t:", timeout=0.5)
    try:
        async with cache.subscribe("ch", "pat:*") as subscription:
            await cache.publish("pat:1", "one")
            assert await subscription.get(2.0) == ("pat:1", b"one")
            private_redis.stop()
            with pytest.raises(CacheUnavailable):
                await subscription.get(2.0)
        with pytest.raises(CacheUnavailable):
            async with cache.subscribe("ch"):
                pass
        private_redis.start()
        async with cache.subscribe("ch") as again:
            await cache.publish("ch", "back")
            assert await again.get(2.0) == ("ch", b"back")
    finally:
        await cache.close()


async def test_a_wrong_password_is_refused_not_unavailable(private_redis: RedisProcess) -> None:
    admin = RespCache(private_redis.url)
    try:
        await admin._do("CONFIG", "SET", "requirepass", "s3cret")
        wrong = RespCache(private_redis.url.replace("redis://", "redis://:nope@"))
        with pytest.raises(CacheRefused):
            await wrong.get("k")
        await wrong.close()
        right = RespCache(private_redis.url.replace("redis://", "redis://:s3cret@"))
        await right.set("k", "v")
        assert await right.get("k") == b"v"
        await right.close()
    finally:
        await admin.close()


async def test_the_probe_refuses_a_wrong_password_at_once(private_redis: RedisProcess) -> None:
    admin = RespCache(private_redis.url)
    try:
        await admin._do("CONFIG", "SET", "requirepass", "s3cret")
    finally:
        await admin.close()
    url = private_redis.url.replace("redis://", "redis://:nope@")
    settings = settings_from(
        {"redis": {"url": url}, "database": {"connect_attempts": 5, "connect_backoff": 5}}, {}
    )
    # Five attempts 5 s apart would take a minute: a refusal is not tried again.
    with pytest.raises(CacheUnavailable) as refused:
        await probe_redis(settings)
    message = str(refused.value)
    assert message.startswith("redis redis://:***@127.0.0.1:") and " refused: " in message
    assert "nope" not in message


async def test_the_probe_names_what_it_could_not_reach() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings = settings_from(
        {"redis": {"url": url}, "database": {"connect_attempts": 2, "connect_backoff": 0.01}}, {}
    )
    with pytest.raises(CacheUnavailable) as unreachable:
        await probe_redis(settings)
    assert str(unreachable.value).startswith(
        f"redis {url} unreachable after 2 attempts: ConnectionError: cannot connect to"
    )
    assert await probe_redis(settings_from({}, {})) == ""
