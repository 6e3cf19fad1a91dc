"""MessagePack primitives for the pure-Python codec: writers, readers, skip, runtime-typed values.

Readers take `(data, pos)` and return `(value, new_pos)`; they index the input directly, so a
truncated input surfaces as IndexError/struct.error, which the codec entry points turn into
CodecError (`DECODE_ERRORS`). The `msgpack` package is not used for decoding: it cannot tell a
`d2` int from a `cc` one (needed for mod settings) and would choke on the APIMod layout (ppy/osu
osu.Game/Online/API/ModSettingsDictionaryFormatter.cs).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from .errors import CodecError
from .values import (
    INT64_MAX,
    INT64_MIN,
    SETTING_MARKERS,
    Float32,
    Int8,
    Int16,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    dto_from_wire,
    dto_to_wire,
    timespan_from_ticks,
    timespan_to_ticks,
)

# Nesting limit for values whose shape the schema does not bound (runtime-typed values, skipped
# elements): deep enough for any real payload, shallow enough to keep recursion safe.
MAX_DEPTH = 64
UINT64_MAX = 2**64 - 1

# What a malformed input can raise inside the readers before being reported as CodecError.
DECODE_ERRORS = (IndexError, struct.error, UnicodeDecodeError, ValueError, OverflowError)
ENCODE_ERRORS = (struct.error, UnicodeEncodeError, ValueError, OverflowError)


def describe(exc: BaseException) -> str:
    """A CodecError message for whatever a reader raised on malformed input."""
    if isinstance(exc, CodecError):
        return str(exc)
    if isinstance(exc, (IndexError, struct.error)):
        return "truncated input"
    if isinstance(exc, UnicodeDecodeError):
        return "invalid UTF-8 in string"
    return str(exc)


class Ext(NamedTuple):
    """A MessagePack extension value met where the type is unknown (msgpack's ExtType rejects
    the negative type codes MessagePack reserves, such as the timestamp's -1)."""

    code: int
    data: bytes


_B = struct.Struct(">B")
_H = struct.Struct(">H")
_I = struct.Struct(">I")
_Q = struct.Struct(">Q")
_b = struct.Struct(">b")
_h = struct.Struct(">h")
_i = struct.Struct(">i")
_q = struct.Struct(">q")
_f = struct.Struct(">f")
_d = struct.Struct(">d")
_BB = struct.Struct(">BB").pack
_BH = struct.Struct(">BH").pack
_BI = struct.Struct(">BI").pack
_BQ = struct.Struct(">BQ").pack
_Bb = struct.Struct(">Bb").pack
_Bh = struct.Struct(">Bh").pack
_Bi = struct.Struct(">Bi").pack
_Bq = struct.Struct(">Bq").pack
_Bf = struct.Struct(">Bf").pack
_Bd = struct.Struct(">Bd").pack

# integer code -> (struct, size) for the non-fix integer encodings
_INTS: dict[int, struct.Struct] = {
    0xCC: _B,
    0xCD: _H,
    0xCE: _I,
    0xCF: _Q,
    0xD0: _b,
    0xD1: _h,
    0xD2: _i,
    0xD3: _q,
}
# mod setting code -> Python type that remembers it (for relays); d2 (int) and cb (double) are plain
_SETTING_TYPES: dict[int, type] = {
    0xCC: UInt8,
    0xCD: UInt16,
    0xCE: UInt32,
    0xCF: UInt64,
    0xD0: Int8,
    0xD1: Int16,
    0xD2: int,
    0xD3: Int64,
}


# --- writers --------------------------------------------------------------------------------


def write_int(out: bytearray, v: int) -> None:
    """Smallest encoding, as MessagePack-CSharp (MessagePackWriter.cs) and msgpack.packb write it.

    The caller has checked the range.
    """
    if v >= 0:
        if v < 0x80:
            out.append(v)
        elif v < 0x100:
            out += _BB(0xCC, v)
        elif v < 0x10000:
            out += _BH(0xCD, v)
        elif v < 0x100000000:
            out += _BI(0xCE, v)
        else:
            out += _BQ(0xCF, v)
    elif v >= -32:
        out.append(v + 0x100)
    elif v >= -0x80:
        out += _Bb(0xD0, v)
    elif v >= -0x8000:
        out += _Bh(0xD1, v)
    elif v >= -0x80000000:
        out += _Bi(0xD2, v)
    else:
        out += _Bq(0xD3, v)


def write_array_header(out: bytearray, n: int) -> None:
    if n < 16:
        out.append(0x90 | n)
    elif n < 0x10000:
        out += _BH(0xDC, n)
    else:
        out += _BI(0xDD, n)


def write_map_header(out: bytearray, n: int) -> None:
    if n < 16:
        out.append(0x80 | n)
    elif n < 0x10000:
        out += _BH(0xDE, n)
    else:
        out += _BI(0xDF, n)


def write_str(out: bytearray, s: str) -> None:
    raw = s.encode("utf-8")
    n = len(raw)
    if n < 32:
        out.append(0xA0 | n)
    elif n < 0x100:
        out += _BB(0xD9, n)
    elif n < 0x10000:
        out += _BH(0xDA, n)
    else:
        out += _BI(0xDB, n)
    out += raw


def write_bin(out: bytearray, raw: bytes) -> None:
    n = len(raw)
    if n < 0x100:
        out += _BB(0xC4, n)
    elif n < 0x10000:
        out += _BH(0xC5, n)
    else:
        out += _BI(0xC6, n)
    out += raw


def write_ext(out: bytearray, code: int, raw: bytes) -> None:
    n = len(raw)
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}.get(n)
    if fixed is not None:
        out.append(fixed)
    elif n < 0x100:
        out += _BB(0xC7, n)
    elif n < 0x10000:
        out += _BH(0xC8, n)
    else:
        out += _BI(0xC9, n)
    out += _b.pack(code)
    out += raw


