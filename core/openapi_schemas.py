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


def obj(
    required: dict[str, Any], optional: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """An object with these `required` properties and, typed when present, `optional` ones."""
    properties = {**required, **(optional or {})}
    return {"type": "object", "required": sorted(required), "properties": properties, **extra}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def array(name: str) -> dict[str, Any]:
    """A list of the named shape."""
    return {"type": "array", "items": ref(name)}


RULESET = {"type": "string", "enum": ["osu", "taiko", "fruits", "mania"]}
# A listing's next-page cursor (null on the last page).
CURSOR = {"type": ["object", "null"]}

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
    # --- shapes of api_v2, api_v1, rankings, content
    # osu-web ScoreTokenTransformer (lazer's `APIScoreToken` reads `id`): `playlist_item_id` is
    # set for a room's token.
    "ScoreToken": obj(
        {
            "beatmap_id": INT,
            "created_at": STR,
            "id": INT,
            "playlist_item_id": nullable(INT),
            "user_id": INT,
        }
    ),
    # beatmapset-extended-json.ts: the set as search results and packs list it.
    "BeatmapsetExtended": {
        "allOf": [
            ref("BeatmapsetCompact"),
            obj(
                {
                    "availability": obj(
                        {"download_disabled": BOOL, "more_information": nullable(STR)}
                    ),
                    "bpm": nullable(NUM),
                    "can_be_hyped": BOOL,
                    "deleted_at": TIME,
                    "discussion_enabled": BOOL,
                    "discussion_locked": BOOL,
                    "is_scoreable": BOOL,
                    "last_updated": TIME,
                    "legacy_thread_url": nullable(STR),
                    "nominations_summary": {"type": "object"},
                    "ranked": INT,
                    "ranked_date": TIME,
                    "rating": NUM,
                    "storyboard": BOOL,
                    "submitted_date": TIME,
                    "tags": STR,
                }
            ),
        ]
    },
    # The `{position, score}` of `GET beatmaps/{beatmap}/scores/users/{user}` (osu-web API docs).
    "BeatmapUserScore": obj({"position": INT, "score": ref("AnyScore")}),
    # beatmap-playcount-json.ts: an entry of `users/{user}/beatmapsets/most_played`.
    "BeatmapPlaycount": obj(
        {
            "beatmap": nullable(ref("BeatmapCompact")),
            "beatmap_id": INT,
            "beatmapset": nullable(ref("BeatmapsetCompact")),
            "count": INT,
        }
    ),
    # osu-web BeatmapPackTransformer; `beatmapsets` and `user_completion_data` on show.
    "BeatmapPack": obj(
        {
            "author": STR,
            "date": STR,
            "name": STR,
            "no_diff_reduction": BOOL,
            "ruleset_id": nullable(INT),
            "tag": STR,
            "url": STR,
        },
    ),
    # tag-json.ts
    "Tag": obj(
        {
            "created_at": STR,
            "description": STR,
            "id": INT,
            "name": STR,
            "ruleset_id": nullable(INT),
            "updated_at": STR,
        }
    ),
    # beatmapset-event-json.ts (osu-web BeatmapsetEventTransformer).
    "BeatmapsetEvent": obj(
        {
            "beatmapset": nullable(ref("BeatmapsetCompact")),
            "comment": {},
            "created_at": STR,
            "discussion": {"type": ["object", "null"]},
            "id": INT,
            "type": STR,
            "user_id": nullable(INT),
        }
    ),
    # event-json.ts: a user's recent activity; each type adds its own fields.
    "Event": obj({"created_at": STR, "id": INT, "type": STR}),
    # kudosu-history-json.ts
    "KudosuHistory": obj(
        {
            "action": STR,
            "amount": INT,
            "created_at": STR,
            "giver": nullable(obj({"url": STR, "username": STR})),
            "id": INT,
            "model": STR,
            "post": obj({"title": STR, "url": nullable(STR)}),
        }
    ),
    # user-relation (osu-web UserRelationTransformer): `target` is the user's card.
    "UserRelation": obj(
        {
            "mutual": BOOL,
            "relation_type": {"type": "string", "enum": ["friend", "block"]},
            "target": ref("UserCompact"),
            "target_id": INT,
        }
    ),
    # team-json.ts with TeamTransformer's includes (`leader`, `members`, `statistics`).
    "Team": obj(
        {
            "colour_primary": nullable(STR),
            "colour_secondary": nullable(STR),
            "cover_url": nullable(STR),
            "created_at": STR,
            "description": nullable(STR),
            "flag_url": nullable(STR),
            "id": INT,
            "leader": nullable(ref("UserCompact")),
            "members": {"type": "array", "items": ref("UserCompact")},
            "name": STR,
            "short_name": STR,
            "statistics": array("TeamStatistics"),
        }
    ),
    # osu-web TeamStatistics: a team's sums in one ruleset. `rank` on a team's page; the team
    # ranking has `team` instead (the place in the list is the rank).
    "TeamStatistics": obj(
        {
            "member_count": INT,
            "performance": INT,
            "play_count": INT,
            "ranked_score": INT,
            "ruleset_id": INT,
            "team_id": INT,
        },
        optional={
            "rank": nullable(INT),
            "team": obj({"flag_url": nullable(STR), "id": INT, "name": STR, "short_name": STR}),
        },
    ),
    # playlist-item-json.ts; `beatmap` when the map is known.
    "PlaylistItem": obj(
        {
            "allowed_mods": {"type": "array"},
            "beatmap_id": INT,
            "created_at": STR,
            "expired": BOOL,
            "freestyle": BOOL,
            "id": INT,
            "owner_id": INT,
            "played_at": TIME,
            "playlist_order": nullable(INT),
            "required_mods": {"type": "array"},
            "room_id": INT,
            "ruleset_id": INT,
        }
    ),
    # osu-web UserScoreAggregateTransformer (a user's totals in a room).
    "UserScoreAggregate": obj(
        {
            "accuracy": NUM,
            "attempts": INT,
            "completed": INT,
            "pp": NUM,
            "room_id": INT,
            "total_score": INT,
            "user_id": INT,
        }
    ),
    # room-json.ts; `playlist` and `current_user_score` on show, create and join.
    "Room": obj(
        {
            "active": BOOL,
            "auto_skip": BOOL,
            "auto_start_duration": INT,
            "category": STR,
            "channel_id": INT,
            "current_playlist_item": nullable(ref("PlaylistItem")),
            "description": nullable(STR),
            "difficulty_range": obj({"max": NUM, "min": NUM}),
            "ends_at": TIME,
            "has_password": BOOL,
            "host": nullable(ref("UserCompact")),
            "id": INT,
            "max_attempts": nullable(INT),
            "max_participants": nullable(INT),
            "name": STR,
            "participant_count": INT,
            "pinned": BOOL,
            "playlist_item_stats": obj(
                {
                    "count_active": INT,
                    "count_total": INT,
                    "ruleset_ids": {"type": "array", "items": INT},
                }
            ),
            "queue_mode": STR,
            "recent_participants": {"type": "array", "items": ref("UserCompact")},
            "starts_at": TIME,
            "status": STR,
            "type": STR,
            "user_id": INT,
        },
        optional={
            "playlist": {"type": "array", "items": ref("PlaylistItem")},
            "current_user_score": ref("UserScoreAggregate"),
        },
    ),
    # A room's score (osu-web ScoreTransformer with the room's ids); `position` and
    # `scores_around` when shown alone.
    "MultiplayerScore": {
        "allOf": [
            ref("Score"),
            obj(
                {"playlist_item_id": INT, "room_id": INT},
                optional={
                    "position": nullable(INT),
                    "scores_around": obj(
                        {"higher": ref("MultiplayerScores"), "lower": ref("MultiplayerScores")}
                    ),
                },
            ),
        ],
    },
    # osu-web API docs MultiplayerScores: a page of an item's best scores. `total` and
    # `user_score` on the listing, not in a score's `scores_around`.
    "MultiplayerScores": obj(
        {
            "cursor_string": nullable(STR),
            "params": obj({"limit": INT, "sort": STR}),
            "scores": {"type": "array", "items": ref("MultiplayerScore")},
        },
        optional={
            "total": INT,
            "user_score": {"anyOf": [ref("MultiplayerScore"), {"type": "null"}]},
        },
    ),
    # realtime-room-event-json.ts
    "RealtimeRoomEvent": obj(
        {
            "created_at": STR,
            "detail": obj({"type": STR}),
            "event_type": STR,
            "id": INT,
            "playlist_item_id": nullable(INT),
            "user_id": nullable(INT),
        }
    ),
    # news-post-json.ts; `preview` in listings, `content` and `navigation` on show.
    "NewsPost": obj(
        {
            "author": STR,
            "edit_url": STR,
            "first_image": nullable(STR),
            "first_image@2x": nullable(STR),
            "id": INT,
            "published_at": STR,
            "slug": STR,
            "title": STR,
            "updated_at": STR,
        },
        optional={
            "content": STR,
            "navigation": obj({}, optional={"newer": ref("NewsPost"), "older": ref("NewsPost")}),
            "preview": nullable(STR),
        },
    ),
    # osu-web API docs WikiPage.
    "WikiPage": obj(
        {
            "available_locales": {"type": "array", "items": STR},
            "layout": STR,
            "locale": STR,
            "markdown": STR,
            "path": STR,
            "subtitle": nullable(STR),
            "tags": {"type": "array", "items": STR},
            "title": STR,
        }
    ),
    # changelog-build.ts (UpdateStream, ChangelogEntry, GithubUser).
    "UpdateStream": obj({"display_name": STR, "id": INT, "is_featured": BOOL, "name": STR}),
    "GithubUser": obj(
        {
            "display_name": STR,
            "github_url": nullable(STR),
            "github_username": nullable(STR),
            "id": nullable(INT),
            "osu_username": nullable(STR),
            "user_id": nullable(INT),
            "user_url": nullable(STR),
        }
    ),
    "ChangelogEntry": obj(
        {
            "category": STR,
            "created_at": STR,
            "github_pull_request_id": nullable(INT),
            "github_url": nullable(STR),
            "github_user": ref("GithubUser"),
            "id": nullable(INT),
            "major": BOOL,
            "repository": nullable(STR),
            "title": nullable(STR),
            "type": STR,
            "url": nullable(STR),
        },
        optional={"message": nullable(STR), "message_html": nullable(STR)},
    ),
    # `changelog_entries` and `versions` where osu-web includes them.
    "ChangelogBuild": obj(
        {
            "created_at": STR,
            "display_version": STR,
            "id": INT,
            "update_stream": ref("UpdateStream"),
            "users": INT,
            "version": STR,
            "youtube_id": nullable(STR),
        },
        optional={
            "changelog_entries": array("ChangelogEntry"),
            "versions": obj(
                {}, optional={"next": ref("ChangelogBuild"), "previous": ref("ChangelogBuild")}
            ),
        },
    ),
    # osu-web API docs: `GET changelog`.
    "ChangelogListing": obj(
        {
            "builds": {"type": "array", "items": ref("ChangelogBuild")},
            "search": obj(
                {
                    "from": nullable(STR),
                    "limit": INT,
                    "max_id": nullable(INT),
                    "stream": nullable(STR),
                    "to": nullable(STR),
                }
            ),
            "streams": {
                "type": "array",
                "items": {
                    "allOf": [
                        ref("UpdateStream"),
                        obj({"latest_build": ref("ChangelogBuild"), "user_count": INT}),
                    ]
                },
            },
        }
    ),
    # osu-web SpotlightTransformer; `participant_count` in charts.
    "Spotlight": obj(
        {
            "end_date": STR,
            "id": INT,
            "mode_specific": BOOL,
            "name": STR,
            "start_date": STR,
            "type": STR,
        }
    ),
    "Spotlights": obj({"spotlights": {"type": "array", "items": ref("Spotlight")}}),
    # osu-web UserStatisticsTransformer; `user` (the card) in rankings.
    "UserStatistics": obj(
        {
            "accuracy": NUM,
            "count_100": INT,
            "count_300": INT,
            "count_50": INT,
            "count_miss": INT,
            "global_rank": nullable(INT),
            "global_rank_exp": nullable(INT),
            "global_rank_percent": nullable(NUM),
            "grade_counts": obj({"a": INT, "s": INT, "sh": INT, "ss": INT, "ssh": INT}),
            "hit_accuracy": NUM,
            "is_ranked": BOOL,
            "level": obj({"current": INT, "progress": INT}),
            "maximum_combo": INT,
            "play_count": INT,
            "play_time": INT,
            "pp": NUM,
            "pp_exp": NUM,
            "ranked_score": INT,
            "replays_watched_by_others": INT,
            "total_hits": INT,
            "total_score": INT,
        },
        optional={"user": ref("UserCompact")},
    ),
    # osu-web CountryStatisticsTransformer (the country ranking).
    "CountryStatistics": obj(
        {
            "active_users": INT,
            "code": STR,
            "country": obj({"code": STR, "name": STR}),
            "performance": NUM,
            "play_count": INT,
            "ranked_score": INT,
        }
    ),
    # osu-web API docs Rankings: `ranking` holds UserStatistics (performance, score, charts),
    # CountryStatistics or TeamStatistics by type; a spotlight chart adds `beatmapsets` and
    # `spotlight` and has no cursor.
    "Rankings": obj(
        {
            "ranking": {
                "type": "array",
                "items": {
                    "anyOf": [
                        ref("UserStatistics"),
                        ref("CountryStatistics"),
                        ref("TeamStatistics"),
                    ]
                },
            }
        },
        optional={
            "total": INT,
            "cursor": {"type": ["object", "null"]},
            "cursor_string": nullable(STR),
            "spotlight": ref("Spotlight"),
            "beatmapsets": {"type": "array", "items": ref("BeatmapsetExtended")},
        },
    ),
    # lazer's `APISeasonalBackgrounds`: `{}` when no season runs.
    "SeasonalBackgrounds": {
        "anyOf": [
            {"type": "object", "maxProperties": 0},
            obj(
                {
                    "backgrounds": {
                        "type": "array",
                        "items": obj({"url": STR, "user": ref("UserCompact")}),
                    },
                    "ends_at": STR,
                }
            ),
        ]
    },
    # --- shapes of chat and notifications (osu-web chat-channel-json.ts, chat-message-json.ts,
    # notification-json.ts)
    "ChatChannel": obj(
        {
            "channel_id": INT,
            "description": {"type": ["string", "null"]},
            "icon": {"type": ["string", "null"]},
            "message_length_limit": INT,
            "moderated": BOOL,
            "name": STR,
            "type": {
                "type": "string",
                "enum": [
                    "PUBLIC",
                    "PRIVATE",
                    "MULTIPLAYER",
                    "SPECTATOR",
                    "TEMPORARY",
                    "PM",
                    "GROUP",
                    "ANNOUNCE",
                    "TEAM",
                ],
            },
            "uuid": {"type": ["string", "null"]},
        },
        optional={
            "current_user_attributes": obj(
                {
                    "can_list_users": BOOL,
                    "can_message": BOOL,
                    "can_message_error": {"type": ["string", "null"]},
                    "last_read_id": {"type": ["integer", "null"]},
                }
            ),
            "last_read_id": {"type": ["integer", "null"]},
            "last_message_id": {"type": ["integer", "null"]},
            "users": {"type": "array", "items": INT},
            "recent_messages": array("ChatMessage"),
        },
    ),
    "ChatMessage": obj(
        {
            "channel_id": INT,
            "content": STR,
            "is_action": BOOL,
            "message_id": INT,
            "sender_id": INT,
            "timestamp": STR,
            "type": {"type": "string", "enum": ["action", "markdown", "plain"]},
        },
        optional={"uuid": STR, "sender": ref("UserCompact")},
    ),
    "ChatSilence": obj({"id": INT, "user_id": INT}),
    "Notification": obj(
        {
            "id": INT,
            "name": STR,
            "created_at": STR,
            "object_type": STR,
            "object_id": INT,
            "source_user_id": {"type": ["integer", "null"]},
            "is_read": BOOL,
            "details": {"type": "object"},
        }
    ),
    "NotificationBundle": obj(
        {
            "has_more": BOOL,
            "notifications": array("Notification"),
            "stacks": {"type": "array", "items": {"type": "object"}},
            "types": {"type": "array", "items": {"type": "object"}},
            "timestamp": STR,
            "unread_count": INT,
            "notification_endpoint": STR,
        }
    ),
    # --- comments (osu-web comment-json.ts, comment-bundle-json.ts)
    "Comment": obj(
        {
            "id": INT,
            "parent_id": {"type": ["integer", "null"]},
            "user_id": {"type": ["integer", "null"]},
            "pinned": BOOL,
            "replies_count": INT,
            "votes_count": INT,
            "commentable_type": STR,
            "commentable_id": INT,
            "legacy_name": {"type": ["string", "null"]},
            "created_at": STR,
            "updated_at": STR,
            "deleted_at": TIME,
            "edited_at": TIME,
            "edited_by_id": {"type": ["integer", "null"]},
        },
        # Not on a deleted comment.
        optional={"message": STR, "message_html": STR},
    ),
    "CommentBundle": obj(
        {
            "comments": array("Comment"),
            "has_more": BOOL,
            "has_more_id": {"type": ["integer", "null"]},
            "included_comments": array("Comment"),
            "pinned_comments": array("Comment"),
            "user_votes": {"type": "array", "items": INT},
            "user_follow": BOOL,
            "users": array("UserCompact"),
            "sort": STR,
            "cursor": CURSOR,
            "commentable_meta": {"type": "array", "items": {"type": "object"}},
        },
        optional={"top_level_count": INT, "total": INT, "user": ref("UserCompact")},
    ),
    # --- the private API (`/api/private`): this server's own shapes
    "Rename": obj({"username": STR, "previous_usernames": {"type": "array", "items": STR}}),
    "OAuthClient": obj(
        {"id": INT, "name": STR, "redirect": STR, "created_at": STR, "updated_at": STR},
        # Only when it was just made or reset: shown once.
        optional={"secret": STR},
    ),
    "ApiKey": obj(
        {"id": INT, "name": STR, "created_at": STR, "last_used_at": TIME},
        optional={"key": STR},
    ),
    "TeamCompact": obj({"id": INT, "name": STR, "short_name": STR, "flag_url": nullable(STR)}),
    "TeamSettings": {
        "allOf": [
            ref("TeamCompact"),
            obj(
                {
                    "colour_primary": nullable(STR),
                    "colour_secondary": nullable(STR),
                    "description": nullable(STR),
                    "leader_id": INT,
                }
            ),
        ]
    },
    "TeamRequest": obj(
        {
            "id": INT,
            "kind": {"type": "string", "enum": ["invite", "apply"]},
            "team": nullable(ref("TeamCompact")),
            "user_id": INT,
            "created_at": STR,
        }
    ),
    "TeamRequestResult": obj(
        {"result": {"type": "string", "enum": ["invited", "applied", "joined"]}}
    ),
    # --- the admin API (`/api/private/admin`): every action answers its audit entry
    "AuditEntry": obj(
        {
            "id": INT,
            "action": STR,
            "actor_id": {"type": ["integer", "null"]},
            "actor_name": STR,
            "user_id": {"type": ["integer", "null"]},
            "reason": {"type": ["string", "null"]},
            "details": {"type": ["object", "null"]},
            "created_at": STR,
        }
    ),
    "Report": obj(
        {
            "id": INT,
            "reporter_id": INT,
            "user_id": INT,
            "reportable_type": STR,
            "reportable_id": INT,
            "reason": STR,
            "comments": {"type": ["string", "null"]},
            "created_at": STR,
            "status": STR,
            "resolved_by": {"type": ["integer", "null"]},
            "resolved_at": TIME,
        }
    ),
    "Group": obj(
        {
            "colour": {"type": ["string", "null"]},
            "description": {"type": ["object", "null"]},
            "has_listing": BOOL,
            "has_playmodes": BOOL,
            "id": INT,
            "identifier": STR,
            "is_probationary": BOOL,
            "name": STR,
            "playmodes": {"type": ["array", "null"]},
            "short_name": STR,
            "builtin": BOOL,
        }
    ),
    # --- OAuth (league/oauth2-server's token response, as osu-web answers it)
    "TokenResponse": obj(
        {"token_type": {"const": "Bearer"}, "expires_in": INT, "access_token": STR},
        # Not for client credentials.
        optional={"refresh_token": STR},
    ),
}
