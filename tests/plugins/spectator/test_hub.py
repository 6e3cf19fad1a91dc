"""The spectator hub against live servers: sessions seen by watchers, bad input, disconnects,
cross-worker relay, and replays built from streamed frames."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgpack
import pytest
from starlette.applications import Starlette

from core.clock import ManualClock
from core.config import Settings
from core.lazer import VOID, Completion, Invocation, decode_frames
from core.lazer.types import SpectatedUserState, SpectatorUser
from core.services import services
from core.signalr import Connection
from core.users import store as users_db
from plugins.spectator.hub import STATE_REFRESH, STATE_TTL, session, state_key
from tests.conftest import LiveServer, create_user, issue_token
from tests.scores import support as scores_support
from tests.signalr.client import HubClient

from .support import bundle, eventually, read_score_info, state

HUB = "spectator"


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


@pytest.fixture
async def people(app: Starlette) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in ("peppy", "cookiezi", "rrtyui"):
        user_id = await create_user(app, name)
        found[name] = (user_id, await issue_token(app, user_id))
    return found


@pytest.fixture
async def clients(server: LiveServer, people: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    opened = {
        name: await HubClient.open(server.url, HUB, token) for name, (_, token) in people.items()
    }
    yield opened
    for client in opened.values():
        await client.close()


def ok(completion: Completion) -> None:
    assert completion.error is None, completion.error
    assert completion.result is VOID


async def callbacks(client: HubClient, count: int) -> list[Invocation]:
    received = []
    for _ in range(count):
        message = await client.next(lambda m: isinstance(m, Invocation))
        assert isinstance(message, Invocation)
        received.append(message)
    return received


async def test_a_watcher_sees_the_play_in_order(
    clients: dict[str, HubClient], people: dict[str, Any]
) -> None:
    player, watcher = clients["peppy"], clients["cookiezi"]
    player_id, watcher_id = people["peppy"][0], people["cookiezi"][0]

    ok(await watcher.invoke("StartWatchingUser", player_id))
    started = await player.callback("UserStartedWatching")
    assert started.arguments == [[SpectatorUser(watcher_id, "cookiezi")]]

    ok(await player.invoke("BeginPlaySessionV2", None, state()))
    bundles = [bundle(1000 + 100 * i) for i in range(3)]
    for sent in bundles:
        await player.send("SendFrameDataV2", None, sent)
    ok(await player.invoke("EndPlaySessionV2", None, SpectatedUserState.PASSED))

    seen = await callbacks(watcher, 5)
    assert [m.target for m in seen] == [
        "UserBeganPlaying",
        "UserSentFrames",
        "UserSentFrames",
        "UserSentFrames",
        "UserFinishedPlaying",
    ]
    assert seen[0].arguments == [player_id, state()]
    assert [m.arguments for m in seen[1:4]] == [[player_id, b] for b in bundles]
    finished = state()
    finished.state = SpectatedUserState.PASSED
    assert seen[4].arguments == [player_id, finished]

    ok(await watcher.invoke("EndWatchingUser", player_id))
    ended = await player.callback("UserEndedWatching")
    assert ended.arguments == [watcher_id]
    other, other_id = clients["rrtyui"], people["rrtyui"][0]
    ok(await watcher.invoke("StartWatchingUser", other_id))
    # No longer watching: the next play is not relayed. The barrier: a play the watcher does
    # watch, begun after it, whose news travels the same bus and so arrives after it would.
    ok(await player.invoke("BeginPlaySessionV2", None, state()))
    ok(await other.invoke("BeginPlaySessionV2", None, state(beatmap_id=55)))
    began = await watcher.callback("UserBeganPlaying")
    assert began.arguments == [other_id, state(beatmap_id=55)]


async def test_watching_a_user_already_playing_and_disconnects(
    clients: dict[str, HubClient], people: dict[str, Any]
) -> None:
    player, watcher, other = clients["peppy"], clients["cookiezi"], clients["rrtyui"]
    player_id, other_id = people["peppy"][0], people["rrtyui"][0]
    ok(await player.invoke("BeginPlaySessionV2", None, state(beatmap_id=55)))

    ok(await watcher.invoke("StartWatchingUser", player_id))
    began = await watcher.callback("UserBeganPlaying")
    assert began.arguments == [player_id, state(beatmap_id=55)]
    ok(await watcher.invoke("StartWatchingUser", other_id))

    # The player vanishes mid-play: watchers learn that the play was quit.
    await player.close()
    finished = await watcher.callback("UserFinishedPlaying")
    quit_state = state(beatmap_id=55)
    quit_state.state = SpectatedUserState.QUIT
    assert finished.arguments == [player_id, quit_state]

    # The watcher vanishes: everyone it watched is told.
    await other.callback("UserStartedWatching")
    await watcher.close()
    ended = await other.callback("UserEndedWatching")
    assert ended.arguments == [people["cookiezi"][0]]


async def test_bad_input_gets_errors_and_the_connection_carries_on(
    clients: dict[str, HubClient], people: dict[str, Any]
) -> None:
    player, watcher = clients["peppy"], clients["cookiezi"]
    player_id = people["peppy"][0]
    ok(await watcher.invoke("StartWatchingUser", player_id))
    await player.callback("UserStartedWatching")

    wrong_type = await player.invoke("BeginPlaySessionV2", "token", [1, 0], raw=True)
    assert "InvalidDataException" in (wrong_type.error or "")
    too_few = await player.invoke("StartWatchingUser", raw=True)
    assert "InvalidDataException" in (too_few.error or "")
    too_many = await player.invoke("EndWatchingUser", 1, 2, raw=True)
    assert "InvalidDataException" in (too_many.error or "")
    unknown = await player.invoke("NoSuchMethod", raw=True)
    assert "Method does not exist" in (unknown.error or "")

    never_begun = await player.invoke("EndPlaySessionV2", 424242, SpectatedUserState.PASSED)
    assert never_begun.error == (
        "An unexpected error occurred invoking 'EndPlaySessionV2' on the server. "
        "InvalidStateException: Cannot end a play session that was not begun."
    )
    bad_state = await player.invoke("EndPlaySessionV2", None, 42)
    assert "Invalid final state" in (bad_state.error or "")

    # A token that is not the caller's opens no buffer, but the play is still shown.
    ok(await player.invoke("BeginPlaySessionV2", 987654, state()))
    await watcher.callback("UserBeganPlaying")
    # Frames under a token never begun are relayed all the same (and not recorded).
    await player.send("SendFrameDataV2", 31337, bundle(10))
    relayed = await watcher.callback("UserSentFrames")
    assert relayed.arguments == [player_id, bundle(10)]
    ok(await player.invoke("EndPlaySessionV2", 987654, SpectatedUserState.QUIT))
    await watcher.callback("UserFinishedPlaying")

    # Watching oneself is ignored; watching an unknown user is harmless.
    ok(await player.invoke("StartWatchingUser", player_id))
    ok(await player.invoke("StartWatchingUser", 2_000_000_000))
    # The first UserStartedWatching the player hears of is of a real watcher, after those.
    ok(await clients["rrtyui"].invoke("StartWatchingUser", player_id))
    started = await player.callback("UserStartedWatching")
    assert started.arguments == [[SpectatorUser(people["rrtyui"][0], "rrtyui")]]

    # Every error above left both connections working.
    ok(await player.invoke("BeginPlaySessionV2", None, state()))
    await watcher.callback("UserBeganPlaying")


async def test_v1_methods_remember_the_token(
    clients: dict[str, HubClient], people: dict[str, Any]
) -> None:
    player, watcher = clients["peppy"], clients["cookiezi"]
    ok(await watcher.invoke("StartWatchingUser", people["peppy"][0]))
    ok(await player.invoke("BeginPlaySession", None, state()))
    await player.send("SendFrameData", bundle(5))
    failed = state()
    failed.state = SpectatedUserState.FAILED
    ok(await player.invoke("EndPlaySession", failed))
    seen = await callbacks(watcher, 3)
    assert [m.target for m in seen] == ["UserBeganPlaying", "UserSentFrames", "UserFinishedPlaying"]
    assert seen[2].arguments[1].state == SpectatedUserState.FAILED


# --- pysignalr, with its generic MessagePack protocol -------------------------------------------

# The client's default DateTimeOffset (FrameHeader.ReceivedTime), as MessagePack-CSharp writes it.
DTO_DEFAULT = [msgpack.Timestamp(seconds=-62135596800), 0]


def raw_state(playing_state: int = 1) -> list[Any]:
    # [BeatmapID, RulesetID, Mods [[acronym, settings]], State, MaximumStatistics]
    return [7001, 0, [["HD", []]], playing_state, {5: 30}]


def raw_bundle(start: float) -> list[Any]:
    header = [
        int(start) * 10,  # TotalScore
        0.98,  # Accuracy (float64)
        2,  # Combo
        2,  # MaxCombo
        {5: 2},  # Statistics
        [0.0, 0.0, 0, 0.0, 0.0],  # ScoreProcessorStatistics
        DTO_DEFAULT,  # ReceivedTime
        [["HD", []]],  # Mods
        None,  # TotalScoreWithoutMods
        None,  # Pauses
    ]
    frames = [[start, 100.5, 50.25, 1], [start + 16, 101.0, 51.0, 0]]
    return [header, frames]


def lazer_protocol() -> Any:
    """pysignalr's MessagePack protocol, reading maps with integer keys (HitResult statistics),
    which its plain `msgpack.unpackb` refuses by default."""
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


async def test_pysignalr_player_and_watcher(server: LiveServer, people: dict[str, Any]) -> None:
    from pysignalr.client import SignalRClient
    from pysignalr.messages import CompletionMessage

    player_id, player_token = people["peppy"]
    watcher_id, watcher_token = people["cookiezi"]

    def connect(token: str) -> SignalRClient:
        return SignalRClient(
            f"{server.url}/signalr/{HUB}",
            protocol=lazer_protocol(),
            headers={"Authorization": f"Bearer {token}"},
        )

    player, watcher = connect(player_token), connect(watcher_token)
    seen: list[tuple[str, list[Any]]] = []
    to_player: list[tuple[str, list[Any]]] = []
    completions: asyncio.Queue[CompletionMessage] = asyncio.Queue()
    opened = asyncio.Event(), asyncio.Event()

    def record(into: list[tuple[str, list[Any]]], name: str) -> Any:
        async def handler(args: list[Any]) -> None:
            into.append((name, args))

        return handler

    for name in ("UserBeganPlaying", "UserSentFrames", "UserFinishedPlaying"):
        watcher.on(name, record(seen, name))
    player.on("UserStartedWatching", record(to_player, "UserStartedWatching"))

    async def on_open(event: asyncio.Event) -> None:
        event.set()

    player.on_open(lambda: on_open(opened[0]))
    watcher.on_open(lambda: on_open(opened[1]))

    async def done(message: CompletionMessage) -> None:
        await completions.put(message)

    async def invoke(client: SignalRClient, method: str, args: list[Any]) -> CompletionMessage:
        await client.send(method, args, on_invocation=done)
        reply = await asyncio.wait_for(completions.get(), 10)
        assert reply.error is None, reply.error
        return reply

    runners = [asyncio.create_task(player.run()), asyncio.create_task(watcher.run())]
    try:
        await asyncio.wait_for(asyncio.gather(opened[0].wait(), opened[1].wait()), 10)
        await invoke(watcher, "StartWatchingUser", [player_id])
        await invoke(player, "BeginPlaySessionV2", [None, raw_state()])
        for i in range(3):
            await player.send("SendFrameDataV2", [None, raw_bundle(1000 + 100 * i)])
        await invoke(player, "EndPlaySessionV2", [None, 3])

        async def all_seen() -> bool:
            return len(seen) >= 5 and len(to_player) >= 1

        await eventually(all_seen)
        assert [name for name, _ in seen] == [
            "UserBeganPlaying",
            "UserSentFrames",
            "UserSentFrames",
            "UserSentFrames",
            "UserFinishedPlaying",
        ]
        assert seen[0][1] == [player_id, raw_state()]
        for i, (_, args) in enumerate(seen[1:4]):
            assert args[0] == player_id
            header, frames = args[1]
            assert header[0] == (1000 + 100 * i) * 10
            assert header[7] == [["HD", []]]
            assert frames == raw_bundle(1000 + 100 * i)[1]
        assert seen[4][1] == [player_id, raw_state(3)]
        assert to_player == [("UserStartedWatching", [[[watcher_id, "cookiezi"]]])]
    finally:
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)


# --- replays ------------------------------------------------------------------------------------


async def play_with_replay(
    http: httpx.AsyncClient,
    player: HubClient,
    api_token: str,
    beatmap: scores_support.Map,
    end_first: bool,
) -> tuple[int, list[Any]]:
    headers = {"Authorization": f"Bearer {api_token}"}
    created = await http.post(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
        data={"ruleset_id": "0", "beatmap_hash": beatmap.checksum, "version_hash": "0" * 32},
        headers=headers,
    )
    assert created.status_code == 200, created.text
    token = int(created.json()["id"])
    ok(await player.invoke("BeginPlaySessionV2", token, state(beatmap_id=beatmap.id)))
    sent = [bundle(1000 + 50 * i, count=4, pauses=[400] if i else []) for i in range(5)]
    for part in sent:
        await player.send("SendFrameDataV2", token, part)
    body = scores_support.body(beatmap, oks=2, misses=1, mods=[{"acronym": "HD"}])
    if end_first:
        ok(await player.invoke("EndPlaySessionV2", token, SpectatedUserState.PASSED))
    submitted = await http.put(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token}", json=body, headers=headers
    )
    assert submitted.status_code == 200, submitted.text
    score_id = int(submitted.json()["id"])
    if not end_first:
        ok(await player.invoke("EndPlaySessionV2", token, SpectatedUserState.PASSED))
    processed = await player.callback("UserScoreProcessed")
    assert processed.arguments[1] == score_id
    frames = [frame for part in sent for frame in part.frames]
    return score_id, [body, frames]


async def test_replays_built_from_streamed_frames(
    app: Starlette, server: LiveServer, clients: dict[str, HubClient], people: dict[str, Any]
) -> None:
    import osrparse

    beatmap = await scores_support.import_map(app, 0)
    player = clients["peppy"]
    player_id, api_token = people["peppy"]
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=30, headers=headers) as http:
        for end_first in (False, True):
            score_id, (body, frames) = await play_with_replay(
                http, player, api_token, beatmap, end_first
            )

            async def downloaded(score_id: int = score_id) -> bytes | None:
                # The replay is stored first, then the score marked: once it is marked, the
                # whole of it is there.
                shown = await http.get(
                    f"/api/v2/scores/{score_id}", headers={"x-api-version": "20250101"}
                )
                if not shown.json()["has_replay"]:
                    return None
                response = await http.get(f"/api/v2/scores/{score_id}/download")
                return response.content if response.status_code == 200 else None

            data = await eventually(downloaded)
            parsed = osrparse.Replay.from_string(data)
            assert parsed.mode == osrparse.GameMode.STD
            assert parsed.game_version == 30000019
            assert parsed.beatmap_hash == beatmap.checksum
            assert parsed.username == "peppy"
            stats = body["statistics"]
            assert parsed.count_300 == stats["great"]
            assert parsed.count_100 == stats["ok"]
            assert parsed.count_50 == 0
            assert parsed.count_miss == stats["miss"]
            assert parsed.score == body["total_score"]
            assert parsed.max_combo == body["max_combo"]
            assert not parsed.perfect
            assert int(parsed.mods) == 8  # HD
            assert parsed.replay_id == -1
            times = [round(f.time) for f in frames]
            deltas = [b - a for a, b in zip([0, *times], times, strict=False)]
            assert [e.time_delta for e in parsed.replay_data] == deltas
            assert [(e.x, e.y) for e in parsed.replay_data] == [
                (f.mouse_x, f.mouse_y) for f in frames
            ]
            assert [int(e.keys) for e in parsed.replay_data] == [f.button_state for f in frames]
            info = read_score_info(data)
            assert info["online_id"] == score_id
            assert info["user_id"] == player_id
            assert info["statistics"] == stats
            assert info["mods"] == [{"acronym": "HD"}]
            assert info["pauses"] == [400]
            shown = await http.get(
                f"/api/v2/scores/{score_id}", headers={"x-api-version": "20250101"}
            )
            assert shown.json()["has_replay"] is True


async def test_no_replay_for_a_play_that_never_ends(
    app: Starlette, client: httpx.AsyncClient, people: dict[str, Any]
) -> None:
    # In-process (the hub driven directly): the submission hook's attempt at the replay runs
    # in the background, and here it can be awaited instead of waited out.
    beatmap = await scores_support.import_map(app, 0)
    hub = services(app).hubs[HUB].hub
    player_id, api_token = people["peppy"]
    user = await users_db.get_user(services(app).db, player_id)
    assert user is not None
    player = Connection(None, user, None, None)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {api_token}"}
    created = await client.post(
        f"/api/v2/beatmaps/{beatmap.id}/solo/scores",
        data={"ruleset_id": "0", "beatmap_hash": beatmap.checksum},
        headers=headers,
    )
    token = int(created.json()["id"])
    await hub.BeginPlaySessionV2(player, token, state(beatmap_id=beatmap.id))
    await hub.SendFrameDataV2(player, token, bundle(100))
    async with services(app).cache.subscribe(f"signalr:{HUB}:u:{player_id}") as to_player:
        submitted = await client.put(
            f"/api/v2/beatmaps/{beatmap.id}/solo/scores/{token}",
            json=scores_support.body(beatmap),
            headers=headers,
        )
        score_id = submitted.json()["id"]
        message = await to_player.get(timeout=10)
    assert message is not None
    [processed], _ = decode_frames(message[1].partition(b"\x00")[2], max_message_size=1 << 20)
    assert processed == Invocation("UserScoreProcessed", [player_id, score_id])
    await asyncio.gather(*hub._tasks)  # the hook's attempt at the replay is over
    # Submitted, but the stream is still open: nothing is written yet.
    download = f"/api/v2/scores/{score_id}/download"
    assert (await client.get(download, headers=headers)).status_code == 404
    # The buffer outlived that attempt: ending the stream now writes the replay.
    await hub.EndPlaySessionV2(player, token, SpectatedUserState.PASSED)
    await asyncio.gather(*hub._tasks)
    assert (await client.get(download, headers=headers)).status_code == 200


async def test_a_long_play_renews_its_stored_state(
    app: Starlette, clock: ManualClock, people: dict[str, Any]
) -> None:
    # In-process, on the app's manual clock: the player's state in the cache (which watchers
    # on other workers read) is written again once it is STATE_REFRESH old, so it never
    # expires under a play that goes on.
    hub = services(app).hubs[HUB].hub
    player_id = people["peppy"][0]
    user = await users_db.get_user(services(app).db, player_id)
    assert user is not None
    player = Connection(None, user, None, None)  # type: ignore[arg-type]
    await hub.BeginPlaySessionV2(player, None, state())
    assert session(player).state_refreshed == clock.monotonic() == 0
    clock.advance(STATE_REFRESH)
    await hub.SendFrameDataV2(player, None, bundle(0))
    assert session(player).state_refreshed == 0  # not older than STATE_REFRESH yet
    clock.advance(1)
    await hub.SendFrameDataV2(player, None, bundle(100))
    assert session(player).state_refreshed == STATE_REFRESH + 1
    ttl = await services(app).cache.ttl(state_key(player_id))
    assert ttl is not None and STATE_TTL - 5 < ttl <= STATE_TTL


# --- two workers on one Redis -------------------------------------------------------------------


@pytest.mark.redis_cluster("mysql_cluster")
async def test_watcher_on_another_server_gets_the_frames(
    backend: str, settings: Settings, people: dict[str, Any]
) -> None:
    if backend == "embedded":
        pytest.skip("two processes share state only through Redis; the embedded cache is local")
    first, second = LiveServer(settings), LiveServer(settings)
    first.start()
    second.start()
    try:
        player = await HubClient.open(first.url, HUB, people["peppy"][1])
        watcher = await HubClient.open(second.url, HUB, people["cookiezi"][1])
        player_id = people["peppy"][0]
        ok(await player.invoke("BeginPlaySessionV2", None, state()))
        # The state begun on the first server is visible from the second.
        ok(await watcher.invoke("StartWatchingUser", player_id))
        assert (await watcher.callback("UserBeganPlaying")).arguments == [player_id, state()]
        started = await player.callback("UserStartedWatching")
        assert started.arguments[0][0].online_id == people["cookiezi"][0]
        sent = [bundle(100 * i) for i in range(3)]
        for part in sent:
            await player.send("SendFrameDataV2", None, part)
        ok(await player.invoke("EndPlaySessionV2", None, SpectatedUserState.QUIT))
        seen = await callbacks(watcher, 4)
        assert [m.arguments for m in seen[:3]] == [[player_id, part] for part in sent]
        assert seen[3].target == "UserFinishedPlaying"
        await player.close()
        await watcher.close()
    finally:
        first.stop()
        second.stop()
