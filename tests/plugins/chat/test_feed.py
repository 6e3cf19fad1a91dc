"""The worker's share of the notification websocket: which socket gets which bus message."""

from __future__ import annotations

from typing import Any

from core.chat import notifications as notify_db
from core.clock import SYSTEM_CLOCK
from core.config import settings_from
from core.services import Services, services
from plugins.chat.feed import CLOSE, Connection, Hub


class FakeCache:
    """Publishing straight into the hub, as the bus would."""

    def __init__(self) -> None:
        self.hub: Hub | None = None

    async def publish(self, channel: str, data: bytes) -> None:
        assert channel == notify_db.BUS and self.hub is not None
        self.hub.dispatch(data)


class App:
    """Stands in for the app: its services hold only the fake cache."""

    def __init__(self) -> None:
        self.services = Services(
            settings=settings_from({}, {}),
            plugins=None,  # type: ignore[arg-type]
            storage=None,  # type: ignore[arg-type]
            ratelimits=None,  # type: ignore[arg-type]
            clock=SYSTEM_CLOCK,
        )
        self.services.cache = FakeCache()  # type: ignore[assignment]


def frames(conn: Connection) -> list[Any]:
    out = []
    while not conn.queue.empty():
        out.append(conn.queue.get_nowait())
    return out


def hub_with(*conns: Connection) -> tuple[Hub, FakeCache]:
    app = App()
    hub = Hub(app)
    services(app).cache.hub = hub
    for conn in conns:
        hub.add(conn)
    return hub, services(app).cache


def started(conn: Connection, hub: Hub, channels: set[int]) -> None:
    conn.chat = True
    conn.channels = set(channels)
    for c in channels:
        hub.by_channel.setdefault(c, set()).add(conn)


async def test_channel_messages_reach_chat_started_members_only() -> None:
    member = Connection(None, 1, "t1", True)  # type: ignore[arg-type]
    idle = Connection(None, 1, "t2", True)  # type: ignore[arg-type]
    outsider = Connection(None, 2, "t3", True)  # type: ignore[arg-type]
    hub, cache = hub_with(member, idle, outsider)
    started(member, hub, {10})
    started(outsider, hub, {11})
    await notify_db.publish_to_channel(cache, 10, b'{"event":"chat.message.new"}')
    assert frames(member) == ['{"event":"chat.message.new"}']
    assert frames(idle) == [] and frames(outsider) == []

    # Notifications go to every socket of the user, chat started or not.
    await notify_db.publish_to_users(cache, [1], b'{"event":"new"}')
    assert frames(member) == frames(idle) == ['{"event":"new"}']


async def test_join_and_part_change_what_a_socket_receives() -> None:
    conn = Connection(None, 1, "t", True)  # type: ignore[arg-type]
    hub, cache = hub_with(conn)
    started(conn, hub, set())
    await notify_db.publish_to_users(cache, [1], b"join", chat=True, join=5)
    await notify_db.publish_to_channel(cache, 5, b"m1")
    # A hidden PM keeps delivering (a new message unhides it); a public part stops it.
    await notify_db.publish_to_users(cache, [1], b"part", chat=True, part=5, keep=True)
    await notify_db.publish_to_channel(cache, 5, b"m2")
    await notify_db.publish_to_users(cache, [1], b"part", chat=True, part=5, keep=False)
    await notify_db.publish_to_channel(cache, 5, b"m3")
    assert frames(conn) == ["join", "m1", "part", "m2", "part"]
    assert 5 not in hub.by_channel
    hub.end_chat(conn)
    await notify_db.publish_to_users(cache, [1], b"join2", chat=True, join=6)
    assert frames(conn) == []


async def test_logout_closes_the_sockets_of_one_token() -> None:
    one = Connection(None, 1, "a", True)  # type: ignore[arg-type]
    two = Connection(None, 1, "b", True)  # type: ignore[arg-type]
    hub, cache = hub_with(one, two)
    await notify_db.publish_logout(cache, 1, ["a"])
    assert frames(one) == ['{"event":"logout"}', CLOSE] and one.closing
    assert frames(two) == [] and not two.closing
    hub.remove(one)
    assert hub.by_user == {1: {two}}


async def test_a_socket_that_falls_behind_is_dropped() -> None:
    conn = Connection(None, 1, "t", True)  # type: ignore[arg-type]
    _, cache = hub_with(conn)
    for _ in range(3000):
        await notify_db.publish_to_users(cache, [1], b"x")
    assert conn.closing
    assert frames(conn)[-1] is CLOSE


async def test_garbage_on_the_bus_is_dropped() -> None:
    from loguru import logger

    conn = Connection(None, 1, "t", True)  # type: ignore[arg-type]
    hub, cache = hub_with(conn)
    logged: list[str] = []
    sink = logger.add(lambda message: logged.append(message.record["message"]), level="ERROR")
    try:
        hub.dispatch(b"not json\n")
        hub.dispatch(b'{"k":"users"}\n')  # a known kind without its user list
    finally:
        logger.remove(sink)
    # Each was logged and dropped: nothing reached the socket, which stays open.
    assert logged == ["bad notification bus message dropped"] * 2
    assert frames(conn) == [] and not conn.closing
    # The hub carries on with the next good message.
    await notify_db.publish_to_users(cache, [1], b'{"event":"new"}')
    assert frames(conn) == ['{"event":"new"}']
