"""Team JSON shapes (osu-web app/Transformers/TeamTransformer.php and TeamStatistics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.http import time_offset


def compact(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `team` of a user card: {id, name, short_name, flag_url}."""
    return {
        "id": int(row["id"]),
        "name": row["name"],
        "short_name": row["short_name"],
        "flag_url": row["flag_url"],
    }


def full(
    row: Mapping[str, Any],
    leader: dict[str, Any] | None,
    members: list[dict[str, Any]],
    statistics: list[dict[str, Any]],
) -> dict[str, Any]:
    return compact(row) | {
        "colour_primary": row["colour_primary"],
        "colour_secondary": row["colour_secondary"],
        "cover_url": None,
        "created_at": time_offset(row["created_at"]),
        "description": row["description"],
        "leader": leader,
        "members": members,
        "statistics": [statistic(s) for s in statistics],
    }


def statistic(stat: Mapping[str, Any]) -> dict[str, Any]:
    """A team's sums in one ruleset; performance is whole pp, as osu-web stores it."""
    return {
        "team_id": stat["team_id"],
        "ruleset_id": stat["ruleset_id"],
        "play_count": stat["play_count"],
        "ranked_score": stat["ranked_score"],
        "performance": round(stat["performance"]),
        "rank": stat.get("rank"),
        "member_count": stat["member_count"],
    }


def request(row: Mapping[str, Any], team: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "kind": row["kind"],
        "team": None if team is None else compact(team),
        "user_id": int(row["user_id"]),
        "created_at": time_offset(row["created_at"]),
    }
