"""The pure-Python codec: one encoder and one decoder closure per schema node.

Encoders are `enc(value, out: bytearray) -> None`; decoders are `dec(data, pos) -> (value, pos)`.
Closures are built in node order, children first, so every closure captures its children's
closures directly and no lookup happens per value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import mp
from .errors import CodecError
from .schema import (
    K_ANY,
    K_BOOL,
    K_DTO,
    K_ENUM,
    K_F32,
    K_F64,
    K_INT,
    K_LIST,
    K_MAP,
    K_OBJECT,
    K_SETTINGS,
    K_STR,
    K_TIMESPAN,
    K_TUPLE,
    K_UNION,
    Node,
    Schema,
)

Encoder = Callable[[Any, bytearray], None]
Decoder = Callable[[bytes, int], tuple[Any, int]]


def _type_error(what: str, v: object) -> CodecError:
    return CodecError(f"expected {what}, got {type(v).__name__}")


class PyCodec:
    """Value and hub-message codec over a Schema, in pure Python."""

    native = False

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.generation = -1
        self.enc: list[Encoder] = []
        self.dec: list[Decoder] = []
        self.typed: dict[type, Encoder] = {}
        self.refresh()

    def refresh(self) -> None:
        """Compile closures for nodes added to the schema since the last call."""
        schema = self.schema
        if self.generation == schema.generation:
            return
        for node in schema.nodes[len(self.enc) :]:
            enc, dec = self._compile(node)
            self.enc.append(enc)
            self.dec.append(dec)
        self.typed = {cls: self.enc[node_id] for cls, node_id in schema.runtime.items()}
        self.generation = schema.generation

    # --- public API (mirrored by the native codec) -----------------------------------------

    def encode(self, value: Any, node_id: int) -> bytes:
        out = bytearray()
        try:
            self.enc[node_id](value, out)
        except CodecError:
            raise
        except mp.ENCODE_ERRORS as exc:
            raise CodecError(str(exc)) from None
        return bytes(out)

    def decode(self, data: bytes, node_id: int) -> Any:
        try:
            value, end = self.dec[node_id](data, 0)
        except CodecError:
            raise
        except mp.DECODE_ERRORS as exc:
            raise CodecError(mp.describe(exc)) from None
        if end != len(data):
            raise CodecError(f"{len(data) - end} trailing bytes after the value")
        return value

    def encode_frame(self, message: Any) -> bytes:
        from .pyhub import encode_frame

        return encode_frame(self, message)

    def decode_frames(
        self, data: bytes, max_message_size: int, result_nodes: Mapping[str, int] | None
    ) -> tuple[list[Any], int]:
        from .pyhub import decode_frames

        return decode_frames(self, data, max_message_size, result_nodes)

    # --- compilation ------------------------------------------------------------------------

    def _compile(self, node: Node) -> tuple[Encoder, Decoder]:
        kind, nullable, a, b, c = node
        enc, dec = self._compile_kind(kind, a, b, c)
        if not nullable:
            return enc, dec

        def enc_opt(v: Any, out: bytearray) -> None:
            if v is None:
                out.append(0xC0)
            else:
                enc(v, out)

        def dec_opt(d: bytes, p: int) -> tuple[Any, int]:
            if d[p] == 0xC0:
                return None, p + 1
            return dec(d, p)

        return enc_opt, dec_opt

    def _compile_kind(self, kind: int, a: Any, b: Any, c: Any) -> tuple[Encoder, Decoder]:
        if kind == K_INT or kind == K_ENUM:
            return _int(a, b, c if kind == K_ENUM else None)
        if kind == K_F32 or kind == K_F64:
            return _float(kind == K_F32)
        if kind == K_BOOL:
            return _bool()
        if kind == K_STR:
            return _str()
        if kind == K_TIMESPAN:
            return _leaf(mp.write_timespan, mp.read_timespan)
        if kind == K_DTO:
            return _leaf(mp.write_dto, mp.read_dto)
        if kind == K_SETTINGS:
            return _settings()
        if kind == K_LIST:
            return _list(self.enc[a], self.dec[a])
        if kind == K_MAP:
            return _map(self.enc[a], self.dec[a], self.enc[b], self.dec[b])
        if kind == K_TUPLE:
            return _tuple([self.enc[i] for i in a], [self.dec[i] for i in a])
        if kind == K_OBJECT:
            return _object(a, [(index, name, self.enc[i], self.dec[i]) for index, name, i in b])
        if kind == K_UNION:
            return _union([(key, cls, self.enc[i], self.dec[i]) for key, cls, i in a])
        if kind == K_ANY:
            return self._any()
        raise ValueError(f"unknown node kind {kind}")

    def _any(self) -> tuple[Encoder, Decoder]:
        def enc(v: Any, out: bytearray) -> None:
            # self.typed is read at call time: it grows when the schema does.
            mp.write_any(out, v, self.typed)

        def dec(d: bytes, p: int) -> tuple[Any, int]:
            return mp.read_any(d, p)

        return enc, dec


def _leaf(write: Callable[[bytearray, Any], None], read: Decoder) -> tuple[Encoder, Decoder]:
    def enc(v: Any, out: bytearray) -> None:
        write(out, v)

    return enc, read


def _int(lo: int, hi: int, members: dict[int, Any] | None) -> tuple[Encoder, Decoder]:
    write_int = mp.write_int
    read_int = mp.read_int

    def enc(v: Any, out: bytearray) -> None:
        if v.__class__ is bool or not isinstance(v, int):
            raise _type_error("int", v)
        if v < lo or v > hi:
            raise CodecError(f"integer {v} outside [{lo}, {hi}]")
        write_int(out, v)

    def dec(d: bytes, p: int) -> tuple[Any, int]:
        v, p = read_int(d, p)
        if v < lo or v > hi:
            raise CodecError(f"integer {v} outside [{lo}, {hi}]")
        return v, p

    if members is None:
        return enc, dec

    def dec_enum(d: bytes, p: int) -> tuple[Any, int]:
        v, p = dec(d, p)
        # Unknown values stay plain ints: newer clients may know more members than we do.
        return members.get(v, v), p

    return enc, dec_enum


def _float(single: bool) -> tuple[Encoder, Decoder]:
    write = mp.write_f32 if single else mp.write_f64

    def enc(v: Any, out: bytearray) -> None:
        if v.__class__ is bool or not isinstance(v, (float, int)):
            raise _type_error("float", v)
        write(out, float(v))

    return enc, mp.read_float


def _bool() -> tuple[Encoder, Decoder]:
    def enc(v: Any, out: bytearray) -> None:
        if v is True:
            out.append(0xC3)
        elif v is False:
            out.append(0xC2)
        else:
            raise _type_error("bool", v)

    return enc, mp.read_bool


def _str() -> tuple[Encoder, Decoder]:
    write_str = mp.write_str

    def enc(v: Any, out: bytearray) -> None:
        if not isinstance(v, str):
            raise _type_error("str", v)
        write_str(out, v)

    return enc, mp.read_str


def _settings() -> tuple[Encoder, Decoder]:
    def enc(v: Any, out: bytearray) -> None:
        if not isinstance(v, dict):
            raise _type_error("dict of mod settings", v)
        # The quirk (ModSettingsDictionaryFormatter.cs): the header announces N, then N key/value
        # pairs follow.
        mp.write_array_header(out, len(v))
        for name, value in v.items():
            if not isinstance(name, str):
                raise _type_error("str setting name", name)
            mp.write_str(out, name)
            mp.write_setting(out, value)

    def dec(d: bytes, p: int) -> tuple[Any, int]:
        n, p = mp.read_array_header(d, p)
        if 2 * n > len(d) - p:
            raise CodecError("settings count exceeds the input")
        settings = {}
        for _ in range(n):
            name, p = mp.read_str(d, p)
            settings[name], p = mp.read_setting(d, p)
        return settings, p

    return enc, dec


def _list(enc_item: Encoder, dec_item: Decoder) -> tuple[Encoder, Decoder]:
    def enc(v: Any, out: bytearray) -> None:
        if not isinstance(v, (list, tuple)):
            raise _type_error("list", v)
        mp.write_array_header(out, len(v))
        for item in v:
            enc_item(item, out)

    def dec(d: bytes, p: int) -> tuple[Any, int]:
        n, p = mp.read_array_header(d, p)
        items: list[Any] = []
        append = items.append
        for _ in range(n):
            item, p = dec_item(d, p)
            append(item)
        return items, p

    return enc, dec


def _map(enc_k: Encoder, dec_k: Decoder, enc_v: Encoder, dec_v: Decoder) -> tuple[Encoder, Decoder]:
    def enc(v: Any, out: bytearray) -> None:
        if not isinstance(v, dict):
            raise _type_error("dict", v)
        mp.write_map_header(out, len(v))
        for key, value in v.items():
            enc_k(key, out)
            enc_v(value, out)

    def dec(d: bytes, p: int) -> tuple[Any, int]:
        n, p = mp.read_map_header(d, p)
        result = {}
        for _ in range(n):
            key, p = dec_k(d, p)
            result[key], p = dec_v(d, p)
        return result, p

    return enc, dec


def _tuple(encs: list[Encoder], decs: list[Decoder]) -> tuple[Encoder, Decoder]:
    size = len(encs)

    def enc(v: Any, out: bytearray) -> None:
        if not isinstance(v, (tuple, list)) or len(v) != size:
            raise CodecError(f"expected a {size}-tuple, got {type(v).__name__}")
        mp.write_array_header(out, size)
        for item, enc_item in zip(v, encs, strict=True):
            enc_item(item, out)

    def dec(d: bytes, p: int) -> tuple[Any, int]:
        n, p = mp.read_array_header(d, p)
        if n != size:
            raise CodecError(f"expected a {size}-element array, got {n}")
        items = []
        for dec_item in decs:
            item, p = dec_item(d, p)
            items.append(item)
        return tuple(items), p

    return enc, dec


def _object(cls: type, fields: list[tuple[int, str, Encoder, Decoder]]) -> tuple[Encoder, Decoder]:
    length = fields[-1][0] + 1 if fields else 0
    # Per array index: (name, encoder, decoder), or None for a gap written as nil.
    slots: list[tuple[str, Encoder, Decoder] | None] = [None] * length
    for index, name, enc_f, dec_f in fields:
        slots[index] = (name, enc_f, dec_f)
    skip = mp.skip
    header = bytearray()
    mp.write_array_header(header, length)
    header_bytes = bytes(header)

    def enc(v: Any, out: bytearray) -> None:
        if not isinstance(v, cls):
            raise _type_error(cls.__name__, v)
        out += header_bytes
        for slot in slots:
            if slot is None:
                out.append(0xC0)
            else:
                slot[1](getattr(v, slot[0]), out)

    def dec(d: bytes, p: int) -> tuple[Any, int]:
        n, p = mp.read_array_header(d, p)
        values = []
        for i in range(n):
            slot = slots[i] if i < length else None
            if slot is None:
                # Gap or a member this build does not know (newer client): skip it.
                p = skip(d, p)
            else:
                value, p = slot[2](d, p)
                values.append(value)
        # Fields are in key order, so the present ones are a prefix; the rest keep defaults.
        return cls(*values), p

    return enc, dec


def _union(cases: list[tuple[int, type, Encoder, Decoder]]) -> tuple[Encoder, Decoder]:
    by_cls: dict[type, tuple[bytes, Encoder]] = {}
    by_key: dict[int, Decoder] = {}
    for key, cls, enc_c, dec_c in cases:
        prefix = bytearray(b"\x92")
        mp.write_int(prefix, key)
        by_cls[cls] = (bytes(prefix), enc_c)
        by_key[key] = dec_c

    def enc(v: Any, out: bytearray) -> None:
        case = by_cls.get(type(v))
        if case is None:
            raise CodecError(f"{type(v).__name__} is not a member of this union")
        out += case[0]
        case[1](v, out)

    def dec(d: bytes, p: int) -> tuple[Any, int]:
        n, p = mp.read_array_header(d, p)
        if n != 2:
            raise CodecError("a union must be a [key, payload] array")
        key, p = mp.read_int(d, p)
        dec_c = by_key.get(key)
        if dec_c is None:
            # Unknown member (newer client): null, payload skipped (DynamicUnionResolver).
            return None, mp.skip(d, p)
        return dec_c(d, p)

    return enc, dec
