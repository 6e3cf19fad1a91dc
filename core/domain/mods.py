"""Lazer mods: the catalogue (`mods.json`, package data), validation, pp rules, rate and bitmask.

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

from core.beatmaps import mods as legacy_mods
from core.domain.scoring import RULESETS

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
    return legacy_mods.to_bitmask(acronyms(mods))


def legacy_acronyms(mods: Iterable[Mapping[str, Any]]) -> list[str]:
    """Acronyms after a round-trip through the bitmask (legacy Score format `mods`)."""
    return legacy_mods.from_bitmask(to_bitmask(mods))


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
