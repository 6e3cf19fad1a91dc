"""JSON Schemas of the official response shapes, named as osu-web's API documentation names them.

One place for every shape: routes refer to them by name (`@describe(responses={200: "User"})`),
the document lists them under `components/schemas`, and the suite validates live responses
against them. Each lists the fields the serializers in `core/` always emit (`core.users.profiles`,
`core.beatmaps.views`, `core.scores.views`) with their types; optional includes are allowed
through (`additionalProperties`), as osu-web adds them per endpoint.
Shapes: osu-web `resources/js/interfaces/*-json.ts` (ppy/osu-web).
"""

from __future__ import annotations

from typing import Any

STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}
TIME = {"type": ["string", "null"]}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(required: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required), "properties": required, **extra}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


RULESET = {"type": "string", "enum": ["osu", "taiko", "fruits", "mania"]}

SCHEMAS: dict[str, dict[str, Any]] = {
    # Every error body: osu-web's `{"error": message}`, or `{"authentication": "basic"}` for a
    # missing token.
    "Error": {
        "type": "object",
        "anyOf": [
            {"required": ["error"]},
            {"required": ["authentication"]},
            {"required": ["message"]},
            # The web forms' refusals (osu-web's `form_error`).
            {"required": ["form_error"]},
        ],
    },
    "Message": obj({"message": STR}),
    "UserCompact": obj(
        {
            "avatar_url": STR,
            "country_code": STR,
            "default_group": STR,
            "id": INT,
            "is_active": BOOL,
            "is_bot": BOOL,
            "is_deleted": BOOL,
            "is_online": BOOL,
            "is_supporter": BOOL,
            "last_visit": TIME,
            "pm_friends_only": BOOL,
            "profile_colour": nullable(STR),
            "username": STR,
        }
    ),
    "User": {"allOf": [ref("UserCompact")], "type": "object"},
    "BeatmapCompact": obj(
        {
            "beatmapset_id": INT,
            "difficulty_rating": NUM,
            "id": INT,
            "mode": RULESET,
            "status": STR,
            "total_length": INT,
            "user_id": INT,
            "version": STR,
        }
    ),
    "Beatmap": {
        "allOf": [
            ref("BeatmapCompact"),
            obj(
                {
                    "accuracy": NUM,
                    "ar": NUM,
                    "bpm": nullable(NUM),
                    "convert": BOOL,
                    "count_circles": INT,
                    "count_sliders": INT,
                    "count_spinners": INT,
                    "cs": NUM,
                    "drain": NUM,
                    "hit_length": INT,
                    "is_scoreable": BOOL,
                    "mode_int": INT,
                    "passcount": INT,
                    "playcount": INT,
                    "ranked": INT,
                    "url": STR,
                    "checksum": nullable(STR),
                }
            ),
        ]
    },
    "BeatmapsetCompact": obj(
        {
            "artist": STR,
            "artist_unicode": STR,
            "covers": {"type": "object", "additionalProperties": STR},
            "creator": STR,
            "favourite_count": INT,
            "id": INT,
            "nsfw": BOOL,
            "play_count": INT,
            "preview_url": STR,
            "source": STR,
            "status": STR,
            "title": STR,
            "title_unicode": STR,
            "user_id": INT,
            "video": BOOL,
        }
    ),
    "Beatmapset": {"allOf": [ref("BeatmapsetCompact")], "type": "object"},
    # A score in the format lazer asks for (x-api-version >= 20220705): `solo_score`.
    "Score": obj(
        {
            "accuracy": NUM,
            "beatmap_id": INT,
            "classic_total_score": INT,
            "ended_at": TIME,
            "has_replay": BOOL,
            "id": INT,
            "max_combo": INT,
            "maximum_statistics": {"type": "object"},
            "mods": {"type": "array"},
            "passed": BOOL,
            "pp": nullable(NUM),
            "rank": STR,
            "ruleset_id": INT,
            "statistics": {"type": "object"},
            "total_score": INT,
            "type": STR,
            "user_id": INT,
        }
    ),
    # The same score in osu-web's legacy format (no or an older x-api-version header).
    "ScoreLegacy": obj(
        {
            "accuracy": NUM,
            "created_at": TIME,
            "id": INT,
            "max_combo": INT,
            "mode": RULESET,
            "mode_int": INT,
            "mods": {"type": "array", "items": STR},
            "passed": BOOL,
            "perfect": BOOL,
            "pp": nullable(NUM),
            "rank": STR,
            "score": INT,
            "statistics": {"type": "object"},
            "user_id": INT,
        }
    ),
    # A score in either format, as routes that follow x-api-version answer.
    "AnyScore": {"anyOf": [ref("Score"), ref("ScoreLegacy")]},
    "BeatmapScores": obj({"scores": {"type": "array", "items": ref("AnyScore")}}),
    "Users": obj({"users": {"type": "array", "items": ref("UserCompact")}}),
    "Beatmaps": obj({"beatmaps": {"type": "array", "items": ref("Beatmap")}}),
    # API v1: every value a string (ppy/osu-api wiki).
    "V1Rows": {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": {"anyOf": [STR, {"type": "null"}, {"type": "array"}]},
        },
    },
}
