"""Property: the native and pure-Python codecs agree, byte for byte, on every hub type."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.lazer import SCHEMA, Completion, Invocation, StreamItem
from core.lazer.methods import METHODS
from core.lazer.types import UNIONS, FrameDataBundle, MultiplayerRoom, SpectatorState
from core.lazer.wire import ANY, REGISTRY

from . import codecs
from .strategies import ANY_VALUES, for_node

WIRES: list[Any] = [*REGISTRY, *UNIONS, ANY]
HOT = [FrameDataBundle, SpectatorState, MultiplayerRoom]
SETTINGS = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _agree(value: Any, node: int) -> None:
    py, nat = codecs.both()
    data = py.encode(value, node)
    assert nat.encode(value, node) == data
    from_py = py.decode(data, node)
    from_nat = nat.decode(data, node)
    # Compare through re-encoding (NaN != NaN) and repr (types of markers, enums).
    assert repr(from_py) == repr(from_nat)
    assert py.encode(from_py, node) == data
    assert nat.encode(from_nat, node) == data


@pytest.mark.parametrize("wire", WIRES, ids=lambda w: getattr(w, "__name__", None) or w.name)
@SETTINGS
@given(data=st.data())
def test_codecs_agree_on_every_type(wire: Any, data: st.DataObject) -> None:
    node = codecs.node_id(wire)
    _agree(data.draw(for_node(node)), node)


@pytest.mark.parametrize("wire", HOT, ids=lambda w: w.__name__)
@settings(SETTINGS, max_examples=300)
@given(data=st.data())
def test_codecs_agree_on_hot_types(wire: Any, data: st.DataObject) -> None:
    node = codecs.node_id(wire)
    _agree(data.draw(for_node(node)), node)


_ids = st.one_of(st.none(), st.text(max_size=6))
_headers = st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)


@st.composite
def invocations(draw: st.DrawFn) -> Invocation:
    target = draw(st.sampled_from(sorted(METHODS)))
    args = [draw(for_node(node)) for node in SCHEMA.methods[target]]
    stream_ids = draw(st.lists(st.text(max_size=4), max_size=2))
    return Invocation(target, args, draw(_ids), draw(_headers), stream_ids)


_results = st.one_of(
    ANY_VALUES, st.sampled_from(REGISTRY).flatmap(lambda cls: for_node(codecs.node_id(cls)))
)


@SETTINGS
@given(
    message=st.one_of(
        invocations(),
        st.builds(Completion, st.text(max_size=4), _results, st.none(), _headers),
        st.builds(StreamItem, st.text(max_size=4), ANY_VALUES, _headers),
    )
)
def test_codecs_agree_on_hub_messages(message: Any) -> None:
    py, nat = codecs.both()
    frame = py.encode_frame(message)
    assert nat.encode_frame(message) == frame
    # A hub object result must be read with its declared type (it may hold an APIMod).
    result_nodes = None
    if isinstance(message, Completion) and type(message.result) in SCHEMA.runtime:
        result_nodes = {message.invocation_id: SCHEMA.runtime[type(message.result)]}
    from_py, used_py = py.decode_frames(frame, len(frame), result_nodes)
    from_nat, used_nat = nat.decode_frames(frame, len(frame), result_nodes)
    assert used_py == used_nat == len(frame)
    assert repr(from_py) == repr(from_nat)
    assert [nat.encode_frame(m) for m in from_nat] == [frame]
    if isinstance(message, Invocation):
        assert from_py[0].target == message.target
