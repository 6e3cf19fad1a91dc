"""Chat against real `hitcircle serve` processes: the websocket, ossapi, and two servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from core.auth import authenticator, revoke_access_tokens
from core.chat import store as chat_db
from core.config import Settings
from core.services import services
from tests.conftest import LiveServer, create_user, issue_token, local_ossapi

CHAT = "/api/v2/chat"
TIMEOUT = 10.0


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {
        "chat": {"public_limit": 100, "private_limit": 100, "token_check_seconds": 1},
        # The live server re-reads token rows this often, so a revocation made by the test
        # process reaches it on the embedded backend too (separate memory caches).
        "auth": {"cache_seconds": 1},
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def endpoint(http: httpx.AsyncClient, token: str) -> str:
    r = await http.get("/api/v2/notifications", headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()["notification_endpoint"]


async def next_event(ws: ClientConnection, name: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next frame whose event is `name` (frames of other events are skipped)."""

    async def wait() -> dict[str, Any]:
        while True:
            frame = orjson.loads(await ws.recv())
            if frame.get("event") == name:
                return frame

    return await asyncio.wait_for(wait(), timeout)


async def frames_until(
    ws: ClientConnection, name: str, timeout: float = TIMEOUT
) -> list[dict[str, Any]]:
    """Every frame up to and including the first whose event is `name` (a barrier: what the
    server sent before it is all here)."""

    async def wait() -> list[dict[str, Any]]:
        seen = []
        while True:
            seen.append(orjson.loads(await ws.recv()))
            if seen[-1].get("event") == name:
                return seen

    return await asyncio.wait_for(wait(), timeout)


async def open_feed(url: str, token: str, chat: bool = True) -> ClientConnection:
    ws = await connect(url, additional_headers=auth(token), open_timeout=TIMEOUT)
    await next_event(ws, "connection.ready")
    if chat:
        # As osu!lazer sends it.
        await ws.send(orjson.dumps({"event": "chat.start", "data": None, "error": None}).decode())
    return ws


@pytest.fixture
async def users(app: Starlette) -> dict[str, Any]:
    a = await create_user(app, "alice")
    b = await create_user(app, "bobby")
    osu = await chat_db.find_channel(services(app).db, "#osu", chat_db.PUBLIC)
    assert osu is not None
    return {
        "a": a,
        "b": b,
        "ta": await issue_token(app, a),
        "tb": await issue_token(app, b),
        "osu": int(osu["id"]),
    }


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=TIMEOUT) as client:
        yield client