def write_f32(out: bytearray, v: float) -> None:
    out += _Bf(0xCA, v)


def write_f64(out: bytearray, v: float) -> None:
    out += _Bd(0xCB, v)


def write_timestamp(out: bytearray, seconds: int, nanoseconds: int) -> None:
    """Timestamp extension -1 in its smallest form (msgpack spec), like msgpack.Timestamp."""
    if seconds >> 34 == 0:
        if nanoseconds == 0 and seconds >> 32 == 0:
            out += b"\xd6\xff"
            out += _I.pack(seconds)
        else:
            out += b"\xd7\xff"
            out += _Q.pack((nanoseconds << 34) | seconds)
    else:
        out += b"\xc7\x0c\xff"
        out += _I.pack(nanoseconds)
        out += _q.pack(seconds)


def write_dto(out: bytearray, value: object) -> None:
    seconds, nanoseconds, minutes = dto_to_wire(value)
    out.append(0x92)
    write_timestamp(out, seconds, nanoseconds)
    write_int(out, minutes)


def write_timespan(out: bytearray, value: object) -> None:
    write_int(out, timespan_to_ticks(value))


def write_setting(out: bytearray, v: object) -> None:
    """One APIMod setting value with PrimitiveObjectFormatter's fixed-width codes."""
    if v is None:
        out.append(0xC0)
        return
    t = type(v)
    if t is bool:
        out.append(0xC3 if v else 0xC2)
        return
    marker = SETTING_MARKERS.get(t)
    # Every SETTING_MARKERS type is an int subclass; the isinstance only tells the type checker.
    if marker is not None and isinstance(v, int):
        code, lo, hi = marker
        if not lo <= v <= hi:
            raise CodecError(f"{t.__name__} setting out of range: {v}")
        out.append(code)
        out += _INTS[code].pack(v)
    elif isinstance(v, int):
        if -0x80000000 <= v <= 0x7FFFFFFF:
            out += _Bi(0xD2, v)
        elif INT64_MIN <= v <= INT64_MAX:
            out += _Bq(0xD3, v)
        else:
            raise CodecError(f"int setting out of range: {v} (use UInt64)")
    elif isinstance(v, Float32):
        write_f32(out, v)
    elif isinstance(v, float):
        write_f64(out, v)
    elif isinstance(v, str):
        write_str(out, v)
    else:
        raise CodecError(f"unsupported mod setting value {t.__name__}")


