"""The legacy `.osr` replay as lazer writes it for its own scores (ppy/osu
osu.Game/Scoring/Legacy/LegacyScoreEncoder.cs).

Pure functions: buffered frames and a stored score in, the file's bytes out. Frames are kept in a
compact binary form while buffered (`pack_frames`), so a worker that never saw the play can
still write the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import lzma
import math
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from core.scores import scoring

# LegacyScoreEncoder.LATEST_VERSION at the pinned client; >= 30000001 announces the score info.
VERSION = 30000019
# Frame time offset of beatmaps in `.osu` format versions below 5 (LegacyScoreEncoder).
EARLY_VERSION_OFFSET = -24
TERMINATOR = b"-12345|0|0|0"
TICKS_AT_UNIX_EPOCH = 62135596800 * 10_000_000

# One buffered frame: time f64, x and y f32 (nil -> 0, as the file writes them), buttons int32.
FRAME = struct.Struct("<dffi")
_F32 = struct.Struct("<f")

# Count fields per ruleset: (count300, count100, count50, countGeki, countKatu, countMiss).
_COUNTS: dict[int, tuple[tuple[str, ...], ...]] = {
    0: (("great",), ("ok",), ("meh",), (), (), ("miss",)),
    1: (("great",), ("ok",), (), ("large_bonus",), (), ("miss",)),
    2: (
        ("great",),
        ("large_tick_hit",),
        ("small_tick_hit",),
        (),
        ("small_tick_miss",),
        ("miss", "large_tick_miss"),
    ),
    3: (("great",), ("ok",), ("meh",), ("perfect",), ("good",), ("miss",)),
}

_LZMA_FILTERS = [
    {"id": lzma.FILTER_LZMA1, "dict_size": 1 << 21, "lc": 3, "lp": 0, "pb": 2},
]


def pack_frames(frames: Iterable[Any]) -> bytes:
    """LegacyReplayFrames as fixed-size records; frames without a finite time are dropped."""
    out = bytearray()
    pack = FRAME.pack
    for frame in frames:
        time = frame.time
        if not math.isfinite(time):
            continue
        x = frame.mouse_x if frame.mouse_x is not None and math.isfinite(frame.mouse_x) else 0.0
        y = frame.mouse_y if frame.mouse_y is not None and math.isfinite(frame.mouse_y) else 0.0
        try:
            out += pack(time, x, y, frame.button_state)
        except (struct.error, OverflowError):
            continue  # out of the wire types' range: the client never sends such a frame
    return bytes(out)


def unpack_frames(data: bytes) -> Iterator[tuple[float, float, float, int]]:
    usable = len(data) - len(data) % FRAME.size
    return FRAME.iter_unpack(data[:usable])


def f32_text(value: float) -> str:
    """The shortest text that reads back as the same float32 (what .NET prints for a float)."""
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    for precision in range(1, 10):
        text = f"{value:.{precision}g}"
        if _F32.unpack(_F32.pack(float(text)))[0] == value:
            return text
    return repr(value)


def frame_text(frames: Iterable[tuple[float, float, float, int]], offset: int = 0) -> bytes:
    """`w|x|y|z,` per frame (w = ms since the previous frame) and the terminator frame."""
    parts: list[str] = []
    previous = 0
    for time, x, y, buttons in frames:
        current = round(time + offset)  # round() is half-to-even, as lazer's Math.Round
        parts.append(f"{current - previous}|{f32_text(x)}|{f32_text(y)}|{buttons},")
        previous = current
    return "".join(parts).encode("ascii") + TERMINATOR


def compress(data: bytes) -> bytes:
    """The `.lzma` "alone" container with the real uncompressed length in its header."""
    packed = lzma.compress(data, format=lzma.FORMAT_ALONE, filters=_LZMA_FILTERS)
    return packed[:5] + struct.pack("<q", len(data)) + packed[13:]


def osu_format_version(osu_file: bytes | None) -> int | None:
    """`N` of the `osu file format vN` first line, None when unknown."""
    if not osu_file:
        return None
    first = osu_file[:64].decode("utf-8-sig", "replace").lstrip().split("\n", 1)[0].strip()
    prefix = "osu file format v"
    if not first.startswith(prefix):
        return None
    try:
        return int(first[len(prefix) :])
    except ValueError:
        return None


def _string(text: str | None) -> bytes:
    if text is None:
        return b"\x00"
    raw = text.encode("utf-8")
    out = bytearray(b"\x0b")
    n = len(raw)
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            break
    return bytes(out) + raw


def _byte_array(data: bytes) -> bytes:
    return struct.pack("<i", len(data)) + data


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, int(value)))


def counts(ruleset_id: int, statistics: Mapping[str, int]) -> list[int]:
    """count300, count100, count50, countGeki, countKatu, countMiss of the ruleset
    (ppy/osu osu.Game/Scoring/Legacy/ScoreInfoExtensions.cs)."""
    fields = _COUNTS.get(ruleset_id, _COUNTS[0])
    return [_clamp(sum(statistics.get(key, 0) for key in keys), 0, 0xFFFF) for keys in fields]


def ticks(when: dt.datetime) -> int:
    """.NET ticks (100 ns since 0001-01-01 UTC) of `when` (naive = UTC)."""
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    delta = when - dt.datetime(1970, 1, 1)
    return (
        TICKS_AT_UNIX_EPOCH
        + (delta.days * 86400 + delta.seconds) * 10_000_000
        + (delta.microseconds * 10)
    )


def score_info(score: Mapping[str, Any], pauses: Sequence[int]) -> bytes:
    """The JSON of field 20 (LegacyReplaySoloScoreInfo), indented like lazer writes it."""
    info: dict[str, Any] = {
        "online_id": int(score["id"]),
        "mods": list(score["mods"]),
        "statistics": {k: v for k, v in score["statistics"].items() if v},
        "maximum_statistics": {k: v for k, v in score["maximum_statistics"].items() if v},
        "client_version": "",
        "rank": score["rank"],
        "user_id": int(score["user_id"]),
    }
    if score.get("total_score_without_mods") is not None:
        info["total_score_without_mods"] = int(score["total_score_without_mods"])
    info["pauses"] = [int(p) for p in pauses]
    return orjson.dumps(info, option=orjson.OPT_INDENT_2)


def encode(
    score: Mapping[str, Any],
    *,
    username: str,
    beatmap_md5: str,
    frames: bytes,
    pauses: Sequence[int] = (),
    osu_version: int | None = None,
) -> bytes:
    """The `.osr` of a stored score (the `scores` row, JSON columns decoded) and its frames."""
    ruleset_id = int(score["ruleset_id"])
    when: dt.datetime = score["ended_at"]
    maximum = score["maximum_statistics"]
    offset = EARLY_VERSION_OFFSET if osu_version is not None and osu_version < 5 else 0
    text = frame_text(unpack_frames(frames), offset)
    replay_md5 = hashlib.md5(f"lazer-{username}-{when.isoformat()}".encode()).hexdigest()
    out = bytearray()
    out += struct.pack("<Bi", ruleset_id, VERSION)
    out += _string(beatmap_md5)
    out += _string(username)
    out += _string(replay_md5)
    out += struct.pack("<6H", *counts(ruleset_id, score["statistics"]))
    out += struct.pack("<i", _clamp(score["total_score"], -(2**31), 2**31 - 1))
    out += struct.pack("<H", _clamp(score["max_combo"], 0, 0xFFFF))
    perfect = int(score["max_combo"]) == scoring.maximum_combo(maximum)
    out += struct.pack("<B", 1 if perfect else 0)
    out += struct.pack("<i", _clamp(score["legacy_mods"], -(2**31), 2**31 - 1))
    out += _string("")  # life bar graph
    out += struct.pack("<q", ticks(when))
    out += _byte_array(compress(text))
    out += struct.pack("<q", -1)  # legacy online score id: none for lazer scores
    out += _byte_array(compress(score_info(score, pauses)))
    return bytes(out)
