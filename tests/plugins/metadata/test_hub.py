"""The metadata hub against live servers: presence to watchers and friends (also across
workers), appearing offline, disconnects, the change queue, room stubs and bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgpack
import pytest
from starlette.applications import Starlette

from core.config import Settings
from core.lazer import VOID, Completion
from core.lazer.types import ChoosingBeatmap, InSoloGame, UserPresence, UserStatus
from core.services import services
from core.users import store as users_db
from tests.conftest import LiveServer, create_user, issue_token
from tests.signalr.client import HubClient

HUB = "metadata"
PLAYING = InSoloGame(7001, "Artist - Song [Hard]", 0, "Clicking circles")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"metadata": {"beatmap_updates_interval": 0.2}}


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


@pytest.fixture
async def people(app: Starlette) -> dict[str, tuple[int, str]]:
    found = {}
    for name in ("peppy", "cookiezi", "rrtyui"):
        user_id = await create_user(app, name)
        found[name] = (user_id, await issue_token(app, user_id))
    # cookiezi has peppy as a friend (one way): cookiezi sees peppy's friend presence.
    await users_db.set_relation(
        services(app).db, found["cookiezi"][0], found["peppy"][0], users_db.RELATION_FRIEND
    )
    return found


async def open_client(url: str, token: str) -> HubClient:
    client = await HubClient.open(url, HUB, token)
    welcome = await client.callback("DailyChallengeUpdated")
    assert welcome.arguments == [None]
    return client


@pytest.fixture
async def clients(server: LiveServer, people: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    opened = {name: await open_client(server.url, token) for name, (_, token) in people.items()}
    yield opened
    for client in opened.values():
        await client.close()


def ok(completion: Completion) -> None:
    assert completion.error is None, completion.error
    assert completion.result is VOID


async def test_presence_to_watchers_friends_and_self(
    clients: dict[str, HubClient], people: dict[str, Any]
) -> None:
    peppy, cookiezi, rrtyui = clients["peppy"], clients["cookiezi"], clients["rrtyui"]
    peppy_id = people["peppy"][0]
    ok(await rrtyui.invoke("BeginWatchingUserPresence"))

    # Each client hears of a change over the hub's one bus, in the order the changes were
    # made: the first message of a kind a client takes after a change is proof that nothing of
    # that kind came before it, and what came of other kinds is still in `received`.

    # An activity without a status is not shown to anyone; the caller hears it has none.
    ok(await peppy.invoke("UpdateActivity", ChoosingBeatmap()))
    assert (await peppy.callback("UserPresenceUpdated")).arguments == [peppy_id, None]

    ok(await peppy.invoke("UpdateStatus", UserStatus.ONLINE))
    online = UserPresence(ChoosingBeatmap(), UserStatus.ONLINE)
    assert (await peppy.callback("UserPresenceUpdated")).arguments == [peppy_id, online]
    # The first rrtyui hears of: the activity alone showed nothing.
    assert (await rrtyui.callback("UserPresenceUpdated")).arguments == [peppy_id, online]
    assert (await cookiezi.callback("FriendPresenceUpdated")).arguments == [peppy_id, online]

    # An unchanged status is a no-op (peppy's next own update is the activity's, below).
    ok(await peppy.invoke("UpdateStatus", UserStatus.ONLINE))

    ok(await peppy.invoke("UpdateActivity", PLAYING))
    playing = UserPresence(PLAYING, UserStatus.ONLINE)
    assert (await peppy.callback("UserPresenceUpdated")).arguments == [peppy_id, playing]
    assert (await rrtyui.callback("UserPresenceUpdated")).arguments == [peppy_id, playing]
    assert (await cookiezi.callback("FriendPresenceUpdated")).arguments == [peppy_id, playing]
    # cookiezi does not watch everyone's presence, and peppy has no friends to tell.
    assert not cookiezi.received("UserPresenceUpdated")
    assert not rrtyui.received("FriendPresenceUpdated")

    # Someone who starts watching now gets everyone visible at once.
    ok(await cookiezi.invoke("BeginWatchingUserPresence"))
    assert (await cookiezi.callback("UserPresenceUpdated")).arguments == [peppy_id, playing]

    # Appearing offline looks exactly like leaving.
    ok(await peppy.invoke("UpdateStatus", UserStatus.OFFLINE))
    assert (await rrtyui.callback("UserPresenceUpdated")).arguments == [peppy_id, None]
    assert (await cookiezi.callback("FriendPresenceUpdated")).arguments == [peppy_id, None]
    assert (await peppy.callback("UserPresenceUpdated")).arguments == [peppy_id, None]
    ok(await rrtyui.invoke("EndWatchingUserPresence"))
    ok(await rrtyui.invoke("BeginWatchingUserPresence"))

    # Back online, then gone: watchers and friends are told the user left. (Watching again
    # showed nobody: the next update rrtyui hears of is this one.)
    ok(await peppy.invoke("UpdateStatus", UserStatus.DO_NOT_DISTURB))
    busy = UserPresence(PLAYING, UserStatus.DO_NOT_DISTURB)
    assert (await rrtyui.callback("UserPresenceUpdated")).arguments == [peppy_id, busy]
    assert (await cookiezi.callback("FriendPresenceUpdated")).arguments == [peppy_id, busy]
    await peppy.close()
    assert (await rrtyui.callback("UserPresenceUpdated")).arguments == [peppy_id, None]
    assert (await cookiezi.callback("FriendPresenceUpdated")).arguments == [peppy_id, None]


async def test_friends_presence_on_connect_and_refresh(
    server: LiveServer, app: Starlette, people: dict[str, Any]
) -> None:
    peppy = await open_client(server.url, people["peppy"][1])
    rrtyui = await open_client(server.url, people["rrtyui"][1])
    peppy_id, rrtyui_id = people["peppy"][0], people["rrtyui"][0]
    try:
        ok(await peppy.invoke("UpdateStatus", UserStatus.ONLINE))
        ok(await rrtyui.invoke("UpdateStatus", UserStatus.DO_NOT_DISTURB))

        # cookiezi connects after its friend came online: told at once.
        cookiezi = await open_client(server.url, people["cookiezi"][1])
        friend = await cookiezi.callback("FriendPresenceUpdated")
        assert friend.arguments == [peppy_id, UserPresence(None, UserStatus.ONLINE)]

        # A new friend shows up after RefreshFriends, and their updates follow. (The next
        # friend presence cookiezi takes is rrtyui's: it was not told of rrtyui on connect.)
        await users_db.set_relation(services(app).db, people["cookiezi"][0], rrtyui_id, "friend")
        ok(await cookiezi.invoke("RefreshFriends"))
        added = await cookiezi.callback("FriendPresenceUpdated")
        assert added.arguments == [rrtyui_id, UserPresence(None, UserStatus.DO_NOT_DISTURB)]
        ok(await rrtyui.invoke("UpdateActivity", PLAYING))
        update = await cookiezi.callback("FriendPresenceUpdated")
        assert update.arguments == [rrtyui_id, UserPresence(PLAYING, UserStatus.DO_NOT_DISTURB)]

        # Unfriended: no more updates.
        await users_db.delete_relation(services(app).db, people["cookiezi"][0], peppy_id)
        ok(await cookiezi.invoke("RefreshFriends"))
        ok(await peppy.invoke("UpdateActivity", PLAYING))
        # The barrier: an update of the remaining friend, made after it, comes first.
        ok(await rrtyui.invoke("UpdateStatus", UserStatus.ONLINE))
        friend = await cookiezi.callback("FriendPresenceUpdated")
        assert friend.arguments == [rrtyui_id, UserPresence(PLAYING, UserStatus.ONLINE)]
        await cookiezi.close()
    finally:
        await peppy.close()
        await rrtyui.close()


async def test_change_queue_and_room_stubs(clients: dict[str, HubClient]) -> None:
    client = clients["peppy"]
    changes = await client.invoke("GetChangesSince", 12345)
    assert changes.error is None
    assert changes.result == [[], 12345]
    stats = await client.invoke("BeginWatchingMultiplayerRoom", 99)
    assert stats.error is None
    assert stats.result == []
    ok(await client.invoke("EndWatchingMultiplayerRoom", 99))


async def test_changed_sets_are_announced_and_listed(
    app: Starlette, clients: dict[str, HubClient]
) -> None:
    from tests.beatmaps.support import ranked_set

    peppy = clients["peppy"]
    # The server took its first look at the queue (where announcing starts) before it was up.
    await ranked_set(app, set_id=100)
    await ranked_set(app, set_id=200)
    # One announcement, or two when the server looked at the queue between the imports.
    seen: list[int] = []
    while len(seen) < 2:
        [updates] = (await peppy.callback("BeatmapSetsUpdated", timeout=5)).arguments
        seen += updates.beatmap_set_ids
    assert seen == [100, 200]
    last = updates.last_processed_queue_id
    assert (await peppy.invoke("GetChangesSince", 0)).result == [[100, 200], last]
    # The client walks the queue until it comes back empty.
    assert (await peppy.invoke("GetChangesSince", last)).result == [[], last]
    await ranked_set(app, set_id=100, count=3)  # a new difficulty changes the set
    # A late repeat of a position already announced may still be on its way (the client only
    # refetches the sets it names); the change made now is the first one past `last`.
    again = (await peppy.callback("BeatmapSetsUpdated", timeout=5)).arguments[0]
    while again.last_processed_queue_id <= last:
        again = (await peppy.callback("BeatmapSetsUpdated", timeout=5)).arguments[0]
    assert again.beatmap_set_ids == [100] and again.last_processed_queue_id > last


async def test_bad_input_gets_errors_and_the_connection_carries_on(
    clients: dict[str, HubClient], people: dict[str, Any]
) -> None:
    peppy, rrtyui = clients["peppy"], clients["rrtyui"]
    ok(await rrtyui.invoke("BeginWatchingUserPresence"))

    bad_status = await peppy.invoke("UpdateStatus", 7)
    assert bad_status.error == (
        "An unexpected error occurred invoking 'UpdateStatus' on the server. "
        "InvalidStateException: Invalid status."
    )
    for target, args in (
        ("UpdateStatus", ["online"]),
        ("UpdateActivity", [12]),  # a union must be [key, payload]
        ("UpdateActivity", [[12, "x"]]),
        ("GetChangesSince", ["0"]),
        ("GetChangesSince", []),
        ("BeginWatchingUserPresence", [1]),
        ("BeginWatchingMultiplayerRoom", [None]),
    ):
        refused = await peppy.invoke(target, *args, raw=True)
        assert "InvalidDataException" in (refused.error or ""), (target, args, refused)

    # An activity the server does not know (a newer client's) reads as none (unknown union key).
    ok(await peppy.invoke("UpdateStatus", UserStatus.ONLINE))
    # The first presence rrtyui hears of: none of the refused calls changed anything.
    first = (await rrtyui.callback("UserPresenceUpdated")).arguments
    assert first[1].status == UserStatus.ONLINE
    assert first == [people["peppy"][0], UserPresence(None, UserStatus.ONLINE)]
    ok(await peppy.invoke("UpdateActivity", [99, []], raw=True))
    ok(await peppy.invoke("UpdateActivity", PLAYING))
    presence = (await rrtyui.callback("UserPresenceUpdated")).arguments[1]
    assert presence == UserPresence(PLAYING, UserStatus.ONLINE)


# --- pysignalr, with its generic MessagePack protocol -------------------------------------------


def lazer_protocol() -> Any:
    """pysignalr's MessagePack protocol, also reading maps with integer keys."""
    from pysignalr.protocol.messagepack import MessagepackProtocol

    class Protocol(MessagepackProtocol):
        def decode(self, raw_message: str | bytes) -> list[Any]:
            data = raw_message.encode() if isinstance(raw_message, str) else raw_message
            messages, offset = [], 0
            while offset < len(data):
                length, offset = self._from_varint(data, offset)
                values = msgpack.unpackb(data[offset : offset + length], strict_map_key=False)
                offset += length
                messages.append(self.parse_message(values))
            return messages

    return Protocol()


