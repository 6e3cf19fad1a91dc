"""Wire type descriptors: the vocabulary the hub type schema is written in (the `[Key(n)]`
layouts of ppy/osu osu.Game/Online/**).

A descriptor says how one value travels; `schema.py` compiles descriptors into the node table that
both codecs (pure Python and native) execute, so a type is described exactly once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, TypeVar, dataclass_transform

# Every @hub_object class in definition order: the runtime-typed (ANY) encoder knows them all,
# the way SignalR serialises arguments and results by their runtime type.
REGISTRY: list[type] = []

# Field metadata keys that `key()` stores and `hub_object` reads back.
_KEY = "lazer_key"
_WIRE = "lazer_wire"


@dataclass(frozen=True, slots=True)
class Int:
    """An integer of a CLR type, written compactly, checked against the type's range."""

    name: str
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class Prim:
    """A leaf with a fixed encoding rule (float widths, bool, str, TimeSpan, DTO, mod settings)."""

    name: str


@dataclass(frozen=True, slots=True)
class Opt:
    """`T?`: nil is allowed. Everything else is non-nullable, so misuse fails loudly."""

    inner: Wire


@dataclass(frozen=True, slots=True)
class ListOf:
    elem: Wire


@dataclass(frozen=True, slots=True)
class MapOf:
    key: Wire
    value: Wire


@dataclass(frozen=True, slots=True)
class TupleOf:
    """`ValueTuple<A, B, ...>`: a fixed-length array, a Python tuple."""

    elems: tuple[Wire, ...]


@dataclass(frozen=True, slots=True)
class EnumOf:
    """An int enum: compact integer on the wire, the IntEnum member in Python."""

    cls: type[IntEnum]


@dataclass(frozen=True, slots=True, eq=False)
class Union:
    """A MessagePack-CSharp union base: `[key, payload]` wherever the declared type is the base.

    Compared by identity: each union base is declared once in `types.py`.
    """

    name: str
    cases: tuple[tuple[int, type], ...]


# A wire type is a descriptor or a class decorated with @hub_object.
Wire = Int | Prim | Opt | ListOf | MapOf | TupleOf | EnumOf | Union | type

U8 = Int("byte", 0, 0xFF)
U16 = Int("uint16", 0, 0xFFFF)
I16 = Int("int16", -(2**15), 2**15 - 1)
I32 = Int("int32", -(2**31), 2**31 - 1)
U32 = Int("uint32", 0, 2**32 - 1)
I64 = Int("int64", -(2**63), 2**63 - 1)
U64 = Int("uint64", 0, 2**64 - 1)

F32 = Prim("f32")
F64 = Prim("f64")
BOOL = Prim("bool")
STR = Prim("str")
# Guid is a value type written as its 36-character string; Python keeps the string.
GUID = Prim("guid")
TIMESPAN = Prim("timespan")
DTO = Prim("dto")
# APIMod.Settings: array header N, then 2N items (ppy/osu ModSettingsDictionaryFormatter.cs).
SETTINGS = Prim("settings")
# Anything, typed at run time like SignalR does for results and unknown arguments.
ANY = Prim("any")


def key(index: int, wire: Wire, default: Any = dataclasses.MISSING, *, factory: Any = None) -> Any:
    """Declare a hub object member: its MessagePack `[Key(index)]`, wire type and default.

    Defaults matter: a shorter array from an older client leaves the tail at these values
    (MessagePack-CSharp DynamicObjectResolver.cs).
    Pass `default=` by keyword: type checkers read `key` as a dataclass field specifier (PEP 681),
    which only sees a keyword default.
    """
    meta = {_KEY: index, _WIRE: wire}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


_T = TypeVar("_T")


@dataclass_transform(field_specifiers=(key,))
def hub_object(cls: type[_T]) -> type[_T]:
    """Make `cls` a slotted dataclass and record its `(index, name, wire)` layout.

    Fields must be declared in key order: the decoders build instances positionally, so the n-th
    present key is the n-th constructor argument and missing trailing keys take their defaults.
    """
    # The slotted copy gains dataclass fields and __hub_layout__, which type[_T] does not declare.
    dc: type[Any] = dataclass(slots=True)(cls)
    layout: list[tuple[int, str, Wire]] = []
    for f in dataclasses.fields(dc):
        if _KEY not in f.metadata:
            raise TypeError(f"{cls.__name__}.{f.name} has no key()")
        layout.append((f.metadata[_KEY], f.name, f.metadata[_WIRE]))
    indices = [index for index, _, _ in layout]
    if indices != sorted(set(indices)) or (indices and indices[0] < 0):
        raise TypeError(f"{cls.__name__}: keys must be unique, non-negative and in field order")
    dc.__hub_layout__ = tuple(layout)
    REGISTRY.append(dc)
    return dc


def layout_of(cls: type) -> tuple[tuple[int, str, Wire], ...] | None:
    """The recorded layout of a hub object class, or None for any other class."""
    return cls.__dict__.get("__hub_layout__")
