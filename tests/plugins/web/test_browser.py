"""The web site in real Chromium (Debian's `chromium`, driven by Playwright with that executable;
no browser is downloaded): register, verify the e-mail from the local SMTP sink, sign in, see the
profile after a submitted score, search and open a beatmapset, change the password (old tokens
stop working), a phone-width screenshot of the profile; then an admin silences that player from
the admin pages and finds it in the audit log.

One server and one browser for the whole walk, per backend (the suite's time budget).
Outside CI a machine without /usr/bin/chromium skips it; under CI (`CI` set) that fails.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from core.chat import service as chat
from core.moderation import store as moderation_db
from core.services import services
from core.testing import create_user, issue_token
from core.users import store as users_db
from tests.conftest import MailSink
from tests.plugins.account_security.test_views import key_in
from tests.scores import support as scores_support

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 375, "height": 740}

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} is missing: `apt-get install chromium` to run the browser tests",
        allow_module_level=True,
    )


@pytest.fixture
def settings_overrides(mail_sink: MailSink) -> dict[str, Any]:
    return {
        "mail": mail_sink.settings(),
        "account_security": {"require_verified_email": True},
        "beatmaps_upstream": {"osu_mirrors": []},
    }


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def test_a_player_walks_the_site(
    app: Starlette, app_url: str, browser: Any, mail_sink: MailSink, tmp_path: Path
) -> None:
    beatmap = await scores_support.import_map(app, 0)
    context = await browser.new_context(base_url=app_url)
    page = await context.new_page()

    # The home page, by keyboard: the first Tab reaches the skip link.
    await page.goto("/")
    assert "Registered players" in await page.inner_text("main")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"

    # Register: a bad e-mail is reported in place, then the account is made.
    await page.goto("/register")
    await page.get_by_label("Username").fill("browserkid")
    await page.get_by_label("E-mail address").fill("not-an-address")
    await page.get_by_label("Password").fill("a long good password 1")
    await page.get_by_role("button", name="Register").click()
    assert await page.locator("#user_email-errors").count() == 1
    await page.get_by_label("E-mail address").fill("kid@example.com")
    await page.get_by_label("Password").fill("a long good password 1")
    await page.get_by_role("button", name="Register").click()
    await page.wait_for_url("**/verify-email?**")

    # Verify the address with the mailed key; then sign in.
    key = key_in(await mail_sink.next("kid@example.com"))
    await page.get_by_label("Key from the mail").fill(key)
    await page.get_by_role("button", name="Verify").click()
    assert "verified" in await page.inner_text("main")
    await page.get_by_label("Username or e-mail").fill("browserkid")
    await page.get_by_label("Password").fill("a long good password 1")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/users/*")
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["hc_session"]["httpOnly"] and cookies["hc_session"]["sameSite"] == "Lax"
    user_id = int(page.url.rsplit("/", 1)[1])

    # A score submitted from the game shows on the profile.
    token = await issue_token(app, user_id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        submitted = await scores_support.submit(
            api, token, beatmap, scores_support.body(beatmap, misses=1)
        )
        assert submitted.status_code == 200, submitted.text
        await page.reload()
        assert await page.locator("#play-count").inner_text() == "1"
        assert await page.locator(f'a[href="/scores/{submitted.json()["id"]}"]').count() >= 1

        # Search, open the set, see our score on its leaderboard.
        await page.get_by_role("link", name="Beatmaps").click()
        await page.get_by_label("Search").fill("Song 7000")
        await page.get_by_role("button", name="Search").click()
        await page.get_by_role("link", name="Song 7000").first.click()
        await page.wait_for_url("**/beatmapsets/7000")
        assert "browserkid" in await page.inner_text("table.scores")

        # Change the password: the game's token stops working, the web session too.
        await page.goto("/settings")
        await page.get_by_label("Current password").first.fill("a long good password 1")
        await page.get_by_label("New password").fill("another good password 2")
        await page.get_by_role("button", name="Change password").click()
        assert "Password changed" in await page.inner_text("main")
        me = await api.get("/api/v2/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    await page.goto("/settings")
    assert "/login" in page.url

    # Phone width: the profile fits without sideways scrolling; keep a screenshot.
    phone = await browser.new_page(viewport=PHONE, base_url=app_url)
    await phone.goto(f"/users/{user_id}")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    # HITCIRCLE_WEB_SCREENSHOTS=DIR keeps the screenshot there, to look at.
    shot = Path(os.environ.get("HITCIRCLE_WEB_SCREENSHOTS") or tmp_path) / "profile-phone.png"
    await phone.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5000
    await phone.close()
    await context.close()
    await admin_silences(app, app_url, browser, user_id)


async def admin_silences(app: Starlette, app_url: str, browser: Any, user_id: int) -> None:
    """An admin signs in, silences the player with a reason, and the audit log shows it."""
    db = services(app).db
    admin_id = await create_user(app, "browseradmin", password="admin password 1")
    group = await moderation_db.group_by_identifier(db, "admin")
    assert group is not None
    await moderation_db.add_member(db, admin_id, int(group["id"]))
    context = await browser.new_context(base_url=app_url)
    page = await context.new_page()
    await page.goto("/admin")
    assert "/login" in page.url
    await page.get_by_label("Username or e-mail").fill("browseradmin")
    await page.get_by_label("Password").fill("admin password 1")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/admin")

    # Find the player, then silence them: without a reason first (refused in place).
    await page.get_by_label("Username or id").fill("browserkid")
    await page.get_by_role("button", name="Open").click()
    await page.wait_for_url(f"**/admin/users/{user_id}")
    await page.get_by_label("Duration").fill("1h")
    await page.get_by_role("button", name="Silence", exact=True).click()
    assert "reason is required" in await page.locator("#silence-errors").inner_text()
    assert (await users_db.get_user(db, user_id) or {})["silenced_until"] is None
    # By keyboard: the reason field, then Enter submits its form.
    await page.get_by_label("Reason for the silence").fill("spam in #osu")
    await page.get_by_label("Reason for the silence").press("Enter")
    await page.wait_for_url("**?done=silence")
    assert "Silenced." in await page.inner_text("main")
    assert (await page.locator("#state-silenced").inner_text()).startswith("until")

    # The audit log, newest first, has it.
    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Audit log").click()
    await page.wait_for_url("**/admin/audit")
    newest = page.locator("table.audit tbody tr").first
    text = await newest.inner_text()
    assert "silence" in text and "browserkid" in text and "spam in #osu" in text
    assert "browseradmin" in text and "seconds: 3600" in text

    # The player is silenced where it counts: the stored account, as chat reads it.
    row = await users_db.get_user(db, user_id)
    assert row is not None and chat.is_silenced(row)

    # At phone width the moderation page and the audit log fit without sideways scrolling.
    await page.set_viewport_size(PHONE)
    for path in (f"/admin/users/{user_id}", "/admin/audit"):
        await page.goto(path)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
    await context.close()


async def test_a_third_party_app_is_authorised(
    app: Starlette, app_url: str, browser: Any, tmp_path: Path
) -> None:
    """An app registered through the private API sends the player to /oauth/authorize; the
    player signs in on the site, approves on the consent page and lands on the app's redirect
    URI with a code, which the app exchanges for a token that reads /api/v2/me."""
    from urllib.parse import parse_qs, urlencode, urlsplit

    from plugins.oauth.grants import pkce_challenge

    developer = await create_user(app, "appmaker", password="maker password 1")
    player = await create_user(app, "appuser", password="player password 1")
    callback = "http://127.0.0.1:9/callback"
    async with httpx.AsyncClient(base_url=app_url) as api:
        made = await api.post(
            "/api/private/oauth-clients",
            data={"name": "Replay Buddy", "redirect": callback},
            headers={"Authorization": f"Bearer {await issue_token(app, developer)}"},
        )
        assert made.status_code == 200, made.text
        client_id, secret = made.json()["id"], made.json()["secret"]

        verifier = "v" * 64
        query = {
            "client_id": str(client_id),
            "redirect_uri": callback,
            "response_type": "code",
            "scope": "public friends.read",
            "state": "st4te",
            "code_challenge": pkce_challenge(verifier, "S256"),
            "code_challenge_method": "S256",
        }
        context = await browser.new_context(base_url=app_url)
        # The app's side of the redirect: answered here, nothing listens on that port.
        landed: list[str] = []

        async def app_callback(route: Any) -> None:
            landed.append(route.request.url)
            await route.fulfill(status=200, content_type="text/html", body="<p>Thanks</p>")

        await context.route(f"{callback}**", app_callback)
        page = await context.new_page()
        await page.goto("/oauth/authorize?" + urlencode(query))
        # Signed out: the site's sign-in page first, then back to the consent page.
        assert urlsplit(page.url).path == "/login"
        await page.get_by_label("Username or e-mail").fill("appuser")
        await page.get_by_label("Password").fill("player password 1")
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/oauth/authorize?**")
        main = await page.inner_text("main")
        assert "Authorise Replay Buddy" in main and "an app by appmaker" in main
        assert "See who you are following." in main and "signed in as appuser" in main
        assert await page.get_by_role("link", name="appuser").count() >= 1
        # At phone width the consent page fits without sideways scrolling.
        await page.set_viewport_size(PHONE)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        shot = Path(os.environ.get("HITCIRCLE_WEB_SCREENSHOTS") or tmp_path) / "consent-phone.png"
        await page.screenshot(path=str(shot), full_page=True)

        await page.get_by_role("button", name="Authorise").click()
        await page.wait_for_url(f"{callback}**")
        assert len(landed) == 1
        answer = parse_qs(urlsplit(landed[0]).query)
        assert answer["state"] == ["st4te"]
        exchange = {
            "grant_type": "authorization_code",
            "client_id": str(client_id),
            "client_secret": secret,
            "code": answer["code"][0],
            "redirect_uri": callback,
            "code_verifier": verifier,
        }
        token = await api.post("/oauth/token", data=exchange)
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        me = await api.get("/api/v2/me", headers=bearer)
        assert me.status_code == 200 and me.json()["id"] == player
        await context.close()
