"""The notification websocket (ppy/osu osu.Game/Online/Notifications/WebSocket/,
ppy/osu-notification-server) and this worker's share of it.

Every worker subscribes once to the cache bus (`core.chat.notifications.BUS`) and hands each
frame to the sockets it holds: by user for notifications and membership events, by channel for
chat messages (only sockets that sent `chat.start`). Each socket has its own send queue and
writer task, so one slow client never holds up the others; one that falls too far behind is
dropped and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from loguru import logger
from starlette.websockets import WebSocket, WebSocketDisconnect

from core.auth import resolve_token
from core.chat import notifications as notify_db
from core.chat import store as chat_db
from core.chat.service import chat_settings
from core.http import ApiError
from core.services import Services, services

AUTH_FAILED = '{"error":"authentication failed"}'
READY = '{"event":"connection.ready"}'
QUEUE_LIMIT = 2000
CLOSE = None  # queue sentinel: close the socket after what was queued before it


class Connection:
    def __init__(self, ws: WebSocket, user_id: int, token_id: str, can_chat: bool) -> None:
        self.ws = ws
        self.user_id = user_id
        self.token_id = token_id
        self.can_chat = can_chat
        self.chat = False
        self.channels: set[int] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.closing = False

    def push(self, text: str) -> None:
        if self.closing:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            logger.warning("notification socket of user {} fell behind; dropping it", self.user_id)
            self.close()
            return
        self.queue.put_nowait(text)

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            self.queue.put_nowait(CLOSE)

    async def write_loop(self) -> None:
        try:
            while True:
                text = await self.queue.get()
                if text is CLOSE:
                    break
                await self.ws.send_text(text)
        except Exception:
            pass  # the peer went away; the read loop sees the disconnect
        finally:
            self.closing = True
            with contextlib.suppress(Exception):
                await self.ws.close()


class Hub:
    """The sockets this worker holds, and the bus subscription that feeds them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.by_user: dict[int, set[Connection]] = {}
        self.by_channel: dict[int, set[Connection]] = {}
        self.ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle

    async def start(self, timeout: float = 10.0) -> None:
        self._task = asyncio.create_task(self._listen(), name="notification-bus")
        try:
            await asyncio.wait_for(self.ready.wait(), timeout)
        except TimeoutError:
            logger.warning(
                "notification bus not subscribed after {}s; retrying in background", timeout
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for conns in list(self.by_user.values()):
            for conn in list(conns):
                conn.close()

    async def _listen(self) -> None:
        cache = services(self.app).cache
        while True:
            try:
                async with cache.subscribe(notify_db.BUS) as subscription:
                    self.ready.set()
                    while True:
                        item = await subscription.get(None)
                        if item is not None:
                            self.dispatch(item[1])
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("notification bus subscription failed; resubscribing")
                await asyncio.sleep(1.0)

    # --- membership of this worker's sockets

    def add(self, conn: Connection) -> None:
        self.by_user.setdefault(conn.user_id, set()).add(conn)

    def remove(self, conn: Connection) -> None:
        self.end_chat(conn)
        conns = self.by_user.get(conn.user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.by_user[conn.user_id]

    async def start_chat(self, conn: Connection) -> None:
        ids = await chat_db.user_channel_ids(services(self.app).db, conn.user_id)
        self.end_chat(conn)
        conn.chat = True
        conn.channels = set(ids)
        for channel_id in conn.channels:
            self.by_channel.setdefault(channel_id, set()).add(conn)

    def end_chat(self, conn: Connection) -> None:
        for channel_id in conn.channels:
            self._leave(conn, channel_id)
        conn.channels = set()
        conn.chat = False

    def _leave(self, conn: Connection, channel_id: int) -> None:
        conns = self.by_channel.get(channel_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.by_channel[channel_id]

    # --- delivery

    def dispatch(self, data: bytes) -> None:
        try:
            header, raw = notify_db.decode(data)
            text = raw.decode()
            kind = header.get("k")
            if kind == notify_db.TO_CHANNEL:
                for conn in list(self.by_channel.get(int(header["c"]), ())):
                    conn.push(text)
            elif kind == notify_db.TO_USERS:
                for user_id in header["u"]:
                    for conn in list(self.by_user.get(int(user_id), ())):
                        self._to_user(conn, header, text)
            elif kind == notify_db.LOGOUT:
                tokens = set(header.get("tokens") or ())
                for user_id in header["u"]:
                    for conn in list(self.by_user.get(int(user_id), ())):
                        if not tokens or conn.token_id in tokens:
                            conn.push(text)
                            conn.close()
        except Exception:
            logger.exception("bad notification bus message dropped")

    def _to_user(self, conn: Connection, header: dict[str, Any], text: str) -> None:
        join = header.get("join")
        part = header.get("part")
        if conn.chat and join is not None:
            conn.channels.add(int(join))
            self.by_channel.setdefault(int(join), set()).add(conn)
        if conn.chat and part is not None and not header.get("keep"):
            conn.channels.discard(int(part))
            self._leave(conn, int(part))
        if header.get("chat") and not conn.chat:
            return
        conn.push(text)


# The app's notification hub, under this key of its `Services.extras` (made at start-up).
HUB_KEY = "notification_hub"


def hub_of(app: Any) -> Hub:
    hub = services(app).extra(HUB_KEY, Hub)
    if hub is None:
        raise RuntimeError("the notification hub starts with the app (the chat plugin's startup)")
    return hub


async def _watch_token(conn: Connection, svc: Services, header: str, interval: float) -> None:
    """Re-check the token now and then: revoked or expired ends the socket with `logout`."""
    while not conn.closing:
        await asyncio.sleep(interval)
        try:
            resolved = await resolve_token(svc, header)
        except ApiError:
            resolved = None
        except Exception:
            continue  # a cache or database hiccup is not a logout
        if resolved is None:
            conn.push(notify_db.frame("logout").decode())
            conn.close()
            return


async def feed(ws: WebSocket) -> None:
    svc = services(ws)
    hub = hub_of(ws.app)
    await ws.accept()
    header = ws.headers.get("authorization", "")
    try:
        resolved = await resolve_token(svc, header)
    except ApiError:
        resolved = None
    except Exception:
        logger.exception("notification socket authentication failed")
        resolved = None
    token, user = resolved if resolved is not None else (None, None)
    if token is None or user is None:
        with contextlib.suppress(Exception):
            await ws.send_text(AUTH_FAILED)
            await ws.close(code=1008)
        return
    conn = Connection(ws, int(user["id"]), token.id, token.can("chat.read"))
    hub.add(conn)
    writer = asyncio.create_task(conn.write_loop())
    interval = float(chat_settings(svc.settings)["token_check_seconds"])
    watcher = asyncio.create_task(_watch_token(conn, svc, header, max(0.1, interval)))
    conn.push(READY)
    try:
        while not conn.closing:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            await _handle(hub, conn, text)
    except WebSocketDisconnect:
        pass
    finally:
        hub.remove(conn)
        watcher.cancel()
        conn.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(writer, 5)
        if not writer.done():
            writer.cancel()


async def _handle(hub: Hub, conn: Connection, text: str) -> None:
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        conn.push('{"error":"invalid message"}')
        return
    event = message.get("event") if isinstance(message, dict) else None
    if event == "chat.start":
        if not conn.can_chat:
            conn.push('{"error":"chat.read scope is required"}')
            return
        await hub.start_chat(conn)
    elif event == "chat.end":
        hub.end_chat(conn)
    # Anything else is ignored, as by the reference server.
