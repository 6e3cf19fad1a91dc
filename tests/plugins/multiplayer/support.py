"""Multiplayer test material: a hub client that reads results by their declared type, and the
lazer HTTP calls of a room play (token, submission)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from core.lazer import Completion, HubMessage, Invocation, Ping, decode_frames, encode_frame
from core.lazer.types import (
    BeatmapAvailability,
    DownloadState,
    MultiplayerPlaylistItem,
    MultiplayerRoom,
    MultiplayerRoomSettings,
)
from core.lazer.wire import Wire
from tests.scores import support as scores_support
from tests.signalr.client import HubClient

RESULT_TYPES: dict[str, Wire] = {
    "CreateRoom": MultiplayerRoom,
    "JoinRoom": MultiplayerRoom,
    "JoinRoomWithPassword": MultiplayerRoom,
}


class MpClient(HubClient):
    """HubClient whose Completions of room-returning methods decode as MultiplayerRoom."""

    def __init__(self, ws: Any) -> None:
        super().__init__(ws)
        self.buffer = bytearray()
        self.result_types: dict[str, Wire] = {}
        self.user_id = 0

    async def invoke(self, target: str, *args: Any, timeout: float = 10, raw: bool = False) -> Any:
        if raw:
            return await super().invoke(target, *args, timeout=timeout, raw=True)
        invocation_id = str(next(self._ids))
        if target in RESULT_TYPES:
            self.result_types[invocation_id] = RESULT_TYPES[target]
        await self.ws.send(encode_frame(Invocation(target, list(args), invocation_id)))
        message = await self.next(
            lambda m: isinstance(m, Completion) and m.invocation_id == invocation_id, timeout
        )
        return message

    async def ok(self, target: str, *args: Any, timeout: float = 10) -> Any:
        completion = await self.invoke(target, *args, timeout=timeout)
        assert completion.error is None, completion.error
        return completion.result

    async def error(self, target: str, *args: Any) -> str:
        completion = await self.invoke(target, *args)
        assert completion.error is not None, f"{target} succeeded"
        return completion.error.split("server. ", 1)[1]

    async def next(self, match: Any = None, timeout: float = 10) -> HubMessage:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for index, message in enumerate(self.pending):
                if isinstance(message, Ping) and match is None:
                    continue
                if match is None or match(message):
                    return self.pending.pop(index)
            await self._receive(deadline)

    async def _receive(self, deadline: float) -> None:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise TimeoutError(f"no matching message; have {self.pending!r}")
        data = await asyncio.wait_for(self.ws.recv(), remaining)
        self.buffer += data if isinstance(data, bytes) else data.encode()
        messages, used = decode_frames(
            bytes(self.buffer), max_message_size=1 << 20, result_types=self.result_types
        )
        del self.buffer[:used]
        self.pending.extend(messages)

    async def callback(self, target: str, timeout: float = 10) -> Invocation:
        return await super().callback(target, timeout)

    def drain(self, target: str) -> list[Invocation]:
        """Every already received callback named `target` (removed from the pending list)."""
        found = [m for m in self.pending if isinstance(m, Invocation) and m.target == target]
        self.pending = [
            m for m in self.pending if not (isinstance(m, Invocation) and m.target == target)
        ]
        return found

    async def arrived(self, target: str, match: Any = None, timeout: float = 10) -> None:
        """Read until a callback named `target` (with arguments `match` accepts) is at hand.
        It stays pending with everything before it (the messages of one room change arrive
        in the order they were made), for `drain`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not any(
            isinstance(m, Invocation)
            and m.target == target
            and (match is None or match(*m.arguments))
            for m in self.pending
        ):
            await self._receive(deadline)


async def connect(url: str, token: str, user_id: int) -> MpClient:
    client = await MpClient.open(url, "multiplayer", token)
    assert isinstance(client, MpClient)
    client.user_id = user_id
    return client


def new_room(
    beatmap: scores_support.Map, name: str = "test room", password: str = "", **settings: Any
) -> MultiplayerRoom:
    return MultiplayerRoom(
        settings=MultiplayerRoomSettings(name=name, password=password, **settings),
        playlist=[item(beatmap)],
    )


def item(beatmap: scores_support.Map, **values: Any) -> MultiplayerPlaylistItem:
    return MultiplayerPlaylistItem(
        beatmap_id=beatmap.id,
        beatmap_checksum=beatmap.checksum,
        ruleset_id=beatmap.ruleset_id,
        **values,
    )


AVAILABLE = BeatmapAvailability(state=DownloadState.LOCALLY_AVAILABLE)


async def play_score(
    http: httpx.AsyncClient,
    token: str,
    room_id: int,
    item_id: int,
    beatmap: scores_support.Map,
    **body: Any,
) -> dict[str, Any]:
    """The lazer room flow over HTTP: a token for the item, then the JSON PUT."""
    auth = {"Authorization": f"Bearer {token}"}
    created = await http.post(
        f"/api/v2/rooms/{room_id}/playlist/{item_id}/scores",
        files={
            "version_hash": (None, "0" * 32),
            "beatmap_id": (None, str(beatmap.id)),
            "beatmap_hash": (None, beatmap.checksum),
            "ruleset_id": (None, str(beatmap.ruleset_id)),
        },
        headers=auth,
    )
    assert created.status_code == 200, created.text
    token_id = created.json()["id"]
    payload = scores_support.body(beatmap, **body)
    submitted = await http.put(
        f"/api/v2/rooms/{room_id}/playlist/{item_id}/scores/{token_id}", json=payload, headers=auth
    )
    assert submitted.status_code == 200, submitted.text
    return submitted.json()
