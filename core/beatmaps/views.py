"""API v2 shapes of beatmaps and beatmapsets, built from table rows (ppy/osu-web
app/Transformers/: BeatmapCompact, Beatmap, BeatmapsetCompact and BeatmapsetTransformer.php)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from core.beatmaps.store import SETTLED_STATUSES, STATUS_NAMES
from core.http import time_z
from core.scores.scoring import RULESETS

Row = Mapping[str, Any]

GENRES = {
    0: "Any",
    1: "Unspecified",
    2: "Video Game",
    3: "Anime",
    4: "Rock",
    5: "Pop",
    6: "Other",
    7: "Novelty",
    9: "Hip Hop",
    10: "Electronic",
    11: "Metal",
    12: "Classical",
    13: "Folk",
    14: "Jazz",
}
LANGUAGES = {
    0: "Any",
    1: "Unspecified",
    2: "English",
    3: "Japanese",
    4: "Chinese",
    5: "Instrumental",
    6: "Korean",
    7: "French",
    8: "German",
    9: "Swedish",
    10: "Spanish",
    11: "Italian",
    12: "Russian",
    13: "Polish",
    14: "Other",
}
ASSETS = "https://assets.ppy.sh/beatmaps"


def _epoch(value: dt.datetime | None) -> int:
    return int(value.replace(tzinfo=dt.UTC).timestamp()) if value else 0


def status_name(value: int) -> str:
    return STATUS_NAMES.get(int(value), "pending")


def beatmap_compact(row: Row) -> dict[str, Any]:
    return {
        "beatmapset_id": row["beatmapset_id"],
        "difficulty_rating": round(float(row["difficulty_rating"]), 2),
        "id": row["id"],
        "lazer_only": False,
        "mode": RULESETS[row["mode"]],
        "status": status_name(row["status"]),
        "total_length": row["total_length"],
        "user_id": row["user_id"],
        "version": row["version"],
    }


def beatmap_extended(row: Row, public_url: str) -> dict[str, Any]:
    out = beatmap_compact(row)
    status = int(row["status"])
    out.update(
        {
            "accuracy": row["accuracy"],
            "ar": row["ar"],
            "bpm": row["bpm"],
            "convert": False,
            "count_circles": row["count_circles"],
            "count_sliders": row["count_sliders"],
            "count_spinners": row["count_spinners"],
            "cs": row["cs"],
            "deleted_at": time_z(row["deleted_at"]),
            "drain": row["drain"],
            "hit_length": row["hit_length"],
            "is_scoreable": status > 0,
            "last_updated": time_z(row["last_updated"]),
            "mode_int": row["mode"],
            "passcount": row["passcount"],
            "playcount": row["playcount"],
            "ranked": status,
            "url": f"{public_url}/beatmaps/{row['id']}",
            "checksum": row["checksum"],
        }
    )
    return out


def beatmap_includes(out: dict[str, Any], row: Row, owner: Mapping[str, Any]) -> dict[str, Any]:
    """The includes every beatmap endpoint adds (except the per-user ones)."""
    out["failtimes"] = {"exit": [0] * 100, "fail": [0] * 100}
    out["max_combo"] = row["max_combo"] or 0
    out["owners"] = [{"id": owner["user_id"], "username": owner["creator"]}]
    return out


def covers(set_id: int, updated: dt.datetime | None) -> dict[str, str]:
    suffix = f"?{_epoch(updated)}"
    names = ("cover", "card", "list", "slimcover")
    result: dict[str, str] = {}
    for name in names:
        result[name] = f"{ASSETS}/{set_id}/covers/{name}.jpg{suffix}"
        result[f"{name}@2x"] = f"{ASSETS}/{set_id}/covers/{name}@2x.jpg{suffix}"
    return result


def beatmapset_compact(row: Row) -> dict[str, Any]:
    status = int(row["status"])
    return {
        "anime_cover": False,
        "artist": row["artist"],
        "artist_unicode": row["artist_unicode"] or row["artist"],
        "covers": covers(row["id"], row["last_updated"]),
        "creator": row["creator"],
        "favourite_count": row["favourite_count"],
        "genre_id": row["genre_id"],
        "hype": {"current": 0, "required": 5} if status in (-1, 0, 3) else None,
        "id": row["id"],
        "language_id": row["language_id"],
        "nsfw": bool(row["nsfw"]),
        "offset": row["audio_offset"],
        "play_count": row["play_count"],
        "preview_url": f"//b.ppy.sh/preview/{row['id']}.mp3",
        "source": row["source"],
        "spotlight": bool(row["spotlight"]),
        "status": status_name(status),
        "title": row["title"],
        "title_unicode": row["title_unicode"] or row["title"],
        "track_id": row["track_id"],
        "user_id": row["user_id"],
        "video": bool(row["video"]),
    }


def beatmapset_extended(row: Row, modes: Sequence[int] = ()) -> dict[str, Any]:
    out = beatmapset_compact(row)
    status = int(row["status"])
    main = min(modes) if modes else 0
    out.update(
        {
            "bpm": row["bpm"],
            "can_be_hyped": status in (-1, 0, 3),
            "deleted_at": time_z(row["deleted_at"]),
            "discussion_enabled": True,
            "discussion_locked": False,
            "is_scoreable": status > 0,
            "last_updated": time_z(row["last_updated"]),
            "legacy_thread_url": None,
            "nominations_summary": {
                "current": 0,
                "eligible_main_rulesets": [RULESETS[main]],
                "required_meta": {"main_ruleset": 2, "non_main_ruleset": 1},
            },
            "ranked": status,
            "ranked_date": time_z(row["ranked_date"]),
            "rating": row["rating"],
            "storyboard": bool(row["storyboard"]),
            "submitted_date": time_z(row["submitted_date"]),
            "tags": row["tags"],
            "availability": {
                "download_disabled": bool(row["download_disabled"]),
                "more_information": None,
            },
        }
    )
    return out


def ratings(row: Row) -> list[int]:
    raw = row["ratings"]
    if raw:
        try:
            values = orjson.loads(raw)
            if isinstance(values, list) and len(values) == 11:
                return [int(v) for v in values]
        except (orjson.JSONDecodeError, TypeError, ValueError):
            pass
    return [0] * 11


def stub_user(user_id: int, username: str) -> dict[str, Any]:
    """A User (osu-web UserCompactTransformer.php) for a mapper with no account here."""
    return {
        "avatar_url": "https://osu.ppy.sh/images/layout/avatar-guest.png",
        "country_code": "XX",
        "default_group": "default",
        "id": user_id,
        "is_active": False,
        "is_bot": False,
        "is_deleted": False,
        "is_online": False,
        "is_supporter": False,
        "last_visit": None,
        "pm_friends_only": False,
        "profile_colour": None,
        "username": username,
    }


def settled(row: Row) -> bool:
    return int(row["status"]) in SETTLED_STATUSES


# --- encoded responses ---------------------------------------------------------------------


def lookup_bytes(beatmap: Row, beatmapset: Row, public_url: str) -> bytes:
    """BeatmapExtended with the standard includes, `beatmapset` last (see `with_user`)."""
    out = beatmap_includes(beatmap_extended(beatmap, public_url), beatmap, beatmapset)
    embedded = beatmapset_extended(beatmapset, [beatmap["mode"]])
    embedded["ratings"] = ratings(beatmapset)
    out["beatmapset"] = embedded
    return orjson.dumps(out)


def with_user(cached: bytes, playcount: int, favourited: bool | None) -> bytes:
    """Add the per-user fields to `lookup_bytes` output without decoding it.

    The cached object ends with `"beatmapset":{...}}`: `has_favourited` goes inside the set,
    `current_user_playcount` after it.
    """
    head = cached[:-2]
    fav = (
        b""
        if favourited is None
        else (b',"has_favourited":' + (b"true" if favourited else b"false"))
    )
    return head + fav + b'},"current_user_playcount":' + str(playcount).encode() + b"}"
