"""JSON shapes of scores: the new format, the legacy format (ppy/osu-web
app/Transformers/ScoreTransformer.php) and API v1 rows (Solo/Score.php makeLegacyEntry).

`render` builds a list of scores with their includes in a few batched queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.applications import Starlette

from core import mods as mods_domain
from core.beatmaps import store as beatmaps_db
from core.beatmaps import views as beatmap_views
from core.http import time_v1 as v1_date
from core.http import time_z
from core.scores import scoring
from core.scores import store as scores_db
from core.services import services
from core.users import profiles
from core.users import store as users_db

Row = Mapping[str, Any]
NEW_FORMAT_VERSION = 20220705


def statistics_object(statistics: Mapping[str, int]) -> dict[str, int]:
    """Non-zero counts only, never empty (an empty map would serialise as `[]` officially)."""
    kept = {k: int(v) for k, v in statistics.items() if v}
    return kept or {"miss": 0}


def new_format(score: Row) -> dict[str, Any]:
    out: dict[str, Any] = {
        "classic_total_score": int(score["classic_total_score"]),
        "preserve": bool(score["preserve"]),
        "processed": bool(score["processed"]),
        "ranked": bool(score["ranked"]),
        "maximum_statistics": statistics_object(score["maximum_statistics"]),
        "mods": score["mods"],
        "statistics": statistics_object(score["statistics"]),
    }
    if score["mods"] and score["total_score_without_mods"] is not None:
        out["total_score_without_mods"] = int(score["total_score_without_mods"])
    out.update(
        {
            "beatmap_id": int(score["beatmap_id"]),
            "best_id": None,
            "id": int(score["id"]),
            "rank": score["rank"],
            "type": "solo_score",
            "user_id": int(score["user_id"]),
            "accuracy": float(score["accuracy"]),
            "build_id": score["build_id"],
            "ended_at": time_z(score["ended_at"]),
            "has_replay": bool(score["has_replay"]),
            "is_perfect_combo": bool(score["is_perfect_combo"]),
            "legacy_perfect": bool(score["legacy_perfect"]),
            "legacy_score_id": score["legacy_score_id"],
            "legacy_total_score": int(score["legacy_total_score"]),
            "max_combo": int(score["max_combo"]),
            "passed": bool(score["passed"]),
            "pp": score["pp"],
            "ruleset_id": int(score["ruleset_id"]),
            "started_at": time_z(score["started_at"]),
            "total_score": int(score["total_score"]),
            "replay": bool(score["has_replay"]),
        }
    )
    return out


def legacy_counts(score: Row) -> dict[str, int]:
    return scoring.legacy_counts(score["statistics"], scoring.ruleset_name(score["ruleset_id"]))


def legacy_format(score: Row) -> dict[str, Any]:
    ruleset = scoring.ruleset_name(score["ruleset_id"])
    counts = legacy_counts(score)
    acronyms = mods_domain.legacy_acronyms(score["mods"])
    return {
        "accuracy": scoring.stable_accuracy(counts, ruleset),
        "best_id": None,
        "created_at": time_z(score["ended_at"]),
        "id": int(score["id"]),
        "max_combo": int(score["max_combo"]),
        "mode": ruleset,
        "mode_int": int(score["ruleset_id"]),
        "mods": acronyms,
        "passed": bool(score["passed"]),
        "perfect": bool(score["legacy_perfect"]),
        "pp": score["pp"],
        "rank": scoring.stable_grade(counts, ruleset, acronyms, bool(score["passed"])),
        "replay": bool(score["has_replay"]),
        # The official legacy conversion gives lazer-set scores their (zero) ScoreV1 total.
        "score": int(score["legacy_total_score"]),
        "statistics": {
            "count_100": counts["count100"],
            "count_300": counts["count300"],
            "count_50": counts["count50"],
            "count_geki": counts["countgeki"],
            "count_katu": counts["countkatu"],
            "count_miss": counts["countmiss"],
        },
        "type": "solo_score",
        "user_id": int(score["user_id"]),
    }


def shape(score: Row, version: int) -> dict[str, Any]:
    return new_format(score) if version >= NEW_FORMAT_VERSION else legacy_format(score)


def v1_row(
    score: Row, *, beatmap_id: bool, pp: bool, username: str | None = None
) -> dict[str, Any]:
    """An API v1 score row: every value a string (ppy/osu-api wiki, get_scores and get_user_*)."""
    ruleset = scoring.ruleset_name(score["ruleset_id"])
    counts = legacy_counts(score)
    acronyms = mods_domain.acronyms(score["mods"])
    out: dict[str, Any] = {}
    if beatmap_id:
        out["beatmap_id"] = str(score["beatmap_id"])
    out["score_id"] = str(score["id"])
    # Deviation from osu-web (0 for lazer scores): v1 consumers expect a non-zero score.
    out["score"] = str(score["legacy_total_score"] or score["classic_total_score"])
    if username is not None:
        out["username"] = username
    out.update(
        {
            "maxcombo": str(score["max_combo"]),
            "count50": str(counts["count50"]),
            "count100": str(counts["count100"]),
            "count300": str(counts["count300"]),
            "countmiss": str(counts["countmiss"]),
            "countkatu": str(counts["countkatu"]),
            "countgeki": str(counts["countgeki"]),
            "perfect": "1" if score["legacy_perfect"] else "0",
            "enabled_mods": str(score["legacy_mods"]),
            "user_id": str(score["user_id"]),
            "date": v1_date(score["ended_at"]),
            "rank": scoring.stable_grade(counts, ruleset, acronyms, bool(score["passed"])),
        }
    )
    if pp:
        out["pp"] = None if score["pp"] is None else f"{float(score['pp']):.4f}"
        out["replay_available"] = "1" if score["has_replay"] else "0"
    return out


# --- includes ----------------------------------------------------------------------------------


def beatmap_for_score(
    beatmap: Row, beatmapset: Row, ruleset_id: int, public_url: str
) -> dict[str, Any]:
    """BeatmapExtended as a score embeds it: converts say so and carry the score's ruleset."""
    out = beatmap_views.beatmap_includes(
        beatmap_views.beatmap_extended(beatmap, public_url), beatmap, beatmapset
    )
    if int(beatmap["mode"]) != ruleset_id:
        out["convert"] = True
        out["mode"] = scoring.ruleset_name(ruleset_id)
        out["mode_int"] = ruleset_id
    return out


