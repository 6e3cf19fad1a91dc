"""Every golden vector decodes to its structure and re-encodes byte for byte."""

from __future__ import annotations

import json

import pytest

from core.lazer import Completion, decode_frames, encode_frame

from . import codecs
from .golden import FRAMES, HANDSHAKE_REQUEST, HANDSHAKE_RESPONSE, VALUES, Frame, Value


def _result_nodes(frame: Frame) -> dict[str, int] | None:
    if frame.result_types is None:
        return None
    return {key: codecs.node_id(wire) for key, wire in frame.result_types.items()}


@pytest.mark.parametrize("name", codecs.NAMES)
@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.name)
def test_frame_encodes_to_golden_bytes(name: str, frame: Frame) -> None:
    codec = codecs.get(name)
    assert codec.encode_frame(frame.message) == frame.data


@pytest.mark.parametrize("name", codecs.NAMES)
@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: f.name)
def test_golden_bytes_decode_to_frame(name: str, frame: Frame) -> None:
    codec = codecs.get(name)
    messages, used = codec.decode_frames(frame.data, 1 << 16, _result_nodes(frame))
    assert used == len(frame.data)
    assert messages == [frame.message]
    assert codec.encode_frame(messages[0]) == frame.data


@pytest.mark.parametrize("name", codecs.NAMES)
@pytest.mark.parametrize("value", VALUES, ids=lambda v: v.name)
def test_value_encodes_to_golden_bytes(name: str, value: Value) -> None:
    codec = codecs.get(name)
    assert codec.encode(value.value, codecs.node_id(value.wire)) == value.data


@pytest.mark.parametrize("name", codecs.NAMES)
@pytest.mark.parametrize("value", VALUES, ids=lambda v: v.name)
def test_golden_bytes_decode_to_value(name: str, value: Value) -> None:
    codec = codecs.get(name)
    node = codecs.node_id(value.wire)
    decoded = codec.decode(value.data, node)
    assert decoded == value.value
    assert codec.encode(decoded, node) == value.data


def test_settings_keep_their_codes_when_relayed() -> None:
    """A relayed APIMod re-emits each setting with the code it arrived with."""
    frame = FRAMES[2]  # GV2: DT speed_change as float64
    (message,), _ = decode_frames(frame.data)
    assert encode_frame(message) == frame.data
    da = next(v for v in VALUES if v.name == "APIMod DA two settings")
    for name in codecs.NAMES:
        codec = codecs.get(name)
        node = codecs.node_id(da.wire)
        assert codec.encode(codec.decode(da.data, node), node) == da.data


def test_facade_reads_results_untyped_without_result_types() -> None:
    frame = next(f for f in FRAMES if f.result_types)
    (message,), _ = decode_frames(frame.data)
    assert isinstance(message, Completion)
    assert message.result[0] == 1001  # plain arrays when the return type is not given
    (typed,), _ = decode_frames(frame.data, result_types=frame.result_types)
    assert typed == frame.message


def test_handshake_bytes() -> None:
    """GV1's handshake is JSON + record separator (handled by the SignalR layer)."""
    request = json.dumps({"protocol": "messagepack", "version": 1}, separators=(",", ":"))
    assert request.encode() + b"\x1e" == HANDSHAKE_REQUEST
    assert json.loads(HANDSHAKE_REQUEST[:-1]) == {"protocol": "messagepack", "version": 1}
    assert HANDSHAKE_RESPONSE == b"{}\x1e"
