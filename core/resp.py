"""RESP2 over asyncio streams to one plain Redis: the cache's whole wire on `redis://`.

`core.redis_cache.RespCache` sends every command through one `PipelinedConnection` and listens
through one `Subscriber` per subscription. Through coredis the call each authenticated request
makes (`RedisCache.hit`: its rate-limit counter, its token, its user and its cached answer) cost
about 110-140 µs of CPU (command objects, retries, runtime protocol checks, a gather per call)
against 35-45 µs for the same bytes written to a socket, and importing coredis costs each worker
about 12 MiB; at a few thousand requests a second on two cores the first is a third of the
request, and the second is what kept a worker over 80 MiB.

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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import hiredis

Reply = Any
# Bytes read from the socket at a time (replies to a batch of calls arrive together).
READ_SIZE = 65536


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


class Replies:
    """The replies on one connection, parsed by hiredis (Redis' own C parser) a chunk of the
    stream at a time: one wake-up per read, not one per line of a reply. An error reply comes as
    a ReplyError, not raised; a stream that is not RESP, or ends, raises ConnectionLost."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._parser = hiredis.Reader(replyError=ReplyError, protocolError=ConnectionLost)

    def ready(self) -> Iterator[Reply]:
        """The replies complete in what was read so far (RESP2 has no False: none left)."""
        while (reply := self._parser.gets()) is not False:
            yield reply

    async def more(self) -> None:
        """Wait for the next chunk of the stream."""
        data = await self._reader.read(READ_SIZE)
        if not data:
            raise ConnectionLost("redis closed the connection")
        self._parser.feed(data)

    async def one(self) -> Reply:
        """The next reply."""
        while (reply := self._parser.gets()) is False:
            await self.more()
        return reply


@dataclass(frozen=True)
class Address:
    """Where a plain `redis://[USER:PASSWORD@]HOST:PORT/DB` URL points, and how to sign in."""

    host: str
    port: int
    username: str | None
    password: str | None
    db: int

    @classmethod
    def of(cls, url: str) -> Address:
        parts = urlsplit(url)
        path = parts.path.strip("/")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            db=int(path) if path.isdecimal() else 0,
        )


async def connect(address: Address, timeout: float) -> tuple[Replies, asyncio.StreamWriter]:
    """A connection signed in (AUTH) and on its database (SELECT), within `timeout` seconds.

    Raises ConnectionError when the server cannot be reached (whatever the OSError was: the
    start-up probe names it so), ReplyError when it refuses the sign-in, TimeoutError."""
    async with asyncio.timeout(timeout):
        try:
            reader, writer = await asyncio.open_connection(address.host, address.port)
        except OSError as exc:
            raise ConnectionError(
                f"cannot connect to {address.host}:{address.port}: {exc.strerror or exc!r}"
            ) from exc
        replies = Replies(reader)
        try:
            hello: list[tuple[bytes | str | int, ...]] = []
            if address.password is not None:
                user = (address.username,) if address.username else ()
                hello.append(("AUTH", *user, address.password))
            if address.db:
                hello.append(("SELECT", address.db))
            for command in hello:
                writer.write(encode(*command))
                reply = await replies.one()
                if isinstance(reply, ReplyError):
                    raise reply
        except BaseException:
            writer.close()
            raise
    return replies, writer


class _Connection:
    """What both connection kinds share: where to connect, the open stream and the task that
    reads it. `connect_timeout` bounds opening (and signing in)."""

    def __init__(self, url: str, connect_timeout: float = 1.0) -> None:
        self.address = Address.of(url)
        self.connect_timeout = connect_timeout
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None

    async def close(self) -> None:
        reading, self._reading = self._reading, None
        if reading is not None:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class PipelinedConnection(_Connection):
    """See the module's doc. Each call is bounded by its caller."""

    def __init__(self, url: str, connect_timeout: float = 1.0) -> None:
        super().__init__(url, connect_timeout)
        self._waiting: deque[asyncio.Future[Reply]] = deque()
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
            replies, writer = await connect(self.address, self.connect_timeout)
            self._writer = writer
            self._reading = asyncio.get_running_loop().create_task(self._read(replies, writer))
            return writer

    async def _read(self, replies: Replies, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                for reply in replies.ready():
                    future = self._waiting.popleft()
                    if not future.done():
                        future.set_result(reply)
                await replies.more()
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


class Subscriber(_Connection):
    """One connection in subscribe mode, as a subscription needs (Redis answers nothing else on
    it): SUBSCRIBE and PSUBSCRIBE once opened, then a reader task queues each message as
    (channel, data). A lost connection is not reopened: `get` raises it and the subscriber's
    owner subscribes again (what was published in between is gone, as with any Redis pub/sub).
    """

    def __init__(self, url: str, connect_timeout: float = 1.0) -> None:
        super().__init__(url, connect_timeout)
        self._queue: asyncio.Queue[tuple[bytes, bytes] | None] = asyncio.Queue()
        self._lost: ConnectionError | None = None

    async def open(self, channels: list[str], patterns: list[str]) -> None:
        """Connect and subscribe; returns once Redis confirmed every channel and pattern."""
        replies, writer = await connect(self.address, self.connect_timeout)
        self._writer = writer
        try:
            if channels:
                writer.write(encode("SUBSCRIBE", *channels))
            if patterns:
                writer.write(encode("PSUBSCRIBE", *patterns))
            for _ in range(len(channels) + len(patterns)):
                reply = await replies.one()
                if isinstance(reply, ReplyError):
                    raise reply
        except BaseException:
            writer.close()
            raise
        self._reading = asyncio.get_running_loop().create_task(self._read(replies, writer))

    async def _read(self, replies: Replies, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                # A message may have come in the same chunk as the last confirmation.
                for reply in replies.ready():
                    # RESP2 pushes: [message, channel, data], [pmessage, pattern, channel, data].
                    if isinstance(reply, list) and reply and reply[0] == b"message":
                        self._queue.put_nowait((reply[1], reply[2]))
                    elif isinstance(reply, list) and reply and reply[0] == b"pmessage":
                        self._queue.put_nowait((reply[2], reply[3]))
                await replies.more()
        except (Exception, asyncio.CancelledError) as exc:
            writer.close()
            self._lost = exc if isinstance(exc, ConnectionError) else ConnectionLost(repr(exc))
            self._queue.put_nowait(None)  # wakes a waiting `get`
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def get(self, timeout: float | None = None) -> tuple[bytes, bytes] | None:
        """The next (channel, data), or None when none came within `timeout` seconds (None:
        wait for one); raises ConnectionError once the connection is lost."""
        if self._lost is not None and self._queue.empty():
            raise self._lost
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            return None
        if item is None:
            assert self._lost is not None
            raise self._lost
        return item
