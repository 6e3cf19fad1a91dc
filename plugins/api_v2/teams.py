"""`GET /api/v2/teams/{team}`: a team with its leader, members and statistics per ruleset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route
from core.http import json, not_found, path_id
from core.openapi import describe
from core.services import services
from core.teams import shown


@describe(responses={200: "Team"})
async def show(request: Request) -> Response:
    team_id = path_id(request.path_params["team"])
    found = None if team_id is None else await shown.team(services(request), team_id)
    if found is None:
        raise not_found("Team")
    return json(found)


ROUTES = [api_route("/api/v2/teams/{team}", show, methods=["GET", "HEAD"])]
