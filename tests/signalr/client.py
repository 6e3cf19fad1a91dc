"""A raw SignalR MessagePack client for tests: every byte it sends is under the test's control."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
import msgpack
import orjson
from websockets.asyncio.client import ClientConnection, connect

from core.lazer import Completion, FrameReader, HubMessage, Invocation, Ping, encode_frame
from core.lazer.pyhub import write_varint

HANDSHAKE = b'{"protocol":"messagepack","version":1}\x1e'


class HubClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.reader = FrameReader(1 << 20)
        self.pending: list[HubMessage] = []
        self._ids = itertools.count(1)

    @classmethod
    async def open(
        cls,
        base_url: str,
        hub: str,
        token: str,
        session_id: str | None = None,
        handshake: bytes | None = HANDSHAKE,
    ) -> HubClient:
        headers = {"Authorization": f"Bearer {token}"}
        if session_id:
            headers["X-Client-Session-ID"] = session_id
        async with httpx.AsyncClient() as http:
            negotiated = await http.post(
                f"{base_url}/signalr/{hub}/negotiate?negotiateVersion=1", headers=headers
            )
            negotiated.raise_for_status()
        ws_url = base_url.replace("http://", "ws://")
        ws = await connect(
            f"{ws_url}/signalr/{hub}?id={negotiated.json()['connectionToken']}",
            additional_headers=headers,
            max_size=None,
        )
        client = cls(ws)
        if handshake is not None:
            await ws.send(handshake)
            reply = await asyncio.wait_for(ws.recv(), 5)
            assert isinstance(reply, bytes)
            head, _, rest = reply.partition(b"\x1e")
            assert orjson.loads(head) == {}, head
            if rest:
                client.pending.extend(client.reader.feed(rest))
        return client

    async def send_raw(self, data: bytes) -> None:
        await self.ws.send(data)

    async def send(self, target: str, *args: Any) -> None:
        await self.ws.send(encode_frame(Invocation(target, list(args))))

    async def invoke(
        self, target: str, *args: Any, timeout: float = 5, raw: bool = False
    ) -> Completion:
        """Invoke and wait for the Completion; `raw` packs the arguments with plain msgpack,
        bypassing the schema (for arguments the server must refuse)."""
        invocation_id = str(next(self._ids))
        if raw:
            payload = msgpack.packb([1, {}, invocation_id, target, list(args), []])
            prefix = bytearray()
            write_varint(prefix, len(payload))
            await self.ws.send(bytes(prefix) + payload)
        else:
            await self.ws.send(encode_frame(Invocation(target, list(args), invocation_id)))
        message = await self.next(
            lambda m: isinstance(m, Completion) and m.invocation_id == invocation_id, timeout
        )
        assert isinstance(message, Completion)
        return message

    async def next(self, match: Any = None, timeout: float = 5) -> HubMessage:
        """The next message (skipping pings) that `match` accepts; earlier ones are kept."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index, message in enumerate(self.pending):
                if isinstance(message, Ping) and match is None:
                    continue
                if match is None or match(message):
                    return self.pending.pop(index)
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no matching message; have {self.pending!r}")
            data = await asyncio.wait_for(self.ws.recv(), remaining)
            self.pending.extend(
                self.reader.feed(data if isinstance(data, bytes) else data.encode())
            )

    async def callback(self, target: str, timeout: float = 5) -> Invocation:
        message = await self.next(
            lambda m: isinstance(m, Invocation) and m.target == target, timeout
        )
        assert isinstance(message, Invocation)
        return message

    def received(self, target: str) -> list[Invocation]:
        """Callbacks named `target` that arrived and were not taken yet. After a barrier (a
        later message that must arrive) was taken, these are all that came before it."""
        return [m for m in self.pending if isinstance(m, Invocation) and m.target == target]

    async def close(self) -> None:
        await self.ws.close()
