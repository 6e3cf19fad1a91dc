"""core.cache_share: CLI commands act on the embedded server's memory cache."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import httpx
import pytest

from core import cache_share
from core.cache import LockTimeout, MemoryCache
from core.config import Settings
from plugins.oauth.grants import LAZER_SECRETS
from tests.conftest import LiveServer, lazer_login, run_cli

LAZER_SECRET = LAZER_SECRETS[0]


async def test_a_command_reaches_the_server_cache(tmp_path: Path) -> None:
    server_cache = MemoryCache()
    share = cache_share.CacheShare(server_cache, tmp_path)
    await share.start()
    try:
        assert stat.S_IMODE(os.stat(tmp_path / cache_share.ADDRESS_FILE).st_mode) == 0o600
        shared = await cache_share.connect(tmp_path)
        assert shared is not None
        await server_cache.set("token", b"row")
        assert await shared.get("token") == b"row"
        assert await shared.delete("token", "missing") == 1
        assert await server_cache.get("token") is None
        assert await shared.set("n", 1, ex=30) and await shared.incr("n", 4) == 5
        assert await shared.ttl("n") == pytest.approx(30, abs=1)
        await shared.hset("h", {"a": 1})
        assert await shared.hgetall("h") == {"a": b"1"} and await shared.hincrby("h", "a") == 2
        assert await shared.sadd("s", "x", "y") == 2 and await shared.smembers("s") == {b"x", b"y"}
        await shared.zadd("z", {"m": 2.0, "n": 1.0})
        assert await shared.zrange("z", 0, -1) == [(b"n", 1.0), (b"m", 2.0)]
        assert await shared.mget(["n", "none"]) == [b"5", None]
        count, left, values = await shared.hit("window", 60, ["n"])
        assert (count, values) == (1, [b"5"]) and left == pytest.approx(60, abs=1)
        async with server_cache.subscribe("news") as subscription:
            await shared.publish("news", "logout")
            assert await subscription.get(1.0) == ("news", b"logout")
        # Locks are the server's: a command waits for a holder in the server.
        async with server_cache.lock("user:1", wait=0):
            with pytest.raises(LockTimeout):
                async with shared.lock("user:1", wait=0.05):
                    pass
        async with shared.lock("user:1", wait=0):
            assert await server_cache.get("lock:user:1") is not None
        assert await server_cache.get("lock:user:1") is None
        # A wrong type is the command's error; the server goes on.
        with pytest.raises(RuntimeError, match="TypeError"):
            await shared.hgetall("n")
        assert await shared.get("n") == b"5"
        await shared.close()
    finally:
        await share.stop()
    assert not (tmp_path / cache_share.ADDRESS_FILE).exists()


async def test_only_the_secret_opens_it(tmp_path: Path) -> None:
    share = cache_share.CacheShare(MemoryCache(), tmp_path)
    await share.start()
    try:
        address = tmp_path / cache_share.ADDRESS_FILE
        host, port, _ = address.read_text().split()
        other = tmp_path / "other"
        other.mkdir()
        (other / cache_share.ADDRESS_FILE).write_text(f"{host} {port} {'0' * 64}\n")
        assert await cache_share.connect(other) is None
        # A call before the secret is a wrong secret: the connection is closed.
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(cache_share._frame(["get", ["x"], {}]))
        assert await reader.read() == b""
        writer.close()
        shared = await cache_share.connect(tmp_path)
        assert shared is not None
        with pytest.raises(RuntimeError, match="no such call"):
            await shared._call("close")
        await shared.close()
    finally:
        await share.stop()
    # Gone or stale: the command keeps its own cache.
    assert await cache_share.connect(tmp_path) is None
    (tmp_path / cache_share.ADDRESS_FILE).write_text(f"127.0.0.1 {port} {'1' * 64}\n")
    assert await cache_share.connect(tmp_path) is None
    (tmp_path / cache_share.ADDRESS_FILE).write_text("garbage")
    assert await cache_share.connect(tmp_path) is None


def cli(settings: Settings, *args: str) -> str:
    done = run_cli(settings, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_changes_take_effect_at_once(settings: Settings) -> None:
    """On every backend: the old token dies with `set-password`, chat stops with `restrict`."""
    alice = int(cli(settings, "user", "create", "alice", "--password", "first secret 1"))
    bob = int(cli(settings, "user", "create", "bob", "--password", "another secret 11"))
    server = LiveServer(settings)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            old = lazer_login(server.url, "alice", "first secret 1")
            assert http.get("/api/v2/me/", headers=old).status_code == 200
            cli(settings, "user", "set-password", "alice", "--password", "second secret 2")
            assert http.get("/api/v2/me/", headers=old).status_code == 401
            new = lazer_login(server.url, "alice", "second secret 2")
            assert http.get("/api/v2/me/", headers=new).json()["id"] == alice

            talk = {"target_id": alice, "message": "hello", "is_action": False}
            bob_auth = lazer_login(server.url, "bob", "another secret 11")
            assert http.post("/api/v2/chat/new", json=talk, headers=bob_auth).status_code == 200
            cli(settings, "user", "restrict", "bob")
            refused = http.post("/api/v2/chat/new", json=talk, headers=bob_auth)
            assert refused.status_code == 422
            assert "restricted" in refused.json()["error"]
            assert http.get(f"/api/v2/users/{bob}", headers=new).status_code == 404
    finally:
        server.stop()
