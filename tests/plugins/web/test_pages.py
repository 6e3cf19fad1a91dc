"""plugins.web in process: pages, the session cookie, CSRF, validation in place, 404 pages,
hidden restricted profiles, the password change ending sessions and tokens."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.beatmaps import feedback
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user
from tests.scores import support as scores_support


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def form_token(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    token = await form_token(client, "/login")
    return await client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )


async def test_home_shows_the_server_and_its_counts(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from core.lazer.types import UserPresence, UserStatus
    from plugins.metadata.presence import Presences

    uid = await create_user(app, "someone")
    # Online as the metadata hub records it (the home page reads the same keys).
    await Presences(services(app).cache).put(uid, "conn", UserPresence(status=UserStatus.ONLINE))
    await Presences(services(app).cache).put(999, "gone", UserPresence(status=UserStatus.ONLINE))
    await services(app).cache.delete("metadata:presence:999")
    home = await client.get("/")
    assert home.status_code == 200
    assert home.headers["content-type"].startswith("text/html")
    assert 'id="players">1<' in home.text
    assert 'id="online">1<' in home.text
    assert 'id="scores-today">0<' in home.text
    assert "osu!lazer" in home.text
    css = await client.get("/assets/site.css")
    assert css.status_code == 200 and "--accent" in css.text


async def test_register_validates_in_place_and_signs_in(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await create_user(app, "taken")
    token = await form_token(client, "/register")
    refused = await client.post(
        "/register",
        data={"csrf_token": token, "username": "taken", "user_email": "bad", "password": "x"},
    )
    assert refused.status_code == 422
    assert "Username is already in use!" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert await users_db.find_by_username(services(app).db, "newbie") is None
    # Without the session's CSRF token nothing happens.
    forged = await client.post(
        "/register",
        data={
            "csrf_token": "nope",
            "username": "newbie",
            "user_email": "n@example.com",
            "password": "a good password 1",
        },
    )
    assert forged.status_code == 403
    assert await users_db.find_by_username(services(app).db, "newbie") is None
    made = await client.post(
        "/register",
        data={
            "csrf_token": token,
            "username": "newbie",
            "user_email": "n@example.com",
            "password": "a good password 1",
        },
    )
    assert made.status_code == 303, made.text
    cookie = made.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    profile = await client.get(made.headers["location"])
    assert profile.status_code == 200 and "newbie" in profile.text
    assert "Sign out" in profile.text


@pytest.mark.parametrize(
    "settings_overrides", [{"server": {"public_url": "https://osu.example.com"}}]
)
async def test_cookie_is_secure_behind_tls(app: Starlette) -> None:
    await create_user(app, "tls", password="tls password 1")
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        signed = await login(client, "tls", "tls password 1")
    assert signed.status_code == 303
    assert "Secure" in signed.headers["set-cookie"]


async def test_login_rotates_the_session_and_logout_ends_it(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    await create_user(app, "alice", password="alice password 1")
    wrong = await login(client, "alice", "wrong")
    assert wrong.status_code == 422 and "Incorrect username or password." in wrong.text
    before = client.cookies.get("hc_session")
    signed = await login(client, "alice", "alice password 1")
    assert signed.status_code == 303
    after = client.cookies.get("hc_session")
    assert after and after != before
    settings_page = await client.get("/settings")
    assert settings_page.status_code == 200 and "Change password" in settings_page.text
    out = await client.post("/logout", data={"csrf_token": csrf_of(settings_page.text)})
    assert out.status_code == 303
    # The old id no longer signs anyone in.
    client.cookies.set("hc_session", after)
    again = await client.get("/settings")
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


async def test_not_found_pages_and_restricted_profiles(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    hidden = await create_user(app, "hidden")
    await users_db.update_user(services(app).db, hidden, restricted=True)
    for path in (
        f"/users/{hidden}",
        "/users/hidden",
        "/users/999999",
        "/users/1/fruits",
        "/beatmapsets/424242",
        "/beatmapsets/99999999999999999999999",
        "/scores/5",
        "/rankings/osu/charts",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Not found" in response.text


async def test_a_browser_gets_the_not_found_page_for_any_unknown_path(
    client: httpx.AsyncClient,
) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/nothing-here", "/users/1/fruits/extra", "/assets-missing/x.css"):
        response = await client.get(path, headers=browser)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Not found" in response.text
    # API clients, and paths of the APIs whatever they accept, keep osu-web's JSON 404.
    assert (await client.get("/nothing-here")).json() == {"error": None}
    for path in ("/api/v2/nothing", "/oauth/nothing", "/api/v1/nothing"):
        response = await client.get(path, headers=browser)
        assert response.status_code == 404, path
        assert response.json() == {"error": None}, path
    # Other methods keep theirs.
    assert (await client.post("/nothing-here", headers=browser)).json() == {"error": None}


async def test_password_change_ends_sessions_and_tokens(
    app: Starlette, client: httpx.AsyncClient, make_token: Any
) -> None:
    uid = await create_user(app, "changer", password="first password 1")
    api_token = await make_token(uid)
    me = await client.get("/api/v2/me", headers={"Authorization": f"Bearer {api_token}"})
    assert me.status_code == 200
    assert (await login(client, "changer", "first password 1")).status_code == 303
    token = await form_token(client, "/settings")
    weak = await client.post(
        "/settings",
        data={
            "csrf_token": token,
            "action": "password",
            "current_password": "first password 1",
            "password": "changer",
        },
    )
    assert weak.status_code == 422 and 'class="errors"' in weak.text
    changed = await client.post(
        "/settings",
        data={
            "csrf_token": token,
            "action": "password",
            "current_password": "first password 1",
            "password": "second password 2",
        },
    )
    assert changed.status_code == 200 and "Password changed" in changed.text
    me = await client.get("/api/v2/me", headers={"Authorization": f"Bearer {api_token}"})
    assert me.status_code == 401
    assert (await client.get("/settings")).status_code == 303
    assert (await login(client, "changer", "second password 2")).status_code == 303


async def test_profile_beatmapset_search_rankings_score_pages(
    app: Starlette, client: httpx.AsyncClient, make_token: Any
) -> None:
    uid = await create_user(app, "player", password="player password 1")
    token = await make_token(uid)
    beatmap = await scores_support.import_map(app, 0)
    # Seen (and kept for signed-out visitors) before the score: the score still shows at once.
    assert "None yet." in (await client.get(f"/users/{uid}")).text
    submitted = await scores_support.submit(
        client, token, beatmap, scores_support.body(beatmap, misses=1)
    )
    assert submitted.status_code == 200, submitted.text
    score_id = submitted.json()["id"]
    profile = await client.get(f"/users/{uid}")
    assert profile.status_code == 200
    assert "Best performance" in profile.text and f"/scores/{score_id}" in profile.text
    assert 'id="play-count">1<' in profile.text
    found = await client.get("/beatmapsets", params={"q": "Song 7000"})
    assert found.status_code == 200 and "/beatmapsets/7000" in found.text
    shown = await client.get("/beatmapsets/7000")
    assert shown.status_code == 200 and "player" in shown.text and "Leaderboard" in shown.text
    assert "Not rated yet" in shown.text and "none yet" in shown.text
    # A rating and a tag, given as lazer gives them after a play, show on the page.
    auth = {"Authorization": f"Bearer {token}"}
    rated = await client.post("/api/v2/beatmapsets/7000/ratings", json={"rating": 8}, headers=auth)
    assert rated.status_code == 200, rated.text
    tag_id = await feedback.add_tag(services(app).db, "style/jumps", "Jumps", 0)
    tagged = await client.put(f"/api/v2/beatmaps/{beatmap.id}/tags/{tag_id}", headers=auth)
    assert tagged.status_code == 204, tagged.text
    shown = await client.get("/beatmapsets/7000")
    assert 'id="rating">8.00 / 10 (1 rating)<' in shown.text
    assert "style/jumps (1)" in shown.text
    none = await client.get("/beatmapsets/7000", params={"mods": "HD"})
    assert none.status_code == 200 and "No scores yet." in none.text
    ranking = await client.get("/rankings/osu/performance")
    assert ranking.status_code == 200 and f"/users/{uid}/osu" in ranking.text
    score = await client.get(f"/scores/{score_id}")
    assert score.status_code == 200 and "player" in score.text
    # Downloading needs a sign-in.
    download = await client.get("/beatmapsets/7000/download")
    assert download.status_code == 303 and "/login" in download.headers["location"]
    assert (await client.get("/")).text.count('id="scores-today">1<') == 1


async def test_settings_show_a_new_api_key_once(app: Starlette, client: httpx.AsyncClient) -> None:
    await create_user(app, "keyholder", password="key password 1")
    assert (await login(client, "keyholder", "key password 1")).status_code == 303
    token = await form_token(client, "/settings")
    made = await client.post(
        "/settings", data={"csrf_token": token, "action": "key_create", "name": "mine"}
    )
    assert made.status_code == 200, made.text
    key = re.search(r'id="shown-key">([^<]+)<', made.text)
    assert key
    again = await client.get("/settings")
    assert key.group(1) not in again.text and "mine" in again.text
    renamed = await client.post(
        "/settings", data={"csrf_token": token, "action": "username", "username": "x"}
    )
    assert renamed.status_code == 422 and 'class="errors"' in renamed.text


def test_rank_chart_puts_rank_one_on_top() -> None:
    from plugins.web.pages import rank_chart

    assert rank_chart(None) is None
    assert rank_chart({"data": [0, 5]}) is None  # unranked days are left out
    chart = rank_chart({"data": [10, 0, 30, 20]}, width=200, height=100)
    assert chart is not None
    assert chart["points"] == "0.0,8.0 100.0,92.0 200.0,50.0"
    assert (chart["best"], chart["worst"], chart["last"], chart["days"]) == (10, 30, 20, 3)


async def test_a_ban_signs_the_web_session_out_and_refuses_sign_in(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from core.moderation import sanctions
    from core.moderation.audit import OPERATOR

    uid = await create_user(app, "banned", password="banned password 1")
    assert (await login(client, "banned", "banned password 1")).status_code == 303
    assert (await client.get("/settings")).status_code == 200
    svc = services(app)
    await sanctions.ban(svc, OPERATOR, await users_db.get_user(svc.db, uid), "cheating")
    # The session cookie is still sent; the account behind it is gone for the pages.
    assert (await client.get("/settings")).status_code == 303
    refused = await login(client, "banned", "banned password 1")
    assert refused.status_code != 303 and "banned" in refused.text


async def test_a_web_sign_in_is_in_the_login_history(
    app: Starlette, client: httpx.AsyncClient, make_token: Any
) -> None:
    uid = await create_user(app, "historian", password="historian password 1")
    headers = {"User-Agent": "Mozilla/5.0 (test browser)"}
    client.headers.update(headers)
    assert (await login(client, "historian", "historian password 1")).status_code == 303
    token = await make_token(uid)
    logins = await client.get(
        "/api/private/me/logins", headers={"Authorization": f"Bearer {token}"}
    )
    assert logins.status_code == 200
    assert [entry["client"] for entry in logins.json()["logins"]] == ["Mozilla/5.0 (test browser)"]
