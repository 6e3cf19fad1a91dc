"""Account management under `/api/private`: rename, password change, OAuth applications, API keys,
teams.

Every route needs a lazer-scope (`*`) token of the account itself; another user's application or
key is "not found", never "forbidden".
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import (
    api_route,
    auth_settings,
    hash_password,
    new_secret,
    require_user,
    revoke_client_tokens,
    revoke_user_tokens,
    sha256_hex,
    signin,
)
from core.auth import store as oauth_db
from core.hooks import hookimpl
from core.http import ApiError, json, no_content, not_found, params, time_offset, unprocessable
from core.openapi import describe
from core.openapi_schemas import array
from core.ratelimit import client_address
from core.services import services
from core.users import profiles
from core.users import store as users_db
from plugins.private.teams import team_routes

PREFIX = "/api/private"
MAX_CLIENTS = 10
MAX_KEYS = 5


def _form_error(field: str, messages: list[str]) -> ApiError:
    return ApiError(422, {"error": messages[0], "form_error": {field: messages}})


@describe(responses={200: "Rename"})
async def rename(request: Request) -> Response:
    user = require_user(request)
    p = await params(request)
    username = p.str("username", max_length=64)
    if username is None:
        raise unprocessable("username is required")
    problems = users_db.username_errors(username)
    if problems:
        raise _form_error("username", problems)
    svc = services(request)
    if await users_db.username_taken(svc.db, username, except_user=int(user["id"])):
        raise _form_error("username", ["Username is already in use!"])
    if username == user["username"]:
        return json({"username": username, "previous_usernames": []})
    try:
        await users_db.rename(svc.db, int(user["id"]), user["username"], username)
    except Exception:
        # A concurrent rename or registration took the name after the check: the unique index
        # refused ours, and the answer is the one the check would have given.
        if await users_db.username_taken(svc.db, username, except_user=int(user["id"])):
            raise _form_error("username", ["Username is already in use!"]) from None
        raise
    await profiles.invalidate(svc, int(user["id"]))
    previous = await users_db.previous_usernames(svc.db, int(user["id"]))
    return json({"username": username, "previous_usernames": previous})


async def change_password(request: Request) -> Response:
    user = require_user(request)
    p = await params(request)
    current = p.str("current_password", max_length=4096)
    new = p.str("password", max_length=4096)
    if current is None or new is None:
        raise unprocessable("current_password and password are required")
    svc = services(request)
    user_id = int(user["id"])

    async def account() -> tuple[str, str | None]:
        return signin.account_key(user_id), await users_db.password_hash(svc.db, user_id)

    # The same locks as sign-in (per address and per account, one shared count), so a stolen
    # session cannot be used to guess the password it does not know.
    try:
        ok = await signin.check_password(svc, client_address(request.scope), current, account)
    except signin.SignInLocked:
        raise ApiError(
            429, {"error": signin.LOCKED, "form_error": {"current_password": [signin.LOCKED]}}
        ) from None
    if not ok:
        raise _form_error("current_password", ["Current password is incorrect."])
    problems = users_db.password_errors(new, user["username"])
    if problems:
        raise _form_error("password", problems)
    rounds = auth_settings(svc.settings)["bcrypt_rounds"]
    await users_db.update_user(
        svc.db, int(user["id"]), password_hash=await hash_password(new, rounds)
    )
    # Every session of the account ends, this one included.
    await revoke_user_tokens(svc, int(user["id"]))
    return no_content()


# --- OAuth applications ------------------------------------------------------------------------


def _client_json(row: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": int(row["id"]),
        "name": row["name"],
        "redirect": row["redirect"],
        "created_at": time_offset(row["created_at"]),
        "updated_at": time_offset(row["updated_at"]),
    }
    if secret is not None:
        body["secret"] = secret
    return body


async def _client_fields(request: Request) -> tuple[str | None, str | None]:
    p = await params(request)
    name = p.str("name", max_length=100)
    redirect = p.str("redirect", max_length=512)
    if name is not None and not name.strip():
        raise unprocessable("name must not be empty")
    if redirect is not None and not redirect.startswith(("http://", "https://")):
        raise _form_error("redirect", ["The redirect must be an http(s) URL."])
    return name, redirect


async def _own_client(request: Request) -> dict[str, Any]:
    user = require_user(request)
    raw = request.path_params["client"]
    row = None
    if raw.isdecimal() and len(raw) <= 18:
        row = await oauth_db.get_client(services(request).db, int(raw))
    if row is None or row["revoked"] or row["user_id"] != int(user["id"]):
        raise not_found("OAuth\\Client")
    return row


@describe(responses={200: array("OAuthClient")})
async def list_clients(request: Request) -> Response:
    user = require_user(request)
    rows = await oauth_db.user_clients(services(request).db, int(user["id"]))
    return json([_client_json(r) for r in rows])


@describe(responses={200: "OAuthClient"})
async def create_client(request: Request) -> Response:
    user = require_user(request)
    name, redirect = await _client_fields(request)
    if name is None or redirect is None:
        raise unprocessable("name and redirect are required")
    db = services(request).db
    if len(await oauth_db.user_clients(db, int(user["id"]))) >= MAX_CLIENTS:
        raise unprocessable(f"You can have at most {MAX_CLIENTS} OAuth applications.")
    secret = new_secret(30)
    client_id = await oauth_db.create_client(
        db,
        user_id=int(user["id"]),
        name=name.strip(),
        secret_hash=sha256_hex(secret),
        redirect=redirect,
    )
    row = await oauth_db.get_client(db, client_id)
    assert row is not None
    return json(_client_json(row, secret))


@describe(responses={200: "OAuthClient"})
async def update_client(request: Request) -> Response:
    row = await _own_client(request)
    name, redirect = await _client_fields(request)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name.strip()
    if redirect is not None:
        changes["redirect"] = redirect
    db = services(request).db
    if changes:
        await oauth_db.update_client(db, int(row["id"]), **changes)
    updated = await oauth_db.get_client(db, int(row["id"]))
    assert updated is not None
    return json(_client_json(updated))


async def delete_client(request: Request) -> Response:
    row = await _own_client(request)
    svc = services(request)
    await oauth_db.update_client(svc.db, int(row["id"]), revoked=True)
    await revoke_client_tokens(svc, int(row["id"]))
    return no_content()


@describe(responses={200: "OAuthClient"})
async def reset_secret(request: Request) -> Response:
    row = await _own_client(request)
    svc = services(request)
    secret = new_secret(30)
    await oauth_db.update_client(svc.db, int(row["id"]), secret_hash=sha256_hex(secret))
    await revoke_client_tokens(svc, int(row["id"]))
    updated = await oauth_db.get_client(svc.db, int(row["id"]))
    assert updated is not None
    return json(_client_json(updated, secret))


# --- API v1 keys -------------------------------------------------------------------------------


def _key_json(row: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": int(row["id"]),
        "name": row["name"],
        "created_at": time_offset(row["created_at"]),
        "last_used_at": time_offset(row.get("last_used_at")),
    }
    if key is not None:
        body["key"] = key
    return body


@describe(responses={200: array("ApiKey")})
async def list_keys(request: Request) -> Response:
    user = require_user(request)
    rows = await users_db.list_api_keys(services(request).db, int(user["id"]))
    return json([_key_json(r) for r in rows])


@describe(responses={200: "ApiKey"})
async def create_key(request: Request) -> Response:
    user = require_user(request)
    p = await params(request)
    name = (p.str("name", max_length=100) or "API key").strip() or "API key"
    db = services(request).db
    if len(await users_db.list_api_keys(db, int(user["id"]))) >= MAX_KEYS:
        raise unprocessable(f"You can have at most {MAX_KEYS} API keys.")
    key_id, key = await users_db.create_api_key(db, int(user["id"]), name)
    rows = await users_db.list_api_keys(db, int(user["id"]))
    row = next(r for r in rows if int(r["id"]) == key_id)
    return json(_key_json(row, key))


async def delete_key(request: Request) -> Response:
    user = require_user(request)
    raw = request.path_params["key"]
    if not raw.isdecimal() or len(raw) > 18:
        raise not_found("ApiKey")
    if not await users_db.delete_api_key(services(request).db, int(user["id"]), int(raw)):
        raise not_found("ApiKey")
    return no_content()


@hookimpl
def routes() -> list[BaseRoute]:
    clients = f"{PREFIX}/oauth-clients"
    return [
        api_route(f"{PREFIX}/me/username", rename, methods=["POST", "PUT"], scope="*"),
        api_route(f"{PREFIX}/me/password", change_password, methods=["POST", "PUT"], scope="*"),
        api_route(clients, list_clients, scope="*"),
        api_route(clients, create_client, methods=["POST"], scope="*"),
        api_route(f"{clients}/{{client}}", update_client, methods=["PUT", "PATCH"], scope="*"),
        api_route(f"{clients}/{{client}}", delete_client, methods=["DELETE"], scope="*"),
        api_route(f"{clients}/{{client}}/reset-secret", reset_secret, methods=["POST"], scope="*"),
        api_route(f"{PREFIX}/api-keys", list_keys, scope="*"),
        api_route(f"{PREFIX}/api-keys", create_key, methods=["POST"], scope="*"),
        api_route(f"{PREFIX}/api-keys/{{key}}", delete_key, methods=["DELETE"], scope="*"),
        *team_routes(),
    ]


@hookimpl
def commands(cli: Any) -> None:
    from plugins.private.cli import add_commands, add_team_commands

    add_commands(cli)
    add_team_commands(cli)
