"""Adapter for the Rust extension `hitcircle_native`: hands it the compiled schema.

The extension knows MessagePack and the node kinds of `schema.py`, nothing about osu!: the node
table, method table and runtime type table are passed in, with the Python classes and converters
it needs to build values, so both codecs share every type definition and edge-case rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from . import messages
from .errors import CodecError
from .mp import MAX_DEPTH, Ext
from .schema import Schema
from .values import (
    SETTING_MARKERS,
    VOID,
    Float32,
    dto_from_wire,
    dto_to_wire,
    timespan_from_ticks,
    timespan_to_ticks,
)

# Bumped whenever the shape of what is passed to the extension changes; a build with another
# value is ignored (pure Python is used) instead of misreading the schema.
NATIVE_ABI = 1


def _config() -> dict[str, Any]:
    return {
        "codec_error": CodecError,
        "void": VOID,
        "ext": Ext,
        "float32": Float32,
        "markers": {cls: code for cls, (code, _, _) in SETTING_MARKERS.items()},
        "dto_to_wire": dto_to_wire,
        "dto_from_wire": dto_from_wire,
        "timespan_to_ticks": timespan_to_ticks,
        "timespan_from_ticks": timespan_from_ticks,
        "datetime": datetime,
        "timedelta": timedelta,
        "max_depth": MAX_DEPTH,
        "invocation": messages.Invocation,
        "stream_invocation": messages.StreamInvocation,
        "stream_item": messages.StreamItem,
        "completion": messages.Completion,
        "cancel_invocation": messages.CancelInvocation,
        "ping": messages.Ping,
        "close": messages.Close,
        "ack": messages.Ack,
        "sequence": messages.Sequence,
        "binding_failure": messages.InvocationBindingFailure,
    }


class NativeCodec:
    """The same interface as PyCodec, executed by the extension."""

    native = True
    # The extension's Codec methods (native/src), bound in refresh(); `module` itself is untyped.
    encode: Callable[[Any, int], bytes]
    decode: Callable[[bytes, int], Any]
    encode_frame: Callable[[Any], bytes]
    _decode_frames: Callable[[bytes, int, Mapping[str, int] | None], tuple[list[Any], int]]

    def __init__(self, schema: Schema, module: Any) -> None:
        self.schema = schema
        self.module = module
        self.generation = -1
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the extension's tables; cheap, and only needed when the schema grew."""
        schema = self.schema
        if self.generation == schema.generation:
            return
        codec = self.module.Codec(
            list(schema.nodes),
            dict(schema.methods),
            dict(schema.runtime),
            schema.any_node,
            _config(),
        )
        # Bound methods, so the facade's call costs one attribute lookup less.
        self.encode = codec.encode
        self.decode = codec.decode
        self.encode_frame = codec.encode_frame
        self._decode_frames = codec.decode_frames
        self.generation = schema.generation

    def decode_frames(
        self, data: bytes, max_message_size: int, result_nodes: Mapping[str, int] | None
    ) -> tuple[list[Any], int]:
        return self._decode_frames(data, max_message_size, result_nodes)
