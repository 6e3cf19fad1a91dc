"""Against `hitcircle serve`: lazer's requests post, vote and delete comments (as the client
sends them: forms with `comment[...]`), and ossapi, aiosu and osu.py read them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.config import Settings
from core.services import services
from tests.conftest import LiveServer, lazer_login
from tests.plugins.comments.support import NEWS_ID, SET_ID, make_world

SECRET = "s3cret-" + "m" * 30


async def test_lazer_writes_and_clients_read(
    app: Starlette, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiosu
    from ossapi import Ossapi
    from osu import AuthHandler, Client

    world = await make_world(app)
    client_id = await oauth_db.create_client(
        services(app).db, user_id=world.alice, name="c", secret_hash=sha256_hex(SECRET), redirect=""
    )
    server = LiveServer(settings)
    server.start()
    try:
        alice = lazer_login(server.url, "alice", "password123")
        bob = lazer_login(server.url, "bob", "password123")
        api = f"{server.url}/api/v2"
        form = {
            "comment[commentable_type]": "news_post",
            "comment[commentable_id]": str(NEWS_ID),
            "comment[message]": "first!",
        }
        posted = httpx.post(f"{api}/comments", data=form, headers=alice)
        assert posted.status_code == 200, posted.text
        top = posted.json()["comments"][0]["id"]
        reply = httpx.post(
            f"{api}/comments",
            data=form | {"comment[message]": "second", "comment[parent_id]": str(top)},
            headers=bob,
        ).json()["comments"][0]["id"]
        on_set = {"comment[commentable_type]": "beatmapset", "comment[commentable_id]": str(SET_ID)}
        doomed = httpx.post(
            f"{api}/comments", data=on_set | {"comment[message]": "oops"}, headers=bob
        ).json()["comments"][0]["id"]
        assert httpx.post(f"{api}/comments/{top}/vote", headers=bob).json()["user_votes"] == [top]
        deleted = httpx.delete(f"{api}/comments/{doomed}", headers=bob).json()["comments"][0]
        assert deleted["deleted_at"] is not None
        lazer_page = httpx.get(
            f"{api}/comments",
            params={
                "commentable_type": "news_post",
                "commentable_id": NEWS_ID,
                "page": 1,
                "sort": "new",
            },
            headers=bob,
        ).json()
        assert lazer_page["user_votes"] == [top]

        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")

        class Local(Ossapi):
            TOKEN_URL = f"{server.url}/oauth/token"
            AUTH_CODE_URL = f"{server.url}/oauth/authorize"
            BASE_URL = api

        ossapi = Local(client_id, SECRET, token_directory=str(tmp_path))
        bundle = ossapi.comments(commentable_type="news_post", commentable_id=NEWS_ID, parent_id=0)
        assert [c.id for c in bundle.comments] == [top]
        assert bundle.comments[0].votes_count == 1 and bundle.comments[0].replies_count == 1
        assert [c.id for c in bundle.included_comments] == [reply]
        assert bundle.total == 2 and {u.username for u in bundle.users} == {"alice", "bob"}
        shown = ossapi.comment(reply)
        assert shown.comments[0].message == "second"
        on_beatmapset = ossapi.comments(commentable_type="beatmapset", commentable_id=SET_ID)
        assert on_beatmapset.comments[0].deleted_at is not None
        assert on_beatmapset.comments[0].message is None

        async with aiosu.v2.Client(
            client_id=client_id, client_secret=SECRET, base_url=server.url
        ) as aio:
            listing = await aio.get_comments(
                commentable_type="news_post", commentable_id=NEWS_ID, sort="old"
            )
            assert [c.id for c in listing.comments] == [top, reply]
            assert (await aio.get_comment(top)).comments[0].votes_count == 1

        auth = AuthHandler(client_id, SECRET, "http://localhost/cb")
        auth.http.base_url = f"{api}/"
        auth.http.token_url = f"{server.url}/oauth/token/"
        auth.http.auth_url = f"{server.url}/oauth/authorize/"
        osu = Client(auth, request_wait_time=0)
        newest = osu.get_comments(commentable_type="news_post", commentable_id=NEWS_ID, sort="new")
        assert [c.id for c in newest.comments] == [reply, top]
        assert osu.get_comment(top).comments[0].message == "first!"
    finally:
        server.stop()
