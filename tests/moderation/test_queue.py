"""The reports queue through `/api/private/admin/reports`: list, resolve, dismiss; each logged;
a report is handled once; bad input refused unchanged."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from core.moderation import store as moderation_db
from core.services import services
from tests.moderation.support import ADMIN, snapshot, staff


async def test_list_resolve_dismiss(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    ids = []
    # One report per object and reporter a day: the player and the admin report one each.
    for reason, reporter in (("Cheating", "player"), ("MultipleAccounts", "admin")):
        r = await client.post(
            "/api/v2/reports",
            data={
                "reportable_type": "user",
                "reportable_id": s.other,
                "reason": reason,
                "comments": f"{reason} please",
            },
            headers=s.auth(reporter),
        )
        assert r.status_code == 204, r.text
        ids.append(await services(app).db.fetch_val("SELECT MAX(id) FROM user_reports"))
    r = await client.get(f"{ADMIN}/reports", headers=s.auth("moderator"))
    assert r.status_code == 200
    listed = r.json()["reports"]
    assert [x["id"] for x in listed] == ids[::-1]
    assert listed[1]["status"] == "open" and listed[1]["reason"] == "Cheating"
    assert listed[1]["reporter_id"] == s.player and listed[1]["user_id"] == s.other

    r = await client.post(
        f"{ADMIN}/reports/{ids[0]}/resolve", json={"note": "silenced"}, headers=s.auth("moderator")
    )
    assert r.status_code == 200 and r.json()["action"] == "report_resolve"
    r = await client.post(f"{ADMIN}/reports/{ids[1]}/dismiss", headers=s.auth("moderator"))
    assert r.status_code == 200 and r.json()["action"] == "report_dismiss"
    r = await client.get(f"{ADMIN}/reports", headers=s.auth("moderator"))
    assert r.json()["reports"] == []
    r = await client.get(f"{ADMIN}/reports?status=resolved", headers=s.auth("admin"))
    [done] = r.json()["reports"]
    assert done["id"] == ids[0] and done["resolved_by"] == s.moderator
    r = await client.get(f"{ADMIN}/reports?status=all&limit=1", headers=s.auth("admin"))
    assert [x["id"] for x in r.json()["reports"]] == [ids[1]]
    # Handled once.
    r = await client.post(f"{ADMIN}/reports/{ids[0]}/dismiss", headers=s.auth("admin"))
    assert r.status_code == 422
    log = await moderation_db.log_entries(services(app).db)
    assert [e["action"] for e in log] == ["report_dismiss", "report_resolve"]
    r = await client.get(f"{ADMIN}/audit", params={"user_id": s.other}, headers=s.auth("admin"))
    assert [e["action"] for e in r.json()["entries"]] == ["report_dismiss", "report_resolve"]
    assert r.json()["entries"][1]["reason"] == "silenced"


async def test_bad_input_changes_nothing(app: Starlette, client: httpx.AsyncClient) -> None:
    s = await staff(app)
    before = await snapshot(app)
    for method, path, who, status in (
        ("GET", "reports", "player", 403),
        ("GET", "reports?status=weird", "admin", 422),
        ("GET", "reports?limit=abc", "admin", 422),
        ("GET", "reports?limit=100000", "admin", 422),
        ("GET", "reports?before=99999999999999999999", "admin", 422),
        ("POST", "reports/1/resolve", "player", 403),
        ("POST", "reports/1/resolve", "admin", 404),
        ("POST", "reports/99999999999999999999/dismiss", "admin", 404),
        ("POST", "reports/x/dismiss", "admin", 404),
        ("GET", "audit", "player", 403),
        ("GET", "audit?user_id=abc", "admin", 422),
    ):
        r = await client.request(method, f"{ADMIN}/{path}", headers=s.auth(who))
        assert r.status_code == status, (path, who, r.text)
        assert r.json()["error"]
    assert await snapshot(app) == before
