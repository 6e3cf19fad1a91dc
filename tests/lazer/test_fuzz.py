"""Fuzz: random and mutated bytes into both decoders. Only CodecError may come out, nothing may
hang or crash, and the two decoders must reach the same verdict and the same values."""

from __future__ import annotations

import faulthandler
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.lazer import CodecError, InvocationBindingFailure
from core.lazer.types import UNIONS
from core.lazer.wire import ANY, REGISTRY

from . import codecs
from .golden import FRAMES, VALUES

FUZZ = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
# A decoder that loops forever would hang the suite: the watchdog dumps stacks and exits.
WATCHDOG_SECONDS = 120

SEEDS = [f.data for f in FRAMES] + [v.data for v in VALUES]
NODE_WIRES: list[Any] = [*REGISTRY, *UNIONS, ANY]


@contextmanager
def watchdog() -> Iterator[None]:
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def _outcome(call: Callable[[], Any], reencode: Callable[[Any], Any]) -> Any:
    """('error',) or ('ok', re-encoded value): comparable across codecs (NaN-safe)."""
    try:
        value = call()
    except CodecError:
        return ("error",)
    try:
        return ("ok", reencode(value))
    except CodecError:
        # Decoded but not encodable (e.g. an untyped result holding a list key): still agree.
        return ("ok-unencodable", repr(value))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A golden vector with a few random byte edits: the inputs most likely to go deep."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and data:
            del data[at]
        elif op == "truncate":
            del data[at:]
    return bytes(data)


inputs = st.one_of(st.binary(max_size=200), mutated())


def _frames_outcome(codec: Any, data: bytes) -> Any:
    def reencode(result: Any) -> Any:
        messages, used = result
        encoded = []
        for m in messages:
            if isinstance(m, InvocationBindingFailure):
                # Never encoded; the error text may be worded differently by each codec.
                encoded.append(("binding failure", m.invocation_id, m.target))
            else:
                encoded.append(codec.encode_frame(m))
        return used, encoded

    return _outcome(lambda: codec.decode_frames(data, 1 << 16, None), reencode)


@FUZZ
@given(data=inputs)
def test_decode_frames_fuzz(data: bytes) -> None:
    py, nat = codecs.both()
    with watchdog():
        assert _frames_outcome(py, data) == _frames_outcome(nat, data)


@FUZZ
@given(data=inputs, wire=st.sampled_from(NODE_WIRES))
def test_decode_value_fuzz(data: bytes, wire: Any) -> None:
    py, nat = codecs.both()
    node = codecs.node_id(wire)
    with watchdog():
        a = _outcome(lambda: py.decode(data, node), lambda v: py.encode(v, node))
        b = _outcome(lambda: nat.decode(data, node), lambda v: nat.encode(v, node))
    assert a == b


@pytest.mark.parametrize("name", codecs.NAMES)
def test_hostile_headers_fail_fast(name: str) -> None:
    """Counts far beyond the input are refused before any allocation or loop."""
    codec = codecs.get(name)
    any_node = codecs.node_id(ANY)
    hostile = [
        b"\xdd\xff\xff\xff\xff",  # array of 4 billion
        b"\xdf\xff\xff\xff\xff",  # map of 4 billion
        b"\xdb\xff\xff\xff\xff",  # string of 4 GB
        b"\xc6\xff\xff\xff\xff",  # binary of 4 GB
        b"\xc9\xff\xff\xff\xff\x01",  # extension of 4 GB
        b"\x91" * 100_000 + b"\xc0",  # nesting far beyond the limit
        b"\xc1",  # the never-used byte
        b"",
    ]
    with watchdog():
        for data in hostile:
            with pytest.raises(CodecError):
                codec.decode(data, any_node)
        for data in hostile:
            frame = bytes([len(data) & 0x7F]) + data if len(data) < 128 else data
            with pytest.raises(CodecError):
                codec.decode_frames(frame + b"\x01\xc1", 1 << 20, None)


@pytest.mark.parametrize("name", codecs.NAMES)
def test_every_truncation_of_every_golden_vector(name: str) -> None:
    codec = codecs.get(name)
    with watchdog():
        for value in VALUES:
            node = codecs.node_id(value.wire)
            for end in range(len(value.data)):
                with pytest.raises(CodecError):
                    codec.decode(value.data[:end], node)
        for frame in FRAMES:
            for end in range(len(frame.data)):
                # A cut frame is simply incomplete: nothing consumed, no error.
                assert codec.decode_frames(frame.data[:end], 1 << 16, None) == ([], 0)
