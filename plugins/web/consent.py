"""The OAuth consent page in the site's style (the `authorize_page` hook).

A signed-in user sees which app asks, who owns it and what it may do, and approves or cancels;
the answer goes back to the app as osu-web (Laravel Passport) sends it: the code and state, or
`error=access_denied`. The web session says who is signed in, so one sign-in serves the site and
the consent. A signed-out browser goes to `/login` and comes back here.

The consent form carries the session's CSRF token. A POST without one is not this page's (it is
the `oauth` plugin's password form, which proves the user by password, not by session), so it is
left to that plugin.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from core.auth.authorize import Authorization, approved_url, check_scope_policy, denied_url
from core.http import ApiError, params
from core.services import services
from core.users import store as users_db
from plugins.web import sessions
from plugins.web.accounts import CSRF_FIELD
from plugins.web.render import page, redirect, viewer

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}


def _sign_in_first(request: Request) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(request, "/login?" + urlencode({"next": back}))


async def _page(request: Request, authorization: Authorization, me: dict[str, object]) -> Response:
    owner_id = authorization.client["user_id"]
    owner = None
    if owner_id is not None:
        owner = await users_db.get_user(services(request).db, int(owner_id))
    context = {
        "client": authorization.client,
        "owner": owner,
        "scopes": authorization.scope_text(),
        "fields": authorization.form_fields(),
        "target": authorization.target,
        "viewer": me,
    }
    response = await page(request, "oauth_authorize.html", context, form=True)
    response.headers.update(NO_STORE)
    return response


async def answer(request: Request, authorization: Authorization) -> Response | None:
    """The consent page (GET), or the consent form's answer (POST)."""
    me = await viewer(request)
    if request.method in ("GET", "HEAD"):
        if me is not None:
            return await _page(request, authorization, me)
        # A browser navigating here (it asks for HTML) signs in on the site first; a program
        # asking for the page gets the `oauth` plugin's.
        if "text/html" in request.headers.get("accept", ""):
            return _sign_in_first(request)
        return None
    p = await params(request)
    if CSRF_FIELD not in p:
        return None
    if not sessions.csrf_ok(await sessions.current(request), p.get(CSRF_FIELD)):
        message = "This form has expired. Reload the page and try again."
        return await page(request, "message.html", {"message": message}, 403)
    if me is None:
        return _sign_in_first(request)
    if p.get("deny") is not None:
        return RedirectResponse(denied_url(authorization), 302)
    svc = services(request)
    try:
        await check_scope_policy(
            svc, authorization.scopes, authorization.client, int(me["id"]), "code"
        )
    except ApiError as exc:
        body = exc.body if isinstance(exc.body, dict) else {}
        message = str(body.get("hint") or body.get("error") or "Invalid scope")
        return await page(request, "message.html", {"message": message}, 422)
    return RedirectResponse(await approved_url(svc, authorization, int(me["id"])), 302)
