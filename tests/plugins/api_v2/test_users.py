import httpx
import pytest
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token

COMPACT = {
    "avatar_url": str,
    "country_code": str,
    "default_group": str,
    "id": int,
    "is_active": bool,
    "is_bot": bool,
    "is_deleted": bool,
    "is_online": bool,
    "is_supporter": bool,
    "last_visit": (str, type(None)),
    "pm_friends_only": bool,
    "profile_colour": (str, type(None)),
    "username": str,
}
EXTENDED = {
    "cover_url": str,
    "discord": (str, type(None)),
    "has_supported": bool,
    "interests": (str, type(None)),
    "join_date": str,
    "location": (str, type(None)),
    "max_blocks": int,
    "max_friends": int,
    "occupation": (str, type(None)),
    "playmode": str,
    "playstyle": (list, type(None)),
    "post_count": int,
    "profile_hue": (int, type(None)),
    "profile_order": list,
    "title": (str, type(None)),
    "title_url": (str, type(None)),
    "twitter": (str, type(None)),
    "website": (str, type(None)),
    "country": dict,
    "cover": dict,
    "kudosu": dict,
}
SHOW_INCLUDES = {
    "active_tournament_banner": type(None),
    "active_tournament_banners": list,
    "badges": list,
    "comments_count": int,
    "follower_count": int,
    "groups": list,
    "mapping_follower_count": int,
    "previous_usernames": list,
    "support_level": int,
    "account_history": list,
    "current_season_stats": type(None),
    "current_user_attributes": (dict, type(None)),
    "daily_challenge_user_stats": dict,
    "matchmaking_stats": list,
    "page": dict,
    "pending_beatmapset_count": int,
    "rank_highest": type(None),
    "rank_history": type(None),
    "statistics": dict,
    "team": type(None),
    "user_achievements": list,
    "beatmap_playcounts_count": int,
    "monthly_playcounts": list,
    "replays_watched_counts": list,
    "scores_recent_count": int,
    "favourite_beatmapset_count": int,
    "graveyard_beatmapset_count": int,
    "guest_beatmapset_count": int,
    "loved_beatmapset_count": int,
    "nominated_beatmapset_count": int,
    "ranked_beatmapset_count": int,
    "scores_best_count": int,
    "scores_first_count": int,
    "scores_pinned_count": int,
    "rankHistory": type(None),
    "ranked_and_approved_beatmapset_count": int,
    "unranked_beatmapset_count": int,
}
ME_EXTRA = {
    "is_restricted": bool,
    "score_processing_notice_url": type(None),
    "session_verification_method": type(None),
    "session_verified": bool,
    "user_preferences": dict,
    "statistics_rulesets": dict,
}
STATISTICS = {
    "count_100": int,
    "count_300": int,
    "count_50": int,
    "count_miss": int,
    "level": dict,
    "global_rank": type(None),
    "global_rank_percent": type(None),
    "global_rank_exp": type(None),
    "pp": (int, float),
    "pp_exp": int,
    "ranked_score": int,
    "hit_accuracy": (int, float),
    "accuracy": (int, float),
    "play_count": int,
    "play_time": int,
    "total_score": int,
    "total_hits": int,
    "maximum_combo": int,
    "replays_watched_by_others": int,
    "is_ranked": bool,
    "grade_counts": dict,
    "country_rank": type(None),
    "rank": dict,
}
NEVER_FOR_OAUTH = [
    "is_admin",
    "is_bng",
    "is_gmt",
    "is_moderator",
    "is_nat",
    "is_silenced",
    "friends",
]


