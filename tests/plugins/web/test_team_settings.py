"""plugins.web.team_settings: the settings page's team section, run through core.teams.lifecycle
as the private API is (create, invite, accept, transfer, leave, disband), with its refusals shown
in place and nothing stored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from starlette.applications import Starlette

from core.services import services
from core.teams import store as teams_db
from tests.conftest import create_user
from tests.plugins.web.test_pages import form_token, login


@pytest_asyncio.fixture
async def other(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser (its own cookies)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _act(client: httpx.AsyncClient, action: str, **fields: str) -> httpx.Response:
    token = await form_token(client, "/settings")
    return await client.post("/settings", data={"csrf_token": token, "action": action, **fields})


async def test_a_team_from_creation_to_disbanding(
    app: Starlette, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    db = services(app).db
    lead = await create_user(app, "captain", password="captain password 1")
    mate = await create_user(app, "firstmate", password="firstmate password 1")
    assert (await login(client, "captain", "captain password 1")).status_code == 303
    assert (await login(other, "firstmate", "firstmate password 1")).status_code == 303

    page = await client.get("/settings")
    assert "You are not in a team." in page.text
    # One team section, in the page's body; the title stays plain text.
    assert page.text.count('id="team-h"') == 1
    assert re.search(r"<title>Settings[^<]*</title>", page.text), page.text[:300]
    made = await _act(client, "team_create", name="Circle Clickers", short_name="CC")
    assert made.status_code == 200 and "Team created." in made.text
    team_id = await teams_db.team_of(db, lead)
    assert team_id is not None
    assert "the leader" in made.text and "Circle Clickers" in made.text

    invited = await _act(client, "team_invite", username="firstmate")
    assert invited.status_code == 200 and "Invitation sent." in invited.text
    # The invited player sees it, and accepts.
    theirs = await other.get("/settings")
    assert "Invitation to Circle Clickers" in theirs.text
    (request,) = await teams_db.requests_for(db, mate, None)
    accepted = await _act(other, "team_accept", id=str(request["id"]))
    assert accepted.status_code == 200 and "Request accepted." in accepted.text
    assert await teams_db.team_of(db, mate) == team_id
    assert "a member" in accepted.text

    handed = await _act(client, "team_transfer", username="firstmate")
    assert handed.status_code == 200 and "Leadership handed over." in handed.text
    team = await teams_db.get_team(db, team_id)
    assert team is not None and int(team["leader_id"]) == mate

    left = await _act(client, "team_leave")
    assert left.status_code == 200 and "You left the team." in left.text
    assert await teams_db.team_of(db, lead) is None

    gone = await _act(other, "team_disband")
    assert gone.status_code == 200 and "Team disbanded." in gone.text
    assert await teams_db.get_team(db, team_id) is None


async def test_refusals_are_shown_in_place_and_change_nothing(
    app: Starlette, client: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    db = services(app).db
    lead = await create_user(app, "leader", password="leader password 1")
    await create_user(app, "bystander", password="bystander password 1")
    assert (await login(client, "leader", "leader password 1")).status_code == 303
    assert (await login(other, "bystander", "bystander password 1")).status_code == 303

    # Missing and oversized names: the lifecycle's own messages, 4xx, no team.
    missing = await _act(client, "team_create", name="Only a name")
    assert missing.status_code == 422 and "short_name is required" in missing.text
    huge = await _act(client, "team_create", name="x" * 5000, short_name="XX")
    assert huge.status_code == 422 and 'id="team-errors"' in huge.text
    assert await teams_db.team_of(db, lead) is None
    # Actions that need a team, without one.
    for action in ("team_leave", "team_disband", "team_invite"):
        refused = await _act(client, action, username="bystander")
        assert refused.status_code == 422 and "You are not in a team." in refused.text

    await _act(client, "team_create", name="Solo", short_name="SO")
    team_id = await teams_db.team_of(db, lead)
    assert team_id is not None
    # The same name again from another player; nobody by that name; the leader leaving.
    taken = await _act(other, "team_create", name="Solo", short_name="S2")
    assert taken.status_code == 422 and 'id="team-errors"' in taken.text
    nobody = await _act(client, "team_invite", username="nobody-here")
    assert nobody.status_code == 422 and "No player has that name." in nobody.text
    stays = await _act(client, "team_leave")
    assert stays.status_code == 422 and "transfer leadership or disband" in stays.text
    # Another player's request, a made-up id, a non-number: "not found", nothing changes.
    await _act(client, "team_invite", username="bystander")
    (request,) = await teams_db.requests_for(db, lead, team_id)
    for value in (str(request["id"]), "999999", "abc"):
        refused = await _act(client, "team_accept", id=value)
        assert refused.status_code == 422, value
    assert await teams_db.member_ids(db, team_id) == [lead]
    # Without the form's CSRF token nothing runs.
    forged = await other.post(
        "/settings", data={"action": "team_create", "name": "F", "short_name": "F"}
    )
    assert forged.status_code == 403
    assert len(await teams_db.list_teams(db)) == 1
