"""SignalR MessagePack hub protocol in pure Python: VarInt framing and messages (dotnet/aspnetcore
src/SignalR/docs/specs/HubProtocol.md).

Arguments are encoded and decoded with the declared types of the target (`methods.py`); results
and stream items are typed at run time. A payload is decoded from its own slice, so a bad
argument cannot desynchronise the stream: it becomes an InvocationBindingFailure, like in
ASP.NET Core, while a malformed envelope raises CodecError (the connection should be closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import messages as m
from . import mp
from .errors import CodecError
from .values import INT64_MAX, INT64_MIN, VOID

if TYPE_CHECKING:
    from .pycodec import PyCodec

# ASP.NET Core refuses lengths that do not fit an int32 ("Messages over 2GB").
MAX_FRAME = 2**31 - 1


def write_varint(out: bytearray, n: int) -> None:
    """The length prefix: 7-bit groups, least significant first (BinaryMessageFormatter)."""
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def read_varint(d: bytes | bytearray, p: int) -> tuple[int, int] | None:
    """(length, payload offset), or None while the prefix is still incomplete."""
    length = 0
    for i in range(5):
        if p + i >= len(d):
            return None
        b = d[p + i]
        length |= (b & 0x7F) << (7 * i)
        if not b & 0x80:
            if length > MAX_FRAME:
                raise CodecError("message length over 2 GB")
            return length, p + i + 1
    raise CodecError("length prefix longer than 5 bytes")


# --- encoding -------------------------------------------------------------------------------


def _write_headers(out: bytearray, headers: Any) -> None:
    if not isinstance(headers, dict):
        raise CodecError("headers must be a dict")
    mp.write_map_header(out, len(headers))
    for k, v in headers.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise CodecError("headers must map str to str")
        mp.write_str(out, k)
        mp.write_str(out, v)


def _write_opt_str(out: bytearray, v: Any) -> None:
    if v is None:
        out.append(0xC0)
    elif isinstance(v, str):
        mp.write_str(out, v)
    else:
        raise CodecError(f"expected str or None, got {type(v).__name__}")


def encode_message(codec: PyCodec, msg: Any) -> bytes:
    """One hub message payload, without the length prefix."""
    out = bytearray()
    t = type(msg)
    if t is m.Invocation or t is m.StreamInvocation:
        out.append(0x96)
        out.append(m.INVOCATION if t is m.Invocation else m.STREAM_INVOCATION)
        _write_headers(out, msg.headers)
        _write_opt_str(out, msg.invocation_id)
        if not isinstance(msg.target, str):
            raise CodecError("target must be a str")
        mp.write_str(out, msg.target)
        args = msg.arguments
        if not isinstance(args, (list, tuple)):
            raise CodecError("arguments must be a list")
        nodes = codec.schema.methods.get(msg.target)
        if nodes is None:
            # Unknown target: runtime-typed, as SignalR would serialise object[] arguments.
            nodes = (codec.schema.any_node,) * len(args)
        elif len(nodes) != len(args):
            raise CodecError(f"{msg.target} takes {len(nodes)} argument(s), got {len(args)}")
        mp.write_array_header(out, len(args))
        enc = codec.enc
        for arg, node_id in zip(args, nodes, strict=True):
            enc[node_id](arg, out)
        stream_ids = msg.stream_ids
        if not isinstance(stream_ids, (list, tuple)):
            raise CodecError("stream_ids must be a list")
        mp.write_array_header(out, len(stream_ids))
        for sid in stream_ids:
            if not isinstance(sid, str):
                raise CodecError("stream ids must be str")
            mp.write_str(out, sid)
    elif t is m.Completion:
        if msg.error is not None:
            if not isinstance(msg.error, str):
                raise CodecError("error must be a str")
            out += b"\x95\x03"
            _write_headers(out, msg.headers)
            _write_opt_str(out, msg.invocation_id)
            out.append(m.COMPLETION_ERROR)
            mp.write_str(out, msg.error)
        elif msg.result is VOID:
            out += b"\x94\x03"
            _write_headers(out, msg.headers)
            _write_opt_str(out, msg.invocation_id)
            out.append(m.COMPLETION_VOID)
        else:
            out += b"\x95\x03"
            _write_headers(out, msg.headers)
            _write_opt_str(out, msg.invocation_id)
            out.append(m.COMPLETION_RESULT)
            codec.enc[codec.schema.any_node](msg.result, out)
    elif t is m.StreamItem:
        out += b"\x94\x02"
        _write_headers(out, msg.headers)
        _write_opt_str(out, msg.invocation_id)
        codec.enc[codec.schema.any_node](msg.item, out)
    elif t is m.CancelInvocation:
        out += b"\x93\x05"
        _write_headers(out, msg.headers)
        _write_opt_str(out, msg.invocation_id)
    elif t is m.Ping:
        out += b"\x91\x06"
    elif t is m.Close:
        out += b"\x93\x07"
        _write_opt_str(out, msg.error)
        if msg.allow_reconnect is not True and msg.allow_reconnect is not False:
            raise CodecError("allow_reconnect must be a bool")
        out.append(0xC3 if msg.allow_reconnect else 0xC2)
    elif t is m.Ack or t is m.Sequence:
        out.append(0x92)
        out.append(m.ACK if t is m.Ack else m.SEQUENCE)
        seq = msg.sequence_id
        if seq.__class__ is bool or not isinstance(seq, int):
            raise CodecError("sequence_id must be an int")
        if not INT64_MIN <= seq <= INT64_MAX:
            raise CodecError("sequence_id out of range")
        mp.write_int(out, seq)
    else:
        raise CodecError(f"cannot encode {t.__name__} as a hub message")
    return bytes(out)


def encode_frame(codec: PyCodec, msg: Any) -> bytes:
    try:
        payload = encode_message(codec, msg)
    except CodecError:
        raise
    except mp.ENCODE_ERRORS as exc:
        raise CodecError(str(exc)) from None
    if len(payload) > MAX_FRAME:
        raise CodecError("message over 2 GB")
    out = bytearray()
    write_varint(out, len(payload))
    out += payload
    return bytes(out)


# --- decoding -------------------------------------------------------------------------------


def _read_headers(d: bytes, p: int) -> tuple[dict[str, str], int]:
    n, p = mp.read_map_header(d, p)
    headers = {}
    for _ in range(n):
        k, p = mp.read_str(d, p)
        headers[k], p = mp.read_str(d, p)
    return headers, p


def _read_invocation(codec: PyCodec, d: bytes, p: int, n: int, kind: int) -> Any:
    if n < 5:
        raise CodecError("invocation with fewer than 5 elements")
    headers, p = _read_headers(d, p)
    invocation_id, p = mp.read_opt_str(d, p)
    target, p = mp.read_str(d, p)
    nodes = codec.schema.methods.get(target)
    if nodes is None:
        return m.InvocationBindingFailure(invocation_id, target, f"Unknown hub method '{target}'")
    argc, p = mp.read_array_header(d, p)
    if argc != len(nodes):
        return m.InvocationBindingFailure(
            invocation_id,
            target,
            f"Invocation provides {argc} argument(s) but target expects {len(nodes)}.",
        )
    args = []
    dec = codec.dec
    try:
        for node_id in nodes:
            arg, p = dec[node_id](d, p)
            args.append(arg)
    except mp.DECODE_ERRORS as exc:  # CodecError is a ValueError
        return m.InvocationBindingFailure(
            invocation_id, target, f"Error binding arguments: {mp.describe(exc)}"
        )
    stream_ids = []
    if n >= 6:
        count, p = mp.read_array_header(d, p)
        for _ in range(count):
            sid, p = mp.read_str(d, p)
            stream_ids.append(sid)
    cls = m.Invocation if kind == m.INVOCATION else m.StreamInvocation
    return cls(target, args, invocation_id, headers, stream_ids)


def decode_message(codec: PyCodec, d: bytes, result_nodes: Mapping[str, int] | None) -> Any:
    """One payload -> message, or None for a message type this protocol version ignores."""
    n, p = mp.read_array_header(d, 0)
    if n < 1:
        raise CodecError("empty hub message")
    kind, p = mp.read_int(d, p)
    if kind == m.INVOCATION or kind == m.STREAM_INVOCATION:
        return _read_invocation(codec, d, p, n, kind)
    if kind == m.COMPLETION:
        if n < 4:
            raise CodecError("completion with fewer than 4 elements")
        headers, p = _read_headers(d, p)
        invocation_id, p = mp.read_opt_str(d, p)
        result_kind, p = mp.read_int(d, p)
        if result_kind == m.COMPLETION_VOID:
            return m.Completion(invocation_id, VOID, None, headers)
        if result_kind != m.COMPLETION_ERROR and result_kind != m.COMPLETION_RESULT:
            raise CodecError(f"invalid completion result kind {result_kind}")
        if n < 5:
            raise CodecError("completion without its error or result")
        if result_kind == m.COMPLETION_ERROR:
            error, p = mp.read_str(d, p)
            return m.Completion(invocation_id, VOID, error, headers)
        node_id = codec.schema.any_node
        if result_nodes is not None and invocation_id is not None:
            node_id = result_nodes.get(invocation_id, node_id)
        result, p = codec.dec[node_id](d, p)
        return m.Completion(invocation_id, result, None, headers)
    if kind == m.STREAM_ITEM:
        if n < 4:
            raise CodecError("stream item with fewer than 4 elements")
        headers, p = _read_headers(d, p)
        invocation_id, p = mp.read_opt_str(d, p)
        item, p = mp.read_any(d, p)
        return m.StreamItem(invocation_id, item, headers)
    if kind == m.CANCEL_INVOCATION:
        if n < 3:
            raise CodecError("cancel invocation with fewer than 3 elements")
        headers, p = _read_headers(d, p)
        invocation_id, p = mp.read_opt_str(d, p)
        return m.CancelInvocation(invocation_id, headers)
    if kind == m.PING:
        return m.Ping()
    if kind == m.CLOSE:
        if n < 2:
            raise CodecError("close with fewer than 2 elements")
        close_error, p = mp.read_opt_str(d, p)
        allow_reconnect = False
        if n >= 3:
            allow_reconnect, p = mp.read_bool(d, p)
        return m.Close(close_error, allow_reconnect)
    if kind == m.ACK or kind == m.SEQUENCE:
        if n < 2:
            raise CodecError("ack/sequence with fewer than 2 elements")
        seq, p = mp.read_int(d, p)
        if not INT64_MIN <= seq <= INT64_MAX:
            raise CodecError("sequence id out of range")
        return (m.Ack if kind == m.ACK else m.Sequence)(seq)
    # Unknown types are ignored for forward compatibility (MessagePackHubProtocolWorker.cs).
    return None


def decode_frames(
    codec: PyCodec,
    data: bytes,
    max_message_size: int,
    result_nodes: Mapping[str, int] | None,
) -> tuple[list[Any], int]:
    """Every complete message in `data` -> (messages, bytes consumed); a partial tail is left."""
    messages = []
    p = 0
    end = len(data)
    while p < end:
        prefix = read_varint(data, p)
        if prefix is None:
            break
        length, start = prefix
        if length > max_message_size:
            raise CodecError(f"message of {length} bytes exceeds the {max_message_size} limit")
        stop = start + length
        if stop > end:
            break
        payload = data[start:stop]
        try:
            msg = decode_message(codec, payload, result_nodes)
        except CodecError:
            raise
        except mp.DECODE_ERRORS as exc:
            raise CodecError(mp.describe(exc)) from None
        if msg is not None:
            messages.append(msg)
        p = stop
    return messages, p
