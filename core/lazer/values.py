"""Python-side value conventions shared by both codecs.

The native codec calls the converters below for DateTimeOffset and TimeSpan, so both codecs agree
on every edge case by construction. The marker types keep the exact MessagePack code of an APIMod
setting value (ppy/osu osu.Game/Online/API/ModSettingsDictionaryFormatter.cs): the client
writes fixed-width codes and a relay must re-emit them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from .errors import CodecError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# .NET DateTimeOffset rejects offsets beyond ±14 h; the client would fail to read them.
MAX_OFFSET_MINUTES = 14 * 60
TICKS_PER_SECOND = 10_000_000

_EPOCH = datetime(1970, 1, 1)
_ZONES: dict[int, timezone] = {0: UTC}


class Float32(float):
    """A mod setting written as float32 (`ca`), e.g. difficulty-adjust values."""

    __slots__ = ()


class Int8(int):
    """A mod setting written as `d0` (sbyte)."""

    __slots__ = ()


class Int16(int):
    """A mod setting written as `d1` (short)."""

    __slots__ = ()


class Int64(int):
    """A mod setting written as `d3` (long); plain ints use `d2` when they fit an int."""

    __slots__ = ()


class UInt8(int):
    """A mod setting written as `cc` (byte)."""

    __slots__ = ()


class UInt16(int):
    """A mod setting written as `cd` (ushort)."""

    __slots__ = ()


class UInt32(int):
    """A mod setting written as `ce` (uint)."""

    __slots__ = ()


class UInt64(int):
    """A mod setting written as `cf` (ulong)."""

    __slots__ = ()


# marker class -> (MessagePack code, lowest, highest). Plain int -> d2/d3, plain float -> cb.
SETTING_MARKERS: dict[type, tuple[int, int, int]] = {
    Int8: (0xD0, -(2**7), 2**7 - 1),
    Int16: (0xD1, -(2**15), 2**15 - 1),
    Int64: (0xD3, INT64_MIN, INT64_MAX),
    UInt8: (0xCC, 0, 2**8 - 1),
    UInt16: (0xCD, 0, 2**16 - 1),
    UInt32: (0xCE, 0, 2**32 - 1),
    UInt64: (0xCF, 0, 2**64 - 1),
}


class _Void:
    """The result of a void Completion (kind 2); distinct from a `null` result (kind 3, nil)."""

    __slots__ = ()
    _instance: _Void | None = None

    def __new__(cls) -> _Void:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "VOID"

    def __reduce__(self) -> str:
        return "VOID"


VOID = _Void()


def _zone(minutes: int) -> timezone:
    zone = _ZONES.get(minutes)
    if zone is None:
        zone = _ZONES[minutes] = timezone(timedelta(minutes=minutes))
    return zone


def dto_to_wire(value: object) -> tuple[int, int, int]:
    """datetime -> (seconds, nanoseconds, offset minutes): the local clock written as UTC
    (MessagePack-CSharp StandardClassLibraryFormatter.cs, DateTimeOffsetFormatter).

    A naive datetime is taken as UTC: the server's convention is UTC everywhere.
    """
    if not isinstance(value, datetime):
        raise CodecError(f"DateTimeOffset needs a datetime, got {type(value).__name__}")
    minutes = 0
    offset = value.utcoffset()
    if offset is not None:
        seconds = offset.days * 86400 + offset.seconds
        if offset.microseconds or seconds % 60:
            raise CodecError("DateTimeOffset offsets are whole minutes")
        minutes = seconds // 60
        if not -MAX_OFFSET_MINUTES <= minutes <= MAX_OFFSET_MINUTES:
            raise CodecError("DateTimeOffset offset beyond ±14 h")
    local = value.replace(tzinfo=None) - _EPOCH
    return local.days * 86400 + local.seconds, local.microseconds * 1000, minutes


def dto_from_wire(seconds: int, nanoseconds: int, minutes: int) -> datetime:
    """The inverse of dto_to_wire; sub-microsecond precision is dropped (datetime has none)."""
    if not 0 <= nanoseconds < 1_000_000_000:
        raise CodecError("timestamp nanoseconds out of range")
    if not -MAX_OFFSET_MINUTES <= minutes <= MAX_OFFSET_MINUTES:
        raise CodecError("DateTimeOffset offset beyond ±14 h")
    try:
        local = _EPOCH + timedelta(seconds=seconds, microseconds=nanoseconds // 1000)
    except OverflowError:
        raise CodecError("timestamp outside the datetime range") from None
    return local.replace(tzinfo=_zone(minutes))


def timespan_to_ticks(value: object) -> int:
    """timedelta -> TimeSpan ticks (100 ns)."""
    if not isinstance(value, timedelta):
        raise CodecError(f"TimeSpan needs a timedelta, got {type(value).__name__}")
    ticks = (value.days * 86400 + value.seconds) * TICKS_PER_SECOND + value.microseconds * 10
    if not INT64_MIN <= ticks <= INT64_MAX:
        raise CodecError("TimeSpan out of range")
    return ticks


def timespan_from_ticks(ticks: int) -> timedelta:
    """TimeSpan ticks -> timedelta, flooring to whole microseconds (timedelta's resolution)."""
    return timedelta(microseconds=ticks // 10)
