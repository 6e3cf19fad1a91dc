"""Handlers of the OAuth plugin: parse, call the grant, answer JSON or a redirect."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from core.auth import current_token, revoke_access_tokens
from core.auth import store as oauth_db
from core.http import ApiError, Params, json, no_content, params
from core.openapi import describe
from core.services import services
from plugins.oauth import errors
from plugins.oauth.grants import (
    CHALLENGE_METHODS,
    CODE_VERIFIER,
    GRANTS,
    authenticate_client,
    check_login,
    check_scope_policy,
    issue_auth_code,
    parse_scopes,
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


TEXT = {"type": "string", "maxLength": 4096}


# The grants read their fields in plugins/oauth/grants.py, not through this handler's `Params`.
@describe(
    responses={200: "TokenResponse", 400: "Error", 401: "Error"},
    parameters={
        "grant_type": {"type": "string", "enum": sorted(GRANTS)},
        "client_id": TEXT,
        "client_secret": TEXT,
        "scope": TEXT,
        "username": TEXT,
        "password": TEXT,
        "code": TEXT,
        "redirect_uri": TEXT,
        "code_verifier": TEXT,
        "refresh_token": TEXT,
    },
)
async def token(request: Request) -> Response:
    p = await params(request)
    grant = p.get("grant_type")
    handler = GRANTS.get(grant) if isinstance(grant, str) else None
    if handler is None:
        raise errors.unsupported_grant()
    client = await authenticate_client(request, p, grant)
    return json(await handler(request, p, client), headers=NO_STORE)


async def revoke_current(request: Request) -> Response:
    token_ = current_token(request)
    assert token_ is not None  # the route requires a token
    await revoke_access_tokens(services(request), [token_.id])
    return no_content()


# --- authorization-code flow -------------------------------------------------------------------


async def _authorize_request(request: Request, p: Params) -> dict[str, Any]:
    """Client, redirect URI, scopes and state of an authorize request, validated."""
    raw_id = p.get("client_id")
    text = str(raw_id).strip() if isinstance(raw_id, int | str) else ""
    client = None
    if text.isdecimal() and len(text) <= 18:
        client = await oauth_db.get_client(services(request).db, int(text))
    if client is None or client["revoked"] or not client["redirect"]:
        raise errors.invalid_client(False)
    redirect_uri = p.get("redirect_uri")
    if redirect_uri is not None and redirect_uri != client["redirect"]:
        raise errors.invalid_client(False)
    if p.get("response_type") != "code":
        raise errors.oauth_error(
            400,
            "unsupported_response_type",
            "The authorization server does not support obtaining an access token using this "
            "method.",
            "Check the `response_type` parameter",
        )
    scopes = parse_scopes(p.get("scope"))
    # identify is the default of the code grant and always part of it.
    scopes = sorted({*scopes, "identify"})
    state = p.get("state")
    challenge, method = _pkce(p)
    return {
        "client": client,
        "redirect_uri": redirect_uri if isinstance(redirect_uri, str) else None,
        "target": client["redirect"],
        "scopes": scopes,
        "state": state if isinstance(state, str) else None,
        "code_challenge": challenge,
        "code_challenge_method": method,
    }


def _pkce(p: Params) -> tuple[str | None, str | None]:
    """The PKCE challenge and method of an authorize request (RFC 7636 4.3), checked as league's
    AuthCodeGrant checks them; the method defaults to plain."""
    challenge = p.get("code_challenge")
    if challenge is None or challenge == "":
        return None, None
    method = p.get("code_challenge_method") or "plain"
    if method not in CHALLENGE_METHODS:
        raise errors.invalid_request(
            "Code challenge method must be one of " + ", ".join(f"`{m}`" for m in CHALLENGE_METHODS)
        )
    # A challenge has the verifier's alphabet and length (S256's is 43 characters).
    if not isinstance(challenge, str) or not CODE_VERIFIER.fullmatch(challenge):
        raise errors.invalid_request("Code challenge must follow the specifications of RFC-7636.")
    return challenge, str(method)


SCOPE_TEXT = {
    "public": "Read public information on your behalf.",
    "identify": "Identify you and read your public profile.",
    "friends.read": "See who you are following.",
    "chat.read": "Read messages on your behalf.",
    "chat.write": "Send messages on your behalf.",
    "chat.write_manage": "Join and leave channels on your behalf.",
    "forum.write": "Create and edit forum topics and posts on your behalf.",
    "multiplayer.write_manage": "Create and manage multiplayer rooms on your behalf.",
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorise {client}</title>
<style>body{{font-family:sans-serif;max-width:28em;margin:3em auto}}
label{{display:block;margin:.5em 0}}
input[type=text],input[type=password]{{width:100%}}</style></head>
<body><h1>Authorise {client}</h1>
<p><b>{client}</b> wants to:</p><ul>{scopes}</ul>
{error}
<form method="post" action="/oauth/authorize">
{hidden}
<label>Username <input type="text" name="username" autocomplete="username" required></label>
<label>Password
<input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit" name="approve" value="1">Sign in and authorise</button>
<button type="submit" name="deny" value="1" formnovalidate>Cancel</button>
</form></body></html>
"""