# --- readers --------------------------------------------------------------------------------


def _found(d: bytes, p: int, what: str) -> CodecError:
    return CodecError(f"expected {what} at offset {p}, found 0x{d[p]:02x}")


def read_int(d: bytes, p: int) -> tuple[int, int]:
    b = d[p]
    if b < 0x80:
        return b, p + 1
    if b >= 0xE0:
        return b - 0x100, p + 1
    s = _INTS.get(b)
    if s is None:
        raise _found(d, p, "integer")
    return s.unpack_from(d, p + 1)[0], p + 1 + s.size


def read_float(d: bytes, p: int) -> tuple[float, int]:
    """float readers also take the other width and integers, like MessagePack-CSharp's."""
    b = d[p]
    if b == 0xCB:
        return _d.unpack_from(d, p + 1)[0], p + 9
    if b == 0xCA:
        return _f.unpack_from(d, p + 1)[0], p + 5
    v, p = read_int(d, p)
    return float(v), p


def read_bool(d: bytes, p: int) -> tuple[bool, int]:
    b = d[p]
    if b == 0xC3:
        return True, p + 1
    if b == 0xC2:
        return False, p + 1
    raise _found(d, p, "bool")


def _str_len(d: bytes, p: int) -> tuple[int, int]:
    b = d[p]
    if 0xA0 <= b <= 0xBF:
        return b & 0x1F, p + 1
    if b == 0xD9:
        return d[p + 1], p + 2
    if b == 0xDA:
        return _H.unpack_from(d, p + 1)[0], p + 3
    if b == 0xDB:
        return _I.unpack_from(d, p + 1)[0], p + 5
    raise _found(d, p, "string")


def _take(d: bytes, p: int, n: int) -> bytes:
    end = p + n
    if end > len(d):
        raise CodecError("truncated input")
    return bytes(d[p:end])


def read_str(d: bytes, p: int) -> tuple[str, int]:
    n, p = _str_len(d, p)
    return _take(d, p, n).decode("utf-8"), p + n


def read_opt_str(d: bytes, p: int) -> tuple[str | None, int]:
    if d[p] == 0xC0:
        return None, p + 1
    return read_str(d, p)


def read_array_header(d: bytes, p: int) -> tuple[int, int]:
    b = d[p]
    if 0x90 <= b <= 0x9F:
        n, p = b & 0x0F, p + 1
    elif b == 0xDC:
        n, p = _H.unpack_from(d, p + 1)[0], p + 3
    elif b == 0xDD:
        n, p = _I.unpack_from(d, p + 1)[0], p + 5
    else:
        raise _found(d, p, "array")
    # Every element takes at least a byte: refuse counts the input cannot hold before looping.
    if n > len(d) - p:
        raise CodecError("array count exceeds the input")
    return n, p


def read_map_header(d: bytes, p: int) -> tuple[int, int]:
    b = d[p]
    if 0x80 <= b <= 0x8F:
        n, p = b & 0x0F, p + 1
    elif b == 0xDE:
        n, p = _H.unpack_from(d, p + 1)[0], p + 3
    elif b == 0xDF:
        n, p = _I.unpack_from(d, p + 1)[0], p + 5
    else:
        raise _found(d, p, "map")
    if 2 * n > len(d) - p:
        raise CodecError("map count exceeds the input")
    return n, p


def _ext_header(d: bytes, p: int) -> tuple[int, int, int]:
    """-> (type code, data length, data offset), or CodecError when not an extension."""
    b = d[p]
    if 0xD4 <= b <= 0xD8:
        n, p = 1 << (b - 0xD4), p + 1
    elif b == 0xC7:
        n, p = d[p + 1], p + 2
    elif b == 0xC8:
        n, p = _H.unpack_from(d, p + 1)[0], p + 3
    elif b == 0xC9:
        n, p = _I.unpack_from(d, p + 1)[0], p + 5
    else:
        raise _found(d, p, "extension")
    return _b.unpack_from(d, p)[0], n, p + 1


