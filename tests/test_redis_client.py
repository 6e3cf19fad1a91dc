"""`redis.url`'s three forms (core/redis_client.py): read, refused with one line when wrong,
reached by `config check --connect` on the cluster and the Sentinel the suite starts, and
followed through a Sentinel failover."""

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from core.cache import CacheUnavailable
from core.config import ConfigError, Settings, settings_from
from core.redis_cache import CoredisCache, probe_redis
from core.redis_client import RedisAddress, parse

from .conftest import free_port, run_command
from .redis_servers import SERVICE, RedisSentinelProcesses


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://h:6379/2", RedisAddress("redis", "redis://h:6379/2", ())),
        ("rediss://h:6380/0", RedisAddress("redis", "rediss://h:6380/0", (), tls=True)),
        (
            "redis+cluster://a:7000,b:7001,[::1]:7002",
            RedisAddress(
                "cluster",
                "redis+cluster://a:7000,b:7001,[::1]:7002",
                (("a", 7000), ("b", 7001), ("::1", 7002)),
            ),
        ),
        (
            "rediss+cluster://user:p%40ss@a/",
            RedisAddress(
                "cluster", "rediss+cluster://user:p%40ss@a/", (("a", 6379),), True, "user", "p@ss"
            ),
        ),
        (
            "redis+sentinel://:pw@s1:26379,s2/mymaster/3?sentinel_password=sp",
            RedisAddress(
                "sentinel",
                "redis+sentinel://:pw@s1:26379,s2/mymaster/3?sentinel_password=sp",
                (("s1", 26379), ("s2", 26379)),
                password="pw",
                service="mymaster",
                db=3,
                sentinel_password="sp",
            ),
        ),
    ],
)
def test_parse(url: str, expected: RedisAddress) -> None:
    assert parse(url) == expected


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("localhost:6379", "got no scheme"),
        ("http://:secret@h", "got scheme 'http'"),
        ("redis+cluster://a:7000/1", "a Redis Cluster has no database numbers"),
        ("redis+cluster://a:port", "expected HOST:PORT, got 'a:port'"),
        ("redis+cluster://a,,b", "expected HOST:PORT, got ''"),
        ("redis+cluster://a?timeout=1", "unknown option 'timeout'"),
        ("redis+sentinel://s1:26379", "SERVICE[/DB], got /"),
        ("redis+sentinel://s1/name/x", "SERVICE[/DB], got /name/x"),
    ],
)
def test_a_wrong_url_is_a_config_error_without_its_password(url: str, error: str) -> None:
    with pytest.raises(ConfigError, match=r"redis\.url") as info:
        settings_from({"redis": {"url": url}}, {})
    assert error in str(info.value)
    assert "secret" not in str(info.value)


async def test_an_unreachable_cluster_is_one_line() -> None:
    url = f"redis+cluster://127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    settings = settings_from({"redis": {"url": url, "timeout": 0.5}}, {})
    with pytest.raises(CacheUnavailable) as info:
        await probe_redis(settings, attempts=1)
    line = str(info.value)
    assert line.startswith(f"redis {url} unreachable after 1 attempt: RedisClusterException: ")
    assert "\n" not in line


@pytest.mark.redis_cluster
async def test_config_check_connect_reaches_each_kind(backend: str, settings: Settings) -> None:
    if backend == "embedded":
        pytest.skip("no Redis to reach")
    result = await run_command(settings, "config", "check", "--connect")
    assert result.returncode == 0, result.stdout + result.stderr
    reached = result.stdout.splitlines()[-1]
    assert reached.startswith(f"redis: reachable ({settings.redis.url})"), reached
    assert reached.endswith(
        {
            "mysql_redis": ")",
            "mysql_cluster": ": a cluster of 3 primaries",
            "mysql_sentinel": " through Sentinel",
        }[backend]
    ), reached


async def test_after_a_sentinel_failover_the_cache_reaches_the_new_master(
    tmp_path: Path,
) -> None:
    """The master dies; the sentinel promotes its replica a second or two later. Calls fail
    with CacheUnavailable meanwhile (503s), then reach the new master, data and pub/sub alike,
    with no restart."""
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        pytest.skip("redis-server is not installed")
    servers = RedisSentinelProcesses(tmp_path, replica=True, down_after=1)
    servers.start()
    cache = CoredisCache(servers.url, prefix="failover:", timeout=0.5)
    try:
        await cache.set("k", "before")

        async def cli(port: int | None, *args: str) -> str:
            command = ["redis-cli", "-p", str(port), *args]
            return await asyncio.to_thread(subprocess.check_output, command, text=True)

        # The replica has the key, and the sentinel knows the replica to promote.
        deadline = time.monotonic() + 30
        while (await cli(servers.replica_port, "get", "failover:k")).strip() != "before" or (
            "slave" not in await cli(servers.sentinel_port, "sentinel", "replicas", SERVICE)
        ):
            assert time.monotonic() < deadline, "the replica never caught up"
            await asyncio.sleep(0.05)

        servers.kill_master()
        failed = 0
        deadline = time.monotonic() + 30
        while True:
            try:
                assert await cache.get("k") == b"before"
                break
            except CacheUnavailable:
                failed += 1
                assert time.monotonic() < deadline, "no new master within 30 s"
                await asyncio.sleep(0.1)
        assert failed > 0, "the dead master was never noticed"
        assert servers.master() == servers.replica_port
        await cache.set("k", "after")
        assert await cache.get("k") == b"after"
        async with cache.subscribe("news") as subscription:
            await cache.publish("news", "still here")
            assert await subscription.get(2.0) == ("news", b"still here")
    finally:
        await cache.close()
        servers.stop()
