"""Compile wire descriptors into the flat node table both codecs execute.

A node is a 5-tuple `(kind, nullable, a, b, c)`; children are referenced by node id and always
have smaller ids than their parents (post-order), so a codec can build its per-node handlers in
one pass. This table, not the descriptors, is what crosses into the native extension.

    ANY       -                       runtime-typed value (results, stream items)
    INT       a=lo, b=hi              compact integer, range-checked
    ENUM      a=lo, b=hi, c=members   compact integer; decodes to the IntEnum member when known
    F32/F64/BOOL/STR/TIMESPAN/DTO/SETTINGS   leaves (MessagePack-CSharp formats; APIMod settings)
    LIST      a=element               array
    MAP       a=key, b=value          map
    TUPLE     a=(element, ...)        fixed-length array -> tuple
    OBJECT    a=class, b=((index, name, node), ...), c=plain   index-keyed array, nil in gaps
    UNION     a=((key, class, node), ...)             [key, payload]
"""

from __future__ import annotations

from typing import Any

from .types import UNIONS
from .wire import (
    ANY,
    BOOL,
    DTO,
    F32,
    F64,
    GUID,
    REGISTRY,
    SETTINGS,
    STR,
    TIMESPAN,
    EnumOf,
    Int,
    ListOf,
    MapOf,
    Opt,
    Prim,
    TupleOf,
    Union,
    Wire,
    layout_of,
)

K_ANY = 0
K_INT = 1
K_ENUM = 2
K_F32 = 3
K_F64 = 4
K_BOOL = 5
K_STR = 6
K_TIMESPAN = 7
K_DTO = 8
K_SETTINGS = 9
K_LIST = 10
K_MAP = 11
K_TUPLE = 12
K_OBJECT = 13
K_UNION = 14

Node = tuple[int, bool, Any, Any, Any]

_LEAVES: dict[Prim, int] = {
    ANY: K_ANY,
    F32: K_F32,
    F64: K_F64,
    BOOL: K_BOOL,
    STR: K_STR,
    GUID: K_STR,
    TIMESPAN: K_TIMESPAN,
    DTO: K_DTO,
    SETTINGS: K_SETTINGS,
}
# Every enum used by the protocol has C#'s default underlying type, int.
_ENUM_LO = -(2**31)
_ENUM_HI = 2**31 - 1


class Schema:
    """The compiled node table, the method table and the runtime type table.

    It only grows (new wire types compiled on first use); `generation` changes whenever it does,
    which tells the codecs built from it to rebuild.
    """

    def __init__(self, methods: dict[str, tuple[Wire, ...]]) -> None:
        self.nodes: list[Node] = []
        self.methods: dict[str, tuple[int, ...]] = {}
        # class -> node encoding it when the declared type is unknown (object or its union).
        self.runtime: dict[type, int] = {}
        self.generation = 0
        self._ids: dict[tuple[Any, bool], int] = {}
        # How many REGISTRY classes are compiled into `runtime` so far.
        self.registered = 0
        self.any_node = self.node(ANY)
        self.sync(methods)

    def sync(self, methods: dict[str, tuple[Wire, ...]]) -> None:
        """Compile methods and hub objects added since the last call."""
        before = len(self.nodes)
        for name, args in methods.items():
            if name not in self.methods:
                self.methods[name] = tuple(self.node(w) for w in args)
                self.generation += 1
        for cls in REGISTRY[self.registered :]:
            self.runtime.setdefault(cls, self.node(cls))
        self.registered = len(REGISTRY)
        # A union member sent where the declared type is unknown still travels as
        # [key, payload]: SignalRUnionWorkaroundResolver maps derived types to their base.
        for union in UNIONS:
            union_id = self.node(union)
            for _, cls in union.cases:
                self.runtime[cls] = union_id
        if len(self.nodes) != before:
            self.generation += 1

    def node(self, wire: Wire, nullable: bool = False) -> int:
        """The id of the node for `wire`, compiling it (and its children) on first use."""
        if isinstance(wire, Opt):
            return self.node(wire.inner, True)
        cache_key = (wire, nullable)
        found = self._ids.get(cache_key)
        if found is not None:
            return found
        node = self._compile(wire, nullable)
        self.nodes.append(node)
        node_id = self._ids[cache_key] = len(self.nodes) - 1
        if isinstance(wire, Union):
            for _, cls in wire.cases:
                self.runtime[cls] = self.node(wire)
        self.generation += 1
        return node_id

    def _compile(self, wire: Wire, nullable: bool) -> Node:
        if isinstance(wire, Prim):
            return (_LEAVES[wire], nullable, None, None, None)
        if isinstance(wire, Int):
            return (K_INT, nullable, wire.lo, wire.hi, None)
        if isinstance(wire, EnumOf):
            members = {int(m): m for m in wire.cls}
            return (K_ENUM, nullable, _ENUM_LO, _ENUM_HI, members)
        if isinstance(wire, ListOf):
            return (K_LIST, nullable, self.node(wire.elem), None, None)
        if isinstance(wire, MapOf):
            return (K_MAP, nullable, self.node(wire.key), self.node(wire.value), None)
        if isinstance(wire, TupleOf):
            return (K_TUPLE, nullable, tuple(self.node(w) for w in wire.elems), None, None)
        if isinstance(wire, Union):
            cases = tuple((k, cls, self.node(cls)) for k, cls in wire.cases)
            return (K_UNION, nullable, cases, None, None)
        if isinstance(wire, type):
            layout = layout_of(wire)
            if layout is None:
                raise TypeError(f"{wire.__name__} is not a @hub_object class")
            fields = tuple((index, name, self.node(w)) for index, name, w in layout)
            # The native decoder may fill a complete instance without calling __init__ (much
            # faster); only when __init__ is the plain dataclass one, which only stores fields.
            new: object = wire.__new__
            plain = not hasattr(wire, "__post_init__") and new is object.__new__
            return (K_OBJECT, nullable, wire, fields, plain)
        raise TypeError(f"not a wire type: {wire!r}")
