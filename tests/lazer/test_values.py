"""Value encoding rules and reading tolerance of MessagePack-CSharp, in both codecs."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgpack
import pytest

import core.lazer as lazer
from core.lazer import (
    CodecError,
    Float32,
    Int8,
    Int16,
    Int64,
    Invocation,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
)
from core.lazer.native import NATIVE_ABI
from core.lazer.types import (
    MATCH_ROOM_STATE,
    USER_ACTIVITY,
    APIMod,
    BeatmapAvailability,
    DownloadState,
    LegacyReplayFrame,
    MatchmakingLobbyStatus,
    MultiplayerRoomSettings,
    MultiplayerRoomUser,
    SpectatedUserState,
    SpectatorState,
    StandardMatchRoomState,
    TeamVersusRoomState,
)
from core.lazer.wire import (
    ANY,
    BOOL,
    DTO,
    F32,
    F64,
    I32,
    STR,
    TIMESPAN,
    U8,
    ListOf,
    MapOf,
    Opt,
    hub_object,
    key,
)

from . import codecs

ROOT = Path(__file__).resolve().parents[2]


def enc(name: str, value: Any, wire: Any) -> bytes:
    return codecs.get(name).encode(value, codecs.node_id(wire))


def dec(name: str, data: bytes, wire: Any) -> Any:
    return codecs.get(name).decode(data, codecs.node_id(wire))


@pytest.mark.parametrize("name", codecs.NAMES)
def test_integers_use_msgpack_compact_forms(name: str) -> None:
    """Integers: MessagePack-CSharp's smallest form, the same rule as msgpack.packb."""
    wire = lazer.wire.I64
    for v in [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, -1, -32, -33, -128]:
        assert enc(name, v, wire) == msgpack.packb(v)
    for v in [-129, -32768, -32769, -(2**31), -(2**31) - 1, 2**63 - 1, -(2**63)]:
        assert enc(name, v, wire) == msgpack.packb(v)
    assert enc(name, 2**64 - 1, lazer.wire.U64) == msgpack.packb(2**64 - 1)


@pytest.mark.parametrize("name", codecs.NAMES)
def test_float_widths_are_exact(name: str) -> None:
    """MessagePack-CSharp: float is always ca, double always cb, even for integral values."""
    assert enc(name, 5, F64) == bytes.fromhex("cb 4014000000000000")
    assert enc(name, 0.5, F32) == bytes.fromhex("ca3f000000")
    assert enc(name, 1e300, F64) == msgpack.packb(1e300)
    with pytest.raises(CodecError):
        enc(name, 1e300, F32)  # rounds to infinity
    assert enc(name, float("inf"), F32) == bytes.fromhex("ca7f800000")
    # Readers take either width and integers (MessagePack-CSharp MessagePackReader).
    assert dec(name, bytes.fromhex("cb3fe0000000000000"), F32) == 0.5
    assert dec(name, bytes.fromhex("ca3f000000"), F64) == 0.5
    assert dec(name, b"\x07", F64) == 7.0


@pytest.mark.parametrize("name", codecs.NAMES)
def test_timestamps_match_msgpack_timestamp(name: str) -> None:
    """Timestamps: identical to msgpack.Timestamp, all three forms, inside DateTimeOffset."""
    for seconds, nanos in [
        (0, 0),
        (2**32 - 1, 0),
        (2**32, 0),
        (5, 1000),
        (2**34 - 1, 999999000),
        (2**34, 0),
        (-1, 0),
        (-62135596800, 0),
        (253402300799, 999999000),
    ]:
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            seconds=seconds, microseconds=nanos // 1000
        )
        expected = b"\x92" + msgpack.packb(msgpack.Timestamp(seconds, nanos)) + b"\x00"
        assert enc(name, when, DTO) == expected
        assert dec(name, expected, DTO) == when


@pytest.mark.parametrize("name", codecs.NAMES)
def test_dto_offsets_and_naive_datetimes(name: str) -> None:
    local = datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    data = enc(name, local, DTO)
    assert data.endswith(msgpack.packb(-330))
    assert dec(name, data, DTO) == local
    assert dec(name, data, DTO).utcoffset() == timedelta(hours=-5, minutes=-30)
    naive = datetime(2026, 1, 1)
    assert enc(name, naive, DTO) == enc(name, naive.replace(tzinfo=UTC), DTO)
    for bad in [
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=30))),
        datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=15))),
        "2026-01-01",
        None,
    ]:
        with pytest.raises(CodecError):
            enc(name, bad, DTO)
    for bad_hex in [
        "91d6ff00000000",
        "92d6fe0000000000",
        "92d6ff00000000d103e8",
        "92d7ffffffffff0000000000",
    ]:
        with pytest.raises(CodecError):
            dec(name, bytes.fromhex(bad_hex), DTO)


