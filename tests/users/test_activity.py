"""Profiles from stored data: counts, monthly plays and replay views, set lists, recent activity,
kudosu, account history, the login favourites request and lookup ranks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.beatmaps import store as beatmaps_db
from core.db import utcnow
from core.services import services
from core.users import activity, events
from core.users import store as users_db
from tests.beatmaps.support import import_osz, make_osu
from tests.conftest import create_user, issue_token
from tests.scores import support


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def mapped_set(
    app: Starlette, set_id: int, status: str, creator: str = "mapper", objects: int = 10
) -> None:
    osu = make_osu(
        beatmap_id=set_id + 1,
        set_id=set_id,
        creator=creator,
        title=f"Set {set_id}",
        objects=objects,
    )
    summary = await import_osz(app, {f"map{set_id}.osu": osu}, status)
    assert not summary.failed, summary.failed


async def count_rows(app: Starlette, table: sa.Table) -> int:
    return int(await services(app).db.fetch_val(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_login_favourites_and_favourite_count(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    await mapped_set(app, 500, "ranked", creator="someone")
    await mapped_set(app, 600, "loved", creator="someone")
    empty = await client.get("/api/v2/me/beatmapset-favourites", headers=auth(token))
    assert empty.status_code == 200 and empty.json() == {"beatmapset_ids": []}
    shown = (await client.get(f"/api/v2/users/{user}", headers=auth(token))).json()
    assert shown["favourite_beatmapset_count"] == 0  # now cached
    for set_id in (500, 600):
        r = await client.post(
            f"/api/v2/beatmapsets/{set_id}/favourites",
            data={"action": "favourite"},
            headers=auth(token),
        )
        assert r.status_code == 200
    ids = (await client.get("/api/v2/me/beatmapset-favourites", headers=auth(token))).json()
    assert sorted(ids["beatmapset_ids"]) == [500, 600]
    shown = (await client.get(f"/api/v2/users/{user}", headers=auth(token))).json()
    assert shown["favourite_beatmapset_count"] == 2
    listed = await client.get(
        f"/api/v2/users/{user}/beatmapsets/favourite?limit=1", headers=auth(token)
    )
    assert len(listed.json()) == 1 and listed.json()[0]["beatmaps"]
    second = await client.get(
        f"/api/v2/users/{user}/beatmapsets/favourite?limit=1&offset=1", headers=auth(token)
    )
    assert {listed.json()[0]["id"], second.json()[0]["id"]} == {500, 600}
    # Without a user (client credentials) there is no "me".
    public = await issue_token(app, None, ("public",))
    r = await client.get("/api/v2/me/beatmapset-favourites", headers=auth(public))
    assert r.status_code in (401, 403)


async def test_plays_fill_monthly_playcounts_and_most_played(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    first = (await support.submit(client, token, beatmap, support.body(beatmap, misses=2))).json()
    await support.submit(client, token, beatmap, support.body(beatmap))
    me = (await client.get("/api/v2/me/osu", headers=auth(token))).json()
    month = first["ended_at"][:7] + "-01"
    assert me["monthly_playcounts"] == [{"start_date": month, "count": 2}]
    assert sum(m["count"] for m in me["monthly_playcounts"]) == me["statistics"]["play_count"]
    assert me["beatmap_playcounts_count"] == 1
    played = (
        await client.get(f"/api/v2/users/{user}/beatmapsets/most_played", headers=auth(token))
    ).json()
    assert len(played) == 1
    assert played[0]["beatmap_id"] == beatmap.id and played[0]["count"] == 2
    assert played[0]["beatmap"]["id"] == beatmap.id
    assert played[0]["beatmapset"]["id"] == played[0]["beatmap"]["beatmapset_id"]


async def test_month_counter_adds_to_the_month_of_the_play(app: Starlette, user: int) -> None:
    db = services(app).db
    when = utcnow().replace(year=2024, month=2, day=29)
    await activity.add_to_month(db, user, activity.PLAYS, when)
    await activity.add_to_month(db, user, activity.PLAYS, when.replace(day=1), amount=2)
    await activity.add_to_month(db, user, activity.PLAYS, when.replace(month=3))
    assert await activity.monthly(db, user, activity.PLAYS) == [
        {"start_date": "2024-02-01", "count": 3},
        {"start_date": "2024-03-01", "count": 1},
    ]
    assert await activity.monthly(db, user, activity.REPLAYS_WATCHED) == []


async def test_replay_views_count_only_other_viewers(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    score = (await support.submit(client, token, beatmap, support.body(beatmap))).json()
    await services(app).storage.put(f"replays/{score['id']}.osr", b"replay-bytes")
    url = f"/api/v2/scores/{score['id']}/download"
    viewer = await issue_token(app, await create_user(app, "watcher"))
    assert (await client.get(url, headers=auth(token))).status_code == 200  # own: not counted
    assert (await client.head(url, headers=auth(viewer))).status_code == 200  # no body
    me = (await client.get("/api/v2/me/osu", headers=auth(token))).json()
    assert me["replays_watched_counts"] == []
    assert me["statistics"]["replays_watched_by_others"] == 0
    for _ in range(2):
        assert (await client.get(url, headers=auth(viewer))).status_code == 200
    shown = (await client.get(f"/api/v2/users/{user}/osu", headers=auth(viewer))).json()
    assert shown["replays_watched_counts"] == [
        {"start_date": utcnow().date().replace(day=1).isoformat(), "count": 2}
    ]
    assert shown["statistics"]["replays_watched_by_others"] == 2
    got = (await client.get(f"/api/v2/scores/{score['id']}", headers=auth(viewer))).json()
    assert got["replay_views"] == 2
    # A replay that is not there counts nothing.
    missing = await client.get("/api/v2/scores/999999/download", headers=auth(viewer))
    assert missing.status_code == 404
    again = (await client.get(f"/api/v2/scores/{score['id']}", headers=auth(viewer))).json()
    assert again["replay_views"] == 2


async def test_mapped_set_counts_lists_and_set_events(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    mapper = await create_user(app, "mapper")
    guest = await create_user(app, "guest")
    statuses = {800: "ranked", 810: "approved", 820: "loved", 830: "pending", 840: "graveyard"}
    for set_id, status in statuses.items():
        await mapped_set(app, set_id, status)
    await mapped_set(app, 850, "ranked", creator="nobody here")  # no account: not anyone's
    db = services(app).db
    # A guest difficulty: the set is the mapper's, this difficulty the guest's.
    await db.execute(
        beatmaps_db.beatmaps.update().where(beatmaps_db.beatmaps.c.id == 801).values(user_id=guest)
    )
    shown = (await client.get(f"/api/v2/users/{mapper}", headers=auth(token))).json()
    assert shown["ranked_beatmapset_count"] == 2
    assert shown["ranked_and_approved_beatmapset_count"] == 2
    assert shown["loved_beatmapset_count"] == 1
    assert shown["pending_beatmapset_count"] == shown["unranked_beatmapset_count"] == 1
    assert shown["graveyard_beatmapset_count"] == 1
    assert shown["guest_beatmapset_count"] == 0
    assert shown["nominated_beatmapset_count"] == 0
    other = (await client.get(f"/api/v2/users/{guest}", headers=auth(token))).json()
    assert other["guest_beatmapset_count"] == 1 and other["ranked_beatmapset_count"] == 0

    async def listed(user_id: int, kind: str, query: str = "") -> list[int]:
        r = await client.get(
            f"/api/v2/users/{user_id}/beatmapsets/{kind}{query}", headers=auth(token)
        )
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()]

    assert sorted(await listed(mapper, "ranked")) == [800, 810]
    assert await listed(mapper, "ranked", "?limit=1&offset=1") != await listed(
        mapper, "ranked", "?limit=1"
    )
    assert await listed(mapper, "loved") == [820]
    assert await listed(mapper, "pending") == [830]
    assert await listed(mapper, "unranked") == [830]
    assert await listed(mapper, "graveyard") == [840]
    assert await listed(mapper, "nominated") == []
    assert await listed(guest, "guest") == [800]
    # Upload events, then an update that changes the status makes an approval.
    await mapped_set(app, 830, "loved", objects=12)
    feed = (
        await client.get(f"/api/v2/users/{mapper}/recent_activity?limit=50", headers=auth(token))
    ).json()
    kinds = [e["type"] for e in feed]
    assert kinds[0] == "beatmapsetApprove" and kinds.count("beatmapsetUpload") == 5
    assert feed[0]["approval"] == "loved"
    assert feed[0]["beatmapset"] == {"title": "Test Artist - Set 830", "url": "/beatmapsets/830"}
    assert feed[0]["user"] == {"username": "mapper", "url": f"/users/{mapper}"}
    assert set(feed[0]) >= {"id", "type", "created_at", "createdAt"}
    # An update keeping the status is no event.
    await mapped_set(app, 830, "loved", objects=14)
    assert await count_rows(app, events.user_events) == len(feed)


async def test_rank_and_rank_lost_events(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    rival = await create_user(app, "rival")
    rival_token = await issue_token(app, rival)
    await support.submit(client, token, beatmap, support.body(beatmap, misses=3))
    feed = (await client.get(f"/api/v2/users/{user}/recent_activity", headers=auth(token))).json()
    assert [e["type"] for e in feed] == ["rank"]
    assert feed[0]["rank"] == 1 and feed[0]["mode"] == "osu"
    assert feed[0]["beatmap"]["url"] == f"/beatmaps/{beatmap.id}?mode=osu"
    # The rival takes first place: they rank, the player loses first place.
    await support.submit(client, rival_token, beatmap, support.body(beatmap))
    rival_feed = (
        await client.get(f"/api/v2/users/{rival}/recent_activity", headers=auth(token))
    ).json()
    assert [(e["type"], e["rank"]) for e in rival_feed] == [("rank", 1)]
    feed = (await client.get(f"/api/v2/users/{user}/recent_activity", headers=auth(token))).json()
    assert [e["type"] for e in feed] == ["rankLost", "rank"]
    # A worse play of the rival is no new best: no event, and nobody loses anything.
    await support.submit(client, rival_token, beatmap, support.body(beatmap, misses=5))
    assert await count_rows(app, events.user_events) == 3
    # The rival improving on their own first place takes it from nobody.
    better = support.body(beatmap, total_score=1_000_000)
    await support.submit(client, rival_token, beatmap, better)
    feed = (await client.get(f"/api/v2/users/{user}/recent_activity", headers=auth(token))).json()
    assert [e["type"] for e in feed] == ["rankLost", "rank"]
    # Failed plays make no event.
    await support.submit(client, token, beatmap, support.body(beatmap, passed=False))
    assert await count_rows(app, events.user_events) == 4


async def test_username_change_event_and_v1_events(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    db = services(app).db
    await users_db.rename(db, user, "peppy", "peppy2")
    feed = (await client.get(f"/api/v2/users/{user}/recent_activity", headers=auth(token))).json()
    assert feed[0]["type"] == "usernameChange"
    assert feed[0]["user"] == {
        "username": "peppy2",
        "url": f"/users/{user}",
        "previousUsername": "peppy",
    }
    _, key = await users_db.create_api_key(db, user, "test")
    got = (await client.get("/api/get_user", params={"k": key, "u": str(user)})).json()
    [event] = got[0]["events"]
    assert event["display_html"] == (
        f"<b><a href='/users/{user}'>peppy</a></b> has changed their username to peppy2!"
    )
    assert event["epicfactor"] == "4" and event["beatmap_id"] == "0"
    # Events older than `event_days` are left out; bad values fall back to one day.
    await db.execute(
        events.user_events.update().values(created_at=utcnow().replace(year=utcnow().year - 1))
    )
    for days in ("1", "31", "x", "99999999999999999999", "-3"):
        got = (
            await client.get("/api/get_user", params={"k": key, "u": str(user), "event_days": days})
        ).json()
        assert got[0]["events"] == []


async def test_recent_activity_and_kudosu_paging_and_bad_input(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    db = services(app).db
    for n in range(3):
        await users_db.rename(db, user, f"name{n}", f"name{n + 1}")
    url = f"/api/v2/users/{user}/recent_activity"
    assert len((await client.get(url, headers=auth(token))).json()) == 3
    page = (await client.get(url + "?limit=2&offset=1", headers=auth(token))).json()
    assert [e["user"]["username"] for e in page] == ["name2", "name1"]
    # offset + limit stays within 100; nonsense is clamped, never a 500.
    for query in ("?offset=99&limit=50", "?offset=100", "?limit=abc", "?offset=-5", "?limit=0"):
        r = await client.get(url + query, headers=auth(token))
        assert r.status_code == 200 and isinstance(r.json(), list), query
    assert (await client.get(url + "?offset=100", headers=auth(token))).json() == []
    kudosu = await client.get(f"/api/v2/users/{user}/kudosu?limit=5&offset=2", headers=auth(token))
    assert kudosu.status_code == 200 and kudosu.json() == []
    ranking = await client.get("/api/v2/rankings/kudosu?page=2", headers=auth(token))
    assert ranking.status_code == 200 and ranking.json() == {"ranking": []}
    for path in ("recent_activity", "kudosu", "beatmapsets/ranked"):
        for who in ("99999999", "999999999999999999999999", "nobody_here"):
            r = await client.get(f"/api/v2/users/{who}/{path}", headers=auth(token))
            assert r.status_code == 404, (path, who)
    r = await client.get(f"/api/v2/users/{user}/beatmapsets/secret", headers=auth(token))
    assert r.status_code == 404
    big = await client.get(
        f"/api/v2/users/{user}/beatmapsets/ranked?offset=99999999999999999999999&limit=-1",
        headers=auth(token),
    )
    assert big.status_code == 200 and big.json() == []


async def test_restricted_users_lists_are_hidden_from_others(
    app: Starlette, client: httpx.AsyncClient, token: str
) -> None:
    hidden = await create_user(app, "hidden")
    await users_db.update_user(services(app).db, hidden, restricted=True)
    for path in ("recent_activity", "kudosu", "beatmapsets/favourite", "beatmapsets/most_played"):
        r = await client.get(f"/api/v2/users/{hidden}/{path}", headers=auth(token))
        assert r.status_code == 404, path
    own = await issue_token(app, hidden)
    r = await client.get(f"/api/v2/users/{hidden}/recent_activity", headers=auth(own))
    assert r.status_code == 200


async def test_account_history_shows_recent_silences_to_all_and_the_rest_to_the_user(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    db = services(app).db
    await activity.add_history(db, user, "silence", description="spam", length=600)
    await activity.add_history(db, user, "note", description="warned")
    with pytest.raises(ValueError):
        await activity.add_history(db, user, "banana")
    viewer = await issue_token(app, await create_user(app, "viewer"))
    shown = (await client.get(f"/api/v2/users/{user}", headers=auth(viewer))).json()
    [silence] = shown["account_history"]
    assert silence["type"] == "silence" and silence["length"] == 600
    assert silence["description"] == "spam" and silence["permanent"] is False
    assert silence["timestamp"].endswith("+00:00")
    me = (await client.get("/api/v2/me/", headers=auth(token))).json()
    assert [h["type"] for h in me["account_history"]] == ["note", "silence"]


async def test_unread_pm_count(app: Starlette, client: httpx.AsyncClient, token: str) -> None:
    me = (await client.get("/api/v2/me/", headers=auth(token))).json()
    assert me["unread_pm_count"] == 0
    sent = []
    for name in ("sender", "other sender"):
        sender_token = await issue_token(app, await create_user(app, name))
        r = await client.post(
            "/api/v2/chat/new",
            data={"target_id": str(me["id"]), "message": "hello", "is_action": "false"},
            headers=auth(sender_token),
        )
        assert r.status_code == 200, r.text
        sent.append(r.json())
    me = (await client.get("/api/v2/me/", headers=auth(token))).json()
    assert me["unread_pm_count"] == 2
    channel, message_id = sent[0]["new_channel_id"], sent[0]["message"]["message_id"]
    r = await client.put(
        f"/api/v2/chat/channels/{channel}/mark-as-read/{message_id}", headers=auth(token)
    )
    assert r.status_code in (200, 204), r.text
    me = (await client.get("/api/v2/me/", headers=auth(token))).json()
    assert me["unread_pm_count"] == 1


async def test_lookup_with_ruleset_gives_the_global_rank(
    app: Starlette, client: httpx.AsyncClient, user: int, token: str
) -> None:
    beatmap = await support.import_map(app, 0)
    await support.submit(client, token, beatmap, support.body(beatmap))
    idle = await create_user(app, "idle")
    r = await client.get(
        "/api/v2/users/lookup",
        params=[("ids[]", str(user)), ("ids[]", "idle"), ("ruleset_id", "0")],
        headers=auth(token),
    )
    ranks: dict[int, Any] = {u["id"]: u["global_rank"] for u in r.json()["users"]}
    assert ranks == {user: {"rank": 1, "ruleset_id": 0}, idle: {"rank": None, "ruleset_id": 0}}
    taiko = await client.get(
        "/api/v2/users/lookup", params={"ids[]": str(user), "ruleset_id": "1"}, headers=auth(token)
    )
    assert taiko.json()["users"][0]["global_rank"] == {"rank": None, "ruleset_id": 1}
    bad = await client.get(
        "/api/v2/users/lookup", params={"ids[]": str(user), "ruleset_id": "9"}, headers=auth(token)
    )
    assert bad.status_code == 422