def check(obj: dict, fields: dict) -> None:
    for name, kind in fields.items():
        assert name in obj, name
        assert isinstance(obj[name], kind), (name, obj[name])
    for name in NEVER_FOR_OAUTH:
        assert name not in obj, name


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_me_shape(app: Starlette, client: httpx.AsyncClient, user: int, token: str) -> None:
    r = await client.get("/api/v2/me/", headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    me = r.json()
    check(me, COMPACT | EXTENDED | SHOW_INCLUDES | ME_EXTRA)
    check(me["statistics"], STATISTICS)
    assert me["statistics"]["level"] == {"current": 1, "progress": 0}
    assert me["statistics"]["grade_counts"] == {"ss": 0, "ssh": 0, "s": 0, "sh": 0, "a": 0}
    assert set(me["statistics_rulesets"]) == {"osu", "taiko", "fruits", "mania"}
    for stats in me["statistics_rulesets"].values():
        check(stats, {k: v for k, v in STATISTICS.items() if k not in ("country_rank", "rank")})
    assert me["id"] == user and me["username"] == "peppy"
    assert me["country"] == {"code": "AU", "name": "Australia"}
    assert me["playmode"] == "osu" and me["is_restricted"] is False
    assert me["session_verification_method"] is None
    assert me["join_date"].endswith("+00:00") and "." not in me["join_date"]
    assert me["profile_order"][0] == "me"
    assert me["cover"]["url"] == me["cover_url"]
    r = await client.get("/api/v2/me/mania", headers=bearer(token))
    assert {v["variant"] for v in r.json()["statistics"]["variants"]} == {"4k", "7k"}
    assert (await client.get("/api/v2/me/nope", headers=bearer(token))).status_code == 404


async def test_get_user_shape_and_lookups(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    other = await create_user(app, "Some Body", country="JP")
    await users_db.rename(services(app).db, other, "Some Body", "Renamed")
    public = await issue_token(app, None, ["public"])
    for path in (
        f"/api/v2/users/{other}",
        f"/api/v2/users/{other}/",
        "/api/v2/users/@renamed",
        "/api/v2/users/some_body",
        f"/api/v2/users/{other}/taiko?key=id",
        "/api/v2/users/Renamed?key=username",
    ):
        r = await client.get(path, headers=bearer(public))
        assert r.status_code == 200, path
        body = r.json()
        assert body["id"] == other
    check(body, COMPACT | EXTENDED | SHOW_INCLUDES)
    assert "is_restricted" not in body and "session_verified" not in body
    assert body["previous_usernames"] == ["Some Body"]
    assert body["current_user_attributes"] is None  # a guest token
    r = await client.get(f"/api/v2/users/{other}", headers=bearer(token))
    assert r.json()["current_user_attributes"] == {"has_blocked": False}
    for path in (
        "/api/v2/users/999999",
        "/api/v2/users/nobody",
        f"/api/v2/users/{other}/catch",
        f"/api/v2/users/{other}?key=username",
        "/api/v2/users/" + "9" * 40,
    ):
        r = await client.get(path, headers=bearer(public))
        assert (r.status_code, r.json()) == (404, {"error": None}), path


async def test_restricted_users_are_hidden_from_others(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    other = await create_user(app, "Cheater")
    r = await client.get(f"/api/v2/users/{other}", headers=bearer(token))
    assert r.status_code == 200  # also warms the cache
    from core.users import profiles

    await users_db.update_user(services(app).db, other, restricted=True)
    await profiles.invalidate(services(app), other)
    assert (await client.get(f"/api/v2/users/{other}", headers=bearer(token))).status_code == 404
    own = await issue_token(app, other)
    r = await client.get("/api/v2/me", headers=bearer(own))
    assert r.json()["is_restricted"] is True


async def test_users_and_lookup(app: Starlette, client: httpx.AsyncClient, user: int, token: str):
    second = await create_user(app, "second")
    r = await client.get(
        f"/api/v2/users/?ids[]={second}&ids[]={user}&ids[]=424242&ids[]=x", headers=bearer(token)
    )
    users = r.json()["users"]
    assert [u["id"] for u in users] == [second, user]
    check(
        users[0],
        COMPACT
        | {
            "country": dict,
            "cover": dict,
            "groups": list,
            "team": type(None),
            "statistics_rulesets": dict,
        },
    )
    r = await client.get(
        "/api/v2/users/lookup/",
        params=[("ids[]", "@second"), ("ids[]", str(user)), ("ruleset_id", "1")],
        headers=bearer(token),
    )
    found = r.json()["users"]
    assert {u["id"] for u in found} == {user, second}
    assert found[0]["global_rank"] == {"rank": None, "ruleset_id": 1}
    r = await client.get(
        "/api/v2/users/lookup", params=[("ids[]", str(i)) for i in range(51)], headers=bearer(token)
    )
    assert (r.status_code, r.json()) == (422, {"error": "ids parameter has a maximum of 50 items"})
    r = await client.get(
        "/api/v2/users", params=[("ids[]", str(i)) for i in range(500)], headers=bearer(token)
    )
    assert r.status_code == 200


async def test_friends_and_blocks(app: Starlette, client: httpx.AsyncClient, user: int, token: str):
    friend = await create_user(app, "friend")
    stranger = await create_user(app, "stranger")
    r = await client.post(f"/api/v2/friends?target={friend}", headers=bearer(token))
    assert r.status_code == 200
    rel = r.json()["user_relation"]
    assert rel["target_id"] == friend and rel["relation_type"] == "friend"
    assert rel["mutual"] is False and rel["target"]["id"] == friend
    # The friend adds back: now mutual, seen in both API-version forms.
    friend_token = await issue_token(app, friend)
    await client.post("/api/v2/friends", data={"target": str(user)}, headers=bearer(friend_token))
    r = await client.get("/api/v2/friends", headers=bearer(token) | {"x-api-version": "20241022"})
    [relation] = r.json()
    assert relation["mutual"] is True and "statistics" in relation["target"]
    r = await client.get("/api/v2/friends", headers=bearer(token))
    assert [u["id"] for u in r.json()] == [friend]
    assert "support_level" in r.json()[0]
    # Bad targets.
    for target, status in (
        ("", 422),
        ("abc", 422),
        (str(user), 422),
        ("999999", 404),
        ("9" * 40, 422),
    ):
        r = await client.post("/api/v2/friends", data={"target": target}, headers=bearer(token))
        assert r.status_code == status, target
    # Blocks: blocking removes the friendship; the blocked user cannot befriend back.
    r = await client.post("/api/v2/blocks", data={"target": str(friend)}, headers=bearer(token))
    assert r.json()["user_relation"]["relation_type"] == "block"
    r = await client.get("/api/v2/blocks", headers=bearer(token))
    assert [b["target_id"] for b in r.json()] == [friend]
    r = await client.get("/api/v2/friends", headers=bearer(token))
    assert r.json() == []
    r = await client.post(
        "/api/v2/friends", data={"target": str(user)}, headers=bearer(friend_token)
    )
    # friend->user existed before the block; a new request is refused.
    await client.delete(f"/api/v2/friends/{user}", headers=bearer(friend_token))
    r = await client.post(
        "/api/v2/friends", data={"target": str(user)}, headers=bearer(friend_token)
    )
    assert r.status_code == 422
    r = await client.get(f"/api/v2/users/{user}", headers=bearer(friend_token))
    assert r.json()["current_user_attributes"] == {"has_blocked": True}
    # Deleting something that is not there, or someone else's relation: 404, nothing changes.
    stranger_token = await issue_token(app, stranger)
    r = await client.delete(f"/api/v2/blocks/{friend}", headers=bearer(stranger_token))
    assert r.status_code == 404
    r = await client.get("/api/v2/blocks", headers=bearer(token))
    assert len(r.json()) == 1
    assert (
        await client.delete(f"/api/v2/blocks/{friend}", headers=bearer(token))
    ).status_code == 204
    assert (await client.delete("/api/v2/blocks/abc", headers=bearer(token))).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "scopes", "status"),
    [
        ("GET", "/api/v2/friends", ["public"], 403),
        ("GET", "/api/v2/friends", ["friends.read"], 200),
        ("GET", "/api/v2/blocks", ["friends.read", "identify", "public"], 403),
        ("POST", "/api/v2/friends?target=1", ["friends.read"], 403),
        ("GET", "/api/v2/me", ["public"], 403),
        ("GET", "/api/v2/me", ["identify"], 200),
    ],
)
async def test_route_scopes(
    app: Starlette,
    client: httpx.AsyncClient,
    user: int,
    method: str,
    path: str,
    scopes: list[str],
    status: int,
) -> None:
    token = await issue_token(app, user, scopes)
    r = await client.request(method, path, headers=bearer(token))
    assert r.status_code == status


# --- /me from the cache: every write that changes it shows at the next call ----------------------


async def _me(client: httpx.AsyncClient, token: str) -> dict:
    response = await client.get("/api/v2/me/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_me_is_cached_and_each_write_shows(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    """`/me` is kept encoded (`profiles.own_profile_key`); a score, a favourite, a rename, a
    silence, a team, a received message and a restriction each show at the next call."""
    from core.moderation import sanctions
    from core.moderation.audit import OPERATOR
    from core.teams import lifecycle
    from core.users import profiles
    from tests.scores import support

    svc = services(app)
    auth = {"Authorization": f"Bearer {token}"}
    first = await _me(client, token)
    assert await svc.cache.get(profiles.own_profile_key(user, None)) is not None
    assert first["statistics"]["play_count"] == 0 and first["unread_pm_count"] == 0

    beatmap = await support.import_map(app, 0)
    submitted = await support.submit(client, token, beatmap, support.body(beatmap))
    assert submitted.status_code == 200, submitted.text
    assert (await _me(client, token))["statistics"]["play_count"] == 1

    set_id = (await client.get(f"/api/v2/beatmaps/{beatmap.id}", headers=auth)).json()[
        "beatmapset_id"
    ]
    favourite = await client.post(
        f"/api/v2/beatmapsets/{set_id}/favourites", data={"action": "favourite"}, headers=auth
    )
    assert favourite.status_code == 200, favourite.text
    assert (await _me(client, token))["favourite_beatmapset_count"] == 1

    renamed = await client.post(
        "/api/private/me/username", data={"username": "newname"}, headers=auth
    )
    assert renamed.status_code == 200, renamed.text
    assert (await _me(client, token))["username"] == "newname"

    row = await users_db.get_user(svc.db, user)
    assert row is not None
    await sanctions.silence(svc, OPERATOR, row, 600, "shouting")
    history = (await _me(client, token))["account_history"]
    assert [h["type"] for h in history] == ["silence"]

    await lifecycle.create(svc, user, {"name": "Cached Team", "short_name": "CT"})
    assert (await _me(client, token))["team"]["name"] == "Cached Team"

    sender = await create_user(app, "pen_pal")
    sent = await client.post(
        "/api/v2/chat/new",
        data={"target_id": str(user), "message": "hello"},
        headers={"Authorization": f"Bearer {await issue_token(app, sender)}"},
    )
    assert sent.status_code == 200, sent.text
    assert (await _me(client, token))["unread_pm_count"] == 1
    channel, message = sent.json()["channel"]["channel_id"], sent.json()["message"]["message_id"]
    read = await client.put(f"/api/v2/chat/channels/{channel}/mark-as-read/{message}", headers=auth)
    assert read.status_code == 204, read.text
    assert (await _me(client, token))["unread_pm_count"] == 0

    row = await users_db.get_user(svc.db, user)
    assert row is not None
    await sanctions.restrict(svc, OPERATOR, row, "cheating")
    assert (await _me(client, token))["is_restricted"] is True


async def test_me_per_request_fields_are_not_cached(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    """The cached body carries none of the per-request fields: each call writes its own, once."""
    from core.users import profiles

    await _me(client, token)
    cached = await services(app).cache.get(profiles.own_profile_key(user, None))
    assert cached is not None
    for name in (b"session_verified", b"unread_pm_count", b"current_user_attributes"):
        assert name not in cached
    again = await client.get("/api/v2/me/", headers={"Authorization": f"Bearer {token}"})
    assert again.content.count(b'"session_verified"') == 1
    body = again.json()
    assert body["session_verified"] is True and body["current_user_attributes"] == {
        "has_blocked": False
    }