def read_timestamp(d: bytes, p: int) -> tuple[tuple[int, int], int]:
    code, n, p = _ext_header(d, p)
    if code != -1:
        raise CodecError(f"expected timestamp extension -1, found {code}")
    if n == 4:
        return (_I.unpack_from(d, p)[0], 0), p + 4
    if n == 8:
        v = _Q.unpack_from(d, p)[0]
        return (v & 0x3FFFFFFFF, v >> 34), p + 8
    if n == 12:
        return (_q.unpack_from(d, p + 4)[0], _I.unpack_from(d, p)[0]), p + 12
    raise CodecError(f"timestamp of {n} bytes")


def read_dto(d: bytes, p: int) -> tuple[datetime, int]:
    n, p = read_array_header(d, p)
    if n != 2:
        raise CodecError("DateTimeOffset must be a 2-element array")
    (seconds, nanoseconds), p = read_timestamp(d, p)
    minutes, p = read_int(d, p)
    if not -0x8000 <= minutes <= 0x7FFF:
        raise CodecError("DateTimeOffset offset is not an int16")
    return dto_from_wire(seconds, nanoseconds, minutes), p


def read_timespan(d: bytes, p: int) -> tuple[timedelta, int]:
    ticks, p = read_int(d, p)
    if not INT64_MIN <= ticks <= INT64_MAX:
        raise CodecError("TimeSpan ticks out of range")
    return timespan_from_ticks(ticks), p


def read_setting(d: bytes, p: int) -> tuple[Any, int]:
    """One APIMod setting value, remembering non-default integer/float codes (for relays)."""
    b = d[p]
    if b < 0x80 or b >= 0xE0:
        return read_int(d, p)
    kind = _SETTING_TYPES.get(b)
    if kind is not None:
        v, p = read_int(d, p)
        return (v if kind is int else kind(v)), p
    if b == 0xCB:
        return _d.unpack_from(d, p + 1)[0], p + 9
    if b == 0xCA:
        return Float32(_f.unpack_from(d, p + 1)[0]), p + 5
    if b == 0xC0:
        return None, p + 1
    if b == 0xC2 or b == 0xC3:
        return b == 0xC3, p + 1
    if 0xA0 <= b <= 0xBF or 0xD9 <= b <= 0xDB:
        return read_str(d, p)
    raise _found(d, p, "primitive mod setting value")


def skip(d: bytes, p: int, depth: int = 0) -> int:
    """Position after one value of any type, without building it (nothing is validated but
    structure: an unknown union payload or surplus object member is not ours to judge)."""
    b = d[p]
    if b < 0x80 or b >= 0xE0 or b in (0xC0, 0xC2, 0xC3):
        return p + 1
    if 0xA0 <= b <= 0xBF or 0xD9 <= b <= 0xDB:
        n, p = _str_len(d, p)
        return _end(d, p, n)
    if b in _INTS:
        return _end(d, p + 1, _INTS[b].size)
    if b == 0xCA:
        return _end(d, p + 1, 4)
    if b == 0xCB:
        return _end(d, p + 1, 8)
    if 0xC4 <= b <= 0xC6:
        n, p = _bin_len(d, p)
        return _end(d, p, n)
    if 0xD4 <= b <= 0xD8 or 0xC7 <= b <= 0xC9:
        _, n, p = _ext_header(d, p)
        return _end(d, p, n)
    if 0x90 <= b <= 0x9F or b == 0xDC or b == 0xDD:
        if depth >= MAX_DEPTH:
            raise CodecError("nesting too deep")
        n, p = read_array_header(d, p)
        for _ in range(n):
            p = skip(d, p, depth + 1)
        return p
    if 0x80 <= b <= 0x8F or b == 0xDE or b == 0xDF:
        if depth >= MAX_DEPTH:
            raise CodecError("nesting too deep")
        n, p = read_map_header(d, p)
        for _ in range(2 * n):
            p = skip(d, p, depth + 1)
        return p
    raise _found(d, p, "a MessagePack value")


