"""The embedded server's memory cache, shared with CLI commands run beside it.

On the embedded default the cache lives in the serving process. A CLI command (`user
set-password`, `user restrict`, `beatmaps status`, `recalc`, ...) runs in a process of its own;
with a cache of its own, its invalidations, token revocations, `logout` pushes and locks would
never reach the server. So the server answers cache calls on a loopback port, written with a
secret to `cache.addr` in the data directory (mode 0600: only the operator's account can read it),
and `standalone()` gives the command a `SharedCache` that forwards every call there. With Redis
every process already shares one cache and none of this runs.

Frames are a 4-byte big-endian length and a msgpack body; a connection starts with the secret,
then carries one call at a time: `[method, args, kwargs]` answered by `[ok, result]`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hmac
import os
import secrets
import struct
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import msgpack
from loguru import logger

from core.cache import CacheUnavailable, LockTimeout, MemoryCache, Value

ADDRESS_FILE = "cache.addr"
MAX_FRAME = 64 * 1024 * 1024
CONNECT_TIMEOUT = 2.0
# What a command may call: the `core.cache.Cache` protocol, less subscriptions (a command
# publishes but never listens) and `close` (the server's cache is not the command's to close).
METHODS = frozenset(
    {
        "get", "set", "delete", "exists", "incr", "expire", "ttl", "mget", "hset", "hget",
        "hgetall", "hdel", "hincrby", "sadd", "srem", "smembers", "zadd", "zrem", "zscore",
        "zrange", "zcard", "publish", "ping", "acquire_lock", "release_lock", "hit",
        "rolling_hit", "lock_get", "unlock_set",
    }
)  # fmt: skip


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    (size,) = struct.unpack(">I", await reader.readexactly(4))
    if size > MAX_FRAME:
        raise ValueError("frame too large")
    return msgpack.unpackb(await reader.readexactly(size), raw=False)


def _frame(value: Any) -> bytes:
    body: bytes = msgpack.packb(value, use_bin_type=True)
    return struct.pack(">I", len(body)) + body


def _plain(value: Any) -> Any:
    """Results msgpack can carry: sets and tuples become lists (the client turns them back)."""
    if isinstance(value, builtins.set | frozenset | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- the server's side ---------------------------------------------------------------------


class CacheShare:
    """The serving process's end: answers calls on its `MemoryCache` while the app runs."""

    def __init__(self, cache: MemoryCache, data_dir: Path) -> None:
        self.cache = cache
        self.path = data_dir / ADDRESS_FILE
        self.secret = secrets.token_hex(32)
        self._server: asyncio.Server | None = None
        self._clients: builtins.set[asyncio.Task[None]] = builtins.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then renamed: a command never reads half a file.
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"127.0.0.1 {port} {self.secret}\n")
        os.replace(temporary, self.path)

    async def stop(self) -> None:
        with contextlib.suppress(OSError):
            if self.path.read_text().split()[-1] == self.secret:
                self.path.unlink()
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            offered = await asyncio.wait_for(_read_frame(reader), CONNECT_TIMEOUT)
            if not isinstance(offered, str) or not hmac.compare_digest(offered, self.secret):
                return
            writer.write(_frame(True))
            while True:
                try:
                    call = await _read_frame(reader)
                except asyncio.IncompleteReadError:
                    return
                writer.write(_frame(await self._call(call)))
                await writer.drain()
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError):
            return
        finally:
            self._clients.discard(task)
            writer.close()

    async def _call(self, call: Any) -> list[Any]:
        try:
            method, args, kwargs = call
            if method not in METHODS or not isinstance(args, list) or not isinstance(kwargs, dict):
                raise ValueError(f"no such call: {method!r}")
            result = await getattr(self.cache, method)(*args, **kwargs)
        except LockTimeout as exc:
            return [False, ["LockTimeout", str(exc)]]
        except Exception as exc:  # the command hears of it; the server goes on
            logger.warning("cache call from a command failed: {}", exc)
            return [False, [type(exc).__name__, str(exc)]]
        return [True, _plain(result)]


# --- a command's side ----------------------------------------------------------------------


