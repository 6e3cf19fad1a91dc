"""The settings page's team section: create a team, invite and answer requests, leave, hand over
leadership, disband.

Every action runs `core.teams.lifecycle`, as `/api/private/teams` does, so the rules, limits and
messages are the API's (osu-web's team settings: `resources/views/teams/edit.blade.php`).
"""

from __future__ import annotations

from typing import Any

from core.http import Params
from core.services import Services
from core.teams import lifecycle
from core.teams import store as teams_db
from core.teams import views as team_views
from core.users import store as users_db

ACTIONS = (
    "team_create",
    "team_invite",
    "team_accept",
    "team_decline",
    "team_leave",
    "team_transfer",
    "team_disband",
)


async def context(svc: Services, user_id: int) -> dict[str, Any]:
    """The player's team (with its members when they lead it) and the requests they may answer."""
    team_id = await teams_db.team_of(svc.db, user_id)
    team = None if team_id is None else await teams_db.get_team(svc.db, team_id)
    leads = team is not None and int(team["leader_id"]) == user_id
    members: list[dict[str, Any]] = []
    if team is not None and leads:
        ids = await teams_db.member_ids(svc.db, int(team["id"]))
        rows = await users_db.get_users(svc.db, [i for i in ids if i != user_id])
        members = [{"id": int(r["id"]), "username": r["username"]} for r in rows]
    pending = await teams_db.requests_for(
        svc.db, user_id, int(team["id"]) if leads and team else None
    )
    teams = await teams_db.get_teams(svc.db, [int(r["team_id"]) for r in pending])
    names = {
        int(r["id"]): r["username"]
        for r in await users_db.get_users(svc.db, [int(r["user_id"]) for r in pending])
    }
    requests = []
    for row in pending:
        view = team_views.request(row, teams.get(int(row["team_id"])))
        incoming = (row["kind"] == teams_db.INVITE and int(row["user_id"]) == user_id) or (
            row["kind"] == teams_db.APPLY and leads
        )
        requests.append({**view, "username": names.get(int(row["user_id"])), "incoming": incoming})
    return {
        "team": None if team is None else team_views.compact(team),
        "team_leader": leads,
        "team_members": members,
        "team_requests": requests,
    }


async def _user_named(svc: Services, form: Params, field: str) -> int:
    name = form.str(field, max_length=64)
    row = await users_db.find_by_username(svc.db, name.strip()) if name else None
    if row is None:
        raise lifecycle.TeamRefused(404, "No player has that name.", field)
    return int(row["id"])


def _id(form: Params) -> int:
    number = form.int("id", minimum=1)
    if number is None:
        raise lifecycle.TeamRefused(404, "request not found")
    return number


async def run(svc: Services, user_id: int, action: str, form: Params) -> tuple[str, set[int]]:
    """Apply `action` for the signed-in player: (the notice to show, the players whose team
    changed), or TeamRefused."""
    team_id = await teams_db.team_of(svc.db, user_id)
    if action == "team_create":
        fields = {k: form.get(k) for k in ("name", "short_name") if form.get(k) is not None}
        await lifecycle.create(svc, user_id, fields)
        return "Team created.", {user_id}
    if action == "team_accept":
        request_id = _id(form)
        row = await teams_db.get_request(svc.db, request_id)
        await lifecycle.accept(svc, user_id, request_id)
        return "Request accepted.", {user_id} | ({int(row["user_id"])} if row else set())
    if action == "team_decline":
        await lifecycle.decline(svc, user_id, _id(form))
        return "Request declined.", set()
    if team_id is None:
        raise lifecycle.TeamRefused(404, "You are not in a team.")
    if action == "team_invite":
        invited = await _user_named(svc, form, "username")
        result = await lifecycle.invite(svc, user_id, team_id, invited)
        if result == "joined":
            return "The player joined the team.", {invited}
        return "Invitation sent.", set()
    if action == "team_leave":
        await lifecycle.leave(svc, user_id, team_id)
        return "You left the team.", {user_id}
    if action == "team_transfer":
        await lifecycle.transfer(svc, user_id, team_id, await _user_named(svc, form, "username"))
        return "Leadership handed over.", set()
    if action == "team_disband":
        members = set(await teams_db.member_ids(svc.db, team_id))
        await lifecycle.disband(svc, user_id, team_id)
        return "Team disbanded.", members
    raise lifecycle.TeamRefused(422, "Unknown action.")