async def test_websocket_delivers_public_and_private_messages(
    users: dict[str, Any], http: httpx.AsyncClient
) -> None:
    a, b, ta, tb, osu = users["a"], users["b"], users["ta"], users["tb"], users["osu"]
    url = await endpoint(http, tb)
    assert url == http.base_url.copy_with(scheme="ws", path="/notifications/feed").__str__()
    ws = await open_feed(url, tb)
    try:
        # Joining is pushed to the socket once chat has started (proof that it has).
        r = await http.put(f"{CHAT}/channels/{osu}/users/{b}", headers=auth(tb))
        assert r.status_code == 200
        joined = await next_event(ws, "chat.channel.join")
        assert joined["data"]["channel_id"] == osu and joined["data"]["name"] == "#osu"
        assert (await http.put(f"{CHAT}/channels/{osu}/users/{a}", headers=auth(ta))).is_success

        r = await http.post(
            f"{CHAT}/channels/{osu}/messages",
            headers=auth(ta),
            data={"message": "hello #osu", "is_action": "false", "uuid": "u-1"},
        )
        assert r.status_code == 200, r.text
        sent = r.json()
        pushed = (await next_event(ws, "chat.message.new"))["data"]
        [message] = pushed["messages"]
        assert message["content"] == "hello #osu" and message["message_id"] == sent["message_id"]
        assert message["uuid"] == "u-1" and message["channel_id"] == osu
        # Every sender_id matches exactly one user (osu!lazer does a single-match lookup).
        assert [u["id"] for u in pushed["users"]] == [a]
        assert pushed["users"][0]["username"] == "alice"

        r = await http.post(
            f"{CHAT}/new", headers=auth(ta), data={"target_id": str(b), "message": "psst"}
        )
        assert r.status_code == 200, r.text
        pm = r.json()["new_channel_id"]
        pm_join = await next_event(ws, "chat.channel.join")
        assert pm_join["data"]["channel_id"] == pm and pm_join["data"]["type"] == "PM"
        assert pm_join["data"]["name"] == "alice"
        pushed = (await next_event(ws, "chat.message.new"))["data"]
        assert pushed["messages"][0]["content"] == "psst"
        assert pushed["messages"][0]["channel_id"] == pm
        assert [u["id"] for u in pushed["users"]] == [a]
        notification = (await next_event(ws, "new"))["data"]
        assert notification["name"] == "channel_message"
        assert notification["object_id"] == pm and notification["source_user_id"] == a
        assert notification["details"]["title"] == "psst"

        # History and the read marker agree with what was pushed.
        history = (await http.get(f"{CHAT}/channels/{osu}/messages", headers=auth(tb))).json()
        assert [m["message_id"] for m in history] == [sent["message_id"]]
        pm_history = (await http.get(f"{CHAT}/channels/{pm}/messages", headers=auth(tb))).json()
        assert [m["content"] for m in pm_history] == ["psst"]
        for channel, last in ((osu, history[-1]), (pm, pm_history[-1])):
            r = await http.put(
                f"{CHAT}/channels/{channel}/mark-as-read/{last['message_id']}", headers=auth(tb)
            )
            assert r.status_code == 204
        presence = (
            await http.get(
                f"{CHAT}/updates", headers=auth(tb), params={"since": 0, "includes[]": "presence"}
            )
        ).json()["presence"]
        by_id = {c["channel_id"]: c for c in presence}
        assert set(by_id) == {osu, pm}
        for channel, last in ((osu, history[-1]), (pm, pm_history[-1])):
            assert by_id[channel]["last_read_id"] == last["message_id"]
            assert by_id[channel]["last_message_id"] == last["message_id"]
            assert by_id[channel]["current_user_attributes"]["last_read_id"] == last["message_id"]

        # Notifications: listed, then read (the socket hears about it too).
        listing = (await http.get("/api/v2/notifications", headers=auth(tb))).json()
        assert listing["unread_count"] == 1 and listing["has_more"] is False
        assert [n["id"] for n in listing["notifications"]] == [notification["id"]]
        assert listing["stacks"][0]["category"] == "channel"
        r = await http.post(
            "/api/v2/notifications/mark-read",
            headers=auth(tb),
            json={"identities": [{"category": "channel", "object_type": "channel"}]},
        )
        assert r.status_code == 204
        assert (await next_event(ws, "read"))["ids"] == [notification["id"]]
        listing = (await http.get("/api/v2/notifications", headers=auth(tb))).json()
        assert listing["unread_count"] == 0 and listing["notifications"][0]["is_read"] is True

        # Leaving stops delivery of that channel's messages; chat.end stops chat events.
        r = await http.delete(f"{CHAT}/channels/{osu}/users/{b}", headers=auth(tb))
        assert r.status_code == 204
        assert (await next_event(ws, "chat.channel.part"))["data"]["channel_id"] == osu
        await http.post(f"{CHAT}/channels/{osu}/messages", headers=auth(ta), data={"message": "1"})
        await ws.send('{"event":"chat.end"}')
        await ws.send("not json")  # answered with an error frame, the socket stays up
        assert "error" in orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        await http.post(f"{CHAT}/channels/{pm}/messages", headers=auth(ta), data={"message": "2"})
        await http.post(f"{CHAT}/new", headers=auth(ta), data={"target_id": b, "message": "3"})
        # The notification for the PM still arrives; no chat message does.
        before = await frames_until(ws, "new")
        assert before[-1]["data"]["details"]["title"] == "2"
        # The barrier: marking notifications read is told to the socket after whatever
        # message "3" sent it.
        r = await http.post(
            "/api/v2/notifications/mark-read",
            headers=auth(tb),
            json={"identities": [{"category": "channel", "object_type": "channel"}]},
        )
        assert r.status_code == 204
        after = await frames_until(ws, "read")
        assert "chat.message.new" not in [frame.get("event") for frame in before + after]
    finally:
        await ws.close()


