"""The SignalR host against a live server, driven by a raw client and by pysignalr."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from core.config import Settings
from core.lazer import Close, Invocation, Ping
from core.lazer.pyhub import write_varint as _write_varint

from ..conftest import LiveServer, create_user, issue_token
from .client import HubClient


def write_varint(n: int) -> bytes:
    out = bytearray()
    _write_varint(out, n)
    return bytes(out)


@pytest.fixture
def settings_overrides() -> dict:
    return {
        "plugins": {"modules": ["tests.signalr.echo_hub"]},
        "signalr": {"keepalive_interval": 0.3, "client_timeout": 2.0, "token_check_interval": 0.5},
    }


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


@pytest.fixture
async def tokens(app: Starlette) -> dict[str, str]:
    peppy = await create_user(app, "peppy")
    cookiezi = await create_user(app, "cookiezi")
    return {
        "peppy": await issue_token(app, peppy),
        "cookiezi": await issue_token(app, cookiezi),
        "peppy_id": str(peppy),
    }


@pytest.fixture
async def peppy(server: LiveServer, tokens: dict[str, str]) -> AsyncIterator[HubClient]:
    client = await HubClient.open(server.url, "echo", tokens["peppy"])
    yield client
    await client.close()


async def test_negotiate_needs_a_token(server: LiveServer, tokens: dict[str, str]) -> None:
    async with httpx.AsyncClient() as http:
        refused = await http.post(f"{server.url}/signalr/echo/negotiate?negotiateVersion=1")
        assert refused.status_code == 401
        assert refused.json() == {"authentication": "basic"}
        ok = await http.post(
            f"{server.url}/signalr/echo/negotiate?negotiateVersion=1",
            headers={"Authorization": f"Bearer {tokens['peppy']}"},
        )
    body = ok.json()
    assert body["negotiateVersion"] == 1
    assert body["connectionId"] and body["connectionToken"]
    assert body["connectionId"] != body["connectionToken"]
    assert body["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
    ]


async def test_websocket_without_a_valid_token_is_refused(server: LiveServer) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}):
        with pytest.raises(InvalidStatus) as info:
            await connect(
                f"{server.url.replace('http', 'ws')}/signalr/echo", additional_headers=headers
            )
        assert info.value.response.status_code == 403


async def test_handshake_then_callbacks_and_completions(
    peppy: HubClient, tokens: dict[str, str]
) -> None:
    welcome = await peppy.callback("Welcome")
    assert welcome.arguments == [int(tokens["peppy_id"])]
    completion = await peppy.invoke("Echo", "hello")
    assert completion.result == "hello" and completion.error is None


async def test_errors_are_completions_and_the_connection_carries_on(peppy: HubClient) -> None:
    unknown = await peppy.invoke("NoSuchMethod")
    assert unknown.error == (
        "Failed to invoke 'NoSuchMethod' due to an error on the server. "
        "HubException: Method does not exist."
    )
    wrong_count = await peppy.invoke("Echo", "a", "b", raw=True)
    assert wrong_count.error.startswith(
        "Failed to invoke 'Echo' due to an error on the server. InvalidDataException:"
    )
    wrong_type = await peppy.invoke("Echo", 12, raw=True)
    assert "InvalidDataException" in wrong_type.error
    refused = await peppy.invoke("Fail", "Cannot change from Idle to Playing")
    assert refused.error == (
        "An unexpected error occurred invoking 'Fail' on the server. "
        "InvalidStateException: Cannot change from Idle to Playing"
    )
    crashed = await peppy.invoke("Crash")
    assert crashed.error == "An unexpected error occurred invoking 'Crash' on the server."
    assert (await peppy.invoke("Echo", "still here")).result == "still here"


async def test_fire_and_forget_gets_no_completion(peppy: HubClient) -> None:
    await peppy.send("Echo", "quiet")
    await peppy.send("NoSuchMethod")
    # The next completion to arrive is the one for the invocation that asked for it.
    assert (await peppy.invoke("Echo", "loud")).result == "loud"
    assert not [m for m in peppy.pending if not isinstance(m, Invocation | Ping)]


async def test_groups_reach_other_connections(
    server: LiveServer, tokens: dict[str, str], peppy: HubClient
) -> None:
    other = await HubClient.open(server.url, "echo", tokens["cookiezi"])
    try:
        await other.invoke("JoinGroup", "room:1")
        await peppy.invoke("JoinGroup", "room:1")
        await peppy.invoke("SendGroup", "room:1", "hi all")
        assert (await other.callback("Message")).arguments == ["hi all"]
        # The sender excluded itself: the first Message it hears of is one sent after its own
        # (group messages travel the hub's one bus, in order).
        await other.invoke("SendGroup", "room:1", "and back")
        assert (await peppy.callback("Message")).arguments == ["and back"]
    finally:
        await other.close()


async def test_server_pings_and_drops_silent_clients(peppy: HubClient) -> None:
    assert isinstance(await peppy.next(lambda m: isinstance(m, Ping), timeout=3), Ping)
    # Say nothing for longer than client_timeout (2 s): the server closes with a reason.
    close = await peppy.next(lambda m: isinstance(m, Close), timeout=6)
    assert close.error == "Server timeout elapsed without receiving a message from the client."


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (write_varint(3) + b"\xc1\xc1\xc1", "InvalidDataException"),  # never-used msgpack byte
        (write_varint(2) + b"\x92\x01", "InvalidDataException"),  # invocation missing fields
        (write_varint(10 * 1024 * 1024), "exceeds"),  # oversized
        (b"\xff\xff\xff\xff\xff\xff", "InvalidDataException"),  # varint too long
    ],
)
async def test_malformed_frames_close_with_a_reason_others_carry_on(
    server: LiveServer, tokens: dict[str, str], peppy: HubClient, payload: bytes, reason: str
) -> None:
    bystander = await HubClient.open(server.url, "echo", tokens["cookiezi"])
    try:
        await peppy.send_raw(payload)
        close = await peppy.next(lambda m: isinstance(m, Close), timeout=5)
        assert close.error and reason in close.error
        assert (await bystander.invoke("Echo", "fine")).result == "fine"
    finally:
        await bystander.close()


@pytest.mark.parametrize(
    ("handshake", "error"),
    [
        (b'{"protocol":"json","version":1}\x1e', "The protocol 'json' is not supported."),
        (b'{"protocol":"messagepack","version":2}\x1e', "does not support version 2"),
        (write_varint(1) + b"\x91\x06\x1e", "Handshake request is not valid JSON."),
        (b"[1,2]\x1e", "Handshake request is not a JSON object."),
    ],
)
async def test_bad_handshakes_are_refused(
    server: LiveServer, tokens: dict[str, str], handshake: bytes, error: str
) -> None:
    client = await HubClient.open(server.url, "echo", tokens["peppy"], handshake=None)
    await client.send_raw(handshake)
    reply = await asyncio.wait_for(client.ws.recv(), 5)
    assert error in reply.decode()
    assert reply.endswith(b"\x1e")
    await client.close()


async def test_revoked_token_gets_disconnect_requested(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    client = await HubClient.open(server.url, "echo", tokens["peppy"])
    async with httpx.AsyncClient() as http:
        revoked = await http.delete(
            f"{server.url}/api/v2/oauth/tokens/current",
            headers={"Authorization": f"Bearer {tokens['peppy']}"},
        )
    assert revoked.status_code == 204
    assert (await client.callback("DisconnectRequested", timeout=5)).arguments == []
    await client.next(lambda m: isinstance(m, Close), timeout=5)
    await client.close()


async def test_login_elsewhere_disconnects_the_older_session(
    server: LiveServer, tokens: dict[str, str]
) -> None:
    first = await HubClient.open(server.url, "echo", tokens["peppy"], session_id="session-a")
    second = await HubClient.open(server.url, "echo", tokens["peppy"], session_id="session-b")
    await first.callback("DisconnectRequested", timeout=5)
    assert (await second.invoke("Echo", "me")).result == "me"
    # The barrier: a group message sent to the newer session after the older one was told to
    # go arrives, and nothing asked the newer one to go before it.
    assert (await second.invoke("JoinGroup", "session-b")).error is None
    bystander = await HubClient.open(server.url, "echo", tokens["cookiezi"])
    await bystander.invoke("SendGroup", "session-b", "still here")
    assert (await second.callback("Message")).arguments == ["still here"]
    assert not second.received("DisconnectRequested")
    await bystander.close()
    await first.close()
    await second.close()


@pytest.mark.redis_cluster("mysql_cluster")
async def test_two_processes_on_one_redis(
    backend: str, settings: Settings, server: LiveServer, tokens: dict[str, str]
) -> None:
    if backend == "embedded":
        pytest.skip("two processes share groups only through Redis; memory is one process")
    second = LiveServer(settings)
    second.start()
    try:
        watcher = await HubClient.open(second.url, "echo", tokens["cookiezi"])
        sender = await HubClient.open(server.url, "echo", tokens["peppy"])
        await watcher.invoke("JoinGroup", "watch:2")
        await sender.invoke("SendGroup", "watch:2", "across workers")
        assert (await watcher.callback("Message")).arguments == ["across workers"]
        await watcher.close()
        await sender.close()
    finally:
        second.stop()


async def test_pysignalr_messagepack_client(server: LiveServer, tokens: dict[str, str]) -> None:
    from pysignalr.client import SignalRClient
    from pysignalr.messages import CompletionMessage
    from pysignalr.protocol.messagepack import MessagepackProtocol

    client = SignalRClient(
        f"{server.url}/signalr/echo",
        protocol=MessagepackProtocol(),
        headers={"Authorization": f"Bearer {tokens['peppy']}"},
    )
    welcomed = asyncio.Event()
    answered = asyncio.Event()
    results: list[object] = []

    async def on_welcome(args: list[object]) -> None:
        welcomed.set()

    async def on_result(message: CompletionMessage) -> None:
        results.append(message.result)
        answered.set()

    client.on("Welcome", on_welcome)
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(welcomed.wait(), 10)
        await client.send("Echo", ["via pysignalr"], on_invocation=on_result)
        await asyncio.wait_for(answered.wait(), 10)
        assert results == ["via pysignalr"]
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
