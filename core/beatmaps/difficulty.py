"""Difficulty with rosu-pp-py, in a process pool: it holds the GIL, so never on the event loop.

The pool is created on first use in each server process and shut down at exit (or by
`shutdown()`); the work functions take and return plain data so they cross the process boundary.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
_workers = 2


class DifficultyError(ValueError):
    pass


def configure(workers: int) -> None:
    global _workers
    _workers = max(1, workers)


def pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # forkserver: workers start clean, not as forks of a process with threads and sockets.
            context = multiprocessing.get_context("forkserver")
            _pool = ProcessPoolExecutor(
                max_workers=_workers,
                mp_context=context,
                # Ctrl-C reaches the whole process group: the server stops the pool itself, so
                # its workers must not die mid-task with a KeyboardInterrupt of their own.
                initializer=signal.signal,
                initargs=(signal.SIGINT, signal.SIG_IGN),
            )
        return _pool


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None


async def run(func: Any, *args: Any, timeout: float = 30.0) -> Any:
    loop = asyncio.get_running_loop()
    try:
        future = loop.run_in_executor(pool(), func, *args)
    except RuntimeError:
        # The pool was shut down (a broken worker, or interpreter exit): start a new one.
        shutdown()
        future = loop.run_in_executor(pool(), func, *args)
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError:
        raise DifficultyError("difficulty calculation took too long") from None
    except Exception as exc:
        if type(exc).__name__ == "BrokenProcessPool":
            shutdown()
        raise


# --- work functions (run in the worker processes) -----------------------------------------

_ATTRIBUTE_NAMES = {
    0: (
        ("aim_difficulty", "aim"),
        ("aim_difficult_slider_count", "aim_difficult_slider_count"),
        ("speed_difficulty", "speed"),
        ("speed_note_count", "speed_note_count"),
        ("slider_factor", "slider_factor"),
        ("aim_difficult_strain_count", "aim_difficult_strain_count"),
        ("speed_difficult_strain_count", "speed_difficult_strain_count"),
        ("flashlight_difficulty", "flashlight"),
        ("approach_rate", "ar"),
        ("overall_difficulty", "od"),
    ),
    1: (
        ("mono_stamina_factor", "mono_stamina_factor"),
        ("stamina_difficulty", "stamina"),
        ("rhythm_difficulty", "rhythm"),
        ("colour_difficulty", "color"),
        ("great_hit_window", "great_hit_window"),
    ),
    2: (("approach_rate", "ar"),),
    3: (("great_hit_window", "great_hit_window"),),
}


def attributes(osu: bytes, ruleset: int, mods: list[str]) -> dict[str, Any]:
    """DifficultyAttributes for a `.osu` file, ruleset and mod acronyms.

    The shape is osu-web's (resources/views/docs/_structures/beatmap_difficulty_attributes.md).
    """
    import rosu_pp_py as rosu

    try:
        beatmap = rosu.Beatmap(bytes=osu)
    except Exception as exc:
        raise DifficultyError(f"unreadable beatmap: {exc}") from None
    # rosu-pp-py's stub declares GameMode a plain Enum; the extension class converts with int().
    if ruleset != int(beatmap.mode):  # type: ignore[call-overload]
        try:
            modes = (
                rosu.GameMode.Osu,
                rosu.GameMode.Taiko,
                rosu.GameMode.Catch,
                rosu.GameMode.Mania,
            )
            beatmap.convert(modes[ruleset], [{"acronym": m} for m in mods])
        except Exception:
            raise DifficultyError(
                "specified beatmap can't be converted to the specified ruleset"
            ) from None
    result = rosu.Difficulty(mods=[{"acronym": m} for m in mods]).calculate(beatmap)
    out: dict[str, Any] = {"star_rating": float(result.stars), "max_combo": int(result.max_combo)}
    for name, attribute in _ATTRIBUTE_NAMES.get(ruleset, ()):
        value = getattr(result, attribute, None)
        if value is not None:
            out[name] = value
    return out


def summary(osu: bytes) -> tuple[float, int]:
    """Nomod star rating and max combo, for imports."""
    import rosu_pp_py as rosu

    try:
        beatmap = rosu.Beatmap(bytes=osu)
    except Exception as exc:
        raise DifficultyError(f"unreadable beatmap: {exc}") from None
    result = rosu.Difficulty().calculate(beatmap)
    return float(result.stars), int(result.max_combo)


def converts(osu: bytes) -> list[dict[str, Any]]:
    """An osu! beatmap converted to taiko, catch and mania (in that order, osu-web's): each one's
    nomod star rating, max combo and `cs` (for mania, the key count the conversion chose)."""
    import rosu_pp_py as rosu

    out: list[dict[str, Any]] = []
    for ruleset, mode in (
        (1, rosu.GameMode.Taiko),
        (2, rosu.GameMode.Catch),
        (3, rosu.GameMode.Mania),
    ):
        try:
            beatmap = rosu.Beatmap(bytes=osu)
            beatmap.convert(mode, [])
        except Exception as exc:
            raise DifficultyError(f"unconvertible beatmap: {exc}") from None
        result = rosu.Difficulty().calculate(beatmap)
        out.append(
            {
                "ruleset": ruleset,
                "difficulty_rating": float(result.stars),
                "max_combo": int(result.max_combo),
                "cs": float(beatmap.cs),
            }
        )
    return out


def summary_with_converts(osu: bytes) -> tuple[float, int, list[dict[str, Any]] | None]:
    """`summary`, plus `converts` for an osu! file (None for other rulesets, or when rosu-pp
    cannot convert it): what an import needs, in one trip to the pool."""
    stars, max_combo = summary(osu)
    import rosu_pp_py as rosu

    if int(rosu.Beatmap(bytes=osu).mode) != 0:  # type: ignore[call-overload]
        return stars, max_combo, None
    try:
        return stars, max_combo, converts(osu)
    except DifficultyError:
        return stars, max_combo, None
