"""Serving one hub: negotiate, the WebSocket transport, dispatch, and cross-worker delivery.

Connections are local to a worker; what they send each other travels over the cache's pub/sub
(`signalr:<hub>:u:<user>` for a user, `signalr:<hub>:g:<group>` for a group), so watchers on any
worker receive it. Each message is encoded once and the same bytes go to every receiver.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import orjson
from loguru import logger
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from core import metrics
from core.config import Key, Section, Settings, positive
from core.http import ApiError, json
from core.lazer import (
    VOID,
    Close,
    CodecError,
    Completion,
    FrameReader,
    Invocation,
    InvocationBindingFailure,
    Ping,
    encode_frame,
)
from core.openapi import describe
from core.openapi_schemas import STR, obj
from core.services import services
from core.signalr.connection import Connection
from core.signalr.hub import Hub, HubError, declare_signatures

if TYPE_CHECKING:
    from starlette.applications import Starlette

RECORD_SEPARATOR = b"\x1e"
HANDSHAKE_TIMEOUT = 15.0
MAX_HANDSHAKE = 4096
NEGOTIATE_TTL = 300
PING_FRAME = encode_frame(Ping())


SECTION = Section(
    "signalr",
    (
        # The client closes after 30 s of silence; a ping every 15 s at most keeps it open.
        Key("keepalive_interval", 15.0, "Seconds between server pings.", check=positive),
        # It pings every 15 s itself.
        Key(
            "client_timeout", 30.0, "Seconds of silence before a client is dropped.", check=positive
        ),
        Key(
            "token_check_interval",
            30.0,
            "Seconds between checks of a live connection's token (revocation closes it).",
            check=positive,
        ),
        Key("max_message_size", 64 * 1024, "Largest hub message accepted, in bytes.", min=1024),
    ),
    "The realtime hubs' transport.",
)


def signalr_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


class HubHost:
    """Everything one hub needs in one app: its connections, groups, bus and endpoints."""

    def __init__(self, app: Starlette, hub_class: type[Hub]) -> None:
        if not hub_class.name:
            raise ValueError(f"hub {hub_class.__name__} has no name")
        from core.auth import ANY_SCOPE, SCOPES

        if hub_class.scope not in SCOPES and hub_class.scope != ANY_SCOPE:
            raise ValueError(f"hub {hub_class.name}: unknown scope {hub_class.scope!r}")
        # Plugin loading checked this already; a hub built directly gets the same check.
        declare_signatures(hub_class)
        self.app = app
        self.name = hub_class.name
        self.hub = hub_class(app, self)
        self.methods = hub_class.methods()
        self.connections: dict[str, Connection] = {}
        self.by_user: dict[int, set[str]] = defaultdict(set)
        self.groups: dict[str, set[str]] = defaultdict(set)
        self.config = signalr_settings(services(app).settings)
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self.draining = False

    # --- routes ----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        base = f"/signalr/{self.name}"
        return [
            Route(f"{base}/negotiate", self.negotiate, methods=["POST"]),
            WebSocketRoute(base, self.websocket),
        ]

    # The SignalR negotiation answer (ppy/osu's client reads it through
    # Microsoft.AspNetCore.SignalR.Client): `connectionToken` for negotiateVersion 1.
    @describe(
        responses={
            200: obj(
                {
                    "availableTransports": {"type": "array", "items": {"type": "object"}},
                    "connectionId": STR,
                    "negotiateVersion": {"enum": [0, 1]},
                },
                optional={"connectionToken": STR},
            )
        }
    )
    async def negotiate(self, request: Request) -> Response:
        from core.auth import resolve_token, scope_refusal, unauthenticated

        resolved = await resolve_token(services(request), request.headers.get("authorization"))
        if resolved is None or resolved[1] is None:
            raise unauthenticated()
        # As the REST routes answer a token without the hub's scope (lazer's own has `*`).
        refusal = scope_refusal(resolved[0], self.hub.scope)
        if refusal is not None:
            raise refusal
        # negotiateVersion 1 clients (lazer) connect with the token, version 0 ones with the id.
        version = 1 if request.query_params.get("negotiateVersion", "0") not in ("", "0") else 0
        connection_id = secrets.token_urlsafe(16)
        connection_token = secrets.token_urlsafe(24)
        await services(self.app).cache.set(
            self._negotiate_key(connection_token if version else connection_id),
            str(resolved[1]["id"]),
            ex=NEGOTIATE_TTL,
        )
        body: dict[str, Any] = {"negotiateVersion": version, "connectionId": connection_id}
        if version:
            body["connectionToken"] = connection_token
        body["availableTransports"] = [
            {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
        ]
        return json(body)

    def _negotiate_key(self, token: str) -> str:
        return f"signalr:{self.name}:negotiate:{token}"

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._listener = asyncio.create_task(self._listen(), name=f"signalr-bus:{self.name}")
        await asyncio.wait_for(self._subscribed.wait(), 10)
        await self.hub.on_startup()

    async def drain(self) -> None:
        """Tell every client `ServerShuttingDown`, then Close: lazer reconnects once idle.

        New connections are refused from here on; the server calls this before it closes its
        sockets (`core.server`), and `stop` again for whatever is left.
        """
        self.draining = True
        connections = list(self.connections.values())
        for conn in connections:
            conn.send("ServerShuttingDown")
        await asyncio.gather(*(conn.close(allow_reconnect=True) for conn in connections))

    async def stop(self) -> None:
        try:
            await self.hub.on_shutdown()
        finally:
            await self.drain()
            if self._listener is not None:
                self._listener.cancel()
                await asyncio.gather(self._listener, return_exceptions=True)

    # --- the bus -----------------------------------------------------------------------------

    def _channel(self, kind: str, key: object) -> str:
        return f"signalr:{self.name}:{kind}:{key}"

    async def _listen(self) -> None:
        cache = services(self.app).cache
        prefix = f"signalr:{self.name}:"
        while True:
            try:
                async with cache.subscribe(f"{prefix}*") as subscription:
                    self._subscribed.set()
                    async for channel, data in subscription:
                        self._deliver(channel[len(prefix) :], data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Redis went away: keep trying; local delivery resumes when it is back.
                logger.warning("signalr {} bus lost ({!r}); resubscribing", self.name, exc)
                await asyncio.sleep(1)

    def _deliver(self, address: str, data: bytes) -> None:
        kind, _, key = address.partition(":")
        exclude, _, payload = data.partition(b"\x00")
        if kind == "u":
            targets = self.by_user.get(int(key), ())
        elif kind == "g":
            targets = self.groups.get(key, ())
        elif kind == "c":
            self._control(orjson.loads(payload))
            return
        else:
            return
        skip = exclude.decode() if exclude else None
        for conn_id in list(targets):
            conn = self.connections.get(conn_id)
            if conn is not None and conn.id != skip:
                conn.send_frame(payload)

    def _control(self, message: dict[str, Any]) -> None:
        if message.get("op") == "disconnect_user":
            for conn_id in list(self.by_user.get(message["user_id"], ())):
                conn = self.connections.get(conn_id)
                if conn is None or conn.id == message.get("except_connection"):
                    continue
                if conn.session_id and conn.session_id == message.get("except_session"):
                    continue
                task = asyncio.create_task(self.request_disconnect(conn))
                # Held until done: a task nobody references may be collected mid-flight.
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    def _envelope(
        self, kind: str, key: object, frame: bytes, exclude: str | None = None
    ) -> tuple[str, bytes]:
        return self._channel(kind, key), (exclude or "").encode() + b"\x00" + frame

    async def _publish(
        self, kind: str, key: object, frame: bytes, exclude: str | None = None
    ) -> None:
        await services(self.app).cache.publish(*self._envelope(kind, key, frame, exclude))

    def user_message(self, user_id: int, target: str, *args: Any) -> tuple[str, bytes]:
        """What `send_user` publishes, as (channel, message): for a publish made with other
        cache writes (`Cache.unlock_set`)."""
        return self._envelope("u", user_id, encode_frame(Invocation(target, list(args))))

    def group_message(
        self, group: str, target: str, *args: Any, exclude: str | None = None
    ) -> tuple[str, bytes]:
        """What `send_group` publishes, as (channel, message) (see `user_message`)."""
        frame = encode_frame(Invocation(target, list(args)))
        return self._envelope("g", group, frame, exclude)

    async def send_user(self, user_id: int, target: str, *args: Any) -> None:
        await self._publish("u", user_id, encode_frame(Invocation(target, list(args))))

    async def send_group(
        self, group: str, target: str, *args: Any, exclude: str | None = None
    ) -> None:
        await self.send_group_frame(group, encode_frame(Invocation(target, list(args))), exclude)

    async def send_group_frame(self, group: str, frame: bytes, exclude: str | None = None) -> None:
        await self._publish("g", group, frame, exclude)

    async def add_to_group(self, conn: Connection, group: str) -> None:
        self.groups[group].add(conn.id)
        conn.groups.add(group)

    async def remove_from_group(self, conn: Connection, group: str) -> None:
        members = self.groups.get(group)
        if members is not None:
            members.discard(conn.id)
            if not members:
                del self.groups[group]
        conn.groups.discard(group)

    async def disconnect_user(
        self, user_id: int, except_session: str | None = None, except_connection: str | None = None
    ) -> None:
        """Send DisconnectRequested to the user's connections on every worker, and close them."""
        message = {
            "op": "disconnect_user",
            "user_id": user_id,
            "except_session": except_session,
            "except_connection": except_connection,
        }
        await self._publish("c", "control", orjson.dumps(message))

    async def request_disconnect(self, conn: Connection) -> None:
        conn.send("DisconnectRequested")
        await conn.close()

    # --- the WebSocket transport ---------------------------------------------------------------

    async def _authenticate(self, websocket: WebSocket) -> tuple[Any, dict[str, Any]] | str:
        """(token, user), or the reason the WebSocket is closed with (code 1008)."""
        from core.auth import resolve_token, scope_refusal

        try:
            resolved = await resolve_token(services(self.app), _auth_header(websocket))
        except ApiError:
            return "Unauthorized"
        if resolved is None:
            return "Unauthorized"
        token, user = resolved
        if user is None:
            return "Unauthorized"
        refusal = scope_refusal(token, self.hub.scope)
        if refusal is not None:
            return str(refusal.body["error"])
        return token, user

    async def websocket(self, websocket: WebSocket) -> None:
        if self.draining:
            # 1012: service restart; the client retries with its usual backoff.
            await websocket.close(code=1012, reason="Server shutting down")
            return
        resolved = await self._authenticate(websocket)
        if isinstance(resolved, str):
            await websocket.close(code=1008, reason=resolved)
            return
        token, user = resolved
        connection_token = websocket.query_params.get("id")
        if connection_token is not None:
            owner = await services(self.app).cache.get(self._negotiate_key(connection_token))
            if owner is None or int(owner) != int(user["id"]):
                await websocket.close(code=1008, reason="Unknown connection id")
                return
        await websocket.accept()
        reader = FrameReader(int(self.config["max_message_size"]))
        try:
            leftover = await self._handshake(websocket)
        except (WebSocketDisconnect, TimeoutError):
            await _safe_close(websocket)
            return
        except _HandshakeRefused as refused:
            await websocket.send_bytes(orjson.dumps({"error": str(refused)}) + RECORD_SEPARATOR)
            await _safe_close(websocket)
            return
        conn = Connection(websocket, user, token, websocket.headers.get("x-client-session-id"))
        conn.start()
        await self._register(conn)
        keepalive = asyncio.create_task(self._keepalive(conn), name=f"signalr-keepalive:{conn.id}")
        try:
            await self.hub.on_connected(conn)
            if leftover:
                await self._handle_bytes(conn, reader, leftover)
            while not conn.closed.is_set():
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None:
                    data = (message.get("text") or "").encode()
                if not await self._handle_bytes(conn, reader, data):
                    break
        except WebSocketDisconnect:
            pass
        except Exception:
            logger.exception("signalr {} connection {} failed", self.name, conn.id)
            await conn.close("An unexpected error occurred.")
        finally:
            keepalive.cancel()
            await self._unregister(conn)
            try:
                await self.hub.on_disconnected(conn)
            except Exception:
                logger.exception("signalr {} on_disconnected failed", self.name)
            await conn.finish()
            await _safe_close(websocket)

    async def _handshake(self, websocket: WebSocket) -> bytes:
        buffer = bytearray()
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        while RECORD_SEPARATOR not in buffer:
            remaining = deadline - time.monotonic()
            message = await asyncio.wait_for(websocket.receive(), max(0.01, remaining))
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect()
            buffer += message.get("bytes") or (message.get("text") or "").encode()
            if len(buffer) > MAX_HANDSHAKE:
                raise _HandshakeRefused("Handshake request is too large.")
        raw, _, rest = bytes(buffer).partition(RECORD_SEPARATOR)
        try:
            request = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise _HandshakeRefused("Handshake request is not valid JSON.") from None
        if not isinstance(request, dict):
            raise _HandshakeRefused("Handshake request is not a JSON object.")
        protocol = request.get("protocol")
        if protocol != "messagepack":
            raise _HandshakeRefused(f"The protocol '{protocol}' is not supported.")
        if request.get("version") != 1:
            raise _HandshakeRefused(
                f"The server does not support version {request.get('version')} of the "
                f"'{protocol}' protocol."
            )
        await websocket.send_bytes(b"{}" + RECORD_SEPARATOR)
        return rest

    async def _handle_bytes(self, conn: Connection, reader: FrameReader, data: bytes) -> bool:
        """Feed received bytes; False when the connection must end."""
        conn.last_received = time.monotonic()
        try:
            messages = reader.feed(data)
        except CodecError as exc:
            await conn.close(f"Connection closed with an error. InvalidDataException: {exc}")
            return False
        for message in messages:
            if isinstance(message, Invocation | InvocationBindingFailure):
                await self._invoke(conn, message)
            elif isinstance(message, Close):
                return False
            # Pings only prove the client is alive; other message kinds are not used by osu!.
        return True

    async def _invoke(
        self, conn: Connection, message: Invocation | InvocationBindingFailure
    ) -> None:
        invocation_id = message.invocation_id or None
        target = message.target
        attr = self.methods.get(target)
        if attr is None:
            metrics.hub_invocation(self.name, "<unknown>", "unknown_method")
            if invocation_id:
                conn.send_frame(
                    encode_frame(
                        Completion(
                            invocation_id,
                            error=f"Failed to invoke '{target}' due to an error on the server. "
                            "HubException: Method does not exist.",
                        )
                    )
                )
            return
        if isinstance(message, InvocationBindingFailure):
            metrics.hub_invocation(self.name, target, "bad_arguments")
            if invocation_id:
                conn.send_frame(
                    encode_frame(
                        Completion(
                            invocation_id,
                            error=f"Failed to invoke '{target}' due to an error on the server. "
                            f"InvalidDataException: {message.error}",
                        )
                    )
                )
            return
        try:
            result = await getattr(self.hub, attr)(conn, *message.arguments)
        except HubError as exc:
            metrics.hub_invocation(self.name, target, "hub_error")
            if invocation_id:
                conn.send_frame(
                    encode_frame(Completion(invocation_id, error=exc.for_method(target)))
                )
            return
        except Exception:
            logger.exception("signalr {}.{} failed for user {}", self.name, target, conn.user_id)
            metrics.hub_invocation(self.name, target, "error")
            if invocation_id:
                error = f"An unexpected error occurred invoking '{target}' on the server."
                conn.send_frame(encode_frame(Completion(invocation_id, error=error)))
            return
        metrics.hub_invocation(self.name, target, "ok")
        if invocation_id:
            completion = Completion(invocation_id, VOID if result is None else result)
            conn.send_frame(encode_frame(completion))

    async def _register(self, conn: Connection) -> None:
        self.connections[conn.id] = conn
        metrics.hub_connected(self.name, 1)
        self.by_user[conn.user_id].add(conn.id)
        if conn.session_id:
            # The same account from another client instance: the older session is told to go.
            await self.disconnect_user(
                conn.user_id, except_session=conn.session_id, except_connection=conn.id
            )

    async def _unregister(self, conn: Connection) -> None:
        if self.connections.pop(conn.id, None) is not None:
            metrics.hub_connected(self.name, -1)
        user_conns = self.by_user.get(conn.user_id)
        if user_conns is not None:
            user_conns.discard(conn.id)
            if not user_conns:
                del self.by_user[conn.user_id]
        for group in list(conn.groups):
            await self.remove_from_group(conn, group)

    async def _keepalive(self, conn: Connection) -> None:
        from core.auth import resolve_token

        interval = float(self.config["keepalive_interval"])
        timeout = float(self.config["client_timeout"])
        check_every = float(self.config["token_check_interval"])
        next_check = time.monotonic() + check_every
        header = _auth_header(conn.websocket)
        try:
            while not conn.closed.is_set():
                await asyncio.sleep(min(interval, check_every, timeout / 2))
                now = time.monotonic()
                if now - conn.last_received > timeout:
                    await conn.close(
                        "Server timeout elapsed without receiving a message from the client."
                    )
                    return
                if now >= next_check:
                    next_check = now + check_every
                    try:
                        valid = await resolve_token(services(self.app), header) is not None
                    except ApiError:
                        valid = False
                    except Exception:  # a cache or database outage is not a revocation
                        valid = True
                    if not valid:
                        await self.request_disconnect(conn)
                        return
                conn.send_frame(PING_FRAME)
        except asyncio.CancelledError:
            pass


def _auth_header(websocket: WebSocket) -> str | None:
    """The bearer header, or the `access_token` query parameter browser clients use instead."""
    header = websocket.headers.get("authorization")
    if not header and websocket.query_params.get("access_token"):
        header = f"Bearer {websocket.query_params['access_token']}"
    return header


class _HandshakeRefused(Exception):
    pass


async def _safe_close(websocket: WebSocket) -> None:
    try:
        await websocket.close()
    except Exception:  # already closed
        pass
