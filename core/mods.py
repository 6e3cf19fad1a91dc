"""Mods: the lazer catalogue (`mods.json`, package data), validation, pp rules, rate, and the
stable bitmask and acronym lists that API v1 and the legacy score format use.

The catalogue is data derived from ppy/osu-web `database/mods.json` (acronyms, setting names and
types, incompatibilities, user-playable) plus which mods and settings are pp-eligible (the
`Ranked` property of each mod in ppy/osu).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

import orjson

from core.scores.scoring import RULESETS

# Package data, read through importlib.resources so an installed (non-editable) copy finds it.
CATALOGUE = resources.files(__package__).joinpath("mods.json")
MAX_MODS = 32
MAX_SETTINGS = 16
# Mods that automate play: no max-combo statistic for them (osu-queue-score-statistics
# Processors/MaxComboProcessor.cs).
AUTOMATION = frozenset({"AT", "CN", "RX", "AP"})
SPEED_MODS = {"DT": 1.5, "NC": 1.5, "HT": 0.75, "DC": 0.75}
# Stable bitmask: implied mods set when converting to bits (osu-web app/Singletons/Mods.php).


class InvalidMods(ValueError):
    """A mod list the server refuses; `str()` is the message for the client."""


@cache
def catalogue() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(CATALOGUE.read_bytes())
    return data


def ruleset_mods(ruleset: str) -> dict[str, Any]:
    mods: dict[str, Any] = catalogue()["rulesets"][ruleset]
    return mods


def _check_setting(acronym: str, name: str, kind: str, value: Any) -> None:
    if kind == "boolean":
        ok = isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value) and abs(value) <= 1e9
    else:
        # Strings, and enums that lazer sends as integers.
        ok = (isinstance(value, str) and len(value) <= 64) or (
            isinstance(value, int) and not isinstance(value, bool)
        )
    if not ok:
        raise InvalidMods(f"invalid value for setting {name} of mod {acronym}")


def normalise(value: Any, ruleset: str) -> list[dict[str, Any]]:
    """Validated lazer Mod objects `[{acronym, settings?}]`, in the order sent.

    Raises InvalidMods for unknown acronyms, unknown or mistyped settings, duplicates,
    mods a player cannot use and incompatible pairs.
    """
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidMods("mods must be an array")
    if len(value) > MAX_MODS:
        raise InvalidMods("too many mods")
    known = ruleset_mods(ruleset)
    result: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in value:
        if isinstance(item, str):
            item = {"acronym": item}
        if not isinstance(item, dict) or not isinstance(item.get("acronym"), str):
            raise InvalidMods("each mod must be an object with an acronym")
        acronym = item["acronym"].strip().upper()
        entry = known.get(acronym)
        if entry is None:
            raise InvalidMods(f"unknown mod {acronym[:10]} for ruleset {ruleset}")
        if not entry["user_playable"]:
            raise InvalidMods(f"mod {acronym} cannot be used in a submitted score")
        if acronym in seen:
            raise InvalidMods(f"mod {acronym} given twice")
        settings = item.get("settings") or {}
        if not isinstance(settings, dict) or len(settings) > MAX_SETTINGS:
            raise InvalidMods(f"invalid settings for mod {acronym}")
        for name, setting in settings.items():
            kind = entry["settings"].get(name)
            if kind is None:
                raise InvalidMods(f"unknown setting {str(name)[:40]} for mod {acronym}")
            _check_setting(acronym, name, kind, setting)
        seen.add(acronym)
        mod: dict[str, Any] = {"acronym": acronym}
        if settings:
            mod["settings"] = dict(settings)
        result.append(mod)
    for mod in result:
        clash = seen.intersection(known[mod["acronym"]]["incompatible"]) - {mod["acronym"]}
        if clash:
            raise InvalidMods(f"mod {mod['acronym']} is incompatible with {sorted(clash)[0]}")
    return result


def acronyms(mods: Iterable[Mapping[str, Any]]) -> list[str]:
    return [m["acronym"] for m in mods]


def mods_key(mods: Iterable[Mapping[str, Any]]) -> str:
    """The mod combination as a sortable, comparable key: `DT,HD` (empty for no mod)."""
    return ",".join(sorted(set(acronyms(mods))))


def _at_defaults(mod: Mapping[str, Any], ignore: Sequence[str] = ()) -> bool:
    defaults = catalogue()["defaults"].get(mod["acronym"], {})
    for name, value in (mod.get("settings") or {}).items():
        if name in ignore:
            continue
        if name not in defaults or defaults[name] != value:
            return False
    return True


def pp_eligible(mods: Iterable[Mapping[str, Any]], ruleset: str) -> bool:
    """Every mod is `Ranked` in lazer (ppy/osu Mod.Ranked), with the settings it allows."""
    table = catalogue()["ranked"][ruleset]
    for mod in mods:
        acronym = mod["acronym"]
        if acronym in table["any"]:
            continue
        if acronym in table["default_speed"]:
            speed = (mod.get("settings") or {}).get("speed_change")
            if speed is None or speed == SPEED_MODS[acronym]:
                continue
            return False
        if acronym in table["defaults"] and _at_defaults(mod):
            continue
        return False
    return True


def rate(mods: Iterable[Mapping[str, Any]]) -> float:
    """The playback rate the mods set (DT/NC/HT/DC and their `speed_change`; else 1)."""
    for mod in mods:
        default = SPEED_MODS.get(mod["acronym"])
        if default is not None:
            value = (mod.get("settings") or {}).get("speed_change", default)
            return float(value) if isinstance(value, int | float) and value > 0 else default
    return 1.0


def has_automation(mods: Iterable[Mapping[str, Any]]) -> bool:
    return any(m["acronym"] in AUTOMATION for m in mods)


def to_bitmask(mods: Iterable[Mapping[str, Any]]) -> int:
    """The stable bitmask: mapped mods only, implied mods added (NC sets DT, PF SD).

    Mods stable never had (DC, DA, WU, ...) have no bit, as lazer's legacy conversion leaves them.
    """
    return bitmask_of_acronyms(acronyms(mods))


def legacy_acronyms(mods: Iterable[Mapping[str, Any]]) -> list[str]:
    """Acronyms after a round-trip through the bitmask (legacy Score format `mods`)."""
    return from_bitmask(to_bitmask(mods))


def parse_filter(values: Sequence[Any], ruleset: str) -> str | None:
    """Leaderboard `mods[]` filter as a mods key; None = no filter, "" = `NM` (no mod).

    Unknown acronyms are ignored, as the official leaderboard does.
    """
    names = {str(v).strip().upper() for v in values if isinstance(v, str | int) and str(v).strip()}
    if not names:
        return None
    known = ruleset_mods(ruleset) if ruleset in RULESETS else {}
    chosen = sorted(n for n in names if n in known)
    if not chosen and "NM" in names:
        return ""
    if not chosen:
        return None
    return ",".join(chosen)


# --- the stable bitmask and plain acronym lists (API v1, legacy score format) ------------------

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


def from_bitmask(mask: int) -> list[str]:
    acronyms = [name for name, bit in BITS.items() if mask & bit]
    # 576 is NC (not DT+NC), 16416 is PF.
    for mod, implied in IMPLIED.items():
        if mod in acronyms and implied in acronyms:
            acronyms.remove(implied)
    return acronyms


def bitmask_of_acronyms(acronyms: Iterable[str]) -> int:
    mask = 0
    for acronym in acronyms:
        mask |= BITS.get(acronym, 0)
        if acronym in IMPLIED:
            mask |= BITS[IMPLIED[acronym]]
    return mask


def parse_acronyms(value: Any, ruleset: int) -> list[str]:
    """Mods as sent to the API: bitmask, acronym list, acronym string, or Mod objects."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        raise InvalidMods("invalid mods specified")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdecimal()):
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
