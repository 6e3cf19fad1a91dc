"""The notification websocket (ppy/osu osu.Game/Online/Notifications/WebSocket/,
ppy/osu-notification-server) and this worker's share of it.

Every worker subscribes once to the cache bus (`core.chat.notifications.BUS`) and hands each
frame to the sockets it holds: by user for notifications and membership events, by channel for
chat messages (only sockets that sent `chat.start`). Each socket has its own send queue and
writer task, so one slow client never holds up the others; one that falls too far behind is
dropped and reconnects.

Limits: a socket needs a token with `*` or `chat.read` (ppy/osu-notification-server
src/oauth-verifier.ts), and one with only `chat.read` gets chat events alone
(src/user-connection.ts). A user holds at most `[chat] max_sockets_per_user` sockets over every
worker (`SocketSlots`); one more is told `{"error": ...}` and closed with 1013 (try again later),
which lazer meets with its usual reconnect backoff. `chat.start`/`chat.end` are limited per socket
(`[chat] chat_toggle_limit` per `chat_toggle_window` seconds): the excess is answered with an
`error` frame, which lazer logs, and costs no query.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from typing import Any

import orjson
from loguru import logger
from starlette.websockets import WebSocket, WebSocketDisconnect

from core.auth import resolve_token
from core.cache import CacheUnavailable
from core.chat import notifications as notify_db
from core.chat import store as chat_db
from core.chat.service import chat_settings
from core.clock import Clock, clock_of
from core.http import ApiError
from core.services import Services, services

AUTH_FAILED = '{"error":"authentication failed"}'
READY = '{"event":"connection.ready"}'
TOO_MANY_SOCKETS = '{"error":"too many connections"}'
TOO_MANY_TOGGLES = '{"error":"too many chat.start/chat.end requests"}'
# Close code of a refused extra socket: 1013, try again later (RFC 6455 registry).
TRY_AGAIN_LATER = 1013
QUEUE_LIMIT = 2000
CLOSE = None  # queue sentinel: close the socket after what was queued before it


class Connection:
    def __init__(
        self,
        ws: WebSocket,
        user_id: int,
        token_id: str,
        can_chat: bool,
        full: bool = True,
        toggle_limit: int = 0,
        toggle_window: float = 60.0,
    ) -> None:
        self.id = secrets.token_hex(8)
        self.ws = ws
        self.user_id = user_id
        self.token_id = token_id
        self.can_chat = can_chat
        # A `*` token receives everything; a `chat.read` one only chat events.
        self.full = full
        self.chat = False
        self.channels: set[int] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.closing = False
        self.toggle_limit = toggle_limit
        self.toggle_window = toggle_window
        self._toggles: deque[float] = deque()

    def allow_toggle(self, now: float) -> bool:
        """Count one `chat.start`/`chat.end` at `now` (monotonic seconds); False over the limit
        of the last `toggle_window` seconds (0: no limit)."""
        if self.toggle_limit <= 0:
            return True
        while self._toggles and self._toggles[0] <= now - self.toggle_window:
            self._toggles.popleft()
        if len(self._toggles) >= self.toggle_limit:
            return False
        self._toggles.append(now)
        return True

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


class SocketSlots:
    """The notification sockets each user holds, over every worker.

    One sorted set per user in the shared cache: a member per socket, scored with the time its
    slot lapses unless renewed (the token re-check renews it), so the sockets of a worker that
    died without closing them stop counting after `ttl` seconds. A cache outage admits everyone
    rather than locking everyone out.
    """

    def __init__(self, cache: Any, clock: Clock, limit: int, ttl: float) -> None:
        self.cache = cache
        self.clock = clock
        self.limit = limit
        self.ttl = ttl

    @staticmethod
    def key(user_id: int) -> str:
        return f"notification:sockets:{user_id}"

    async def acquire(self, user_id: int, socket_id: str) -> bool:
        """Take a slot for `socket_id`; False when the user already holds `limit` of them."""
        if self.limit <= 0:
            return True
        key = self.key(user_id)
        now = self.clock.time()
        try:
            held = await self.cache.zrange(key, 0, -1)
            lapsed = [member.decode() for member, lapse in held if lapse <= now]
            if lapsed:
                await self.cache.zrem(key, *lapsed)
            # Add first, then count: two sockets racing for the last slot may both be refused,
            # never both admitted.
            await self.cache.zadd(key, {socket_id: now + self.ttl})
            await self.cache.expire(key, self.ttl)
            if await self.cache.zcard(key) > self.limit:
                await self.cache.zrem(key, socket_id)
                return False
        except Exception as exc:
            logger.warning("notification socket slots unavailable ({!r}); admitting", exc)
        return True

    async def renew(self, user_id: int, socket_id: str) -> None:
        if self.limit <= 0:
            return
        key = self.key(user_id)
        with contextlib.suppress(Exception):
            await self.cache.zadd(key, {socket_id: self.clock.time() + self.ttl})
            await self.cache.expire(key, self.ttl)

    async def release(self, user_id: int, socket_id: str) -> None:
        if self.limit <= 0:
            return
        with contextlib.suppress(Exception):
            await self.cache.zrem(self.key(user_id), socket_id)


class Hub:
    """The sockets this worker holds, and the bus subscription that feeds them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        svc = services(app)
        conf = chat_settings(svc.settings)
        self.clock = clock_of(svc)
        self.toggle_limit = int(conf["chat_toggle_limit"])
        self.toggle_window = float(conf["chat_toggle_window"])
        self.check_interval = max(0.1, float(conf["token_check_seconds"]))
        # A slot outlives a few missed renewals (one per token check).
        self.slots = SocketSlots(
            svc.cache,
            self.clock,
            int(conf["max_sockets_per_user"]),
            max(60.0, 3 * self.check_interval),
        )
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
            except CacheUnavailable as exc:
                # Redis went away (an outage, one line): keep trying until it is back.
                logger.warning("notification bus lost ({!r}); resubscribing", exc)
                await asyncio.sleep(1.0)
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
                        if conn.full or header.get("chat"):
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


