"""Comments in process: the bundle's shape, replies, sorts and cursors, editing, deleting,
votes, and every refusal leaving the stored comments as they were."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.plugins.comments.support import NEWS_ID, SET_ID, World, bearer, make_world, post, stored


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    # The limits have their own tests (test_comments_limits.py); these post more than the default.
    return {"comments": {"post_limit": "none", "vote_limit": "none"}}


@pytest.fixture
async def world(app: Starlette) -> World:
    return await make_world(app)


async def test_post_and_read_a_comment(world: World, client: httpx.AsyncClient) -> None:
    r = await post(client, world.alice_token, "  Nice **post** <script>alert(1)</script>  ")
    assert r.status_code == 200, r.text
    body = r.json()
    [comment] = body["comments"]
    assert comment["message"] == "Nice **post** <script>alert(1)</script>"
    # Players' HTML is escaped where the message is rendered.
    assert "<script>" not in comment["message_html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in comment["message_html"]
    assert "<strong>post</strong>" in comment["message_html"]
    assert comment["user_id"] == world.alice and comment["parent_id"] is None
    assert (comment["commentable_type"], comment["commentable_id"]) == ("news_post", NEWS_ID)
    assert comment["created_at"].endswith("Z") and comment["deleted_at"] is None
    assert [u["username"] for u in body["users"]] == ["alice"]
    assert body["included_comments"] == [] and body["pinned_comments"] == []
    assert (body["top_level_count"], body["total"], body["has_more"]) == (1, 1, False)
    meta, deleted = body["commentable_meta"]
    assert (meta["id"], meta["type"], meta["title"]) == (NEWS_ID, "news_post", "Open for comments")
    assert meta["current_user_attributes"] == {"can_new_comment_reason": None}
    assert deleted == {"title": "Deleted Item"}
    # Without a token, the same comment in the listing; with no votes of anybody's.
    listing = (
        await client.get(
            "/api/v2/comments", params={"commentable_type": "news_post", "commentable_id": NEWS_ID}
        )
    ).json()
    assert [c["id"] for c in listing["comments"]] == [comment["id"]]
    assert listing["user_votes"] == [] and listing["sort"] == "new"
    assert listing["commentable_meta"][0]["current_user_attributes"] == {
        "can_new_comment_reason": "Please sign in to proceed."
    }
    beatmapset = await post(
        client, world.alice_token, "mapped well", kind="beatmapset", target=SET_ID
    )
    meta = beatmapset.json()["commentable_meta"][0]
    assert (meta["owner_id"], meta["owner_title"], meta["type"]) == (
        world.bob,
        "MAPPER",
        "beatmapset",
    )


async def test_replies_and_nesting(world: World, client: httpx.AsyncClient) -> None:
    top = (await post(client, world.alice_token, "top")).json()["comments"][0]
    reply = await post(client, world.bob_token, "reply", kind="bogus", target=1, parent=top["id"])
    # A reply takes its parent's commentable, whatever the request names.
    body = reply.json()
    assert body["comments"][0]["commentable_type"] == "news_post"
    assert [c["id"] for c in body["included_comments"]] == [top["id"]]
    assert body["included_comments"][0]["replies_count"] == 1
    deeper = (
        await post(client, world.alice_token, "deeper", parent=body["comments"][0]["id"])
    ).json()
    listing = (
        await client.get(
            "/api/v2/comments",
            params={"commentable_type": "news_post", "commentable_id": NEWS_ID, "parent_id": 0},
        )
    ).json()
    assert [c["id"] for c in listing["comments"]] == [top["id"]]
    assert {c["id"] for c in listing["included_comments"]} == {
        body["comments"][0]["id"],
        deeper["comments"][0]["id"],
    }
    assert (listing["top_level_count"], listing["total"], listing["has_more_id"]) == (1, 3, 0)
    shown = (await client.get(f"/api/v2/comments/{top['id']}")).json()
    assert shown["has_more_id"] == top["id"] and len(shown["included_comments"]) == 2
    replies = (await client.get("/api/v2/comments", params={"parent_id": top["id"]})).json()
    assert [c["message"] for c in replies["comments"]] == ["reply"]
    by_bob = (await client.get("/api/v2/comments", params={"user_id": world.bob})).json()
    assert [c["message"] for c in by_bob["comments"]] == ["reply"]
    assert by_bob["user"]["username"] == "bob" and by_bob["total"] == 1
    assert (await client.get("/api/v2/comments", params={"user_id": 999999})).status_code == 404


async def test_sorts_and_cursors(app: Starlette, world: World, client: httpx.AsyncClient) -> None:
    ids = [
        (await post(client, world.alice_token, f"c{i}")).json()["comments"][0]["id"]
        for i in range(3)
    ]
    # Same second: the id breaks the tie, as in osu-web's sorts.
    r = await client.post(f"/api/v2/comments/{ids[0]}/vote", headers=bearer(world.bob_token))
    assert r.status_code == 200
    where = {"commentable_type": "news_post", "commentable_id": NEWS_ID, "limit": 1}
    for sort, expected in (("new", ids[::-1]), ("old", ids), ("top", [ids[0], ids[2], ids[1]])):
        seen, query = [], dict(where, sort=sort)
        for _ in range(3):
            page = (await client.get("/api/v2/comments", params=query)).json()
            assert page["sort"] == sort
            seen += [c["id"] for c in page["comments"]]
            query = dict(where, sort=sort) | {f"cursor[{k}]": v for k, v in page["cursor"].items()}
        assert seen == expected, sort
        assert page["has_more"] is False
    # lazer pages with `page`; `after` starts after a given comment.
    second = (await client.get("/api/v2/comments", params=dict(where, page=2))).json()
    assert [c["id"] for c in second["comments"]] == [ids[1]]
    after = (await client.get("/api/v2/comments", params=dict(where, after=ids[2]))).json()
    assert [c["id"] for c in after["comments"]] == [ids[1]]
    # An unusable cursor starts at the beginning (osu-web DbCursorHelper::prepare).
    for cursor in ({"cursor[created_at]": "yesterday", "cursor[id]": "1"}, {"cursor[id]": "x"}):
        page = (await client.get("/api/v2/comments", params=where | cursor)).json()
        assert [c["id"] for c in page["comments"]] == [ids[2]]


async def test_edit_delete_and_vote_own_and_others(
    app: Starlette, world: World, client: httpx.AsyncClient
) -> None:
    comment = (await post(client, world.alice_token, "first")).json()["comments"][0]
    url = f"/api/v2/comments/{comment['id']}"
    before = await stored(app)
    for method, path, token in (
        ("PUT", url, world.bob_token),
        ("DELETE", url, world.bob_token),
        ("POST", url + "/vote", world.alice_token),
    ):
        r = await client.request(
            method, path, data={"comment[message]": "hijacked"}, headers=bearer(token)
        )
        assert (r.status_code, r.json()) == (422, {"error": "Access denied."}), (method, path)
    assert await stored(app) == before
    edited = await client.patch(
        url, json={"comment": {"message": "second"}}, headers=bearer(world.alice_token)
    )
    shown = edited.json()["comments"][0]
    assert (shown["message"], shown["edited_by_id"]) == ("second", world.alice)
    assert shown["edited_at"] is not None
    voted = await client.post(url + "/vote", headers=bearer(world.bob_token))
    assert (voted.json()["comments"][0]["votes_count"], voted.json()["user_votes"]) == (
        1,
        [comment["id"]],
    )
    again = await client.post(url + "/vote", headers=bearer(world.bob_token))
    assert again.json()["comments"][0]["votes_count"] == 1
    unvoted = await client.delete(url + "/vote", headers=bearer(world.bob_token))
    assert (unvoted.json()["comments"][0]["votes_count"], unvoted.json()["user_votes"]) == (0, [])
    assert (await client.delete(url + "/vote", headers=bearer(world.bob_token))).status_code == 200
    deleted = await client.delete(url, headers=bearer(world.alice_token))
    gone = deleted.json()["comments"][0]
    assert gone["deleted_at"] is not None and "message" not in gone and "message_html" not in gone
    r = await client.put(url, data={"comment[message]": "back"}, headers=bearer(world.alice_token))
    assert (r.status_code, r.json()) == (422, {"error": "Can't edit deleted post."})
    r = await post(client, world.bob_token, "reply", parent=comment["id"])
    assert (r.status_code, r.json()) == (
        422,
        {"error": "Replying to deleted comment is not allowed."},
    )
    # A deleted comment keeps its place in its commentable's listing, without its text.
    listing = (
        await client.get(
            "/api/v2/comments", params={"commentable_type": "news_post", "commentable_id": NEWS_ID}
        )
    ).json()
    assert "message" not in listing["comments"][0]
    # The site-wide listing leaves deleted comments out.
    assert (await client.get("/api/v2/comments")).json()["comments"] == []


async def test_restricted_and_silenced_users_cannot_write(
    app: Starlette, world: World, client: httpx.AsyncClient
) -> None:
    comment = (await post(client, world.alice_token, "hello")).json()["comments"][0]
    db = services(app).db
    troll = await create_user(app, "troll")
    token = await issue_token(app, troll)
    await users_db.update_user(db, troll, restricted=True)
    quiet = await create_user(app, "quiet")
    quiet_token = await issue_token(app, quiet)
    until = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
    await users_db.update_user(db, quiet, silenced_until=until)
    before = await stored(app)
    for who, reason in (
        (token, "Can't do that while restricted."),
        (quiet_token, "Can't do that while silenced."),
    ):
        for method, path, data in (
            (
                "POST",
                "/api/v2/comments",
                {
                    "comment[commentable_type]": "news_post",
                    "comment[commentable_id]": str(NEWS_ID),
                    "comment[message]": "spam",
                },
            ),
            ("POST", f"/api/v2/comments/{comment['id']}/vote", {}),
        ):
            r = await client.request(method, path, data=data, headers=bearer(who))
            assert (r.status_code, r.json()) == (422, {"error": reason}), (method, path)
    assert await stored(app) == before
    listing = (
        await client.get(
            "/api/v2/comments",
            params={"commentable_type": "news_post", "commentable_id": NEWS_ID},
            headers=bearer(quiet_token),
        )
    ).json()
    reason = listing["commentable_meta"][0]["current_user_attributes"]["can_new_comment_reason"]
    assert reason == "Can't do that while silenced."


async def test_refused_input_changes_nothing(
    app: Starlette, world: World, client: httpx.AsyncClient
) -> None:
    parent = (await post(client, world.alice_token, "parent")).json()["comments"][0]
    before = await stored(app)
    form = {"comment[commentable_type]": "news_post", "comment[commentable_id]": str(NEWS_ID)}
    cases = [
        (form, "The message is required."),
        (form | {"comment[message]": "   "}, "The message is required."),
        (
            form | {"comment[message]": "x" * 10001},
            "The message exceeded maximum length - can only be up to 10000 characters.",
        ),
        (
            form | {"comment[commentable_type]": "user", "comment[message]": "m"},
            "invalid commentable specified",
        ),
        (
            form | {"comment[commentable_id]": "999", "comment[message]": "m"},
            "invalid commentable specified",
        ),
        (
            form | {"comment[commentable_id]": "abc", "comment[message]": "m"},
            "commentable_id must be an integer",
        ),
        (
            form | {"comment[commentable_id]": "9" * 30, "comment[message]": "m"},
            "commentable_id is out of range",
        ),
        (
            form | {"comment[parent_id]": "999999", "comment[message]": "m"},
            "Invalid parent id specified.",
        ),
        ({"comment[message]": "m"}, "invalid commentable specified"),
        ({}, "The message is required."),
    ]
    for data, message in cases:
        r = await client.post("/api/v2/comments", data=data, headers=bearer(world.bob_token))
        assert (r.status_code, r.json()) == (422, {"error": message}), data
    for body in (
        {"comment": "text"},
        {"comment": {"message": ["a"], "commentable_type": "news_post", "commentable_id": NEWS_ID}},
    ):
        r = await client.post("/api/v2/comments", json=body, headers=bearer(world.bob_token))
        assert r.status_code == 422, body
    # Someone else's or a missing comment, huge ids, no token, a token without lazer's scope.
    for method, path in (
        ("PUT", "/api/v2/comments/999999"),
        ("DELETE", "/api/v2/comments/99999999999999999999999"),
        ("POST", "/api/v2/comments/999999/vote"),
    ):
        r = await client.request(method, path, headers=bearer(world.bob_token))
        assert r.status_code == 404, (method, path)
    assert (await client.get("/api/v2/comments/999999")).status_code == 404
    r = await client.post("/api/v2/comments", data=form | {"comment[message]": "m"})
    assert (r.status_code, r.json()) == (401, {"authentication": "basic"})
    public = await issue_token(app, world.bob, ["public"])
    r = await client.post(
        "/api/v2/comments", data=form | {"comment[message]": "m"}, headers=bearer(public)
    )
    assert r.status_code == 403
    guest = await issue_token(app, None)
    r = await client.post(f"/api/v2/comments/{parent['id']}/vote", headers=bearer(guest))
    assert r.status_code == 401
    assert await stored(app) == before
    # Listings refuse what they cannot read.
    for query, status in (
        ({"commentable_type": "user", "commentable_id": 1}, 422),
        ({"commentable_type": "news_post", "commentable_id": 12345}, 404),
        ({"commentable_type": "news_post", "commentable_id": "abc"}, 422),
        ({"commentable_type": "beatmapset", "commentable_id": "9" * 30}, 422),
        ({"parent_id": "x"}, 422),
        ({"after": 999999}, 404),
        ({"page": "x"}, 422),
    ):
        r = await client.get("/api/v2/comments", params=query)
        assert r.status_code == status, query


async def test_a_comment_can_be_reported(
    app: Starlette, world: World, client: httpx.AsyncClient
) -> None:
    comment = (await post(client, world.alice_token, "rude")).json()["comments"][0]
    form = {"reportable_type": "comment", "reportable_id": comment["id"], "reason": "Insults"}
    r = await client.post("/api/v2/reports", data=form, headers=bearer(world.bob_token))
    assert r.status_code == 204
    r = await client.post("/api/v2/reports", data=form, headers=bearer(world.alice_token))
    assert (r.status_code, r.json()) == (422, {"error": "You can't report yourself!"})
    await client.delete(f"/api/v2/comments/{comment['id']}", headers=bearer(world.alice_token))
    form["reportable_id"] = comment["id"]
    r = await client.post(
        "/api/v2/reports",
        data=form,
        headers=bearer(await issue_token(app, await create_user(app, "carol"))),
    )
    assert (r.status_code, r.json()) == (404, {"error": "Specified Comment couldn't be found."})
