"""Hypothesis strategies for valid values of any schema node, derived from the schema itself."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from core.lazer import SCHEMA, Ext, Float32, Int8, Int16, Int64, UInt8, UInt16, UInt32, UInt64
from core.lazer.schema import (
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
)

_INT64 = (-(2**63), 2**63 - 1)
# timedelta ticks must fit an int64
_TICKS_LIMIT = timedelta(microseconds=(2**63 - 1) // 10)

_zones = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
DTOS = st.one_of(
    st.datetimes(timezones=_zones),
    st.datetimes(),  # naive: taken as UTC
)
TIMESPANS = st.timedeltas(min_value=-_TICKS_LIMIT, max_value=_TICKS_LIMIT)

SETTING_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(*_INT64),
    st.floats(),
    st.text(max_size=12),
    st.floats(width=32).map(Float32),
    st.integers(-(2**7), 2**7 - 1).map(Int8),
    st.integers(-(2**15), 2**15 - 1).map(Int16),
    st.integers(*_INT64).map(Int64),
    st.integers(0, 2**8 - 1).map(UInt8),
    st.integers(0, 2**16 - 1).map(UInt16),
    st.integers(0, 2**32 - 1).map(UInt32),
    st.integers(0, 2**64 - 1).map(UInt64),
)

# Runtime-typed values: what a Completion result or stream item may hold besides hub objects.
ANY_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),
        st.floats(),
        st.text(max_size=12),
        st.binary(max_size=12),
        st.builds(Ext, st.integers(-128, 127), st.binary(max_size=20)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.integers(-5, 300), st.text(max_size=5)), inner, max_size=4),
    ),
    max_leaves=12,
)

_cache: dict[int, st.SearchStrategy[Any]] = {}


def for_node(node_id: int) -> st.SearchStrategy[Any]:
    """Valid values of schema node `node_id`."""
    found = _cache.get(node_id)
    if found is None:
        kind, nullable, a, b, c = SCHEMA.nodes[node_id]
        found = _build(kind, a, b, c)
        if nullable:
            found = st.one_of(st.none(), found)
        _cache[node_id] = found
    return found


def _build(kind: int, a: Any, b: Any, c: Any) -> st.SearchStrategy[Any]:
    if kind == K_INT:
        return st.integers(a, b)
    if kind == K_ENUM:
        # Members, and values this build has no member for (a newer client's).
        return st.one_of(st.sampled_from(sorted(c.values())), st.integers(a, b))
    if kind == K_F32:
        return st.one_of(st.floats(width=32), st.floats(-3e38, 3e38), st.integers(-(2**40), 2**40))
    if kind == K_F64:
        return st.one_of(st.floats(), st.integers(-(2**53), 2**53))
    if kind == K_BOOL:
        return st.booleans()
    if kind == K_STR:
        return st.text(max_size=40)
    if kind == K_TIMESPAN:
        return TIMESPANS
    if kind == K_DTO:
        return DTOS
    if kind == K_SETTINGS:
        return st.dictionaries(st.text(max_size=12), SETTING_VALUES, max_size=4)
    if kind == K_LIST:
        return st.lists(for_node(a), max_size=4)
    if kind == K_MAP:
        return st.dictionaries(for_node(a), for_node(b), max_size=3)
    if kind == K_TUPLE:
        return st.tuples(*(for_node(i) for i in a))
    if kind == K_OBJECT:
        return st.builds(a, *(for_node(i) for _, _, i in b))
    if kind == K_UNION:
        return st.one_of(*(for_node(i) for _, _, i in a))
    if kind == K_ANY:
        return ANY_VALUES
    raise ValueError(kind)
