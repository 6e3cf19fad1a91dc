"""One client's SignalR connection: the WebSocket, its outgoing queue and its identity."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from typing import Any

from loguru import logger
from starlette.websockets import WebSocket, WebSocketState

from core.lazer import Close, Invocation, encode_frame

# A watcher that cannot keep up is dropped rather than letting its backlog grow without bound.
MAX_QUEUED_FRAMES = 2048


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        user: Mapping[str, Any],
        token: Any,
        session_id: str | None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.websocket = websocket
        self.user = user
        self.user_id: int = int(user["id"])
        self.token = token
        self.session_id = session_id
        self.groups: set[str] = set()
        # Per-hub scratch space for state that belongs to this connection only.
        self.items: dict[str, Any] = {}
        self.last_received = time.monotonic()
        self.closed = asyncio.Event()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(MAX_QUEUED_FRAMES)
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"signalr-writer:{self.id}")

    async def _write_loop(self) -> None:
        try:
            while True:
                frame = await self._queue.get()
                if frame is None:
                    break
                await self.websocket.send_bytes(frame)
        except Exception as exc:  # the peer went away; the reader notices and cleans up
            logger.debug("signalr connection {} write failed: {!r}", self.id, exc)
        finally:
            self.closed.set()

    def send_frame(self, frame: bytes) -> None:
        """Queue already-encoded bytes (one encode serves every receiver)."""
        if self.closed.is_set():
            return
        try:
            self._queue.put_nowait(frame)
        except asyncio.QueueFull:
            logger.warning(
                "signalr connection {} of user {} too slow, dropping", self.id, self.user_id
            )
            self.abort()

    def send(self, target: str, *args: Any) -> None:
        self.send_frame(encode_frame(Invocation(target, list(args))))

    def abort(self) -> None:
        """Stop writing at once; the read loop ends when the socket closes."""
        self.closed.set()
        if self._writer is not None:
            self._writer.cancel()
        self._closer = asyncio.create_task(self._close_socket(1011))

    async def close(self, error: str | None = None, allow_reconnect: bool = False) -> None:
        """Send a Close message after whatever is queued, then close the WebSocket."""
        if self.closed.is_set():
            return
        try:
            self._queue.put_nowait(
                encode_frame(Close(error=error, allow_reconnect=allow_reconnect))
            )
            self._queue.put_nowait(None)
        except asyncio.QueueFull:
            pass
        if self._writer is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._writer), 5)
            except (TimeoutError, asyncio.CancelledError):
                self._writer.cancel()
        self.closed.set()
        await self._close_socket(1000)

    async def _close_socket(self, code: int) -> None:
        if self.websocket.application_state == WebSocketState.CONNECTED:
            try:
                await self.websocket.close(code)
            except Exception:  # already closed by the peer
                pass

    async def finish(self) -> None:
        """Stop the writer after the connection ended."""
        self.closed.set()
        if self._writer is not None:
            self._writer.cancel()
            try:
                await self._writer
            except (asyncio.CancelledError, Exception):
                pass
