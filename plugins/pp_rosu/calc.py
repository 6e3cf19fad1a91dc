"""The work functions of the pp process pool: rosu-pp-py, which holds the GIL, runs only here.

Arguments and results are plain data so they cross the process boundary. Parsed beatmaps are kept
per worker process (a small LRU keyed by checksum and ruleset), so a busy map is parsed once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

_CACHE: OrderedDict[tuple[str, int, str], Any] = OrderedDict()
_CACHE_SIZE = 64


class PerformanceError(ValueError):
    pass


def _beatmap(osu: bytes, checksum: str, ruleset_id: int, mods: list[dict[str, Any]]) -> Any:
    import rosu_pp_py as rosu

    # Conversion can depend on mods (mania key mods), so converted maps are cached per mod set.
    key = (checksum, ruleset_id, repr(mods))
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached
    try:
        beatmap = rosu.Beatmap(bytes=osu)
    except Exception as exc:
        raise PerformanceError(f"unreadable beatmap: {exc}") from None
    # rosu-pp-py's stub declares GameMode a plain Enum; the extension class converts with int().
    if ruleset_id != int(beatmap.mode):  # type: ignore[call-overload]
        modes = (rosu.GameMode.Osu, rosu.GameMode.Taiko, rosu.GameMode.Catch, rosu.GameMode.Mania)
        try:
            beatmap.convert(modes[ruleset_id], list(mods))
        except Exception:
            raise PerformanceError("beatmap can't be converted to this ruleset") from None
    _CACHE[key] = beatmap
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return beatmap


def performance_inputs(ruleset_id: int, statistics: Mapping[str, int]) -> dict[str, int]:
    """rosu-pp-py hit counts from lazer statistics (the mapping osu-tools uses)."""
    s = statistics.get
    if ruleset_id == 0:
        return {
            "n300": s("great", 0),
            "n100": s("ok", 0),
            "n50": s("meh", 0),
            "misses": s("miss", 0),
            "large_tick_hits": s("large_tick_hit", 0),
            "small_tick_hits": s("small_tick_hit", 0),
            "slider_end_hits": s("slider_tail_hit", 0),
        }
    if ruleset_id == 1:
        return {"n300": s("great", 0), "n100": s("ok", 0), "misses": s("miss", 0)}
    if ruleset_id == 2:
        return {
            "n300": s("great", 0),
            "n100": s("large_tick_hit", 0),
            "n50": s("small_tick_hit", 0),
            "n_katu": s("small_tick_miss", 0),
            "misses": s("miss", 0) + s("large_tick_miss", 0),
        }
    return {
        "n_geki": s("perfect", 0),
        "n300": s("great", 0),
        "n_katu": s("good", 0),
        "n100": s("ok", 0),
        "n50": s("meh", 0),
        "misses": s("miss", 0),
    }


def _max_judgements(ruleset_id: int, attributes: Any) -> int:
    """An upper bound of the basic judgements (miss..perfect) a play of the map can have."""
    if ruleset_id == 0:
        return (
            int(attributes.n_circles) + 2 * int(attributes.n_sliders) + int(attributes.n_spinners)
        )
    if ruleset_id == 1:
        return int(attributes.max_combo)
    if ruleset_id == 2:
        return int(attributes.n_fruits) + int(attributes.n_droplets)
    return int(attributes.n_objects) + int(attributes.n_hold_notes)


def performance(
    osu: bytes,
    checksum: str,
    ruleset_id: int,
    mods: list[dict[str, Any]],
    statistics: dict[str, int],
    max_combo: int,
) -> dict[str, Any]:
    """pp and difficulty of a lazer score; mods carry their settings (e.g. `speed_change`)."""
    import rosu_pp_py as rosu

    beatmap = _beatmap(osu, checksum, ruleset_id, mods)
    try:
        calculator = rosu.Performance(
            mods=mods, lazer=True, combo=max_combo, **performance_inputs(ruleset_id, statistics)
        )
        result = calculator.calculate(beatmap)
    except Exception as exc:
        raise PerformanceError(f"performance calculation failed: {exc}") from None
    attributes = result.difficulty
    return {
        "pp": float(result.pp),
        "stars": float(attributes.stars),
        "max_combo": int(attributes.max_combo),
        "max_judgements": _max_judgements(ruleset_id, attributes),
    }
