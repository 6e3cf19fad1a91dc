"""Reading a stored `.osr` (ppy/osu osu.Game/Scoring/Legacy/LegacyScoreDecoder.cs): the header
fields in order, then the LZMA-compressed replay-frame stream that API v1 `get_replay` serves."""

from __future__ import annotations

import struct


class BadReplay(ValueError):
    """The bytes are not a readable `.osr`."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise BadReplay("truncated replay")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def unpack(self, fmt: str) -> tuple[int, ...]:
        layout = struct.Struct("<" + fmt)
        values: tuple[int, ...] = layout.unpack(self.take(layout.size))
        return values

    def string(self) -> None:
        """Skip a .NET string: 0x00 for null, 0x0b then a ULEB128 length and UTF-8 bytes."""
        marker = self.take(1)[0]
        if marker == 0:
            return
        if marker != 0x0B:
            raise BadReplay("bad string marker")
        length = shift = 0
        while True:
            byte = self.take(1)[0]
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 28:
                raise BadReplay("bad string length")
        self.take(length)


def replay_data(osr: bytes) -> bytes:
    """The compressed replay-frame section of an `.osr` (what follows its header)."""
    reader = _Reader(osr)
    reader.unpack("Bi")  # ruleset, version
    for _ in range(3):  # beatmap md5, player name, replay md5
        reader.string()
    reader.unpack("6HiHBi")  # six counts, score, combo, perfect, mods
    reader.string()  # life bar graph
    reader.unpack("q")  # timestamp
    (length,) = reader.unpack("i")
    return reader.take(length)
