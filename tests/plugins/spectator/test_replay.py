"""The `.osr` writer: worked examples, every header field, and osrparse reading it back."""

from __future__ import annotations

import datetime as dt
import lzma
import struct
from types import SimpleNamespace
from typing import Any

import osrparse
import pytest

from plugins.spectator import replay

from .support import read_score_info


def frame(time: float, x: float | None, y: float | None, buttons: int) -> SimpleNamespace:
    return SimpleNamespace(time=time, mouse_x=x, mouse_y=y, button_state=buttons)


def score(**changes: Any) -> dict[str, Any]:
    base = {
        "id": 4242,
        "user_id": 7,
        "ruleset_id": 0,
        "ended_at": dt.datetime(2025, 3, 4, 5, 6, 7),
        "statistics": {"great": 540, "ok": 12, "meh": 1, "miss": 2, "large_tick_hit": 80},
        "maximum_statistics": {"great": 555, "large_tick_hit": 80},
        "total_score": 912345,
        "total_score_without_mods": 869000,
        "max_combo": 611,
        "legacy_mods": 8 | 64,
        "mods": [{"acronym": "HD"}, {"acronym": "DT", "settings": {"speed_change": 1.2}}],
        "rank": "S",
    }
    return base | changes


def test_frame_text_matches_the_spec_example() -> None:
    packed = replay.pack_frames([frame(1234.5, 256, 192, 1), frame(1250, 260.25, 190.5, 0)])
    text = replay.frame_text(replay.unpack_frames(packed))
    assert text == b"1234|256|192|1,16|260.25|190.5|0,-12345|0|0|0"


def test_frames_nil_positions_offsets_and_junk() -> None:
    packed = replay.pack_frames(
        [
            frame(10, None, None, 2),
            frame(float("nan"), 1, 1, 1),  # dropped: no usable time
            frame(20.5, 0.1, 1e-7, 16),
            frame(30, 1, 1, 2**40),  # dropped: buttons beyond int32
        ]
    )
    assert replay.frame_text(replay.unpack_frames(packed)) == (
        b"10|0|0|2,10|0.1|1e-07|16,-12345|0|0|0"
    )
    # `.osu` files before format v5 shift every frame by -24 ms.
    assert replay.frame_text(replay.unpack_frames(packed), -24).startswith(b"-14|0|0|2,10|")
    # A truncated record (a partial write) is ignored rather than misread.
    assert list(replay.unpack_frames(packed + b"\x01\x02")) == list(replay.unpack_frames(packed))


def test_float32_text_round_trips() -> None:
    for value in (0.1, 256.0, 260.25, 511.99, -3.3, 1e-7, 123456.7):
        (f32,) = struct.unpack("<f", struct.pack("<f", value))
        text = replay.f32_text(f32)
        assert struct.unpack("<f", struct.pack("<f", float(text)))[0] == f32
        assert len(text) <= len(repr(f32))


def test_compress_writes_the_alone_header_with_the_real_length() -> None:
    packed = replay.compress(b"hello replay")
    assert packed[:5] == bytes.fromhex("5d00002000")
    assert struct.unpack("<q", packed[5:13])[0] == 12
    assert lzma.decompress(packed, format=lzma.FORMAT_ALONE) == b"hello replay"


@pytest.mark.parametrize(
    ("ruleset_id", "statistics", "expected"),
    [
        (0, {"great": 5, "ok": 4, "meh": 3, "miss": 1}, [5, 4, 3, 0, 0, 1]),
        (1, {"great": 5, "ok": 4, "large_bonus": 2, "miss": 1}, [5, 4, 0, 2, 0, 1]),
        (
            2,
            {
                "great": 5,
                "large_tick_hit": 4,
                "small_tick_hit": 3,
                "small_tick_miss": 2,
                "miss": 1,
                "large_tick_miss": 1,
            },
            [5, 4, 3, 0, 2, 2],
        ),
        (
            3,
            {"perfect": 6, "great": 5, "good": 4, "ok": 3, "meh": 2, "miss": 1},
            [5, 3, 2, 6, 4, 1],
        ),
        (0, {"great": 70000}, [65535, 0, 0, 0, 0, 0]),
    ],
)
def test_counts_per_ruleset(ruleset_id: int, statistics: dict, expected: list[int]) -> None:
    assert replay.counts(ruleset_id, statistics) == expected


def test_ticks() -> None:
    assert replay.ticks(dt.datetime(1970, 1, 1)) == 62135596800 * 10**7
    assert replay.ticks(dt.datetime(1970, 1, 1, 0, 0, 1, 5)) == (62135596801 * 10**7) + 50


def test_osu_format_version() -> None:
    assert replay.osu_format_version(b"\xef\xbb\xbfosu file format v14\r\n[General]") == 14
    assert replay.osu_format_version(b"osu file format v3\n") == 3
    assert replay.osu_format_version(b"garbage") is None
    assert replay.osu_format_version(None) is None


def test_a_whole_replay_reads_back_with_osrparse() -> None:
    frames = [frame(1000 + 16.5 * i, 100 + i, 200 - i, i % 3) for i in range(50)]
    data = replay.encode(
        score(),
        username="peppy",
        beatmap_md5="0123456789abcdef0123456789abcdef",
        frames=replay.pack_frames(frames),
        pauses=[1500, 3000],
    )
    parsed = osrparse.Replay.from_string(data)
    assert parsed.mode == osrparse.GameMode.STD
    assert parsed.game_version == replay.VERSION
    assert parsed.beatmap_hash == "0123456789abcdef0123456789abcdef"
    assert parsed.username == "peppy"
    assert (parsed.count_300, parsed.count_100, parsed.count_50) == (540, 12, 1)
    assert (parsed.count_geki, parsed.count_katu, parsed.count_miss) == (0, 0, 2)
    assert parsed.score == 912345
    assert parsed.max_combo == 611
    assert parsed.perfect is False
    assert int(parsed.mods) == 72
    assert parsed.life_bar_graph is None
    assert parsed.timestamp == dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    assert parsed.replay_id == -1
    assert len(parsed.replay_data) == 50
    assert sum(e.time_delta for e in parsed.replay_data) == round(1000 + 16.5 * 49)
    assert [(e.x, e.y) for e in parsed.replay_data[:2]] == [(100, 200), (101, 199)]

    assert read_score_info(data) == {
        "online_id": 4242,
        "mods": [{"acronym": "HD"}, {"acronym": "DT", "settings": {"speed_change": 1.2}}],
        "statistics": score()["statistics"],
        "maximum_statistics": score()["maximum_statistics"],
        "client_version": "",
        "rank": "S",
        "user_id": 7,
        "total_score_without_mods": 869000,
        "pauses": [1500, 3000],
    }


def test_perfect_flag_and_missing_total_without_mods() -> None:
    full = score(max_combo=635, total_score_without_mods=None)  # 555 + 80 combo results
    data = replay.encode(full, username="x", beatmap_md5="a" * 32, frames=b"")
    assert osrparse.Replay.from_string(data).perfect is True
    assert b'"total_score_without_mods"' not in replay.score_info(full, [])