class SharedCache:
    """A `core.cache.Cache` whose every call runs on the serving process's memory cache."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._turn = asyncio.Lock()

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            try:
                self._writer.write(_frame([method, list(args), kwargs]))
                await self._writer.drain()
                ok, result = await _read_frame(self._reader)
            except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
                raise CacheUnavailable(f"the server's cache: {exc}") from exc
        if not ok:
            kind, message = result
            if kind == "LockTimeout":
                raise LockTimeout(message)
            raise RuntimeError(f"{kind}: {message}")
        return result

    async def get(self, key: str) -> bytes | None:
        result: bytes | None = await self._call("get", key)
        return result

    async def set(self, key: str, value: Value, ex: float | None = None, nx: bool = False) -> bool:
        return bool(await self._call("set", key, value, ex=ex, nx=nx))

    async def delete(self, *keys: str) -> int:
        return int(await self._call("delete", *keys))

    async def exists(self, key: str) -> bool:
        return bool(await self._call("exists", key))

    async def incr(self, key: str, amount: int = 1) -> int:
        return int(await self._call("incr", key, amount))

    async def expire(self, key: str, seconds: float) -> bool:
        return bool(await self._call("expire", key, seconds))

    async def ttl(self, key: str) -> float | None:
        result: float | None = await self._call("ttl", key)
        return result

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return list(await self._call("mget", keys))

    async def hset(self, key: str, mapping: Mapping[str, Value]) -> None:
        await self._call("hset", key, dict(mapping))

    async def hget(self, key: str, field: str) -> bytes | None:
        result: bytes | None = await self._call("hget", key, field)
        return result

    async def hgetall(self, key: str) -> dict[str, bytes]:
        return dict(await self._call("hgetall", key))

    async def hdel(self, key: str, *fields: str) -> int:
        return int(await self._call("hdel", key, *fields))

    async def hincrby(self, key: str, field: str, amount: int = 1) -> int:
        return int(await self._call("hincrby", key, field, amount))

    async def sadd(self, key: str, *members: Value) -> int:
        return int(await self._call("sadd", key, *members))

    async def srem(self, key: str, *members: Value) -> int:
        return int(await self._call("srem", key, *members))

    async def smembers(self, key: str) -> builtins.set[bytes]:
        return builtins.set(await self._call("smembers", key))

    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int:
        return int(await self._call("zadd", key, dict(mapping)))

    async def zrem(self, key: str, *members: str) -> int:
        return int(await self._call("zrem", key, *members))

    async def zscore(self, key: str, member: str) -> float | None:
        result: float | None = await self._call("zscore", key, member)
        return result

    async def zrange(
        self, key: str, start: int, stop: int, desc: bool = False
    ) -> list[tuple[bytes, float]]:
        rows = await self._call("zrange", key, start, stop, desc=desc)
        return [(member, score) for member, score in rows]

    async def zcard(self, key: str) -> int:
        return int(await self._call("zcard", key))

    async def publish(self, channel: str, message: Value) -> None:
        await self._call("publish", channel, message)

    def subscribe(self, *channels: str) -> Any:
        raise NotImplementedError("a command does not listen to the server's channels")

    @contextlib.asynccontextmanager
    async def lock(
        self, name: str, timeout: float = 10.0, wait: float = 10.0
    ) -> AsyncIterator[None]:
        token = await self._call("acquire_lock", name, timeout, wait)
        try:
            yield
        finally:
            await self._call("release_lock", name, token)

    async def ping(self) -> None:
        await self._call("ping")

    async def hit(
        self, key: str, window: float, reads: Sequence[str] = ()
    ) -> tuple[int, float, list[bytes | None]]:
        count, left, values = await self._call("hit", key, window, list(reads))
        return int(count), float(left), list(values)

    async def rolling_hit(self, key: str, limit: int, window: float) -> bool:
        return bool(await self._call("rolling_hit", key, limit, window))

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def lock_get(
        self, name: str, key: str, timeout: float = 10.0, wait: float = 10.0
    ) -> tuple[str, bytes | None]:
        token, value = await self._call("lock_get", name, key, timeout, wait)
        return token, value

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
        sent = [[channel, message] for channel, message in messages]
        return bool(await self._call("unlock_set", name, token, key, value, ex, sent, hold))


async def connect(data_dir: Path) -> SharedCache | None:
    """The running server's cache, or None when no server serves this data directory."""
    try:
        host, port, secret = (data_dir / ADDRESS_FILE).read_text().split()
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, int(port)), CONNECT_TIMEOUT
        )
    except (OSError, ValueError, TimeoutError):
        return None  # no file, a stale one (the server is gone), or one we may not read
    try:
        writer.write(_frame(secret))
        await writer.drain()
        if await asyncio.wait_for(_read_frame(reader), CONNECT_TIMEOUT) is not True:
            raise ValueError("refused")
    except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError):
        writer.close()
        return None
    return SharedCache(reader, writer)
