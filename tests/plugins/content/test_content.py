"""News, wiki, changelog and seasonal backgrounds from the operator's files, in process:
shapes, cursors, fallbacks, edits seen without a restart, and refused input."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.config import Settings
from core.http import encode_cursor
from tests.plugins.content.support import write_content

BACKGROUNDS = ["https://assets.ppy.sh/bg/1.jpg", "https://assets.ppy.sh/bg/2.jpg"]


@pytest.fixture
def settings_overrides() -> dict[str, dict[str, Any]]:
    return {
        "content": {
            "seasonal_backgrounds": BACKGROUNDS,
            "seasonal_ends_at": "2027-03-01T00:00:00Z",
        }
    }


@pytest.fixture
def content(settings: Settings) -> Path:
    return write_content(settings.data_dir / "content")


async def test_news_listing_pages_and_sidebar(content: Path, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/news", params={"limit": 2})
    assert r.status_code == 200
    body = r.json()
    assert [p["slug"] for p in body["news_posts"]] == [
        "2026-01-10-first-light",
        "2025-12-20-winter",
    ]
    first = body["news_posts"][0]
    assert first["title"] == "First light" and first["author"] == "Alice"
    assert first["preview"] == "The server is open. Come and play."
    assert first["first_image"].endswith("/images/first.png")
    assert first["first_image"].startswith("http")
    assert first["published_at"] == "2026-01-10T12:00:00+00:00"
    assert body["news_posts"][1]["author"] == "Bob"
    assert body["search"] == {"limit": 2, "sort": "published_desc", "year": None}
    assert body["news_sidebar"]["current_year"] == 2026
    assert body["news_sidebar"]["years"] == [2026, 2025, 2024]
    assert body["news_sidebar"]["news_posts"][0]["slug"] == "2026-01-10-first-light"
    assert body["cursor"] == {
        "published_at": "2025-12-20T08:00:00Z",
        "id": body["news_posts"][1]["id"],
    }
    nxt = await client.get(
        "/api/v2/news", params={"limit": 2, "cursor_string": body["cursor_string"]}
    )
    assert [p["id"] for p in nxt.json()["news_posts"]] == [42]
    assert nxt.json()["cursor"] is None and nxt.json()["cursor_string"] is None
    # lazer sends the cursor as `cursor[...]`.
    lazer = await client.get(
        "/api/v2/news",
        params={
            "limit": 2,
            "cursor[published_at]": "2025-12-20T08:00:00Z",
            "cursor[id]": body["cursor"]["id"],
        },
    )
    assert [p["id"] for p in lazer.json()["news_posts"]] == [42]
    old = (await client.get("/api/v2/news", params={"year": 2024})).json()
    assert [p["id"] for p in old["news_posts"]] == [42]
    assert old["news_sidebar"]["current_year"] == 2024
    # A post dated in the future and one with broken front matter are not listed.
    everything = (await client.get("/api/v2/news")).json()
    assert len(everything["news_posts"]) == 3 and everything["search"]["limit"] == 12


async def test_news_post_by_slug_and_id(content: Path, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/news/2025-12-20-winter")
    assert r.status_code == 200
    post = r.json()
    assert '<a href="https://example.com/maps">maps</a>' in post["content"]
    assert post["navigation"]["newer"]["slug"] == "2026-01-10-first-light"
    assert post["navigation"]["older"]["id"] == 42
    by_id = await client.get("/api/v2/news/42", params={"key": "id"})
    assert by_id.json()["slug"] == "2024-05-01-old-news"
    assert "older" not in by_id.json()["navigation"]
    for path, query in (
        ("/api/v2/news/2099-01-01-not-yet", {}),
        ("/api/v2/news/nothing-here", {}),
        ("/api/v2/news/42", {}),
        ("/api/v2/news/99999999999999999999999", {"key": "id"}),
        ("/api/v2/news/abc", {"key": "id"}),
        ("/api/v2/news/..%2F..%2Fetc", {}),
    ):
        missing = await client.get(path, params=query)
        assert (missing.status_code, missing.json()) == (404, {"error": None}), path


async def test_an_edited_post_shows_without_a_restart(
    content: Path, client: httpx.AsyncClient
) -> None:
    path = content / "news" / "2025-12-20-winter.md"
    assert (await client.get("/api/v2/news/2025-12-20-winter")).json()["title"] == "Winter update"
    path.write_text(path.read_text().replace("Winter update", "Winter is here"))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert (await client.get("/api/v2/news/2025-12-20-winter")).json()["title"] == "Winter is here"
    (content / "news" / "2026-02-01-new.md").write_text(
        "---\ntitle: New\ndate: 2026-02-01\n---\nhi\n"
    )
    slugs = [p["slug"] for p in (await client.get("/api/v2/news")).json()["news_posts"]]
    assert slugs[0] == "2026-02-01-new"


async def test_news_refuses_bad_parameters(content: Path, client: httpx.AsyncClient) -> None:
    for query in ({"limit": "many"}, {"year": "last"}, {"year": "99999999999999999999"}):
        r = await client.get("/api/v2/news", params=query)
        assert r.status_code == 422 and r.json()["error"], query
    # Out of range limits are clamped as osu-web clamps them.
    assert (await client.get("/api/v2/news", params={"limit": 500})).json()["search"]["limit"] == 21
    assert (await client.get("/api/v2/news", params={"limit": -3})).json()["search"]["limit"] == 1
    # An unusable cursor starts at the beginning, as osu-web's does.
    for cursor in (
        "!!!",
        encode_cursor({"published_at": "soon", "id": 1}),
        encode_cursor({"id": 1}),
    ):
        r = await client.get("/api/v2/news", params={"limit": 1, "cursor_string": cursor})
        assert r.json()["news_posts"][0]["slug"] == "2026-01-10-first-light"


async def test_wiki_pages_and_fallback(content: Path, client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v2/wiki/en/People/The_Team")
    assert r.status_code == 200
    assert r.json() == {
        "available_locales": ["en", "fr"],
        "layout": "markdown_page",
        "locale": "en",
        "markdown": (content / "wiki/People/The_Team/en.md").read_text(),
        "path": "People/The_Team",
        "subtitle": "People",
        "tags": ["staff", "team"],
        "title": "The Team",
    }
    fr = (await client.get("/api/v2/wiki/fr/People/The_Team")).json()
    assert (fr["locale"], fr["title"], fr["tags"]) == ("fr", "L'équipe", ["équipe"])
    # No German page: the English one, saying so in `locale`.
    de = (await client.get("/api/v2/wiki/de/People/The_Team")).json()
    assert (de["locale"], de["title"]) == ("en", "The Team")
    main = (await client.get("/api/v2/wiki/en")).json()
    assert (main["path"], main["layout"], main["title"]) == ("Main_page", "main_page", "Main page")
    helped = (await client.get("/api/v2/wiki/en/Help")).json()
    assert (helped["title"], helped["subtitle"]) == ("Help", None)


async def test_wiki_refuses_paths_outside_its_folder(
    content: Path, client: httpx.AsyncClient
) -> None:
    (content / "secret.md").write_text("secret")
    (content / "wiki" / "en.md").write_text("not a page")
    for path in (
        "/api/v2/wiki/en/Nothing",
        "/api/v2/wiki/en/People/%2E%2E/%2E%2E",
        "/api/v2/wiki/en/..%2F..%2Fsecret",
        "/api/v2/wiki/english/People",
        "/api/v2/wiki/en/People%00",
        "/api/v2/wiki/en/" + "a/" * 40,
        "/api/v2/wiki/" + "x" * 300 + "/People",
    ):
        r = await client.get(path)
        assert (r.status_code, r.json()) == (404, {"error": None}), path


async def test_changelog_listing_and_builds(content: Path, client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v2/changelog")).json()
    assert [b["version"] for b in body["builds"]] == ["2026.1202.0", "2026.1201.0", "2026.1115.0"]
    assert [b["id"] for b in body["builds"]] == [3, 2, 1]
    assert body["search"] == {"stream": None, "from": None, "to": None, "max_id": None, "limit": 21}
    [stream] = body["streams"]
    assert (stream["name"], stream["is_featured"], stream["latest_build"]["id"]) == (
        "hitcircle",
        True,
        3,
    )
    build = body["builds"][1]
    assert build["update_stream"]["name"] == "hitcircle" and build["youtube_id"] == "abc123"
    first, second = build["changelog_entries"]
    assert (first["type"], first["category"], first["major"]) == ("add", "Comments", True)
    assert first["github_url"] == "https://github.com/example/hitcircle/pull/12"
    assert first["github_user"]["github_username"] == "alice"
    # Raw HTML in a changelog message is escaped.
    assert "<strong>comment</strong>" in first["message_html"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in first["message_html"]
    assert first["message"].startswith("Players can")
    assert (second["type"], second["message"], second["message_html"]) == ("fix", None, None)
    assert body["builds"][2]["changelog_entries"][0]["title"] == "Bug fixes and minor improvements"
    only_html = (await client.get("/api/v2/changelog", params={"message_formats[]": "html"})).json()
    assert "message" not in only_html["builds"][1]["changelog_entries"][0]
    narrowed = await client.get("/api/v2/changelog", params={"from": "2026.1201.0", "max_id": 2})
    assert [b["id"] for b in narrowed.json()["builds"]] == [2]
    assert (await client.get("/api/v2/changelog", params={"stream": "lazer"})).json()[
        "builds"
    ] == []
    shown = (await client.get("/api/v2/changelog/hitcircle/2026.1201.0")).json()
    assert shown["versions"]["next"]["id"] == 3 and shown["versions"]["previous"]["id"] == 1
    assert (await client.get("/api/v2/changelog/2", params={"key": "id"})).json()["id"] == 2
    assert (await client.get("/api/v2/changelog/hitcircle")).json()["id"] == 3
    assert (await client.get("/api/v2/changelog/2026.1115.0")).json()["id"] == 1
    assert (await client.get("/api/v2/changelog/v2026.1115.0")).json()["id"] == 1


async def test_changelog_refuses_bad_input(content: Path, client: httpx.AsyncClient) -> None:
    for path, query in (
        ("/api/v2/changelog/lazer/2026.1201.0", {}),
        ("/api/v2/changelog/hitcircle/9.9.9", {}),
        ("/api/v2/changelog/nothing", {}),
        ("/api/v2/changelog/99999999999999999999999", {"key": "id"}),
    ):
        r = await client.get(path, params=query)
        assert (r.status_code, r.json()) == (404, {"error": None}), path
    for query in ({"max_id": "abc"}, {"max_id": "99999999999999999999999"}):
        r = await client.get("/api/v2/changelog", params=query)
        assert r.status_code == 422, query


async def test_seasonal_backgrounds(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v2/seasonal-backgrounds")).json()
    assert body["ends_at"] == "2027-03-01T00:00:00+00:00"
    assert [b["url"] for b in body["backgrounds"]] == BACKGROUNDS
    assert body["backgrounds"][0]["user"]["id"] == 0