@pytest.mark.parametrize("name", codecs.NAMES)
def test_timespans_are_ticks(name: str) -> None:
    assert enc(name, timedelta(0), TIMESPAN) == b"\x00"
    assert enc(name, timedelta(microseconds=-1), TIMESPAN) == msgpack.packb(-10)
    assert dec(name, msgpack.packb(15), TIMESPAN) == timedelta(microseconds=1)  # floors
    assert dec(name, msgpack.packb(-15), TIMESPAN) == timedelta(microseconds=-2)
    most = timedelta(microseconds=(2**63 - 1) // 10)
    assert dec(name, msgpack.packb(2**63 - 1), TIMESPAN) == most
    with pytest.raises(CodecError):
        dec(name, msgpack.packb(2**63), TIMESPAN)
    with pytest.raises(CodecError):
        enc(name, timedelta(days=999999999), TIMESPAN)
    with pytest.raises(CodecError):
        enc(name, 30, TIMESPAN)


@pytest.mark.parametrize("name", codecs.NAMES)
def test_mod_setting_codes(name: str) -> None:
    """Mod settings: fixed-width codes on write; the code read is kept for relaying."""
    settings = {
        "a": 5,
        "b": 2**40,
        "c": Int64(5),
        "d": Int8(-1),
        "e": Int16(300),
        "f": UInt8(200),
        "g": UInt16(60000),
        "h": UInt32(4e9),
        "i": UInt64(2**64 - 1),
        "j": 1.5,
        "k": Float32(1.5),
        "l": True,
        "m": None,
        "n": "#ff0000",
    }
    data = enc(name, APIMod("XX", settings), APIMod)
    assert data.startswith(bytes.fromhex("92 a2 58 58 9e a1 61 d2 00 00 00 05"))
    back = dec(name, data, APIMod)
    assert back.settings == settings
    # A plain int beyond int32 went out as long (d3): it comes back marked, so a relay keeps d3.
    assert type(back.settings["b"]) is Int64
    back.settings["b"] = int(back.settings["b"])
    assert [type(v) for v in back.settings.values()] == [type(v) for v in settings.values()]
    assert enc(name, dec(name, data, APIMod), APIMod) == data
    # Compact codes from a non-official writer are accepted and come back as plain values.
    loose = bytes.fromhex("92 a2 58 58 93 a1 61 05 a1 62 e0 a1 63 cb 3ff8000000000000")
    assert dec(name, loose, APIMod).settings == {"a": 5, "b": -32, "c": 1.5}
    for bad in [{"a": [1]}, {"a": Int8(200)}, {"a": 2**64}, {1: 1}, {"a": object()}]:
        with pytest.raises(CodecError):
            enc(name, APIMod("XX", bad), APIMod)
    for bad_hex in [
        "92 a2 58 58 81 a1 61 01",
        "92 a2 58 58 91 a1 61 91 01",
        "92 a2 58 58 91 01 01",
        "92 a2 58 58 92 a1 61 01",
    ]:
        with pytest.raises(CodecError):
            dec(name, bytes.fromhex(bad_hex), APIMod)


@pytest.mark.parametrize("name", codecs.NAMES)
def test_schema_violations_raise_codec_error(name: str) -> None:
    cases: list[tuple[Any, Any]] = [
        (2**31, I32),
        (-1, U8),
        (True, I32),
        ("1", I32),
        (1.5, I32),
        (None, I32),
        (1, BOOL),
        (None, BOOL),
        (b"x", STR),
        ("\ud800", STR),
        (None, STR),
        ("1", F64),
        (True, F64),
        (10**400, F64),
        ([1, "x"], ListOf(I32)),
        ({"a": 1}, MapOf(I32, I32)),
        (BeatmapAvailability(), SpectatorState),
        (None, SpectatorState),
        (SpectatorState(state=99), SpectatorState),  # still an int: accepted below instead
        (APIMod("HD", None), APIMod),
        (object(), ANY),
        ([set()], ANY),
        (2**64, ANY),
        (StandardMatchRoomState(), USER_ACTIVITY),
    ]
    for value, wire in cases:
        if isinstance(value, SpectatorState):
            assert dec(name, enc(name, value, wire), wire).state == 99
            continue
        with pytest.raises(CodecError):
            enc(name, value, wire)
    nested: list[Any] = []
    for _ in range(100):
        nested = [nested]
    with pytest.raises(CodecError):
        enc(name, nested, ANY)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(CodecError):
        enc(name, loop, ANY)


@pytest.mark.parametrize("name", codecs.NAMES)
def test_shorter_and_longer_arrays_are_tolerated(name: str) -> None:
    """Objects: missing members keep their defaults, surplus members are skipped."""
    short = dec(name, bytes.fromhex("92 cd 04 d2 01"), MultiplayerRoomUser)
    assert short == MultiplayerRoomUser(1234, 1)
    settings = dec(name, bytes.fromhex("91 a4 52 6f 6f 6d"), MultiplayerRoomSettings)
    assert settings.name == "Room" and settings.password == "" and settings.match_type == 1
    longer = dec(
        name,
        bytes.fromhex("95 cb 0000000000000000 c0 c0 03 82 01 02 a1 78 93 c0 c0 90"),
        LegacyReplayFrame,
    )
    assert longer == LegacyReplayFrame(0.0, None, None, 3)
    assert dec(name, b"\x90", SpectatorState) == SpectatorState()


@pytest.mark.parametrize("name", codecs.NAMES)
def test_unions(name: str) -> None:
    """Unions: [key, payload]; unknown keys decode as None; anything else is an error."""
    standard = StandardMatchRoomState(True, [None, 5])
    data = enc(name, standard, MATCH_ROOM_STATE)
    assert data == bytes.fromhex("92 03 93 c0 c3 92 c0 05")
    assert dec(name, data, MATCH_ROOM_STATE) == standard
    assert dec(name, bytes.fromhex("92 63 93 01 02 03"), MATCH_ROOM_STATE) is None
    assert dec(name, bytes.fromhex("c0"), Opt(MATCH_ROOM_STATE)) is None
    for bad in ["93 03 93 c0 c3 c0 00", "91 03", "c0", "92 a1 33 90"]:
        with pytest.raises(CodecError):
            dec(name, bytes.fromhex(bad), MATCH_ROOM_STATE)
    # A union member sent where the type is not declared still travels as [key, payload].
    assert enc(name, TeamVersusRoomState([]), ANY) == bytes.fromhex("92 00 93 90 c2 c0")


@pytest.mark.parametrize("name", codecs.NAMES)
def test_enums_and_tuples(name: str) -> None:
    state = dec(name, bytes.fromhex("95 c0 c0 90 03 80"), SpectatorState)
    assert state.state is SpectatedUserState.PASSED
    assert dec(name, bytes.fromhex("95 c0 c0 90 2a 80"), SpectatorState).state == 42
    status = MatchmakingLobbyStatus([1], [(1500, 3)], None, [])
    data = enc(name, status, MatchmakingLobbyStatus)
    assert data == bytes.fromhex("94 91 01 91 92 cd 05 dc 03 c0 90")
    assert dec(name, data, MatchmakingLobbyStatus) == status
    with pytest.raises(CodecError):
        dec(name, bytes.fromhex("94 91 01 91 93 01 02 03 c0 90"), MatchmakingLobbyStatus)
    assert dec(name, bytes.fromhex("92 00 c0"), BeatmapAvailability).state is DownloadState.UNKNOWN


@pytest.mark.parametrize("name", codecs.NAMES)
def test_trailing_bytes_are_an_error(name: str) -> None:
    with pytest.raises(CodecError, match="trailing"):
        dec(name, b"\x01\x02", I32)


def test_new_types_need_no_native_change() -> None:
    """A type declared in Python (say, by a plugin) works in both codecs at once."""

    @hub_object
    class PluginThing:
        label: str = key(0, STR, "")
        ratio: float = key(2, F32, 0.0)
        tags: dict[int, bool] = key(3, MapOf(I32, BOOL), factory=dict)

    lazer.register_method("PluginPing", PluginThing, Opt(I32))
    thing = PluginThing("x", 0.25, {1: True})
    expected = bytes.fromhex("94 a1 78 c0 ca 3e 80 00 00 81 01 c3")
    for name in codecs.NAMES:
        assert enc(name, thing, PluginThing) == expected
        assert dec(name, expected, PluginThing) == thing
        codec = codecs.get(name)
        frame = codec.encode_frame(Invocation("PluginPing", [thing, None]))
        assert codec.decode_frames(frame, 1 << 16, None)[0] == [
            Invocation("PluginPing", [thing, None])
        ]
        assert codec.encode_frame(lazer.Completion("1", thing)).endswith(expected)


def test_facade_round_trip() -> None:
    state = SpectatorState(1, 0, [APIMod("HD")], SpectatedUserState.PLAYING, {5: 1})
    assert lazer.decode(lazer.encode(state, SpectatorState), SpectatorState) == state
    assert lazer.decode(bytearray(lazer.encode([1, 2], ListOf(I32))), ListOf(I32)) == [1, 2]


def _native_flag(env: dict[str, str]) -> str:
    code = "import core.lazer as l; print(l.NATIVE)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_pure_codec_env_var() -> None:
    env = {**os.environ, "HITCIRCLE_PURE_CODEC": "1"}
    assert _native_flag(env) == "False"
    env.pop("HITCIRCLE_PURE_CODEC")
    try:
        import hitcircle_native
    except ImportError:
        built = False
    else:
        built = getattr(hitcircle_native, "ABI", None) == NATIVE_ABI
    assert _native_flag(env) == str(built)


def test_native_module_metadata() -> None:
    native = pytest.importorskip("hitcircle_native")
    assert isinstance(native.__version__, str)
    if "native" not in lazer.available_codecs():
        pytest.skip("stale or disabled native build")
    assert lazer.NATIVE is (os.environ.get("HITCIRCLE_PURE_CODEC", "") in ("", "0"))