async def test_pysignalr_presence_reaches_a_friend(
    server: LiveServer, people: dict[str, Any]
) -> None:
    from pysignalr.client import SignalRClient
    from pysignalr.messages import CompletionMessage

    def connect(token: str) -> SignalRClient:
        return SignalRClient(
            f"{server.url}/signalr/{HUB}",
            protocol=lazer_protocol(),
            headers={"Authorization": f"Bearer {token}"},
        )

    peppy_id = people["peppy"][0]
    player, friend = connect(people["peppy"][1]), connect(people["cookiezi"][1])
    friend_saw: list[tuple[str, list[Any]]] = []
    completions: asyncio.Queue[CompletionMessage] = asyncio.Queue()
    ready = {"player": asyncio.Event(), "friend": asyncio.Event()}

    all_seen = asyncio.Event()

    def record(name: str) -> Any:
        async def handler(args: list[Any]) -> None:
            friend_saw.append((name, args))
            if len(friend_saw) >= 4:
                all_seen.set()

        return handler

    friend.on("UserPresenceUpdated", record("UserPresenceUpdated"))
    friend.on("FriendPresenceUpdated", record("FriendPresenceUpdated"))

    def on_daily(event: asyncio.Event) -> Any:
        async def handler(args: list[Any]) -> None:
            assert args == [None]
            event.set()

        return handler

    player.on("DailyChallengeUpdated", on_daily(ready["player"]))
    friend.on("DailyChallengeUpdated", on_daily(ready["friend"]))

    async def done(message: CompletionMessage) -> None:
        await completions.put(message)

    async def invoke(client: SignalRClient, method: str, args: list[Any]) -> Any:
        await client.send(method, args, on_invocation=done)
        reply = await asyncio.wait_for(completions.get(), 10)
        assert reply.error is None, reply.error
        return reply.result

    runners = [asyncio.create_task(friend.run()), asyncio.create_task(player.run())]
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready.values())), 10)
        await invoke(friend, "BeginWatchingUserPresence", [])
        await invoke(player, "UpdateStatus", [2])
        # InSoloGame is union key 12: [BeatmapID, BeatmapDisplayTitle, RulesetID, verb].
        activity = [12, [7001, "Artist - Song [Hard]", 0, "Clicking circles"]]
        await invoke(player, "UpdateActivity", [activity])
        assert await invoke(player, "GetChangesSince", [0]) == [[], 0]

        await asyncio.wait_for(all_seen.wait(), 10)
        for target in ("UserPresenceUpdated", "FriendPresenceUpdated"):
            assert [args for name, args in friend_saw if name == target] == [
                [peppy_id, [None, 2]],
                [peppy_id, [activity, 2]],
            ]
    finally:
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)


