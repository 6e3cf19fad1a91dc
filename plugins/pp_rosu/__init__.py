"""Built-in pp: the `calculate_performance` hook with rosu-pp-py in the shared process pool.

The hook gets `beatmap` (a beatmap row plus `osu_file`, the `.osu` bytes) and `score` (ruleset_id,
mods with settings, statistics, max_combo) and returns an awaitable of
`{pp, stars, max_combo, max_judgements}`, or None when the beatmap has no file.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from core.beatmaps import difficulty
from core.hooks import hookimpl
from plugins.pp_rosu.calc import PerformanceError, performance


async def _calculate(beatmap: Mapping[str, Any], score: Mapping[str, Any]) -> dict[str, Any] | None:
    osu = beatmap.get("osu_file")
    if not osu:
        return None
    try:
        return await difficulty.run(
            performance,
            osu,
            beatmap.get("checksum") or str(beatmap["id"]),
            int(score["ruleset_id"]),
            list(score["mods"]),
            dict(score["statistics"]),
            int(score["max_combo"]),
        )
    except (PerformanceError, difficulty.DifficultyError):
        return None


@hookimpl
def calculate_performance(
    beatmap: Mapping[str, Any], score: Mapping[str, Any]
) -> Awaitable[dict[str, Any] | None]:
    return _calculate(beatmap, score)
