"""Team management under `/api/private/teams` (the lifecycle of core.teams.lifecycle).

Every route needs a lazer-scope (`*`) token; the acting player is always the token's user.
Refusals are 4xx with an `error` message (and `form_error` for a bad field); a refused call
changes nothing.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import api_route, require_user
from core.http import ApiError, json, no_content, params, path_id, unprocessable
from core.openapi import describe
from core.openapi_schemas import INT, array, obj
from core.services import services
from core.teams import lifecycle
from core.teams import store as teams_db
from core.teams import views as team_views

PREFIX = "/api/private/teams"
FIELDS = ("name", "short_name", "flag_url", "colour_primary", "colour_secondary", "description")


def _refused(refused: lifecycle.TeamRefused) -> ApiError:
    body: dict[str, Any] = {"error": str(refused)}
    if refused.field is not None:
        body["form_error"] = {refused.field: [str(refused)]}
    return ApiError(refused.status, body)


def _path(request: Request, key: str, what: str) -> int:
    number = path_id(request.path_params[key])
    if number is None:
        raise ApiError(404, {"error": f"{what} not found"})
    return number


async def _fields(request: Request) -> dict[str, Any]:
    p = await params(request)
    fields: dict[str, Any] = {}
    for key in FIELDS:
        if key in p.data:
            value = p.data[key]
            # JSON bodies keep their types (a number is refused by the checks); form values
            # are text. Empty strings mean "clear" for the optional fields.
            fields[key] = value
    return fields


async def _user_id(request: Request) -> int:
    p = await params(request)
    user_id = p.int("user_id", minimum=1)
    if user_id is None:
        raise unprocessable("user_id is required")
    return user_id


async def _run(coroutine: Any) -> Any:
    try:
        return await coroutine
    except lifecycle.TeamRefused as refused:
        raise _refused(refused) from None


async def _team_json(request: Request, team_id: int) -> dict[str, Any]:
    row = await teams_db.get_team(services(request).db, team_id)
    assert row is not None
    return team_views.compact(row) | {
        "colour_primary": row["colour_primary"],
        "colour_secondary": row["colour_secondary"],
        "description": row["description"],
        "leader_id": int(row["leader_id"]),
    }


# `_fields` reads these from the body as they came (JSON keeps its types for the checks).
FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "name": {"type": "string"},
    "short_name": {"type": "string"},
    "flag_url": {"type": ["string", "null"]},
    "colour_primary": {"type": ["string", "null"]},
    "colour_secondary": {"type": ["string", "null"]},
    "description": {"type": ["string", "null"]},
}


@describe(responses={201: "TeamSettings"}, parameters=FIELD_SCHEMAS)
async def create(request: Request) -> Response:
    user = require_user(request)
    fields = await _fields(request)
    team_id = await _run(lifecycle.create(services(request), int(user["id"]), fields))
    return json(await _team_json(request, team_id), status=201)


@describe(responses={200: "TeamSettings"}, parameters=FIELD_SCHEMAS)
async def edit(request: Request) -> Response:
    user = require_user(request)
    team_id = _path(request, "team", "team")
    fields = await _fields(request)
    await _run(lifecycle.edit(services(request), int(user["id"]), team_id, fields))
    return json(await _team_json(request, team_id))


async def disband(request: Request) -> Response:
    user = require_user(request)
    team_id = _path(request, "team", "team")
    await _run(lifecycle.disband(services(request), int(user["id"]), team_id))
    return no_content()


@describe(responses={200: "TeamRequestResult"})
async def invite(request: Request) -> Response:
    user = require_user(request)
    team_id = _path(request, "team", "team")
    target = await _user_id(request)
    result = await _run(lifecycle.invite(services(request), int(user["id"]), team_id, target))
    return json({"result": result})


@describe(responses={200: "TeamRequestResult"})
async def apply(request: Request) -> Response:
    user = require_user(request)
    team_id = _path(request, "team", "team")
    result = await _run(lifecycle.apply(services(request), int(user["id"]), team_id))
    return json({"result": result})


@describe(responses={200: array("TeamRequest")})
async def list_requests(request: Request) -> Response:
    user = require_user(request)
    db = services(request).db
    uid = int(user["id"])
    own_team = await teams_db.team_of(db, uid)
    led = None
    if own_team is not None:
        team = await teams_db.get_team(db, own_team)
        led = own_team if team is not None and int(team["leader_id"]) == uid else None
    rows = await teams_db.requests_for(db, uid, led)
    found = await teams_db.get_teams(db, [int(r["team_id"]) for r in rows])
    return json([team_views.request(r, found.get(int(r["team_id"]))) for r in rows])


@describe(responses={200: obj({"team_id": INT})})
async def accept(request: Request) -> Response:
    user = require_user(request)
    request_id = _path(request, "request", "request")
    team_id = await _run(lifecycle.accept(services(request), int(user["id"]), request_id))
    return json({"team_id": team_id})


async def decline(request: Request) -> Response:
    user = require_user(request)
    request_id = _path(request, "request", "request")
    await _run(lifecycle.decline(services(request), int(user["id"]), request_id))
    return no_content()


async def leave(request: Request) -> Response:
    user = require_user(request)
    team_id = _path(request, "team", "team")
    await _run(lifecycle.leave(services(request), int(user["id"]), team_id))
    return no_content()


async def kick(request: Request) -> Response:
    user = require_user(request)
    team_id = _path(request, "team", "team")
    target = _path(request, "user", "user")
    await _run(lifecycle.kick(services(request), int(user["id"]), team_id, target))
    return no_content()


@describe(responses={200: "TeamSettings"})
async def transfer(request: Request) -> Response:
    user = require_user(request)
    team_id = _path(request, "team", "team")
    target = await _user_id(request)
    await _run(lifecycle.transfer(services(request), int(user["id"]), team_id, target))
    return json(await _team_json(request, team_id))


def team_routes() -> list[BaseRoute]:
    team = f"{PREFIX}/{{team}}"
    requests = f"{PREFIX}/requests"
    return [
        api_route(PREFIX, create, methods=["POST"], scope="*"),
        api_route(requests, list_requests, scope="*"),
        api_route(f"{requests}/{{request}}/accept", accept, methods=["POST"], scope="*"),
        api_route(f"{requests}/{{request}}", decline, methods=["DELETE"], scope="*"),
        api_route(team, edit, methods=["PUT", "PATCH"], scope="*"),
        api_route(team, disband, methods=["DELETE"], scope="*"),
        api_route(f"{team}/invites", invite, methods=["POST"], scope="*"),
        api_route(f"{team}/applications", apply, methods=["POST"], scope="*"),
        api_route(f"{team}/leave", leave, methods=["POST"], scope="*"),
        api_route(f"{team}/members/{{user}}", kick, methods=["DELETE"], scope="*"),
        api_route(f"{team}/leader", transfer, methods=["POST", "PUT"], scope="*"),
    ]
