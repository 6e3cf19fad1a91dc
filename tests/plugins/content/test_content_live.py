"""Against `hitcircle serve`: ossapi, aiosu and osu.py read the news, wiki, changelog and
seasonal backgrounds built from the operator's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.config import Settings
from core.services import services
from tests.conftest import LiveServer, create_user
from tests.plugins.content.support import write_content

SECRET = "s3cret-" + "c" * 30
BACKGROUNDS = ["https://assets.ppy.sh/seasonal/a.jpg", "https://assets.ppy.sh/seasonal/b.jpg"]


async def test_clients_read_the_content(
    app: Starlette, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiosu
    from ossapi import Ossapi
    from osu import AuthHandler, Client

    write_content(settings.data_dir / "content")
    owner = await create_user(app, "operator")
    client_id = await oauth_db.create_client(
        services(app).db, user_id=owner, name="content", secret_hash=sha256_hex(SECRET), redirect=""
    )
    server = LiveServer(
        settings,
        {
            "HITCIRCLE_CONTENT_SEASONAL_BACKGROUNDS": ",".join(BACKGROUNDS),
            "HITCIRCLE_CONTENT_SEASONAL_ENDS_AT": "2027-03-01T00:00:00Z",
            "HITCIRCLE_CONTENT_SEASONAL_USER_ID": str(owner),
        },
    )
    server.start()
    try:
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")

        class Local(Ossapi):
            TOKEN_URL = f"{server.url}/oauth/token"
            AUTH_CODE_URL = f"{server.url}/oauth/authorize"
            BASE_URL = f"{server.url}/api/v2"

        api = Local(client_id, SECRET, token_directory=str(tmp_path))
        listing = api.news_listing(limit=2)
        assert [p.slug for p in listing.news_posts] == [
            "2026-01-10-first-light",
            "2025-12-20-winter",
        ]
        assert listing.news_sidebar.years == [2026, 2025, 2024]
        rest = api.news_listing(limit=2, cursor_string=listing.cursor_string)
        assert [p.id for p in rest.news_posts] == [42]
        post = api.news_post("2025-12-20-winter")
        assert post.navigation.older.id == 42 and "maps" in post.content
        assert api.news_post("42", key="id").slug == "2024-05-01-old-news"
        page = api.wiki_page("fr", "People/The_Team")
        assert (page.title, page.available_locales, page.subtitle) == (
            "L'équipe",
            ["en", "fr"],
            "People",
        )
        assert api.wiki_page("de", "People/The_Team").locale == "en"
        changes = api.changelog_listing()
        assert [b.version for b in changes.builds] == ["2026.1202.0", "2026.1201.0", "2026.1115.0"]
        assert changes.streams[0].name == "hitcircle"
        build = api.changelog_build("hitcircle", "2026.1201.0")
        assert build.versions.previous.id == 1
        assert build.changelog_entries[0].github_user.github_username == "alice"
        assert api.changelog_build_lookup("3", key="id").version == "2026.1202.0"
        season = api.seasonal_backgrounds()
        assert [b.url for b in season.backgrounds] == BACKGROUNDS
        assert season.backgrounds[0].user.username == "operator"
        assert season.ends_at.year == 2027

        async with aiosu.v2.Client(
            client_id=client_id, client_secret=SECRET, base_url=server.url
        ) as client:
            news = await client.get_news_listing(limit=2)
            assert [p.id for p in news.news_posts][1] == listing.news_posts[1].id
            assert (await client.get_news_post("2026-01-10-first-light")).author == "Alice"
            wiki = await client.get_wiki_page("en", "People/The_Team")
            assert wiki.tags == ["staff", "team"]
            builds = await client.get_changelog_listing()
            assert [b.id for b in builds.builds] == [3, 2, 1]
            assert (await client.get_changelog_build("hitcircle", "2026.1115.0")).id == 1
            assert (await client.lookup_changelog_build(2)).version == "2026.1201.0"
            backgrounds = await client.get_seasonal_backgrounds()
            assert backgrounds.backgrounds[1].url == BACKGROUNDS[1]

        auth = AuthHandler(client_id, SECRET, "http://localhost/cb")
        auth.http.base_url = f"{server.url}/api/v2/"
        auth.http.token_url = f"{server.url}/oauth/token/"
        auth.http.auth_url = f"{server.url}/oauth/authorize/"
        osu = Client(auth, request_wait_time=0)
        assert len(osu.get_news_listing().news_posts) == 3
        assert osu.get_news_post("2024-05-01-old-news").title == "Old news"
        assert osu.get_wiki_page("en", "Help").title == "Help"
        assert [b.id for b in osu.get_changelog_listing().builds] == [3, 2, 1]
        assert osu.get_changelog_build("hitcircle", "2026.1202.0").id == 3
        assert osu.lookup_changelog_build("hitcircle").id == 3
        assert osu.get_seasonal_backgrounds().backgrounds[0].user.id == owner
    finally:
        server.stop()
