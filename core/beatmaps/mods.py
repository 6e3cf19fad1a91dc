"""Mod acronyms and the legacy bitmask, as osu-web converts them (app/Singletons/Mods.php)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BITS = {
    "NF": 1,
    "EZ": 2,
    "TD": 4,
    "HD": 8,
    "HR": 16,
    "SD": 32,
    "DT": 64,
    "RX": 128,
    "HT": 256,
    "NC": 512,
    "FL": 1024,
    "AT": 2048,
    "SO": 4096,
    "AP": 8192,
    "PF": 16384,
    "4K": 32768,
    "5K": 65536,
    "6K": 131072,
    "7K": 262144,
    "8K": 524288,
    "FI": 1048576,
    "RD": 2097152,
    "CN": 4194304,
    "TP": 8388608,
    "9K": 16777216,
    "DS": 33554432,
    "1K": 67108864,
    "3K": 134217728,
    "2K": 268435456,
    "SV2": 536870912,
    "MR": 1073741824,
}
IMPLIED = {"NC": "DT", "PF": "SD"}

# Mods that exist per ruleset (lazer acronyms); anything else is "invalid mods specified".
_COMMON = {"NF", "EZ", "HD", "HR", "SD", "PF", "DT", "NC", "HT", "DC", "FL", "AT", "CN", "RX"}
_COMMON |= {"DA", "CL", "WU", "WD", "AC", "MU", "NS", "AS", "BR", "SV2", "TC", "SG", "BU"}
VALID = {
    0: _COMMON
    | {"TD", "AP", "SO", "TP", "MR", "RD", "BL", "ST", "AL", "TR", "WG", "SI", "GR"}
    | {"DF", "RP", "FR", "BU", "MG", "DP", "SY", "BM", "FF", "AD", "TC", "SR"},
    1: _COMMON | {"RD", "SW", "CS", "SR", "CO"},
    2: _COMMON | {"MR", "FF", "MF"},
    3: _COMMON
    | {"FI", "RD", "DS", "MR", "CO", "IN", "HO", "NR", "CS"}
    | {f"{n}K" for n in range(1, 11)},
}


class InvalidMods(ValueError):
    pass


def from_bitmask(mask: int) -> list[str]:
    acronyms = [name for name, bit in BITS.items() if mask & bit]
    # 576 is NC (not DT+NC), 16416 is PF.
    for mod, implied in IMPLIED.items():
        if mod in acronyms and implied in acronyms:
            acronyms.remove(implied)
    return acronyms


def to_bitmask(acronyms: Iterable[str]) -> int:
    mask = 0
    for acronym in acronyms:
        mask |= BITS.get(acronym, 0)
        if acronym in IMPLIED:
            mask |= BITS[IMPLIED[acronym]]
    return mask


def parse(value: Any, ruleset: int) -> list[str]:
    """Mods as sent to the API: bitmask, acronym list, acronym string, or Mod objects."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        raise InvalidMods("invalid mods specified")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        mask = int(value)
        if mask < 0 or mask >= 2**31:
            raise InvalidMods("invalid mods specified")
        acronyms = from_bitmask(mask)
    elif isinstance(value, str):
        text = value.strip().upper()
        if len(text) > 200:
            raise InvalidMods("invalid mods specified")
        acronyms = [text[i : i + 2] for i in range(0, len(text), 2)] if "," not in text else []
        if "," in text:
            acronyms = [part.strip() for part in text.split(",") if part.strip()]
    elif isinstance(value, list | dict):
        items = list(value.values()) if isinstance(value, dict) else value
        if len(items) > 50:
            raise InvalidMods("invalid mods specified")
        acronyms = []
        for item in items:
            if isinstance(item, dict):
                item = item.get("acronym")
            if not isinstance(item, str):
                raise InvalidMods("invalid mods specified")
            acronyms.append(item.strip().upper())
    else:
        raise InvalidMods("invalid mods specified")
    acronyms = [a for a in acronyms if a != "NM"]
    if any(a not in VALID.get(ruleset, set()) for a in acronyms):
        raise InvalidMods("invalid mods specified")
    return list(dict.fromkeys(acronyms))