def _render(request_: dict[str, Any], error: str | None = None, status: int = 200) -> Response:
    hidden_fields = {
        "client_id": str(request_["client"]["id"]),
        "redirect_uri": request_["redirect_uri"] or "",
        "response_type": "code",
        "scope": " ".join(request_["scopes"]),
        "state": request_["state"] or "",
        "code_challenge": request_["code_challenge"] or "",
        "code_challenge_method": request_["code_challenge_method"] or "",
    }
    hidden = "\n".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
        for k, v in hidden_fields.items()
    )
    scopes = "".join(f"<li>{html.escape(SCOPE_TEXT.get(s, s))}</li>" for s in request_["scopes"])
    body = PAGE.format(
        client=html.escape(request_["client"]["name"]),
        scopes=scopes,
        hidden=hidden,
        error=f'<p role="alert">{html.escape(error)}</p>' if error else "",
    )
    return HTMLResponse(body, status, headers={"X-Frame-Options": "DENY", **NO_STORE})


def _redirect(target: str, query: dict[str, str | None]) -> Response:
    values = {k: v for k, v in query.items() if v is not None}
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode(values)}", status_code=302)


async def authorize_page(request: Request) -> Response:
    return _render(await _authorize_request(request, await params(request)))


def _denied(request_: dict[str, Any]) -> Response:
    return _redirect(
        request_["target"],
        {
            "error": "access_denied",
            "error_description": errors.ACCESS_DENIED,
            "hint": "The user denied the request",
            "message": errors.ACCESS_DENIED,
            "state": request_["state"],
        },
    )


@describe(responses={302: None})
async def authorize_deny(request: Request) -> Response:
    return _denied(await _authorize_request(request, await params(request)))


async def authorize_submit(request: Request) -> Response:
    p = await params(request)
    request_ = await _authorize_request(request, p)
    if p.get("deny") is not None:
        return _denied(request_)
    username, password = p.get("username"), p.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return _render(request_, "Please enter your username and password.", 422)
    try:
        user = await check_login(request, username, password)
    except ApiError as exc:
        return _render(request_, str(exc.body.get("hint") or "Incorrect sign in"), 422)
    try:
        await check_scope_policy(
            services(request), request_["scopes"], request_["client"], user["id"], "code"
        )
    except ApiError as exc:
        message = exc.body.get("hint") or exc.body.get("error") or "Invalid scope"
        return _render(request_, str(message), 422)
    code = await issue_auth_code(
        services(request),
        user_id=user["id"],
        client_id=request_["client"]["id"],
        scopes=request_["scopes"],
        redirect_uri=request_["redirect_uri"],
        code_challenge=request_["code_challenge"],
        code_challenge_method=request_["code_challenge_method"],
    )
    return _redirect(request_["target"], {"code": code, "state": request_["state"]})
