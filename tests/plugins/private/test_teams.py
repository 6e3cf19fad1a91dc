"""Teams through the private API: the lifecycle, where a team shows (cards, profiles,
teams/{id}, rankings, type=team boards), and refusals that change nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from core.services import services
from core.teams import store as teams_db
from core.users import store as users_db
from core.users import user_statistics
from tests.scores import support

P = "/api/private/teams"
TEAM = {
    "name": "Cookie Club",
    "short_name": "CKC",
    "flag_url": "https://example.com/flag.png",
    "colour_primary": "#FF66aa",
    "description": "we click circles",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def snapshot(app: Starlette) -> list[list[dict[str, Any]]]:
    db = services(app).db
    out = []
    for table in (teams_db.teams, teams_db.team_members, teams_db.team_requests):
        rows = await db.fetch_all(sa.select(table).order_by(*table.primary_key.columns))
        out.append([dict(r._mapping) for r in rows])
    return out


async def players(
    make_user: Callable[..., Awaitable[int]], make_token: Callable[..., Awaitable[str]], n: int
) -> tuple[list[int], list[dict[str, str]]]:
    ids = [await make_user() for _ in range(n)]
    return ids, [auth(await make_token(i)) for i in ids]


async def test_lifecycle_and_where_teams_show(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    (lead, b, c, d), (h_lead, h_b, h_c, h_d) = await players(make_user, make_token, 4)
    r = await client.post(P, json=TEAM, headers=h_lead)
    assert r.status_code == 201, r.text
    team = r.json()
    team_id = team["id"]
    assert team["colour_primary"] == "#ff66aa" and team["leader_id"] == lead

    # b applies, the leader sees and accepts the application.
    r = await client.post(f"{P}/{team_id}/applications", headers=h_b)
    assert r.json() == {"result": "applied"}
    pending = (await client.get(f"{P}/requests", headers=h_lead)).json()
    assert [(q["kind"], q["user_id"]) for q in pending] == [("apply", b)]
    r = await client.post(f"{P}/requests/{pending[0]['id']}/accept", headers=h_lead)
    assert r.json() == {"team_id": team_id}
    # c is invited and accepts; d is invited then applies, which joins at once.
    assert (
        await client.post(f"{P}/{team_id}/invites", json={"user_id": c}, headers=h_lead)
    ).json() == {"result": "invited"}
    invitation = (await client.get(f"{P}/requests", headers=h_c)).json()
    assert invitation[0]["team"]["short_name"] == "CKC"
    assert (
        await client.post(f"{P}/requests/{invitation[0]['id']}/accept", headers=h_c)
    ).status_code == 200
    await client.post(f"{P}/{team_id}/invites", json={"user_id": d}, headers=h_lead)
    assert (await client.post(f"{P}/{team_id}/applications", headers=h_d)).json() == {
        "result": "joined"
    }
    assert await teams_db.member_ids(services(app).db, team_id) == [lead, b, c, d]

    # The team on user cards, profiles and teams/{id}.
    compact = {
        "id": team_id,
        "name": "Cookie Club",
        "short_name": "CKC",
        "flag_url": TEAM["flag_url"],
    }
    profile = (await client.get(f"/api/v2/users/{b}", headers=h_c)).json()
    assert profile["team"] == compact
    cards = (await client.get("/api/v2/users", params={"ids[]": [b, lead]}, headers=h_c)).json()
    assert all(u["team"] == compact for u in cards["users"])
    shown = (await client.get(f"/api/v2/teams/{team_id}", headers=h_c)).json()
    assert shown["leader"]["id"] == lead and [m["id"] for m in shown["members"]] == [lead, b, c, d]
    assert shown["description"] == "we click circles" and shown["statistics"] == []

    # Transfer, the old leader leaves, the new one kicks, edits, disbands.
    r = await client.post(f"{P}/{team_id}/leader", json={"user_id": b}, headers=h_lead)
    assert r.json()["leader_id"] == b
    assert (await client.post(f"{P}/{team_id}/leave", headers=h_lead)).status_code == 204
    assert (await client.get(f"/api/v2/users/{lead}", headers=h_c)).json()["team"] is None
    assert (await client.delete(f"{P}/{team_id}/members/{c}", headers=h_b)).status_code == 204
    r = await client.patch(f"{P}/{team_id}", json={"name": "Circle Club"}, headers=h_b)
    assert r.json()["name"] == "Circle Club" and r.json()["short_name"] == "CKC"
    assert (await client.get(f"/api/v2/users/{d}", headers=h_c)).json()["team"][
        "name"
    ] == "Circle Club"
    assert (await client.delete(f"{P}/{team_id}", headers=h_b)).status_code == 204
    assert (await client.get(f"/api/v2/users/{b}", headers=h_c)).json()["team"] is None
    assert (await client.get(f"/api/v2/teams/{team_id}", headers=h_c)).status_code == 404
    assert await snapshot(app) == [[], [], []]


async def test_refusals_change_nothing(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    (lead, member, other, outsider), (h_lead, h_member, h_other, h_out) = await players(
        make_user, make_token, 4
    )
    team_id = (await client.post(P, json=TEAM, headers=h_lead)).json()["id"]
    await client.post(f"{P}/{team_id}/invites", json={"user_id": member}, headers=h_lead)
    invite = (await client.get(f"{P}/requests", headers=h_member)).json()[0]["id"]
    await client.post(f"{P}/requests/{invite}/accept", headers=h_member)
    other_team = (
        await client.post(P, json={"name": "Other", "short_name": "OTH"}, headers=h_other)
    ).json()["id"]
    await client.post(f"{P}/{other_team}/applications", headers=h_out)
    application = (await client.get(f"{P}/requests", headers=h_out)).json()[0]["id"]
    shady = await make_user()
    h_shady = auth(await make_token(shady))
    await users_db.update_user(services(app).db, shady, restricted=True)
    before = await snapshot(app)

    refusals: list[tuple[str, str, dict[str, Any] | None, dict[str, str], int]] = [
        # Wrong types, missing fields, bad values.
        ("POST", P, {"name": 5, "short_name": "X"}, h_out, 422),
        ("POST", P, {"name": ["a"], "short_name": "X"}, h_out, 422),
        ("POST", P, {"short_name": "X"}, h_out, 422),
        ("POST", P, {"name": "x" * 51, "short_name": "X"}, h_out, 422),
        ("POST", P, {"name": "Ok", "short_name": "X", "colour_primary": "red"}, h_out, 422),
        (
            "POST",
            P,
            {"name": "Ok", "short_name": "X", "flag_url": "javascript:alert(1)"},
            h_out,
            422,
        ),
        (
            "POST",
            P,
            {"name": "Ok", "short_name": "X", "flag_url": "https://e.com/" + "a" * 300},
            h_out,
            422,
        ),
        ("POST", P, {"name": "Bad\x00name", "short_name": "X"}, h_out, 422),
        # Taken names (case-insensitive); a member creating a second team.
        ("POST", P, {"name": "cookie club", "short_name": "NEW"}, h_out, 422),
        ("POST", P, {"name": "Fresh", "short_name": "ckc"}, h_out, 422),
        ("POST", P, {"name": "Fresh", "short_name": "FRS"}, h_member, 409),
        # Huge and bad ids.
        ("POST", f"{P}/99999999999999999999999/applications", None, h_out, 404),
        ("POST", f"{P}/9223372036854775807/applications", None, h_out, 404),
        ("POST", f"{P}/{team_id}/invites", {"user_id": 2**70}, h_lead, 422),
        ("POST", f"{P}/{team_id}/invites", {"user_id": "abc"}, h_lead, 422),
        ("POST", f"{P}/{team_id}/invites", {}, h_lead, 422),
        ("POST", f"{P}/{team_id}/invites", {"user_id": 9_000_000_000}, h_lead, 404),
        ("POST", f"{P}/requests/99999999999999999999/accept", None, h_out, 404),
        # Not the leader.
        ("DELETE", f"{P}/{team_id}/members/{lead}", None, h_member, 403),
        ("POST", f"{P}/{team_id}/invites", {"user_id": outsider}, h_member, 403),
        ("POST", f"{P}/{team_id}/leader", {"user_id": member}, h_member, 403),
        ("PATCH", f"{P}/{team_id}", {"name": "Mine"}, h_member, 403),
        ("DELETE", f"{P}/{team_id}", None, h_member, 403),
        # Another team's members and requests.
        ("DELETE", f"{P}/{team_id}/members/{other}", None, h_lead, 404),
        ("POST", f"{P}/{team_id}/leader", {"user_id": other}, h_lead, 422),
        ("POST", f"{P}/requests/{application}/accept", None, h_lead, 404),
        ("DELETE", f"{P}/requests/{application}", None, h_lead, 404),
        # Joining two teams; the leader leaving or kicking themselves.
        ("POST", f"{P}/{other_team}/applications", None, h_member, 409),
        ("POST", f"{P}/{other_team}/invites", {"user_id": member}, h_other, 409),
        ("POST", f"{P}/{team_id}/leave", None, h_lead, 422),
        ("POST", f"{P}/{other_team}/leave", None, h_member, 404),
        ("DELETE", f"{P}/{team_id}/members/{lead}", None, h_lead, 422),
        # Restricted players neither found, join nor get invited.
        ("POST", P, {"name": "Shady", "short_name": "SHD"}, h_shady, 403),
        ("POST", f"{P}/{team_id}/applications", None, h_shady, 403),
        ("POST", f"{P}/{team_id}/invites", {"user_id": shady}, h_lead, 404),
        # No token.
        ("POST", P, {"name": "Anon", "short_name": "ANO"}, {}, 401),
    ]
    for method, url, body, headers, status in refusals:
        r = await client.request(method, url, json=body, headers=headers)
        assert r.status_code == status, (method, url, body, r.status_code, r.text)
        assert "error" in r.json() or status == 401, r.text
    assert await snapshot(app) == before
    assert (await client.get("/api/v2/teams/abc", headers=h_out)).status_code == 404
    assert (await client.get(f"/api/v2/teams/{2**64}", headers=h_out)).status_code == 404

    # The leader inviting a player who applied lets them in at once.
    await client.post(f"{P}/{other_team}/invites", json={"user_id": outsider}, headers=h_other)
    assert await teams_db.team_of(services(app).db, outsider) == other_team


async def test_rankings_statistics_and_team_boards(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    (a, b, c, solo), heads = await players(make_user, make_token, 4)
    db = services(app).db
    first = (await client.post(P, json=TEAM, headers=heads[0])).json()["id"]
    second = (
        await client.post(P, json={"name": "Two", "short_name": "TWO"}, headers=heads[2])
    ).json()["id"]
    await client.post(f"{P}/{first}/invites", json={"user_id": b}, headers=heads[0])
    await client.post(f"{P}/{first}/applications", headers=heads[1])
    beatmap = await support.import_map(app, 0)
    for token in heads:
        r = await support.submit(client, token["Authorization"][7:], beatmap, support.body(beatmap))
        assert r.status_code == 200, r.text
    # Distinct pp so the order is known: first team a+b, second team c; solo is in no team.
    for uid, pp in ((a, 100.0), (b, 50.5), (c, 120.0), (solo, 500.0)):
        await db.execute(
            sa.update(user_statistics.user_statistics)
            .where(user_statistics.user_statistics.c.user_id == uid)
            .values(pp=pp)
        )
    ranking = (await client.get("/api/v2/rankings/osu/team", headers=heads[3])).json()
    assert ranking["total"] == 2 and ranking["cursor"] is None
    assert [(e["team"]["id"], e["performance"], e["member_count"]) for e in ranking["ranking"]] == [
        (first, 150, 2),
        (second, 120, 1),
    ]
    assert ranking["ranking"][0]["team_id"] == first and ranking["ranking"][0]["ruleset_id"] == 0
    assert ranking["ranking"][0]["play_count"] == 2
    assert (await client.get("/api/v2/rankings/taiko/team", headers=heads[3])).json()["total"] == 0

    shown = (await client.get(f"/api/v2/teams/{first}", headers=heads[3])).json()
    assert [(s["ruleset_id"], s["rank"], s["member_count"]) for s in shown["statistics"]] == [
        (0, 1, 2)
    ]

    board = f"/api/v2/beatmaps/{beatmap.id}/scores"
    mine = (await client.get(board, params={"type": "team"}, headers=heads[0])).json()
    assert sorted(s["user_id"] for s in mine["scores"]) == [a, b]
    theirs = (await client.get(board, params={"type": "team"}, headers=heads[2])).json()
    assert [s["user_id"] for s in theirs["scores"]] == [c]
    alone = (await client.get(board, params={"type": "team"}, headers=heads[3])).json()
    assert alone["scores"] == []


async def test_cli(app: Starlette, settings: Any, make_user: Any, capsys: Any) -> None:
    """One command through `hitcircle` (the wiring); the others in process (subprocesses are
    seconds each)."""
    import importlib
    from argparse import Namespace

    commands = importlib.import_module("plugins.private.cli")
    from tests.plugins.private.test_cli import hitcircle

    lead, other = await make_user("cli leader"), await make_user("cli other")
    r = await hitcircle(
        settings, "teams", "create", "Cli Team", "CLI", "--leader", "cli leader",
        "--colour", "#00ff00", "--flag-url", "https://e.com/f.png",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    team_id = int(r.stdout)

    async def run(command: Any, **args: Any) -> tuple[int, str, str]:
        code = await command(app, Namespace(**args))
        out = capsys.readouterr()
        return code, out.out, out.err

    new = {"flag_url": None, "colour": None, "description": None}
    code, _, err = await run(
        commands._team_create, name="Two", short_name="TW", leader=str(lead), **new
    )
    assert code == 1 and "already in a team" in err
    code, _, err = await run(
        commands._team_create, name="Two", short_name="TW", leader="nobody", **new
    )
    assert code == 1 and "no user" in err
    bad = new | {"colour": "green"}
    code, _, err = await run(
        commands._team_create, name="Two", short_name="TW", leader=str(other), **bad
    )
    assert code == 1 and "colour" in err
    assert (await run(commands._team_add, team=team_id, user="cli other"))[0] == 0
    code, _, err = await run(commands._team_add, team=team_id, user="cli other")
    assert code == 1 and "already in a team" in err
    code, out, _ = await run(commands._team_list)
    assert out.split("\t") == [str(team_id), "[CLI]", "Cli Team", f"leader {lead}", "2 members\n"]
    code, _, err = await run(commands._team_remove, team=team_id, user=str(lead))
    assert code == 1 and "leader" in err
    assert (await run(commands._team_remove, team=team_id, user="cli other"))[0] == 0
    assert await teams_db.member_ids(services(app).db, team_id) == [lead]
    assert (await run(commands._team_disband, team=team_id))[0] == 0
    code, _, err = await run(commands._team_disband, team=team_id)
    assert code == 1 and "not found" in err
    assert await snapshot(app) == [[], [], []]


async def test_two_invitations_accepted_at_once_join_one_team(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    import asyncio

    (_, _, player), (h_one, h_two, h_player) = await players(make_user, make_token, 3)
    first = (await client.post(P, json={"name": "One", "short_name": "ONE"}, headers=h_one)).json()
    second = (await client.post(P, json={"name": "Two", "short_name": "TWO"}, headers=h_two)).json()
    for team, headers in ((first, h_one), (second, h_two)):
        r = await client.post(
            f"{P}/{team['id']}/invites", json={"user_id": player}, headers=headers
        )
        assert r.json() == {"result": "invited"}
    ids = [q["id"] for q in (await client.get(f"{P}/requests", headers=h_player)).json()]
    assert len(ids) == 2
    answers = await asyncio.gather(
        *(client.post(f"{P}/requests/{i}/accept", headers=h_player) for i in ids)
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses[0] == 200 and statuses[1] in (404, 409), [r.text for r in answers]
    joined = next(r.json()["team_id"] for r in answers if r.status_code == 200)
    db = services(app).db
    assert await teams_db.team_of(db, player) == joined
    sizes = [len(await teams_db.member_ids(db, t["id"])) for t in (first, second)]
    assert sorted(sizes) == [1, 2]
    assert (await client.get(f"{P}/requests", headers=h_player)).json() == []


async def test_team_answers_match_the_document(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    """Each team route's success answer against its shape in /openapi.json (the document walk
    in tests/test_openapi.py cannot take turns between players)."""
    from core import openapi
    from tests.test_openapi import undocumented

    doc = openapi.build(app)
    (lead, b, c), (h_lead, h_b, _) = await players(make_user, make_token, 3)
    answers: list[tuple[str, str, httpx.Response]] = []

    async def call(method: str, path: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
        response = await client.request(method, url, headers=headers, **kw)
        assert response.is_success, (method, url, response.text)
        answers.append((method, path, response))
        return response.json()

    team = await call("POST", P, P, h_lead, json=TEAM)
    at = f"{P}/{team['id']}"
    await call("POST", P + "/{team}/applications", f"{at}/applications", h_b)
    await call("POST", P + "/{team}/invites", f"{at}/invites", h_lead, json={"user_id": c})
    (application,) = [
        r for r in await call("GET", P + "/requests", f"{P}/requests", h_lead) if r["user_id"] == b
    ]
    accept = P + "/requests/{request}/accept"
    await call("POST", accept, f"{P}/requests/{application['id']}/accept", h_lead)
    await call("PATCH", P + "/{team}", at, h_lead, json={"description": "edited"})
    await call("PUT", P + "/{team}", at, h_lead, json={"description": "edited again"})
    await call("POST", P + "/{team}/leader", f"{at}/leader", h_lead, json={"user_id": b})
    await call("PUT", P + "/{team}/leader", f"{at}/leader", h_b, json={"user_id": lead})
    failures = [why for m, p, r in answers if (why := undocumented(doc, m, p, r))]
    assert not failures, failures
    assert len(answers) == 9