async def render(
    app: Starlette,
    score_list: Sequence[Row],
    *,
    version: int,
    beatmap: bool = False,
    beatmapset: bool = False,
    user: bool = False,
    viewer_id: int | None = None,
    weight_offset: int | None = None,
) -> list[dict[str, Any]]:
    """Scores in the format `version` asks for, with the includes requested, in order."""
    db = services(app).db
    settings = services(app).settings
    maps: dict[int, Row] = {}
    sets: dict[int, Row] = {}
    if beatmap or beatmapset:
        rows = await beatmaps_db.beatmaps_by_ids(db, {int(s["beatmap_id"]) for s in score_list})
        maps = {int(r["id"]): r for r in rows}
        sets = await beatmaps_db.beatmapsets_by_ids(db, {int(r["beatmapset_id"]) for r in rows})
    users: dict[int, dict[str, Any]] = {}
    if user:
        rows_ = await users_db.get_users(db, [int(s["user_id"]) for s in score_list])
        users = {u["id"]: u for u in await profiles.cards(db, rows_, settings)}
    pinned: set[int] = set()
    own = [int(s["id"]) for s in score_list if viewer_id is not None and s["user_id"] == viewer_id]
    if own:
        pinned = await scores_db.pinned_among(db, int(viewer_id or 0), own)
    result = []
    for position, score in enumerate(score_list):
        out = shape(score, version)
        sid = int(score["id"])
        is_own = viewer_id is not None and score["user_id"] == viewer_id
        out["current_user_attributes"] = {
            "pin": {"is_pinned": sid in pinned, "score_id": sid} if is_own else None
        }
        bm = maps.get(int(score["beatmap_id"]))
        bms = sets.get(int(bm["beatmapset_id"])) if bm is not None else None
        if beatmap and bm is not None and bms is not None:
            out["beatmap"] = beatmap_for_score(
                bm, bms, int(score["ruleset_id"]), settings.public_url
            )
        if beatmapset and bms is not None:
            out["beatmapset"] = beatmap_views.beatmapset_compact(bms)
        if user and int(score["user_id"]) in users:
            out["user"] = users[int(score["user_id"])]
        if weight_offset is not None:
            # Position counts from 0 across the whole best list, not the page.
            out["weight"] = scoring.weight(weight_offset + position, score["pp"])
        result.append(out)
    return result
