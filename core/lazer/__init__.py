"""lazer MessagePack codec facade: SignalR framing and hub messages (ASP.NET Core SignalR
HubProtocol.md) and MessagePack-CSharp values as the osu! hub clients write them.

    data = encode(state, SpectatorState)          # any wire type: a hub class, ListOf(APIMod), ...
    state = decode(data, SpectatorState)
    frame = encode_frame(Invocation("UserStateChanged", [1234, MultiplayerUserState.READY]))
    messages, used = decode_frames(buffer)

The native extension `hitcircle_native` is used when importable, unless HITCIRCLE_PURE_CODEC=1;
`NATIVE` says which. Both backends run the same compiled schema and produce identical bytes;
every failure on bad input is a CodecError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Protocol

from . import types
from .errors import CodecError
from .messages import (
    Ack,
    CancelInvocation,
    Close,
    Completion,
    HubMessage,
    Invocation,
    InvocationBindingFailure,
    Ping,
    Sequence,
    StreamInvocation,
    StreamItem,
)
from .methods import METHODS, RETURNS
from .mp import Ext
from .native import NATIVE_ABI, NativeCodec
from .pycodec import PyCodec
from .pyhub import read_varint
from .schema import Schema
from .values import VOID, Float32, Int8, Int16, Int64, UInt8, UInt16, UInt32, UInt64
from .wire import REGISTRY, Wire

__all__ = [
    "NATIVE",
    "SCHEMA",
    "VOID",
    "Ack",
    "CancelInvocation",
    "Close",
    "CodecError",
    "Completion",
    "Ext",
    "Float32",
    "FrameReader",
    "HubMessage",
    "Int8",
    "Int16",
    "Int64",
    "Invocation",
    "InvocationBindingFailure",
    "Ping",
    "Sequence",
    "StreamInvocation",
    "StreamItem",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "available_codecs",
    "decode",
    "decode_frames",
    "encode",
    "encode_frame",
    "node_id",
    "register_method",
    "types",
]

# The official server keeps ASP.NET Core's 32 KiB limit and clients stay below it; twice that
# leaves room without letting one connection buffer much.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024


class Codec(Protocol):
    """What both backends (PyCodec, NativeCodec) offer; node ids come from the shared schema."""

    generation: int

    def refresh(self) -> None: ...
    def encode(self, value: Any, node_id: int, /) -> bytes: ...
    def decode(self, data: bytes, node_id: int, /) -> Any: ...
    def encode_frame(self, message: Any, /) -> bytes: ...
    def decode_frames(
        self, data: bytes, max_message_size: int, result_nodes: Mapping[str, int] | None, /
    ) -> tuple[list[Any], int]: ...


_schema = Schema(METHODS)
# The compiled schema both backends run (read-only outside this module; tests derive from it).
SCHEMA = _schema


def _load_native() -> Any:
    if os.environ.get("HITCIRCLE_PURE_CODEC", "") not in ("", "0"):
        return None
    try:
        import hitcircle_native
    except ImportError:
        return None
    # A stale build (older protocol between Python and Rust) is treated as absent.
    if getattr(hitcircle_native, "ABI", None) != NATIVE_ABI:
        return None
    return hitcircle_native


_native_module = _load_native()
NATIVE: bool = _native_module is not None

_backends: dict[str, Codec] = {"python": PyCodec(_schema)}
if _native_module is not None:
    _backends["native"] = NativeCodec(_schema, _native_module)
_active = _backends["native" if NATIVE else "python"]
_node_ids: dict[Any, int] = {}


def _sync(codec: Codec) -> Codec:
    """Bring the schema and `codec` up to date with hub types or methods added since."""
    if _schema.registered != len(REGISTRY):
        _schema.sync(METHODS)
    if codec.generation != _schema.generation:
        codec.refresh()
    return codec


def _node(wire: Wire) -> int:
    found = _node_ids.get(wire)
    if found is None:
        found = _node_ids[wire] = _schema.node(wire)
    return found


def available_codecs() -> dict[str, Codec]:
    """Every backend that can run here ("python", and "native" when built), for tests and
    benchmarks. Each has encode(value, node), decode(data, node), encode_frame(message) and
    decode_frames(data, max_size, result_nodes); `node_id(wire)` gives the node."""
    return {name: _sync(codec) for name, codec in _backends.items()}


def node_id(wire: Wire) -> int:
    """The compiled schema node of a wire type (for the backend API of available_codecs())."""
    node = _node(wire)
    for codec in _backends.values():
        _sync(codec)
    return node


def encode(value: Any, wire: Wire) -> bytes:
    """`value` as MessagePack of wire type `wire` (a @hub_object class or a descriptor)."""
    node = _node(wire)
    return _sync(_active).encode(value, node)


def decode(data: bytes | bytearray | memoryview, wire: Wire) -> Any:
    """MessagePack `data` holding exactly one value of wire type `wire`."""
    node = _node(wire)
    return _sync(_active).decode(bytes(data), node)


def encode_frame(message: HubMessage) -> bytes:
    """A hub message with its VarInt length prefix, ready for the WebSocket."""
    return _sync(_active).encode_frame(message)


def decode_frames(
    data: bytes | bytearray | memoryview,
    *,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    result_types: Mapping[str, Wire] | None = None,
) -> tuple[list[HubMessage], int]:
    """Every complete message in `data` -> (messages, bytes consumed).

    A trailing partial message is left unconsumed. `result_types` maps invocation ids to the
    declared return type of the call (a client needs it to read results holding APIMods);
    without it results are read as plain values.
    """
    nodes = None
    if result_types:
        nodes = {key: _node(wire) for key, wire in result_types.items()}
    return _sync(_active).decode_frames(bytes(data), max_message_size, nodes)


def register_method(name: str, *arguments: Wire, returns: Wire | None = None) -> None:
    """Declare (or redeclare) a hub method or callback's argument types, and the type a client
    reads its result with (`returns`; None: nothing declared). Both codecs pick it up."""
    METHODS[name] = tuple(arguments)
    if returns is None:
        RETURNS.pop(name, None)
    else:
        RETURNS[name] = returns
    _schema.methods.pop(name, None)
    _schema.sync(METHODS)


class FrameReader:
    """Per-connection receive buffer: feed WebSocket payloads, get whole hub messages.

    The length prefix is checked before the payload is buffered, so an oversized message is
    refused as soon as its prefix arrives.
    """

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._buffer = bytearray()

    def feed(
        self,
        data: bytes | bytearray | memoryview,
        result_types: Mapping[str, Wire] | None = None,
    ) -> list[HubMessage]:
        """Whole messages completed by `data`; `result_types` as for `decode_frames`."""
        buffer = self._buffer
        buffer += data
        # Find the end of the last complete message without decoding anything yet.
        complete = 0
        while True:
            prefix = read_varint(buffer, complete)
            if prefix is None:
                break
            length, start = prefix
            if length > self.max_message_size:
                raise CodecError(
                    f"message of {length} bytes exceeds the {self.max_message_size} limit"
                )
            if start + length > len(buffer):
                break
            complete = start + length
        if complete == 0:
            return []
        messages, used = decode_frames(
            bytes(buffer[:complete]),
            max_message_size=self.max_message_size,
            result_types=result_types,
        )
        del buffer[:used]
        return messages

    @property
    def pending(self) -> int:
        """Bytes buffered towards a message that has not fully arrived."""
        return len(self._buffer)
