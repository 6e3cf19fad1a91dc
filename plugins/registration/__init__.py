"""In-game sign-up: `POST /users` as osu!lazer sends it (multipart `user[...]` fields)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.geoip import country_of
from core.hooks import hookimpl
from core.http import json, params
from core.openapi import describe
from core.openapi_schemas import STR, obj
from core.services import services
from core.users import accounts, profiles


@describe(
    responses={200: "UserCompact", 422: "Error"},
    parameters={
        "user": obj({"username": STR, "user_email": STR, "password": STR}),
    },
)
async def register(request: Request) -> Response:
    svc = services(request)
    form = (await params(request)).dict("user")
    fields = {k: form.get(k) for k in accounts.FIELDS}
    problems: dict[str, list[str]] = {k: [] for k in accounts.FIELDS}
    values: dict[str, str] = {}
    for name, value in fields.items():
        if not isinstance(value, str) or not value:
            problems[name].append("This field is required.")
        elif len(value) > 4096:
            problems[name].append("This value is too long.")
        else:
            values[name] = value
    if any(problems.values()):
        # Something is missing: report it with whatever is wrong with the rest, create nothing.
        found = await accounts.problems(
            svc.db, values.get("username"), values.get("user_email"), values.get("password")
        )
        return _refused({name: problems[name] + found[name] for name in problems})
    try:
        row = await accounts.create_account(
            request.app,
            username=values["username"],
            password=values["password"],
            email=values["user_email"],
            # From where the player signs up ([geoip]); the configured default without a match.
            country=country_of(svc.settings, request.client.host if request.client else None),
        )
    except accounts.AccountRefused as refused:
        return _refused(refused.problems)
    conf = profiles.accounts_settings(svc.settings)
    return json(profiles.user_compact(row, conf))


def _refused(problems: dict[str, list[str]]) -> Response:
    return json(
        {"form_error": {"user": {name: problems.get(name, []) for name in accounts.FIELDS}}}, 422
    )


@hookimpl
def routes() -> list[BaseRoute]:
    return [Route("/users", register, methods=["POST"])]
