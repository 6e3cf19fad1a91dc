"""plugins.web admin pages in process: who may see them, CSRF, every action with its audit entry
(the same entry the admin API writes), and bad input refused in place with nothing changed."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.daily_challenge import store as dc_db
from core.moderation import audit
from core.moderation import store as moderation_db
from core.reports import store as reports_db
from core.services import services
from core.spotlights import store as spotlights_db
from core.users import store as users_db
from tests.moderation.support import ADMIN, Staff, staff
from tests.moderation.support import snapshot as moderation_snapshot
from tests.plugins.web.test_pages import form_token, login
from tests.scores import support as scores_support

PAGES = ("/admin", "/admin/reports", "/admin/audit", "/admin/spotlights", "/admin/daily-challenge")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # Unknown beatmaps are unknown: no mirror is asked.
    return {"beatmaps_upstream": {"osu_mirrors": []}}


async def snapshot(app: Starlette) -> dict[str, Any]:
    """What the moderation snapshot holds, and the spotlights and the daily challenge pool."""
    out = await moderation_snapshot(app)
    db = services(app).db
    for table in (spotlights_db.spotlights, spotlights_db.spotlight_beatmapsets, dc_db.pool):
        rows = await db.fetch_all(sa.select(table))
        out[table.name] = sorted((tuple(r) for r in rows), key=str)
    return out


async def signed_in_admin(app: Starlette, client: httpx.AsyncClient) -> tuple[Staff, str]:
    """Staff made, the admin (`boss`) signed in; (staff, the session's CSRF token)."""
    s = await staff(app)
    assert (await login(client, "boss", "password123")).status_code == 303
    return s, await form_token(client, "/admin")


async def entries(app: Starlette, action: str) -> list[dict[str, Any]]:
    return await moderation_db.log_entries(services(app).db, action=action)


def error_of(page: str, name: str) -> str:
    found = re.search(rf'id="{name}-errors" role="alert">\s*<li>([^<]*)</li>', page)
    assert found, page
    return html.unescape(found.group(1))


async def test_visitors_sign_in_first_and_non_admins_are_not_told(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s = await staff(app)
    for path in PAGES:
        away = await client.get(path)
        assert away.status_code == 303 and away.headers["location"] == f"/login?next={path}"
    # A player and a moderator (gmt, who may use the API's queue) both get the 404 page.
    for name in ("player", "warden"):
        assert (await login(client, name, "password123")).status_code == 303
        home = await client.get("/")
        assert 'href="/admin"' not in home.text
        for path in (*PAGES, f"/admin/users/{s.other}", "/admin/users?user=other"):
            refused = await client.get(path, headers={"accept": "text/html"})
            assert refused.status_code == 404 and "Not found" in refused.text, path
        token = await form_token(client, "/settings")
        before = await snapshot(app)
        posted = await client.post(
            f"/admin/users/{s.other}",
            data={"csrf_token": token, "action": "ban", "reason": "no"},
        )
        assert posted.status_code == 404
        spot = await client.post(
            "/admin/spotlights",
            data={
                "csrf_token": token,
                "action": "spotlight_create",
                "name": "x",
                "type": "theme",
                "start": "2026-01-01",
                "end": "2026-01-02",
            },
        )
        assert spot.status_code == 404
        assert await snapshot(app) == before
        await client.post("/logout", data={"csrf_token": token})
    # The admin sees the link and the pages.
    assert (await login(client, "boss", "password123")).status_code == 303
    assert 'href="/admin"' in (await client.get("/")).text
    for path in PAGES:
        shown = await client.get(path)
        assert shown.status_code == 200 and 'aria-label="Admin"' in shown.text, path


async def test_forms_without_the_session_token_are_refused(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s, _ = await signed_in_admin(app, client)
    before = await snapshot(app)
    for data in (
        {"action": "silence", "duration": "1h", "reason": "spam"},
        {"action": "silence", "duration": "1h", "reason": "spam", "csrf_token": "x" * 32},
    ):
        refused = await client.post(f"/admin/users/{s.player}", data=data)
        assert refused.status_code == 403 and "expired" in refused.text
    for path, data in (
        ("/admin/daily-challenge", {"action": "pool_add", "beatmap_id": "1"}),
        ("/admin/spotlights", {"action": "spotlight_create", "name": "n", "type": "theme"}),
        ("/admin/reports/1", {"action": "resolve"}),
    ):
        assert (await client.post(path, data=data)).status_code == 403
    assert await snapshot(app) == before


async def test_silence_restrict_ban_and_lift_them(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s, token = await signed_in_admin(app, client)
    db = services(app).db
    page = await client.get(f"/admin/users/{s.player}")
    assert page.status_code == 200 and 'id="state-silenced">no<' in page.text
    by_name = await client.get("/admin/users?user=player")
    assert by_name.headers["location"] == f"/admin/users/{s.player}"
    url = f"/admin/users/{s.player}"

    # Refusals, in place, with the API's words, and nothing stored.
    before = await snapshot(app)
    for data, status, message in (
        ({"action": "silence", "duration": "1h"}, 422, "reason is required"),
        ({"action": "silence", "duration": "1h", "reason": "   "}, 422, "reason is required"),
        ({"action": "silence", "reason": "spam"}, 422, "duration is required"),
        ({"action": "silence", "duration": "9999999w", "reason": "x"}, 422, "at most 366 days"),
        ({"action": "silence", "duration": "1" * 40, "reason": "x"}, 422, "duration must be"),
        ({"action": "silence", "duration": "1h", "reason": "x" * 5000}, 422, "at most 255"),
        ({"action": "restrict"}, 422, "reason is required"),
        ({"action": "ban", "reason": ""}, 422, "reason is required"),
        ({"action": "unsilence"}, 422, "not silenced"),
        ({"action": "unrestrict"}, 422, "not restricted"),
        ({"action": "explode"}, 422, "Unknown action."),
    ):
        refused = await client.post(url, data={"csrf_token": token, **data})
        assert refused.status_code == status, (data, refused.text)
        name = data["action"] if data["action"] != "explode" else "form"
        assert message in error_of(refused.text, name), data
    # What was typed stays in the form.
    kept = await client.post(
        url, data={"csrf_token": token, "action": "silence", "reason": "typed reason"}
    )
    assert 'value="typed reason"' in kept.text
    itself = await client.post(
        f"/admin/users/{s.admin}",
        data={"csrf_token": token, "action": "silence", "duration": "1h", "reason": "me"},
    )
    assert itself.status_code == 422 and "yourself" in itself.text
    for user in ("nobody", "9" * 40, "x" * 500):
        missing = await client.post(
            f"/admin/users/{user}",
            data={"csrf_token": token, "action": "silence", "duration": "1h", "reason": "x"},
        )
        assert missing.status_code == 404 and "no such user" in missing.text
    lookup = await client.get("/admin/users?user=nobody")
    assert lookup.status_code == 404 and "couldn't be found" in error_of(lookup.text, "user")
    assert await snapshot(app) == before

    # Each action: redirect, notice, state, and its audit entry.
    for data, action, notice in (
        ({"action": "silence", "duration": "1h", "reason": "spam in #osu"}, "silence", "Silenced."),
        ({"action": "unsilence"}, "unsilence", "Silence lifted."),
        ({"action": "restrict", "reason": "cheating"}, "restrict", "Restricted."),
        ({"action": "unrestrict", "reason": "appeal"}, "unrestrict", "Restriction lifted."),
        ({"action": "ban", "reason": "multi-accounting"}, "ban", "Banned."),
    ):
        done = await client.post(url, data={"csrf_token": token, **data})
        assert done.status_code == 303 and done.headers["location"] == f"{url}?done={action}"
        shown = await client.get(done.headers["location"])
        assert notice in shown.text
        (entry,) = await entries(app, action)
        assert entry["actor_id"] == s.admin and entry["user_id"] == s.player
        assert entry["reason"] == data.get("reason")
        if action == "silence":
            assert entry["details"]["seconds"] == 3600
            assert 'id="state-silenced">until' in shown.text
    row = await users_db.get_user(db, s.player)
    assert row is not None and row["banned"] and row["restricted"]
    # The ban ended the player's API tokens, as the API's ban does.
    me = await client.get("/api/v2/me", headers=s.auth("player"))
    assert me.status_code == 401


async def test_groups_and_supporter(app: Starlette, client: httpx.AsyncClient) -> None:
    s, token = await signed_in_admin(app, client)
    url = f"/admin/users/{s.player}"
    before = await snapshot(app)
    for data, status, message in (
        ({"action": "group_add", "group": "nope"}, 404, "Group couldn't be found"),
        ({"action": "group_add"}, 422, "group is required"),
        ({"action": "group_add", "group": "g" * 500}, 422, "at most 64"),
        ({"action": "group_add", "group": "gmt", "playmodes[]": "osu"}, 422, "no playmodes"),
        ({"action": "group_add", "group": "nat", "playmodes[]": "chess"}, 422, "playmodes"),
        ({"action": "group_remove", "group": "gmt"}, 422, "not in this group"),
        ({"action": "supporter"}, 422, "supporter (true or false) is required"),
    ):
        refused = await client.post(url, data={"csrf_token": token, **data})
        assert refused.status_code == status, (data, refused.text)
        assert message in error_of(refused.text, str(data["action"])), data
    assert await snapshot(app) == before

    added = await client.post(
        url,
        data={"csrf_token": token, "action": "group_add", "group": "nat", "playmodes[]": "taiko"},
    )
    assert added.status_code == 303
    (entry,) = await entries(app, "group_add")
    assert entry["details"]["group"] == "nat" and entry["details"]["playmodes"] == ["taiko"]
    assert await moderation_db.group_identifiers(services(app).db, s.player) == {"nat"}
    page = await client.get(url)
    assert 'aria-label="Remove from ' in page.text
    removed = await client.post(
        url, data={"csrf_token": token, "action": "group_remove", "group": "nat"}
    )
    assert removed.status_code == 303
    assert (await entries(app, "group_remove"))[0]["details"]["group"] == "nat"
    assert await moderation_db.group_identifiers(services(app).db, s.player) == set()

    for on in ("true", "false"):
        done = await client.post(
            url, data={"csrf_token": token, "action": "supporter", "supporter": on}
        )
        assert done.status_code == 303
    first, second = reversed(await entries(app, "supporter"))
    assert first["details"] == {"supporter": True} and second["details"] == {"supporter": False}
    row = await users_db.get_user(services(app).db, s.player)
    assert row is not None and row["support_level"] == 0 and row["has_supported"]


async def test_reports_are_resolved_and_dismissed(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s, token = await signed_in_admin(app, client)
    db = services(app).db
    ids = [
        await reports_db.insert_report(
            db,
            reporter_id=s.other,
            user_id=s.player,
            reportable_type="user",
            reportable_id=s.player,
            reason="Cheating",
            comments=f"report <b>{n}</b>",
        )
        for n in range(2)
    ]
    queue = await client.get("/admin/reports")
    assert queue.status_code == 200
    assert all(f'id="report-{i}"' in queue.text for i in ids)
    assert "report &lt;b&gt;0&lt;/b&gt;" in queue.text
    overview = await client.get("/admin")
    assert 'id="open-reports">2<' in overview.text

    before = await snapshot(app)
    for path, data, status, message in (
        ("/admin/reports/999999", {"action": "resolve"}, 404, "couldn't be found"),
        ("/admin/reports/" + "9" * 40, {"action": "resolve"}, 404, "couldn't be found"),
        (f"/admin/reports/{ids[0]}", {"action": "burn"}, 422, "Unknown action."),
        (f"/admin/reports/{ids[0]}", {"action": "resolve", "note": "n" * 300}, 422, "at most"),
    ):
        refused = await client.post(path, data={"csrf_token": token, **data})
        assert refused.status_code == status, refused.text
        assert message in error_of(refused.text, "report")
    assert await snapshot(app) == before

    resolved = await client.post(
        f"/admin/reports/{ids[0]}",
        data={"csrf_token": token, "action": "resolve", "note": "silenced them"},
    )
    assert resolved.status_code == 303
    assert "Report resolved." in (await client.get(resolved.headers["location"])).text
    dismissed = await client.post(
        f"/admin/reports/{ids[1]}", data={"csrf_token": token, "action": "dismiss"}
    )
    assert dismissed.status_code == 303
    (entry,) = await entries(app, "report_resolve")
    assert entry["reason"] == "silenced them" and entry["details"]["report_id"] == ids[0]
    assert (await entries(app, "report_dismiss"))[0]["details"]["report_id"] == ids[1]
    again = await client.post(
        f"/admin/reports/{ids[0]}", data={"csrf_token": token, "action": "dismiss"}
    )
    assert again.status_code == 422 and "resolved already" in again.text
    assert "No open reports." in (await client.get("/admin/reports")).text
    closed = await client.get("/admin/reports?status=all")
    assert all(f'id="report-{i}"' in closed.text for i in ids)


async def test_the_audit_log_is_newest_first_and_paged(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s, _ = await signed_in_admin(app, client)
    db = services(app).db
    actor = await audit.actor_for(db, {"id": s.admin, "username": "boss"})
    for n in range(55):
        await audit.record(db, actor, "supporter", user_id=s.player, reason=f"entry {n}")
    await audit.record(db, actor, "silence", user_id=s.other, reason="the other one")
    first = await client.get("/admin/audit")
    assert first.status_code == 200
    shown = re.findall(r'<tr id="entry-(\d+)">', first.text)
    assert len(shown) == 50 and shown == sorted(shown, key=int, reverse=True)
    assert first.text.index("the other one") < first.text.index("entry 54")
    older = re.search(r'href="/admin/audit(\?before=\d+)"', first.text)
    assert older
    rest = await client.get("/admin/audit" + older.group(1))
    assert len(re.findall(r'<tr id="entry-(\d+)">', rest.text)) == 6
    assert ">entry 0<" in rest.text

    mine = await client.get("/admin/audit?user=other")
    assert len(re.findall(r'<tr id="entry-', mine.text)) == 1 and "the other one" in mine.text
    only = await client.get("/admin/audit?action=silence")
    assert len(re.findall(r'<tr id="entry-', only.text)) == 1
    for query, message in (
        ("?user=nobody", "couldn't be found"),
        ("?before=abc", "must be an integer"),
        ("?before=" + "9" * 40, "out of range"),
        ("?action=" + "a" * 100, "at most 32"),
    ):
        refused = await client.get("/admin/audit" + query)
        assert refused.status_code == 422 and message in error_of(refused.text, "filter"), query


async def test_spotlights_are_listed_and_made(app: Starlette, client: httpx.AsyncClient) -> None:
    s, token = await signed_in_admin(app, client)
    good = {
        "action": "spotlight_create",
        "name": "Winter",
        "type": "theme",
        "start": "2026-01-01",
        "end": "2026-01-31",
    }
    before = await snapshot(app)
    for change, message in (
        ({"name": ""}, "the name must have 1 to 255 characters"),
        ({"name": "n" * 300}, "the name must have 1 to 255 characters"),
        ({"type": "weekly"}, "the type must be one of"),
        ({"end": "2025-12-31"}, "the end date is before the start date"),
        ({"start": "01/01/2026"}, "dates are YYYY-MM-DD"),
        ({"start": ""}, "dates are YYYY-MM-DD"),
    ):
        refused = await client.post(
            "/admin/spotlights", data={"csrf_token": token, **good, **change}
        )
        assert refused.status_code == 422
        assert message in error_of(refused.text, "spotlight_create")
    assert await snapshot(app) == before

    made = await client.post(
        "/admin/spotlights", data={"csrf_token": token, **good, "mode_specific": "1"}
    )
    assert made.status_code == 303
    (entry,) = await entries(app, "spotlight_create")
    assert entry["actor_id"] == s.admin
    assert entry["details"]["name"] == "Winter" and entry["details"]["mode_specific"] is True
    (row,) = await spotlights_db.listing(services(app).db)
    assert row["id"] == entry["details"]["spotlight_id"] and row["type"] == "theme"
    listed = await client.get(made.headers["location"])
    assert "Spotlight created." in listed.text and "Winter" in listed.text

    # Its beatmapsets: a known set is added once; anything else is refused in place.
    await scores_support.import_map(app, 0)
    set_id = scores_support.SET_IDS[0]
    add = {"csrf_token": token, "action": "spotlight_add_set", "spotlight_id": str(row["id"])}
    before = await snapshot(app)
    for change, status, message in (
        ({"beatmapset_id": ""}, 422, "Choose a spotlight"),
        ({"beatmapset_id": "424242"}, 404, "no beatmapset 424242"),
        ({"beatmapset_id": "9" * 40}, 422, "out of range"),
        ({"beatmapset_id": str(set_id), "spotlight_id": "4242"}, 404, "no spotlight 4242"),
        ({"beatmapset_id": str(set_id), "spotlight_id": "-1"}, 404, "no spotlight -1"),
        ({"beatmapset_id": "0"}, 404, "no beatmapset 0"),
    ):
        refused = await client.post("/admin/spotlights", data={**add, **change})
        assert refused.status_code == status, (change, refused.text)
        assert message in error_of(refused.text, "spotlight_add_set"), change
    assert await snapshot(app) == before
    added = await client.post("/admin/spotlights", data={**add, "beatmapset_id": str(set_id)})
    assert added.status_code == 303
    (entry,) = await entries(app, "spotlight_add_set")
    assert entry["details"]["beatmapset_id"] == set_id and entry["details"]["title"]
    assert await spotlights_db.set_ids(services(app).db, row["id"]) == [set_id]
    again = await client.post("/admin/spotlights", data={**add, "beatmapset_id": str(set_id)})
    assert again.status_code == 422 and "already in spotlight" in again.text


async def test_the_daily_challenge_pool(app: Starlette, client: httpx.AsyncClient) -> None:
    s, token = await signed_in_admin(app, client)
    beatmap = await scores_support.import_map(app, 0)
    db = services(app).db
    before = await snapshot(app)
    add = {"action": "pool_add", "beatmap_id": str(beatmap.id)}
    for change, message in (
        ({"beatmap_id": ""}, "beatmap_id is required"),
        ({"beatmap_id": "abc"}, "must be an integer"),
        ({"beatmap_id": "9" * 40}, "out of range"),
        ({"beatmap_id": "999999"}, "does not exist"),
        ({"beatmap_id": "-5"}, "does not exist"),
        ({"ruleset_id": "7"}, "unsupported ruleset"),
        ({"ruleset_id": "-1"}, "unsupported ruleset"),
        ({"required": "ZZ"}, "Invalid mods"),
        ({"allowed": "[1, 2"}, "not valid JSON"),
        ({"required": "H" * 3000}, "at most 2000"),
    ):
        refused = await client.post(
            "/admin/daily-challenge", data={"csrf_token": token, **add, **change}
        )
        assert refused.status_code == 422, (change, refused.text)
        assert message in error_of(refused.text, "pool_add"), change
    for entry_id, message in (
        ("12345", "no queued pool entry"),
        ("-1", "no queued pool entry"),
        ("9" * 40, "out of range"),
    ):
        refused = await client.post(
            "/admin/daily-challenge",
            data={"csrf_token": token, "action": "pool_remove", "entry_id": entry_id},
        )
        assert refused.status_code in (404, 422)
        assert message in error_of(refused.text, "pool_remove")
    assert await snapshot(app) == before

    added = await client.post(
        "/admin/daily-challenge", data={"csrf_token": token, **add, "required": "HD"}
    )
    assert added.status_code == 303
    (entry,) = await entries(app, "daily_challenge_add")
    assert entry["actor_id"] == s.admin and entry["details"]["beatmap_id"] == beatmap.id
    assert entry["details"]["required"] == ["HD"] and entry["details"]["ruleset_id"] == 0
    (queued,) = await dc_db.entries(db)
    page = await client.get(added.headers["location"])
    assert "Map queued." in page.text and f"Remove entry {queued['id']}" in page.text
    removed = await client.post(
        "/admin/daily-challenge",
        data={"csrf_token": token, "action": "pool_remove", "entry_id": str(queued["id"])},
    )
    assert removed.status_code == 303
    (gone,) = await entries(app, "daily_challenge_remove")
    assert gone["details"] == {"entry_id": queued["id"]}
    assert await dc_db.entries(db) == []


async def test_the_api_and_the_page_write_the_same_entry(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    s, token = await signed_in_admin(app, client)
    api = await client.post(
        f"{ADMIN}/users/player/silence",
        json={"duration": "2h", "reason": "same"},
        headers=s.auth("admin"),
    )
    assert api.status_code == 200, api.text
    web = await client.post(
        f"/admin/users/{s.other}",
        data={"csrf_token": token, "action": "silence", "duration": "2h", "reason": "same"},
    )
    assert web.status_code == 303
    by_api, by_web = reversed(await entries(app, "silence"))
    for field in ("action", "actor_id", "actor_name", "reason"):
        assert by_api[field] == by_web[field]
    assert by_api["details"]["seconds"] == by_web["details"]["seconds"] == 7200
    # And the API refuses what the page refuses, with the same words.
    bad = await client.post(
        f"{ADMIN}/users/player/silence", json={"duration": "1h"}, headers=s.auth("admin")
    )
    assert bad.status_code == 422 and bad.json()["error"] == "reason is required"
