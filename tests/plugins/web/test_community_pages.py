"""plugins.web.community_pages and comment_pages: medals, teams, the daily challenge, news with
comments, comments on beatmapsets, and the team and spotlight chart rankings, each from seeded
data; 404 pages, restricted players hidden, bad query values answered with a 4xx page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
from starlette.applications import Starlette

from core.comments import store as comments_db
from core.comments.store import Commentable
from core.config import Settings
from core.daily_challenge import rotation
from core.daily_challenge import stats as dc_stats
from core.db import utcnow
from core.medals import catalogue
from core.medals import store as medals_db
from core.rooms import store as rooms_db
from core.services import services
from core.spotlights import store as spotlights_db
from core.teams import store as teams_db
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.plugins.content.support import write_content
from tests.plugins.web.test_pages import csrf_of, login
from tests.scores import support


async def restrict(app: Starlette, user_id: int) -> None:
    await users_db.update_user(services(app).db, user_id, restricted=True)


def assert_page(response: httpx.Response, status: int = 200) -> str:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_medals_catalogue_and_profile(app: Starlette, client: httpx.AsyncClient) -> None:
    db = services(app).db
    first = catalogue.by_slug()["osu-skill-pass-1"]
    other = catalogue.by_slug()["all-intro-hidden"]
    alice = await create_user(app, "alice", password="alice password 1")
    bob = await create_user(app, "bob")
    hidden = await create_user(app, "hidden")
    for uid in (alice, bob, hidden):
        await medals_db.award(db, uid, first["id"])
    await medals_db.award(db, alice, other["id"])
    await restrict(app, hidden)
    text = assert_page(await client.get("/medals"))
    for group in ("Skill", "Dedication", "Mod Introduction"):
        assert f">{group}</h2>" in text
    assert first["name"] in text and other["name"] in text
    # The restricted holder is not counted.
    block = text[text.index(f'id="medal-{first["id"]}"') :]
    assert "2 players have it" in block[: block.index("</li>")]
    block = text[text.index(f'id="medal-{other["id"]}"') :]
    assert "1 player has it" in block[: block.index("</li>")]
    profile = assert_page(await client.get(f"/users/{alice}"))
    assert f'id="medal-{other["id"]}"' in profile and first["name"] in profile
    assert "Medals (2)" in profile
    # Signed in, the catalogue marks the player's own.
    assert (await login(client, "alice", "alice password 1")).status_code == 303
    mine = assert_page(await client.get("/medals"))
    assert 'id="held-count">2<' in mine and "yours since" in mine


async def test_team_page_and_profile_link(app: Starlette, client: httpx.AsyncClient) -> None:
    db = services(app).db
    leader = await create_user(app, "leader", password="leader password 1")
    member = await create_user(app, "member")
    hidden = await create_user(app, "sneaky")
    team_id = await teams_db.insert_team(
        db,
        {
            "name": "Circle Clickers",
            "short_name": "CC",
            "flag_url": "https://example.com/flag.png",
            "description": "We click circles.",
            "leader_id": leader,
        },
    )
    await teams_db.add_member(db, team_id, member)
    await teams_db.add_member(db, team_id, hidden)
    await restrict(app, hidden)
    beatmap = await support.import_map(app, 0)
    played = await support.submit(
        client, await issue_token(app, leader), beatmap, support.body(beatmap)
    )
    assert played.status_code == 200, played.text
    text = assert_page(await client.get(f"/teams/{team_id}"))
    assert "Circle Clickers" in text and "[CC]" in text and "We click circles." in text
    assert 'id="leader">leader<' in text and "/users/" + str(member) in text
    assert "sneaky" not in text
    assert "Members (2)" in text
    assert "#1" in text  # the team's osu! rank from the leader's pp
    profile = assert_page(await client.get(f"/users/{member}"))
    assert f'href="/teams/{team_id}" id="team-link">Circle Clickers<' in profile
    ranking = assert_page(await client.get("/rankings/osu/team"))
    assert f'href="/teams/{team_id}">Circle Clickers<' in ranking
    empty = assert_page(await client.get("/rankings/taiko/team"))
    assert "No team has performance" in empty
    for path in ("/teams/999", "/teams/abc", "/teams/0", "/rankings/nope/team"):
        assert "Not found" in assert_page(await client.get(path), 404), path
    assert_page(await client.get("/rankings/osu/team", params={"page": "x"}), 422)
    assert_page(await client.get("/rankings/osu/team", params={"page": "0"}), 422)


async def test_daily_challenge_page(app: Starlette, client: httpx.AsyncClient) -> None:
    db = services(app).db
    today = rotation.day_of(services(app).clock.time())
    none_yet = assert_page(await client.get("/daily-challenge"))
    assert 'id="no-challenge"' in none_yet
    player = await create_user(app, "daily", password="daily password 1")
    hidden = await create_user(app, "dailyhidden")
    beatmap = await support.import_map(app, 0)
    room_id, made = await rotation.rotate(app, today, host_user_id=player, ruleset_id=0)
    assert made and room_id is not None
    (item,) = (await rooms_db.items_of(db, [room_id]))[room_id]
    for uid, misses in ((player, 0), (hidden, 1)):
        r = await support.submit(
            client, await issue_token(app, uid), beatmap, support.body(beatmap, misses=misses)
        )
        assert r.status_code == 200, r.text
        score = r.json()
        await db.execute(
            rooms_db.room_item_bests.insert().values(
                playlist_item_id=item["id"],
                user_id=uid,
                room_id=room_id,
                score_id=score["id"],
                total_score=score["total_score"],
                accuracy=score["accuracy"],
                pp=0.0,
            )
        )
    await dc_stats.record_play(db, player, today)
    await restrict(app, hidden)
    text = assert_page(await client.get("/daily-challenge"))
    assert f"/beatmapsets/7000?beatmap={beatmap.id}" in text and "Song 7000" in text
    assert "Leaderboard" in text and "/users/" + str(player) in text
    assert "dailyhidden" not in text
    assert "Sign in" in text and 'id="daily-streak"' not in text
    assert (await login(client, "daily", "daily password 1")).status_code == 303
    mine = assert_page(await client.get("/daily-challenge"))
    assert 'id="daily-streak">1<' in mine and 'id="dc-playcount">1<' in mine
    assert 'id="own-best">' in mine and "(#1)" in mine
    assert_page(await client.get("/daily-challenge", params={"day": today.isoformat()}))
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert "Not found" in assert_page(await client.get(f"/daily-challenge?day={yesterday}"), 404)
    for bad in ("tomorrow", "2026-13-01", (today + dt.timedelta(days=1)).isoformat()):
        assert_page(await client.get("/daily-challenge", params={"day": bad}), 422)


async def test_news_pages_with_comments(
    app: Starlette, client: httpx.AsyncClient, settings: Settings
) -> None:
    write_content(Path(settings.data_dir) / "content")
    db = services(app).db
    index = assert_page(await client.get("/home/news"))
    assert 'href="/home/news/2026-01-10-first-light">First light<' in index
    assert "The server is open." in index and "From the future" not in index
    older = assert_page(await client.get("/home/news", params={"year": 2024}))
    assert "Old news" in older and "First light" not in older
    writer = await create_user(app, "writer")
    hidden = await create_user(app, "shady")
    post_id = 42  # "Old news" gives its id in the front matter
    parent = await comments_db.insert_comment(
        db,
        commentable=Commentable("news_post", post_id),
        user_id=writer,
        message="Great **news**",
        parent_id=None,
    )
    await comments_db.insert_comment(
        db,
        commentable=Commentable("news_post", post_id),
        user_id=hidden,
        message="secret spam",
        parent_id=parent,
    )
    await restrict(app, hidden)
    post = assert_page(await client.get("/home/news/2024-05-01-old-news"))
    assert "<h1" in post and "Old news" in post and "From long ago." in post
    assert "<strong>news</strong>" in post and "/users/" + str(writer) in post
    assert "secret spam" not in post and "shady" not in post
    assert "This comment is hidden." in post
    assert 'id="comments-total">2<' in post
    assert "Newer: Winter update" in post
    for path in ("/home/news/nope", "/home/news/2099-01-01-not-yet"):
        assert "Not found" in assert_page(await client.get(path), 404), path
    assert_page(await client.get("/home/news", params={"year": "abc"}), 422)
    assert_page(await client.get("/home/news", params={"cursor": "garbage!"}), 422)
    assert_page(
        await client.get("/home/news/2024-05-01-old-news", params={"comments_sort": "x"}), 422
    )


async def test_beatmapset_comments(app: Starlette, client: httpx.AsyncClient) -> None:
    db = services(app).db
    await support.import_map(app, 0)
    first = await create_user(app, "early")
    second = await create_user(app, "late")
    for uid, message in ((first, "first comment"), (second, "second comment")):
        await comments_db.insert_comment(
            db,
            commentable=Commentable("beatmapset", 7000),
            user_id=uid,
            message=message,
            parent_id=None,
        )
    new = assert_page(await client.get("/beatmapsets/7000"))
    assert new.index("second comment") < new.index("first comment")
    old = assert_page(await client.get("/beatmapsets/7000", params={"comments_sort": "old"}))
    assert old.index("first comment") < old.index("second comment")
    assert "<script" not in old
    assert_page(await client.get("/beatmapsets/7000", params={"comments_sort": "best"}), 422)


async def test_spotlight_charts(app: Starlette, client: httpx.AsyncClient) -> None:
    db = services(app).db
    beatmap = await support.import_map(app, 0)
    shown = await create_user(app, "charted")
    hidden = await create_user(app, "uncharted")
    for uid in (shown, hidden):
        r = await support.submit(
            client, await issue_token(app, uid), beatmap, support.body(beatmap)
        )
        assert r.status_code == 200, r.text
    await restrict(app, hidden)
    assert "Not found" in assert_page(await client.get("/rankings/osu/charts"), 404)
    now = utcnow()
    old = await spotlights_db.create(
        db,
        name="Last year",
        type="bestof",
        start=now - dt.timedelta(days=400),
        end=now - dt.timedelta(days=300),
        mode_specific=False,
    )
    current = await spotlights_db.create(
        db,
        name="This month",
        type="monthly",
        start=now - dt.timedelta(days=1),
        end=now + dt.timedelta(days=1),
        mode_specific=True,
    )
    for sid in (old, current):
        await spotlights_db.add_set(db, sid, 7000)
    latest = assert_page(await client.get("/rankings/osu/charts"))
    assert "Charts: This month" in latest and "/users/" + str(shown) in latest
    assert "uncharted" not in latest and 'id="participants">1<' in latest
    assert 'href="/beatmapsets/7000"' in latest
    past = assert_page(await client.get("/rankings/osu/charts", params={"spotlight": old}))
    assert "Charts: Last year" in past and "Nobody has a score" in past
    # A mode-specific spotlight's chart of another ruleset has no osu! sets.
    taiko = assert_page(await client.get("/rankings/taiko/charts"))
    assert "No beatmaps for this ruleset." in taiko
    assert "Not found" in assert_page(
        await client.get("/rankings/osu/charts", params={"spotlight": 999}), 404
    )
    for bad in ("abc", "0", "-1"):
        assert_page(await client.get("/rankings/osu/charts", params={"spotlight": bad}), 422)
    # The performance page's tabs lead to both new rankings.
    tabs = assert_page(await client.get("/rankings/osu/performance"))
    assert 'href="/rankings/osu/team"' in tabs and 'href="/rankings/osu/charts"' in tabs


async def test_the_nav_links_the_community_pages(client: httpx.AsyncClient) -> None:
    home = assert_page(await client.get("/"))
    for path in ("/daily-challenge", "/medals", "/home/news"):
        assert f'href="{path}"' in home
    # Every page answers HEAD as the site's other pages do.
    assert (await client.head("/medals")).status_code == 200


async def test_posting_comments_needs_sign_in_and_csrf(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    db = services(app).db
    await support.import_map(app, 0)
    uid = await create_user(app, "poster", password="poster password 1")
    target = Commentable("beatmapset", 7000)

    async def stored() -> list[str]:
        rows = await comments_db.list_comments(
            db,
            commentable=target,
            user_id=None,
            parent_id=None,
            sort="old",
            cursor=None,
            offset=0,
            limit=10,
            include_deleted=True,
        )
        return [r["message"] for r in rows]

    signed_out = assert_page(await client.get("/beatmapsets/7000"))
    assert "to comment." in signed_out and 'action="/comments"' not in signed_out
    assert (await login(client, "poster", "poster password 1")).status_code == 303
    shown = assert_page(await client.get("/beatmapsets/7000"))
    token = csrf_of(shown)
    fields = {"commentable_type": "beatmapset", "commentable_id": "7000"}
    forged = await client.post("/comments", data={**fields, "message": "hi", "csrf_token": "x"})
    assert_page(forged, 403)
    empty = await client.post("/comments", data={**fields, "message": " ", "csrf_token": token})
    assert "The message is required." in assert_page(empty, 422)
    nowhere = await client.post(
        "/comments",
        data={"commentable_type": "beatmapset", "commentable_id": "1", "message": "x"}
        | {"csrf_token": token},
    )
    assert_page(nowhere, 422)
    bad_id = await client.post(
        "/comments", data={**fields, "commentable_id": "abc", "message": "x", "csrf_token": token}
    )
    assert_page(bad_id, 422)
    assert await stored() == []
    posted = await client.post(
        "/comments", data={**fields, "message": "Lovely *map*", "csrf_token": token}
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"].startswith("/beatmapsets/7000#comment-")
    parent = int(posted.headers["location"].rsplit("-", 1)[1])
    reply = await client.post(
        "/comments", data={"parent_id": str(parent), "message": "Agreed", "csrf_token": token}
    )
    assert reply.status_code == 303, reply.text
    assert await stored() == ["Lovely *map*", "Agreed"]
    page = assert_page(await client.get("/beatmapsets/7000"))
    assert "Lovely <em>map</em>" in page and "Agreed" in page
    # A restricted player is told why and nothing is stored.
    await restrict(app, uid)
    refused = assert_page(await client.get("/beatmapsets/7000"))
    assert "do that while restricted." in refused and 'action="/comments"' not in refused
    again = await client.post("/comments", data={**fields, "message": "more", "csrf_token": token})
    assert "restricted" in assert_page(again, 422)
    assert await stored() == ["Lovely *map*", "Agreed"]
