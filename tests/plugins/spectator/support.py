"""Spectator test material: live servers, states and frame bundles."""

from __future__ import annotations

import asyncio
import io
import lzma
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from core.lazer.types import (
    APIMod,
    FrameDataBundle,
    FrameHeader,
    LegacyReplayFrame,
    SpectatedUserState,
    SpectatorState,
)


def state(
    beatmap_id: int = 7001, ruleset_id: int = 0, mods: list[APIMod] | None = None
) -> SpectatorState:
    return SpectatorState(
        beatmap_id=beatmap_id,
        ruleset_id=ruleset_id,
        mods=mods if mods is not None else [APIMod("HD")],
        state=SpectatedUserState.PLAYING,
        maximum_statistics={5: 30},
    )


def bundle(start: float, count: int = 3, pauses: list[int] | None = None) -> FrameDataBundle:
    frames = [
        LegacyReplayFrame(
            time=start + 16.5 * i, mouse_x=100.25 + i, mouse_y=50.5 + 2 * i, button_state=i % 2
        )
        for i in range(count)
    ]
    header = FrameHeader(
        total_score=int(start) * 10,
        accuracy=0.98,
        combo=count,
        max_combo=count,
        statistics={5: count},
        mods=[APIMod("HD")],
        total_score_without_mods=int(start) * 9,
        pauses=pauses,
    )
    return FrameDataBundle(header=header, frames=frames)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    """Poll `check` until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


def read_score_info(data: bytes) -> dict[str, Any]:
    """Field 20 of an .osr: walk the header (ppy/osu LegacyScoreEncoder.cs), decompress the JSON."""
    stream = io.BytesIO(data)

    def string() -> str:
        if stream.read(1) == b"\x00":
            return ""
        length, shift = 0, 0
        while True:
            byte = stream.read(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return stream.read(length).decode()

    stream.read(5)
    for _ in range(3):
        string()
    stream.read(6 * 2 + 4 + 2 + 1 + 4)
    string()
    stream.read(8)
    (replay_length,) = struct.unpack("<i", stream.read(4))
    stream.read(replay_length)
    stream.read(8)
    (info_length,) = struct.unpack("<i", stream.read(4))
    packed = stream.read(info_length)
    declared = struct.unpack("<q", packed[5:13])[0]
    text = lzma.decompress(packed, format=lzma.FORMAT_ALONE)
    assert len(text) == declared
    return orjson.loads(text)
