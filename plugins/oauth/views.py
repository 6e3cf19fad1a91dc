"""Handlers of the OAuth plugin: parse, call the grant, answer JSON or a redirect.

`/oauth/authorize` checks the request with `core.auth.authorize.validate`, then lets a site
answer (the `authorize_page` hook: the `web` plugin's consent page); without one, the minimal
page below asks for the username and password and the approval in one form.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from core.auth import current_token, revoke_access_tokens
from core.auth import oauth_errors as errors
from core.auth.authorize import (
    PARAMETERS,
    Authorization,
    approved_url,
    check_scope_policy,
    denied_url,
    validate,
)
from core.http import ApiError, json, no_content, params
from core.openapi import describe
from core.plugins import resolve
from core.services import services
from plugins.oauth.grants import GRANTS, authenticate_client, check_login

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


TEXT = {"type": "string", "maxLength": 4096}


# The grants read their fields in plugins/oauth/grants.py, not through this handler's `Params`;
# scope checks (core.auth.authorize) answer 400 too.
@describe(
    responses={200: "TokenResponse"},
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
    errors=(400, 401),
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


def _render(authorization: Authorization, error: str | None = None, status: int = 200) -> Response:
    hidden = "\n".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
        for k, v in authorization.form_fields().items()
    )
    scopes = "".join(f"<li>{html.escape(text)}</li>" for text in authorization.scope_text())
    body = PAGE.format(
        client=html.escape(authorization.client["name"]),
        scopes=scopes,
        hidden=hidden,
        error=f'<p role="alert">{html.escape(error)}</p>' if error else "",
    )
    return HTMLResponse(body, status, headers={"X-Frame-Options": "DENY", **NO_STORE})


async def _site_page(request: Request, authorization: Authorization) -> Response | None:
    """A site's answer (the `authorize_page` hook), if one answers."""
    found: Response | None = None
    hook = services(request).plugins.hook
    # Every answer is awaited, as for every hook; the first page wins.
    for result in hook.authorize_page(request=request, authorization=authorization):
        response = await resolve(result)
        if found is None and response is not None:
            found = response
    return found


# The checks live in core.auth.authorize, where the document's reading of the source does not
# look: their parameters and errors are declared here.
AUTHORIZE = describe(
    parameters={name: {"type": "string"} for name in PARAMETERS},
    errors=(400, 401),
)


@AUTHORIZE
async def authorize_page(request: Request) -> Response:
    authorization = await validate(services(request), await params(request))
    return await _site_page(request, authorization) or _render(authorization)


def _denied(authorization: Authorization) -> Response:
    return RedirectResponse(denied_url(authorization), status_code=302)


@describe(
    responses={302: None},
    parameters={name: {"type": "string"} for name in PARAMETERS},
    errors=(400, 401),
)
async def authorize_deny(request: Request) -> Response:
    return _denied(await validate(services(request), await params(request)))


@AUTHORIZE
async def authorize_submit(request: Request) -> Response:
    p = await params(request)
    authorization = await validate(services(request), p)
    site = await _site_page(request, authorization)
    if site is not None:
        return site
    if p.get("deny") is not None:
        return _denied(authorization)
    username, password = p.get("username"), p.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return _render(authorization, "Please enter your username and password.", 422)
    try:
        user = await check_login(request, username, password)
    except ApiError as exc:
        return _render(authorization, str(exc.body.get("hint") or "Incorrect sign in"), 422)
    try:
        await check_scope_policy(
            services(request), authorization.scopes, authorization.client, user["id"], "code"
        )
    except ApiError as exc:
        message = exc.body.get("hint") or exc.body.get("error") or "Invalid scope"
        return _render(authorization, str(message), 422)
    target = await approved_url(services(request), authorization, int(user["id"]))
    return RedirectResponse(target, status_code=302)
