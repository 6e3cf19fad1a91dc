"""User statistics per ruleset (UserStatistics, osu-web UserStatisticsTransformer.php).

Until scores are processed every user has the all-zero statistics; the Scores area fills
`statistics_for` from its tables. Callers always get a complete object, never missing keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from databases import Database

from core.scores.scoring import RULESETS
from core.users import user_statistics


def ruleset_id(name: str) -> int | None:
    try:
        return RULESETS.index(name)
    except ValueError:
        return None


def with_rank_includes(stats: dict[str, Any], ruleset: str) -> dict[str, Any]:
    """The `country_rank`, `rank` and (mania) `variants` includes of Get User."""
    result = dict(stats)
    result.setdefault("country_rank", None)
    result.setdefault("rank", {"country": result["country_rank"]})
    if ruleset == "mania":
        result.setdefault(
            "variants",
            [
                {"mode": "mania", "variant": v, "country_rank": None, "global_rank": None, "pp": 0}
                for v in ("4k", "7k")
            ],
        )
    return result


async def statistics_for(
    db: Database, user_ids: Sequence[int], ruleset: str
) -> dict[int, dict[str, Any]]:
    """UserStatistics by user id for one ruleset (stored by the Scores area; zeros if none)."""
    return await user_statistics.statistics_for(db, user_ids, RULESETS.index(ruleset))


def v1_fields(stats: dict[str, Any]) -> dict[str, str]:
    """API v1 `get_user` statistics as strings."""
    grades = stats["grade_counts"]
    level = stats["level"]
    return {
        "count300": str(stats["count_300"]),
        "count100": str(stats["count_100"]),
        "count50": str(stats["count_50"]),
        "playcount": str(stats["play_count"]),
        "ranked_score": str(stats["ranked_score"]),
        "total_score": str(stats["total_score"]),
        "pp_rank": str(stats["global_rank"] or 0),
        "level": _num(level["current"] + level["progress"] / 100),
        "pp_raw": _num(stats["pp"]),
        "accuracy": _num(stats["hit_accuracy"]),
        "count_rank_ss": str(grades["ss"]),
        "count_rank_ssh": str(grades["ssh"]),
        "count_rank_s": str(grades["s"]),
        "count_rank_sh": str(grades["sh"]),
        "count_rank_a": str(grades["a"]),
        "total_seconds_played": str(stats["play_time"]),
        "pp_country_rank": str(stats.get("country_rank") or 0),
    }


def _num(value: float) -> str:
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text or "0"