def _end(d: bytes, p: int, n: int) -> int:
    end = p + n
    if end > len(d):
        raise CodecError("truncated input")
    return end


def _bin_len(d: bytes, p: int) -> tuple[int, int]:
    b = d[p]
    if b == 0xC4:
        return d[p + 1], p + 2
    if b == 0xC5:
        return _H.unpack_from(d, p + 1)[0], p + 3
    return _I.unpack_from(d, p + 1)[0], p + 5


def read_any(d: bytes, p: int, depth: int = 0) -> tuple[Any, int]:
    """A value whose type is not declared: plain Python values, `Ext` for extensions."""
    b = d[p]
    if b < 0x80 or b >= 0xE0 or b in _INTS:
        return read_int(d, p)
    if 0xA0 <= b <= 0xBF or 0xD9 <= b <= 0xDB:
        return read_str(d, p)
    if b == 0xC0:
        return None, p + 1
    if b == 0xC2 or b == 0xC3:
        return b == 0xC3, p + 1
    if b == 0xCA or b == 0xCB:
        return read_float(d, p)
    if 0xC4 <= b <= 0xC6:
        n, p = _bin_len(d, p)
        return _take(d, p, n), p + n
    if 0xD4 <= b <= 0xD8 or 0xC7 <= b <= 0xC9:
        code, n, p = _ext_header(d, p)
        return Ext(code, _take(d, p, n)), p + n
    if 0x90 <= b <= 0x9F or b == 0xDC or b == 0xDD:
        if depth >= MAX_DEPTH:
            raise CodecError("nesting too deep")
        n, p = read_array_header(d, p)
        items = []
        for _ in range(n):
            v, p = read_any(d, p, depth + 1)
            items.append(v)
        return items, p
    if 0x80 <= b <= 0x8F or b == 0xDE or b == 0xDF:
        if depth >= MAX_DEPTH:
            raise CodecError("nesting too deep")
        n, p = read_map_header(d, p)
        out: dict[Any, Any] = {}
        for _ in range(n):
            k, p = read_any(d, p, depth + 1)
            v, p = read_any(d, p, depth + 1)
            try:
                out[k] = v
            except TypeError:
                raise CodecError("unhashable map key") from None
        return out, p
    raise _found(d, p, "a MessagePack value")


def write_any(
    out: bytearray,
    v: Any,
    typed: dict[type, Callable[[Any, bytearray], None]],
    depth: int = 0,
) -> None:
    """A value typed at run time, as SignalR serialises results: hub objects by their schema
    (union members as `[key, payload]`), everything else by its Python type."""
    if v is None:
        out.append(0xC0)
        return
    t = type(v)
    if t is bool:
        out.append(0xC3 if v else 0xC2)
        return
    encode = typed.get(t)
    if encode is not None:
        encode(v, out)
    elif isinstance(v, int):
        if not INT64_MIN <= v <= UINT64_MAX:
            raise CodecError(f"integer out of range: {v}")
        write_int(out, v)
    elif isinstance(v, float):
        write_f64(out, v)
    elif isinstance(v, str):
        write_str(out, v)
    elif isinstance(v, (bytes, bytearray)):
        write_bin(out, bytes(v))
    elif t is Ext:
        if not isinstance(v.code, int) or not -128 <= v.code <= 127:
            raise CodecError("extension code must be an int8")
        if not isinstance(v.data, (bytes, bytearray)):
            raise CodecError("extension data must be bytes")
        write_ext(out, v.code, bytes(v.data))
    elif isinstance(v, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise CodecError("nesting too deep")
        write_array_header(out, len(v))
        for item in v:
            write_any(out, item, typed, depth + 1)
    elif isinstance(v, dict):
        if depth >= MAX_DEPTH:
            raise CodecError("nesting too deep")
        write_map_header(out, len(v))
        for k, item in v.items():
            write_any(out, k, typed, depth + 1)
            write_any(out, item, typed, depth + 1)
    elif isinstance(v, datetime):
        write_dto(out, v)
    elif isinstance(v, timedelta):
        write_timespan(out, v)
    else:
        raise CodecError(f"cannot encode {t.__name__}")