async def _watch_token(hub: Hub, conn: Connection, svc: Services, header: str) -> None:
    """Re-check the token now and then: revoked or expired ends the socket with `logout`.
    Each round renews the socket's slot."""
    while not conn.closing:
        await asyncio.sleep(hub.check_interval)
        await hub.slots.renew(conn.user_id, conn.id)
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
    # As ppy/osu-notification-server: a token needs `*` or `chat.read`.
    if token is None or user is None or not token.can("chat.read"):
        with contextlib.suppress(Exception):
            await ws.send_text(AUTH_FAILED)
            await ws.close(code=1008)
        return
    conn = Connection(
        ws,
        int(user["id"]),
        token.id,
        can_chat=True,
        full="*" in token.scopes,
        toggle_limit=hub.toggle_limit,
        toggle_window=hub.toggle_window,
    )
    if not await hub.slots.acquire(conn.user_id, conn.id):
        with contextlib.suppress(Exception):
            await ws.send_text(TOO_MANY_SOCKETS)
            await ws.close(code=TRY_AGAIN_LATER, reason="Too many connections")
        return
    hub.add(conn)
    writer = asyncio.create_task(conn.write_loop())
    watcher = asyncio.create_task(_watch_token(hub, conn, svc, header))
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
        await hub.slots.release(conn.user_id, conn.id)
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
    if event in ("chat.start", "chat.end") and not conn.allow_toggle(hub.clock.monotonic()):
        conn.push(TOO_MANY_TOGGLES)
        return
    if event == "chat.start":
        if not conn.can_chat:
            conn.push('{"error":"chat.read scope is required"}')
            return
        # Once started, join and part events keep the socket's channels current: a repeated
        # start needs no query.
        if not conn.chat:
            await hub.start_chat(conn)
    elif event == "chat.end":
        hub.end_chat(conn)
    # Anything else is ignored, as by the reference server.
