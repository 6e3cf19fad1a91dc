"""`POST reports`: users, scores, chat messages and beatmapsets are reported and stored, with
osu-web's rules (reasons per type, no self reports, once a day per object) and a rate limit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.beatmaps import store as beatmaps_db
from core.chat import store as chat_db
from core.reports import store as reports_db
from core.services import services
from core.users import store as users_db
from tests.conftest import create_user, issue_token
from tests.scores import support

PENDING_SET = 7600


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"ratelimit": {"enabled": True}, "reports": {"limit": "12/hour"}}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def stored(app: Starlette) -> list[dict[str, Any]]:
    rows = await services(app).db.fetch_all(
        reports_db.user_reports.select().order_by(reports_db.user_reports.c.id)
    )
    return [{str(k): r[k] for k in r.keys()} for r in rows]


async def report(client: httpx.AsyncClient, token: str, **form: Any) -> httpx.Response:
    return await client.post("/api/v2/reports", data=form, headers=auth(token))


@pytest.fixture
async def world(app: Starlette, client: httpx.AsyncClient) -> dict[str, Any]:
    db = services(app).db
    alice = await create_user(app, "alice")
    bob = await create_user(app, "bob")
    tb = await issue_token(app, bob)
    beatmap = await support.import_map(app, 0)
    played = await support.submit(client, tb, beatmap, support.body(beatmap))
    public = await chat_db.create_channel(db, name="#osu", type_="PUBLIC")
    said = await chat_db.insert_message(db, public, bob, "buy gold", False)
    await support.import_map(app, 0, status="pending", set_id=PENDING_SET)
    pending = await beatmaps_db.beatmapset_by_id(db, PENDING_SET)
    assert pending is not None
    return {
        "alice": alice,
        "bob": bob,
        "ta": await issue_token(app, alice),
        "tb": tb,
        "score": played.json()["id"],
        "message": said["id"],
        "ranked_set": 7000,
        "mapper": int(pending["user_id"]),
    }


async def test_reports_are_stored(
    app: Starlette, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    ta, bob = world["ta"], world["bob"]
    forms: list[dict[str, Any]] = [
        {
            "reportable_type": "user",
            "reportable_id": bob,
            "reason": "Cheating",
            "comments": " aim ",
        },
        {
            "reportable_type": "solo_score",
            "reportable_id": world["score"],
            "reason": "MultipleAccounts",
            "comments": "replay",
        },
        # A chat message needs no comment unless the reason is Other (lazer's ChatReportRequest).
        {"reportable_type": "message", "reportable_id": world["message"], "reason": "Spam"},
        {
            "reportable_type": "beatmapset",
            "reportable_id": PENDING_SET,
            "reason": "UnwantedContent",
            "comments": "not music",
        },
    ]
    for form in forms:
        response = await report(client, ta, **form)
        assert (response.status_code, response.content) == (204, b""), response.text
    rows = await stored(app)
    assert [(r["reporter_id"], r["user_id"], r["reportable_type"], r["reason"]) for r in rows] == [
        (world["alice"], bob, "user", "Cheating"),
        (world["alice"], bob, "solo_score", "MultipleAccounts"),
        (world["alice"], bob, "message", "Spam"),
        (world["alice"], world["mapper"], "beatmapset", "UnwantedContent"),
    ]
    assert [r["comments"] for r in rows] == ["aim", "replay", "", "not music"]
    assert rows[1]["reportable_id"] == world["score"]

    # Once a day per reporter and object.
    again = await report(client, ta, **{**forms[0], "reason": "Other", "comments": "more"})
    assert (again.status_code, again.json()) == (
        422,
        {"error": "You've already reported this recently."},
    )
    await services(app).db.execute(
        sa.update(reports_db.user_reports)
        .where(reports_db.user_reports.c.id == rows[0]["id"])
        .values(created_at=rows[0]["created_at"] - dt.timedelta(days=1, seconds=1))
    )
    later = await report(client, ta, **{**forms[0], "reason": "Other", "comments": "more"})
    assert later.status_code == 204
    # Another reporter is not held back by alice's report.
    carol = await issue_token(app, await create_user(app, "carol"))
    assert (await report(client, carol, **forms[0])).status_code == 204


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"reportable_type": "team", "reportable_id": 1, "reason": "Other"}, 404, None),
        ({"reportable_type": "user", "reportable_id": 987654, "reason": "Other"}, 404, "user"),
        ({"reportable_type": "user", "reportable_id": 2**70, "reason": "Other"}, 404, "user"),
        ({"reportable_type": "user", "reportable_id": "-1", "reason": "Other"}, 404, "user"),
        ({"reportable_type": "user", "reason": "Cheating", "comments": "x"}, 404, "user"),
        ({"reportable_type": "comment", "reportable_id": 1, "reason": "Spam"}, 404, "comment"),
        (
            {"reportable_type": "solo_score", "reportable_id": 999999, "reason": "Other"},
            404,
            "score",
        ),
        ({"reportable_type": "message", "reportable_id": 999999, "reason": "Spam"}, 404, "message"),
        ({"reportable_type": "beatmapset", "reportable_id": 1, "reason": "Other"}, 404, "set"),
        (
            {
                "reportable_type": "user",
                "reportable_id": "bob",
                "reason": "Cheating",
                "comments": "x",
            },
            422,
            "Insults is not valid for this report type.",
        ),
    ],
)
async def test_bad_reports_are_refused(
    app: Starlette,
    client: httpx.AsyncClient,
    world: dict[str, Any],
    form: dict[str, Any],
    status: int,
    message: str | None,
) -> None:
    if form.get("reportable_id") == "bob":
        form = {**form, "reportable_id": world["bob"], "reason": "Insults"}
    response = await report(client, world["ta"], **form)
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json() == {"error": message}
    assert await stored(app) == []


async def test_osu_web_rules(
    app: Starlette, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    db = services(app).db
    ta, bob = world["ta"], world["bob"]
    cases = [
        (
            {"reportable_type": "user", "reportable_id": world["alice"], "reason": "Cheating"},
            "Comments is required.\nYou can't report yourself!",
        ),
        (
            {"reportable_type": "message", "reportable_id": world["message"], "reason": "Other"},
            "Comments is required.",
        ),
        (
            {
                "reportable_type": "user",
                "reportable_id": bob,
                "reason": "Cheating",
                "comments": "x" * 2001,
            },
            "Comments exceeded maximum length - can only be up to 2000 characters.",
        ),
        (
            {
                "reportable_type": "beatmapset",
                "reportable_id": world["ranked_set"],
                "reason": "Other",
                "comments": "x",
            },
            "Ranked beatmaps cannot be reported",
        ),
        (
            {"reportable_type": "solo_score", "reportable_id": world["score"], "comments": "x"},
            " is not valid for this report type.",
        ),
    ]
    for form, message in cases:
        response = await report(client, ta, **form)
        assert (response.status_code, response.json()) == (422, {"error": message}), form
    # A private conversation is reported only by someone in it.
    pm = await chat_db.create_channel(db, name="#pm_2-3", type_="PM")
    whisper = await chat_db.insert_message(db, pm, bob, "psst", False)
    outside = await report(
        client, ta, reportable_type="message", reportable_id=whisper["id"], reason="Spam"
    )
    assert outside.json() == {"error": "You're not in this channel."}
    # Restricted or silenced players cannot report; restricted users cannot be reported.
    await users_db.update_user(db, bob, restricted=True)
    hidden = await report(
        client, ta, reportable_type="user", reportable_id=bob, reason="Cheating", comments="x"
    )
    assert hidden.status_code == 404
    await users_db.update_user(db, bob, restricted=False)
    await users_db.update_user(db, world["alice"], silenced_until=dt.datetime(2999, 1, 1))
    await services(app).cache.delete(f"auth:user:{world['alice']}")
    silenced = await report(
        client, ta, reportable_type="user", reportable_id=bob, reason="Cheating", comments="x"
    )
    assert silenced.json() == {"error": "You can't do that while silenced."}
    # Only lazer's own scope may report, and only as a user.
    public = await issue_token(app, world["alice"], scopes=("public",))
    assert (await report(client, public, reportable_type="user")).status_code == 403
    guest = await issue_token(app, None)
    assert (await report(client, guest, reportable_type="user")).status_code in (401, 403)
    assert await stored(app) == []


async def test_reports_are_rate_limited(
    app: Starlette, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    reporters = []
    for n in range(13):
        uid = await create_user(app, f"reporter{n}")
        reporters.append(uid)
    # The limit counts per token: twelve reports pass, the thirteenth is refused.
    token = world["ta"]
    for n, uid in enumerate(reporters):
        response = await report(
            client, token, reportable_type="user", reportable_id=uid, reason="Other", comments="x"
        )
        expected = 204 if n < 12 else 429
        assert response.status_code == expected, (n, response.text)
    assert len(await stored(app)) == 12
