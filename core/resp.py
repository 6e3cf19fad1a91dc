"""One pipelined RESP2 connection to a single Redis, for the command every request makes.

Each authenticated request makes one Redis call (`core.cache.RedisCache.hit`: its rate-limit
counter, its token, its user and its cached answer). Through coredis that call cost about
110-140 µs of CPU (command objects, retries, runtime protocol checks, a gather per call) against
35-45 µs for the same bytes written to a socket; at a few thousand requests a second on two
cores that difference is a third of the request. So that one call goes through this connection,
and everything else through coredis.

Replies come back in the order the commands were written (RESP), so any number of requests share
the connection: each writes its command and waits on a future queued in that order; one reader
task parses replies and hands each to the next future. A caller that gives up (its timeout) leaves
its future behind; the reader drops that reply when it comes. A broken connection fails every
waiting call and the next call opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any
from urllib.parse import unquote, urlsplit

Reply = Any


class ReplyError(Exception):
    """Redis answered an error (`-ERR ...`, `-NOSCRIPT ...`)."""


class ConnectionLost(ConnectionError):
    """The connection closed or failed while calls were waiting on it."""


def supported(url: str) -> bool:
    """Whether `url` names a single Redis this connection can reach: plain `redis://`, no TLS, no
    options (anything else stays with coredis)."""
    parts = urlsplit(url)
    return parts.scheme == "redis" and not parts.query and bool(parts.hostname)


def encode(*args: bytes | str | int) -> bytes:
    """A command in RESP: an array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    """One RESP2 reply; an error reply is returned as a ReplyError, not raised."""
    line = await reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionLost("redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return ReplyError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        return (await reader.readexactly(size + 2))[:-2]
    if kind == b"*":
        size = int(rest)
        if size < 0:
            return None
        return [await read_reply(reader) for _ in range(size)]
    raise ConnectionLost(f"not a RESP reply: {line[:40]!r}")


class PipelinedConnection:
    """See the module's doc. `connect_timeout` bounds opening (and signing in); each call is
    bounded by its caller."""

    def __init__(self, url: str, connect_timeout: float = 1.0) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 6379
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        path = parts.path.strip("/")
        self.db = int(path) if path.isdecimal() else 0
        self.connect_timeout = connect_timeout
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: deque[asyncio.Future[Reply]] = deque()
        self._reading: asyncio.Task[None] | None = None
        self._opening = asyncio.Lock()
        self._outgoing: list[bytes] = []

    async def call(self, *args: bytes | str | int) -> Reply:
        """The reply to one command; raises ReplyError for an error reply, ConnectionLost (or
        OSError) when Redis cannot be reached."""
        writer = self._writer
        if writer is None or writer.is_closing():
            writer = await self._open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        # Buffered and queued with no await between: the queue's order is the wire's. The
        # buffer goes out once this turn of the loop ends, so the calls of concurrent requests
        # share one write (one system call) instead of one each.
        if not self._outgoing:
            loop.call_soon(self._flush, writer)
        self._outgoing.append(encode(*args))
        self._waiting.append(future)
        reply = await future
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def _flush(self, writer: asyncio.StreamWriter) -> None:
        data, self._outgoing = b"".join(self._outgoing), []
        # A closed writer drops the data; the reader has failed (or will fail) those calls.
        writer.write(data)

    async def _open(self) -> asyncio.StreamWriter:
        async with self._opening:
            if self._writer is not None and not self._writer.is_closing():
                return self._writer
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                try:
                    hello: list[tuple[bytes | str | int, ...]] = []
                    if self.password is not None:
                        user = (self.username,) if self.username else ()
                        hello.append(("AUTH", *user, self.password))
                    if self.db:
                        hello.append(("SELECT", self.db))
                    for command in hello:
                        writer.write(encode(*command))
                        reply = await read_reply(reader)
                        if isinstance(reply, ReplyError):
                            raise reply
                except BaseException:
                    writer.close()
                    raise
            self._writer = writer
            self._reading = asyncio.get_running_loop().create_task(self._read(reader, writer))
            return writer

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                reply = await read_reply(reader)
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result(reply)
        except (Exception, asyncio.CancelledError) as exc:
            writer.close()
            if self._writer is writer:
                self._writer = None
            lost = exc if isinstance(exc, ConnectionError) else ConnectionLost(repr(exc))
            # Not sent yet, and now never: their calls fail below with the rest.
            self._outgoing.clear()
            while self._waiting:
                future = self._waiting.popleft()
                if not future.done():
                    future.set_exception(lost)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def close(self) -> None:
        reading, self._reading = self._reading, None
        if reading is not None:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
        if self._writer is not None:
            self._writer.close()
            self._writer = None