# --- two workers on one Redis -------------------------------------------------------------------


@pytest.mark.redis_cluster("mysql_cluster")
async def test_presence_across_servers(
    backend: str, settings: Settings, people: dict[str, Any]
) -> None:
    if backend == "embedded":
        pytest.skip("two processes share state only through Redis; the embedded cache is local")
    first, second = LiveServer(settings), LiveServer(settings)
    first.start()
    second.start()
    try:
        peppy = await open_client(first.url, people["peppy"][1])
        watcher = await open_client(second.url, people["rrtyui"][1])
        peppy_id = people["peppy"][0]
        ok(await peppy.invoke("UpdateStatus", UserStatus.ONLINE))
        # Set on the first server, listed by the second.
        ok(await watcher.invoke("BeginWatchingUserPresence"))
        listed = await watcher.callback("UserPresenceUpdated")
        assert listed.arguments == [peppy_id, UserPresence(None, UserStatus.ONLINE)]
        # A friend connecting to the second server is told at once, then follows updates.
        friend = await open_client(second.url, people["cookiezi"][1])
        assert (await friend.callback("FriendPresenceUpdated")).arguments[0] == peppy_id
        ok(await peppy.invoke("UpdateActivity", PLAYING))
        expected = [peppy_id, UserPresence(PLAYING, UserStatus.ONLINE)]
        assert (await watcher.callback("UserPresenceUpdated")).arguments == expected
        assert (await friend.callback("FriendPresenceUpdated")).arguments == expected
        await peppy.close()
        assert (await friend.callback("FriendPresenceUpdated")).arguments == [peppy_id, None]
        for client in (watcher, friend):
            await client.close()
    finally:
        first.stop()
        second.stop()


def test_invocation_target_names_match_the_spec() -> None:
    from plugins.metadata.hub import MetadataHub

    assert set(MetadataHub.methods()) == {
        "GetChangesSince",
        "UpdateActivity",
        "UpdateStatus",
        "BeginWatchingUserPresence",
        "EndWatchingUserPresence",
        "BeginWatchingMultiplayerRoom",
        "EndWatchingMultiplayerRoom",
        "RefreshFriends",
    }