async def test_bad_token_and_logout(
    app: Starlette, users: dict[str, Any], http: httpx.AsyncClient
) -> None:
    url = await endpoint(http, users["tb"])
    async with connect(url, additional_headers=auth("not-a-token")) as ws:
        assert orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)) == {
            "error": "authentication failed"
        }
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), TIMEOUT)
    async with connect(url) as ws:
        assert "error" in orjson.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))

    token = await issue_token(app, users["b"])
    ws = await open_feed(url, token)
    claims = authenticator(services(app)).claims(token)
    await revoke_access_tokens(services(app), [claims["jti"]])
    assert await next_event(ws, "logout") == {"event": "logout"}
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(ws.recv(), TIMEOUT)
    # The other session of the same user keeps its socket.
    other = await open_feed(url, users["tb"])
    await other.close()


async def test_ossapi_reads_channels_and_messages(
    app: Starlette,
    users: dict[str, Any],
    http: httpx.AsyncClient,
    live_server: LiveServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ossapi.models import ChatChannel, ChatMessage

    scopes = ["chat.read", "chat.write", "chat.write_manage", "identify", "public"]
    token = await issue_token(app, users["a"], scopes)
    api = local_ossapi(
        monkeypatch,
        live_server.url,
        5,
        "unused-secret",
        "http://localhost:7270/callback",
        scopes,
        grant="authorization",
        access_token=token,
        refresh_token="unused",
        token_directory=str(tmp_path),
    )
    osu = users["osu"]
    r = await http.put(f"{CHAT}/channels/{osu}/users/{users['a']}", headers=auth(token))
    assert r.status_code == 200
    await http.post(f"{CHAT}/channels/{osu}/messages", headers=auth(token), data={"message": "hi"})

    def read() -> tuple[Any, Any, Any]:
        channels = api._get(list[ChatChannel], "/chat/channels")
        messages = api._get(list[ChatMessage], f"/chat/channels/{osu}/messages")
        sent = api.send_pm(users["b"], "from ossapi")
        return channels, messages, sent

    channels, messages, sent = await asyncio.to_thread(read)
    assert [c.name for c in channels] == ["#osu", "#lobby"]
    assert [m.content for m in messages] == ["hi"]
    assert messages[0].sender.username == "alice"
    assert sent.message.content == "from ossapi" and sent.channel.name == "bobby"


@pytest.mark.redis_cluster("mysql_cluster", "mysql_sentinel")
async def test_two_servers_on_one_redis(
    backend: str, settings: Settings, users: dict[str, Any]
) -> None:
    if backend == "embedded":
        pytest.skip("the embedded backend's memory cache cannot be shared by two processes")
    first, second = LiveServer(settings), LiveServer(settings)
    first.start()
    try:
        second.start()
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                url = (
                    await http.get(f"{second.url}/api/v2/notifications", headers=auth(users["tb"]))
                ).json()["notification_endpoint"]
                assert str(second.port) in url
                ws = await open_feed(url, users["tb"])
                try:
                    osu, a, b = users["osu"], users["a"], users["b"]
                    # Join through the first server: the second one's socket hears of it.
                    r = await http.put(
                        f"{first.url}{CHAT}/channels/{osu}/users/{b}", headers=auth(users["tb"])
                    )
                    assert r.status_code == 200
                    await next_event(ws, "chat.channel.join")
                    await http.put(
                        f"{first.url}{CHAT}/channels/{osu}/users/{a}", headers=auth(users["ta"])
                    )
                    r = await http.post(
                        f"{first.url}{CHAT}/channels/{osu}/messages",
                        headers=auth(users["ta"]),
                        data={"message": "across workers"},
                    )
                    assert r.status_code == 200
                    pushed = (await next_event(ws, "chat.message.new"))["data"]
                    assert pushed["messages"][0]["content"] == "across workers"
                    assert pushed["users"][0]["id"] == a
                finally:
                    await ws.close()
        finally:
            second.stop()
    finally:
        first.stop()
