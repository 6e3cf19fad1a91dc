"""Notification websocket limits: sockets per user, `chat.start`/`chat.end` per socket, and
what a `chat.read`-only token receives."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from core.chat import notifications as notify_db
from core.chat import service as chat
from core.chat import store as chat_db
from core.clock import ManualClock
from core.services import services
from core.users import store as users_db
from plugins.chat.feed import SocketSlots
from tests.conftest import create_user, issue_token

FEED = "/notifications/feed"
START = orjson.dumps({"event": "chat.start", "data": None, "error": None}).decode()
END = orjson.dumps({"event": "chat.end", "data": None, "error": None}).decode()


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {"chat": {"max_sockets_per_user": 2, "chat_toggle_limit": 3, "chat_toggle_window": 60}}


@pytest.fixture
async def feed(app_url: str) -> AsyncIterator[Callable[..., Any]]:
    opened: list[ClientConnection] = []
    url = app_url.replace("http://", "ws://") + FEED

    async def open_socket(token: str) -> ClientConnection:
        ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
        opened.append(ws)
        return ws

    yield open_socket
    for ws in opened:
        await ws.close()


async def frame(ws: ClientConnection) -> dict[str, Any]:
    return dict(orjson.loads(await ws.recv()))


async def notify(app: Starlette, user_id: int, object_id: int) -> None:
    """A `new` notification: the barrier frame of these tests."""
    await notify_db.notify(
        services(app),
        [user_id],
        name="user_achievement_unlock",
        object_type="achievement",
        object_id=object_id,
        details={"achievement_id": object_id},
    )


async def test_a_user_holds_a_limited_number_of_sockets(
    app: Starlette, feed: Callable[..., Any]
) -> None:
    alice = await create_user(app, "alice")
    bobby = await create_user(app, "bobby")
    ta, tb = await issue_token(app, alice), await issue_token(app, bobby)
    held = [await feed(ta), await feed(ta)]
    for ws in held:
        assert await frame(ws) == {"event": "connection.ready"}
    extra = await feed(ta)
    assert await frame(extra) == {"error": "too many connections"}
    with pytest.raises(ConnectionClosed) as closed:
        await extra.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1013, "Too many connections")
    # The refused socket took no slot, and other users are not affected.
    again = await feed(ta)
    assert await frame(again) == {"error": "too many connections"}
    other = await feed(tb)
    assert await frame(other) == {"event": "connection.ready"}
    # The held sockets still work.
    await notify(app, alice, 1)
    for ws in held:
        assert (await frame(ws))["event"] == "new"


async def test_slots_are_released_on_close_and_lapse_when_not_renewed(
    app: Starlette, clock: ManualClock
) -> None:
    slots = SocketSlots(services(app).cache, clock, limit=2, ttl=60)
    assert await slots.acquire(7, "a") and await slots.acquire(7, "b")
    assert not await slots.acquire(7, "c")
    assert await slots.acquire(8, "other")
    await slots.release(7, "a")
    assert await slots.acquire(7, "c")
    assert not await slots.acquire(7, "d")
    # A worker that died holds "b" and "c" without renewing: after the ttl they no longer count.
    clock.advance(30)
    await slots.renew(7, "c")
    clock.advance(31)
    assert await slots.acquire(7, "d")
    assert not await slots.acquire(7, "e")  # "c" was renewed and still counts
    # 0 means no limit.
    unlimited = SocketSlots(services(app).cache, clock, limit=0, ttl=60)
    assert all([await unlimited.acquire(9, str(n)) for n in range(50)])


async def test_chat_start_and_end_are_rate_limited_per_socket(
    app: Starlette, feed: Callable[..., Any], clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: list[int] = []
    real = chat_db.user_channel_ids

    async def counted(db: Any, user_id: int) -> Any:
        queries.append(user_id)
        return await real(db, user_id)

    monkeypatch.setattr(chat_db, "user_channel_ids", counted)
    user_id = await create_user(app)
    ws = await feed(await issue_token(app, user_id))
    assert await frame(ws) == {"event": "connection.ready"}
    svc = services(app)
    osu = await chat_db.find_channel(svc.db, "#osu", chat_db.PUBLIC)
    lobby = await chat_db.find_channel(svc.db, "#lobby", chat_db.PUBLIC)
    assert osu is not None and lobby is not None
    user = await users_db.get_user(svc.db, user_id)
    assert user is not None
    # start, end, start: the limit of 3 in the window; a repeated start costs no query.
    for text in (START, END, START):
        await ws.send(text)
    for text in (END, START):
        await ws.send(text)
        assert await frame(ws) == {"error": "too many chat.start/chat.end requests"}
    assert len(queries) == 2
    # The refused chat.end did not end chat: a join still reaches the socket.
    await chat.join(svc, osu, user)
    assert (await frame(ws))["event"] == "chat.channel.join"
    # A new window: chat.end is allowed again, so a later join is not pushed (the
    # notification after it is the next frame).
    clock.advance(60)
    await ws.send(END)
    await ws.send(START)
    await ws.send(END)
    await ws.send(START)
    assert await frame(ws) == {"error": "too many chat.start/chat.end requests"}
    await chat.join(svc, lobby, user)
    await notify(app, user_id, 2)
    assert (await frame(ws))["event"] == "new"
    assert len(queries) == 3


async def test_a_chat_read_token_gets_chat_events_only(
    app: Starlette, feed: Callable[..., Any]
) -> None:
    """As ppy/osu-notification-server src/user-connection.ts."""
    user_id = await create_user(app)
    svc = services(app)
    chat_only = await feed(await issue_token(app, user_id, ["chat.read"]))
    lazer = await feed(await issue_token(app, user_id))
    for ws in (chat_only, lazer):
        assert await frame(ws) == {"event": "connection.ready"}
        await ws.send(START)
    osu = await chat_db.find_channel(svc.db, "#osu", chat_db.PUBLIC)
    assert osu is not None
    user = await users_db.get_user(svc.db, user_id)
    assert user is not None
    await notify(app, user_id, 3)
    await chat.join(svc, osu, user)
    assert [(await frame(lazer))["event"] for _ in range(2)] == ["new", "chat.channel.join"]
    # The notification went before the join on the same bus: the chat-only socket skipped it.
    assert (await frame(chat_only))["event"] == "chat.channel.join"
