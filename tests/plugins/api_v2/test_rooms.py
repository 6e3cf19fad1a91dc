"""API v2 rooms in-process: playlists (create, list, show, join, part, close), room score tokens
and submission, per-item listings with cursors, the leaderboard, and refusals of bad input."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.rooms import store as rooms_db
from core.services import services
from tests.conftest import create_user, issue_token
from tests.scores import support


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def beatmap(app: Starlette) -> support.Map:
    return await support.import_map(app, 0)


def playlist_body(beatmap: support.Map, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "weekly maps",
        "duration": 60,
        "playlist": [
            {
                "beatmap_id": beatmap.id,
                "ruleset_id": 0,
                "required_mods": [{"acronym": "HD"}],
                "allowed_mods": [{"acronym": "HR"}],
            }
        ],
    }
    body.update(extra)
    return body


async def create(client: httpx.AsyncClient, token: str, beatmap: support.Map, **extra: Any) -> dict:
    response = await client.post(
        "/api/v2/rooms", json=playlist_body(beatmap, **extra), headers=auth(token)
    )
    assert response.status_code == 200, response.text
    return response.json()


async def play(
    client: httpx.AsyncClient,
    token: str,
    room: dict,
    beatmap: support.Map,
    mods: list[dict] | None = None,
    **body: Any,
) -> httpx.Response:
    item_id = room["playlist"][0]["id"]
    created = await client.post(
        f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores",
        data={"beatmap_id": str(beatmap.id), "beatmap_hash": beatmap.checksum, "ruleset_id": "0"},
        headers=auth(token),
    )
    assert created.status_code == 200, created.text
    assert created.json()["playlist_item_id"] == item_id
    payload = support.body(beatmap, mods=mods if mods is not None else [{"acronym": "HD"}], **body)
    return await client.put(
        f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores/{created.json()['id']}",
        json=payload,
        headers=auth(token),
    )


async def test_create_show_and_list_a_playlist(
    client: httpx.AsyncClient, token: str, user: int, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    assert room["type"] == "playlists" and room["user_id"] == user
    assert room["channel_id"] > 0 and room["active"] is True and room["has_password"] is False
    item = room["playlist"][0]
    assert item["beatmap"]["checksum"] == beatmap.checksum
    assert item["beatmap"]["beatmapset"]["id"] == 7000
    assert item["required_mods"] == [{"acronym": "HD"}]
    assert room["current_playlist_item"]["id"] == item["id"]
    assert room["playlist_item_stats"] == {"count_active": 1, "count_total": 1, "ruleset_ids": [0]}
    listed = (await client.get("/api/v2/rooms", headers=auth(token))).json()
    assert [r["id"] for r in listed] == [room["id"]]
    assert (await client.get("/api/v2/rooms?category=realtime", headers=auth(token))).json() == []
    owned = await client.get("/api/v2/rooms?mode=owned", headers=auth(token))
    assert [r["id"] for r in owned.json()] == [room["id"]]
    assert (await client.get("/api/v2/rooms?mode=ended", headers=auth(token))).json() == []
    shown = (await client.get(f"/api/v2/rooms/{room['id']}", headers=auth(token))).json()
    assert shown["host"]["id"] == user
    # No attempts yet: a zeroed aggregate (osu-web UserScoreAggregate::lookupOrDefault).
    assert shown["current_user_score"] == {
        "accuracy": 0.0,
        "attempts": 0,
        "completed": 0,
        "pp": 0.0,
        "room_id": room["id"],
        "total_score": 0,
        "user_id": user,
        "playlist_item_attempts": [],
    }
    missing = await client.get("/api/v2/rooms/999999", headers=auth(token))
    assert missing.status_code == 404
    assert missing.json() == {"error": "Specified Multiplayer\\Room couldn't be found."}
    assert (await client.get("/api/v2/rooms")).status_code == 401


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "'name' is required"),
        ({"name": "x" * 101}, "'name' must be at most 100 characters"),
        ({"duration": 10}, "'ends_at' must be at least 30 minutes after 'starts_at'"),
        ({"duration": 60 * 24 * 30}, "The duration of the playlist is too long."),
        ({"duration": "soon"}, "field 'duration' must be an integer"),
        ({"playlist": "all"}, "field 'playlist' must an an array"),
        ({"playlist": []}, "room must have at least one playlist item"),
        ({"max_attempts": 0}, "field 'max_attempts' must be between 1 and 128"),
        ({"type": "head_to_head"}, "realtime rooms are created through the multiplayer server"),
    ],
)
async def test_bad_playlists_are_refused(
    app: Starlette,
    client: httpx.AsyncClient,
    token: str,
    beatmap: support.Map,
    change: dict,
    message: str,
) -> None:
    response = await client.post(
        "/api/v2/rooms", json=playlist_body(beatmap, **change), headers=auth(token)
    )
    assert response.status_code == 422
    assert response.json() == {"error": message}
    count = await services(app).db.fetch_val(sa.select(sa.func.count()).select_from(rooms_db.rooms))
    assert count == 0


async def test_bad_items_are_refused(
    client: httpx.AsyncClient, token: str, beatmap: support.Map
) -> None:
    cases = [
        ({"beatmap_id": 424242, "ruleset_id": 0}, "does not exist online"),
        ({"beatmap_id": beatmap.id, "ruleset_id": 9}, "unsupported ruleset"),
        (
            {"beatmap_id": beatmap.id, "ruleset_id": 0, "required_mods": [{"acronym": "XX"}]},
            "Invalid mods",
        ),
        (
            {"beatmap_id": beatmap.id, "ruleset_id": 0, "allowed_mods": [{"acronym": "DT"}]},
            "Invalid mods",
        ),
        (
            {
                "beatmap_id": beatmap.id,
                "ruleset_id": 0,
                "freestyle": True,
                "allowed_mods": [{"acronym": "HD"}],
            },
            "Freestyle items cannot have allowed mods.",
        ),
    ]
    for entry, message in cases:
        response = await client.post(
            "/api/v2/rooms", json=playlist_body(beatmap, playlist=[entry]), headers=auth(token)
        )
        assert response.status_code == 422, entry
        assert message in response.json()["error"]


async def test_room_scores_aggregate_per_user_and_list_with_cursors(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap)
    item_id = room["playlist"][0]["id"]
    others = []
    for name in ("a", "b", "c"):
        uid = await create_user(app, f"player_{name}")
        others.append((uid, await issue_token(app, uid)))
    events: list[dict] = []
    # Subscribed before the first play: every score event of the room is heard.
    async with services(app).cache.subscribe(rooms_db.ROOM_SCORE_CHANNEL) as subscription:
        first = await play(client, token, room, beatmap, misses=2)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["room_id"] == room["id"] and body["playlist_item_id"] == item_id
        assert body["position"] == 1 and body["user"]["id"] == user
        assert set(body["scores_around"]) == {"higher", "lower"}
        better = (await play(client, token, room, beatmap)).json()
        totals = {user: better["total_score"]}
        for index, (uid, other_token) in enumerate(others):
            scored = (await play(client, other_token, room, beatmap, misses=index + 3)).json()
            totals[uid] = scored["total_score"]
        while len(events) < 5:
            got = await subscription.get(10)
            assert got is not None, f"only {len(events)} score events"
            events.append(orjson.loads(got[1]))
    assert [e["score_id"] for e in events][:2] == [body["id"], better["id"]]
    assert events[0]["new_rank"] == 1 and events[0]["room_id"] == room["id"]

    board = (
        await client.get(f"/api/v2/rooms/{room['id']}/leaderboard", headers=auth(token))
    ).json()
    assert [e["user_id"] for e in board["leaderboard"]] == sorted(totals, key=lambda u: -totals[u])
    mine = board["user_score"]
    assert mine["attempts"] == 2 and mine["completed"] == 1 and mine["position"] == 1
    assert mine["total_score"] == better["total_score"]
    assert mine["accuracy"] == pytest.approx(better["accuracy"])

    url = f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores"
    page = (await client.get(url, params={"limit": 2}, headers=auth(token))).json()
    assert page["total"] == 4 and len(page["scores"]) == 2
    assert page["scores"][0]["id"] == better["id"]
    assert page["user_score"]["id"] == better["id"] and page["user_score"]["position"] == 1
    rest = (
        await client.get(
            url, params={"limit": 2, "cursor_string": page["cursor_string"]}, headers=auth(token)
        )
    ).json()
    assert len(rest["scores"]) == 2 and rest["cursor"] is None
    seen = [s["id"] for s in page["scores"] + rest["scores"]]
    assert len(set(seen)) == 4
    ascending = (await client.get(url, params={"sort": "score_asc"}, headers=auth(token))).json()
    assert [s["id"] for s in ascending["scores"]] == list(reversed(seen))
    one = await client.get(f"{url}/{better['id']}", headers=auth(token))
    assert one.status_code == 200 and one.json()["position"] == 1
    assert one.json()["scores_around"]["lower"]["scores"][0]["id"] == seen[1]
    # A non-best score of the item still shows, without a place.
    old = (await client.get(f"{url}/{body['id']}", headers=auth(token))).json()
    assert old["position"] is None
    by_user = await client.get(f"{url}/users/{others[0][0]}", headers=auth(token))
    assert by_user.json()["user_id"] == others[0][0]
    assert (await client.get(f"{url}/users/999999", headers=auth(token))).status_code == 404
    assert (await client.get(f"{url}/123456789", headers=auth(token))).status_code == 404

    stats = await rooms_db.item_stats(services(app).db, room["id"])
    assert stats[0]["playlist_item_id"] == item_id
    assert sum(stats[0]["total_score_distribution"]) == 4
    assert stats[0]["cumulative_score"] == sum(totals.values())
    assert stats[0]["last_processed_score_id"] == max(s for s in seen)


async def test_room_score_refusals_change_nothing(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap, max_attempts=2)
    item_id = room["playlist"][0]["id"]
    url = f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores"
    form = {"beatmap_id": str(beatmap.id), "beatmap_hash": beatmap.checksum, "ruleset_id": "0"}
    wrong_hash = await client.post(
        url, data={**form, "beatmap_hash": "f" * 32}, headers=auth(token)
    )
    assert wrong_hash.status_code == 422
    assert wrong_hash.json() == {"error": "invalid or missing beatmap_hash"}
    wrong_map = await client.post(url, data={**form, "beatmap_id": "1"}, headers=auth(token))
    assert wrong_map.status_code == 422
    no_item = await client.post(
        f"/api/v2/rooms/{room['id']}/playlist/999/scores", data=form, headers=auth(token)
    )
    assert no_item.status_code == 404
    token_id = (await client.post(url, data=form, headers=auth(token))).json()["id"]
    other = await create_user(app, "intruder")
    other_token = await issue_token(app, other)
    stolen = await client.put(
        f"{url}/{token_id}",
        json=support.body(beatmap, mods=[{"acronym": "HD"}]),
        headers=auth(other_token),
    )
    assert stolen.status_code == 404
    no_mods = await client.put(f"{url}/{token_id}", json=support.body(beatmap), headers=auth(token))
    assert no_mods.json() == {"error": "This play does not include the mods required."}
    extra = support.body(beatmap, mods=[{"acronym": "HD"}, {"acronym": "DT"}])
    not_allowed = await client.put(f"{url}/{token_id}", json=extra, headers=auth(token))
    assert not_allowed.json() == {"error": "This play includes mods that are not allowed."}
    broken = await client.put(f"{url}/{token_id}", json={"passed": "yes"}, headers=auth(token))
    assert broken.status_code == 422
    linked = await services(app).db.fetch_val(
        sa.select(sa.func.count()).select_from(rooms_db.room_scores)
    )
    assert linked == 0
    good = support.body(beatmap, mods=[{"acronym": "HD"}, {"acronym": "HR"}])
    first = await client.put(f"{url}/{token_id}", json=good, headers=auth(token))
    assert first.status_code == 200, first.text
    again = await client.put(f"{url}/{token_id}", json=good, headers=auth(token))
    assert again.json()["id"] == first.json()["id"]
    board = (
        await client.get(f"/api/v2/rooms/{room['id']}/leaderboard", headers=auth(token))
    ).json()
    assert board["user_score"]["attempts"] == 1 and board["user_score"]["completed"] == 1
    await client.post(url, data=form, headers=auth(token))
    tired = await client.post(url, data=form, headers=auth(token))
    assert tired.json() == {"error": "You have reached the maximum number of tries allowed."}


async def test_join_part_and_close(
    app: Starlette, client: httpx.AsyncClient, token: str, user: int, beatmap: support.Map
) -> None:
    room = await create(client, token, beatmap, password="secret")
    assert room["has_password"] is True
    guest = await create_user(app, "guest")
    guest_token = await issue_token(app, guest)
    base = f"/api/v2/rooms/{room['id']}/users"
    refused = await client.put(f"{base}/{guest}?password=nope", headers=auth(guest_token))
    assert refused.status_code == 422 and refused.json() == {"error": "Invalid password"}
    someone_else = await client.put(f"{base}/{user}?password=secret", headers=auth(guest_token))
    assert someone_else.status_code == 422
    joined = await client.put(f"{base}/{guest}?password=secret", headers=auth(guest_token))
    assert joined.status_code == 200 and joined.json()["participant_count"] == 1
    channels = (await client.get("/api/v2/chat/channels", headers=auth(guest_token))).json()
    assert channels is not None
    parted = await client.delete(f"{base}/{guest}", headers=auth(guest_token))
    assert parted.status_code == 204
    events = await client.get(f"/api/v2/rooms/{room['id']}/events", headers=auth(token))
    assert events.json() == {"error": "retrieving events is only supported for realtime rooms"}
    not_host = await client.delete(f"/api/v2/rooms/{room['id']}", headers=auth(guest_token))
    assert not_host.status_code == 422
    closed = await client.delete(f"/api/v2/rooms/{room['id']}", headers=auth(token))
    assert closed.status_code == 204
    item_id = room["playlist"][0]["id"]
    late = await client.post(
        f"/api/v2/rooms/{room['id']}/playlist/{item_id}/scores",
        data={"beatmap_id": str(beatmap.id), "ruleset_id": "0"},
        headers=auth(token),
    )
    assert late.json() == {"error": "Room has already ended."}
    ended = (await client.get("/api/v2/rooms?mode=ended", headers=auth(token))).json()
    assert [r["id"] for r in ended] == [room["id"]]
