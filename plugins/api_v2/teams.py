"""`GET /api/v2/teams/{team}`: a team with its leader, members and statistics per ruleset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route
from core.http import json, not_found, path_id
from core.openapi import describe
from core.services import services
from core.teams import store as teams_db
from core.teams import views as team_views
from core.users import profiles
from core.users import store as users_db


@describe(responses={200: "Team"})
async def show(request: Request) -> Response:
    team_id = path_id(request.path_params["team"])
    svc = services(request)
    row = None if team_id is None else await teams_db.get_team(svc.db, team_id)
    if row is None or team_id is None:
        raise not_found("Team")
    ids = await teams_db.member_ids(svc.db, team_id)
    rows = [
        r
        for r in await users_db.get_users(svc.db, ids)
        if not r["restricted"] and not r["is_deleted"]
    ]
    cards = {int(c["id"]): c for c in await profiles.cards(svc.db, rows, svc.settings)}
    members = [cards[i] for i in ids if i in cards]
    leader = cards.get(int(row["leader_id"]))
    stats = await teams_db.statistics(svc.db, team_id)
    return json(team_views.full(row, leader, members, stats))


ROUTES = [api_route("/api/v2/teams/{team}", show, methods=["GET", "HEAD"])]
