"""The settings page: username, password, e-mail, TOTP, OAuth applications, API keys and team.

Where the API has the operation (`/api/private/...` of the `private` plugin, `me/totp/...` of
`account_security`), the form runs that plugin's handler as the signed-in user, so the rules,
limits and messages are the API's; a secret they return is shown once, on the answer page.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.auth import signin
from core.auth import store as oauth_db
from core.http import ApiError, Params
from core.ratelimit import client_address
from core.services import services
from core.teams import lifecycle as team_lifecycle
from core.users import accounts as accounts_domain
from core.users import profiles
from core.users import store as users_db
from plugins.web import accounts, pages, team_settings
from plugins.web.render import page, redirect, viewer

# action -> (plugin, handler attribute path, path parameter the handler reads)
API_ACTIONS: dict[str, tuple[str, str, str | None]] = {
    "username": ("private", "rename", None),
    "client_create": ("private", "create_client", None),
    "client_delete": ("private", "delete_client", "client"),
    "key_create": ("private", "create_key", None),
    "key_delete": ("private", "delete_key", "key"),
    "totp_setup": ("account_security", "views.totp_setup", None),
    "totp_enable": ("account_security", "views.totp_enable", None),
    "totp_disable": ("account_security", "views.totp_disable", None),
}


async def _context(request: Request, me: dict[str, Any]) -> dict[str, Any]:
    svc = services(request)
    uid = int(me["id"])
    plugins = svc.plugins
    totp = None
    security = plugins.get_plugin("account_security")
    if security is not None:
        totp = await security.security.totp_enabled(svc, uid)
    return {
        "account": me,
        "private": plugins.get_plugin("private") is not None,
        "totp": totp,
        "clients": await oauth_db.user_clients(svc.db, uid)
        if plugins.get_plugin("private")
        else [],
        "keys": await users_db.list_api_keys(svc.db, uid) if plugins.get_plugin("private") else [],
        **await team_settings.context(svc, uid),
        "errors": {},
        "notice": None,
        "shown": None,
    }


async def settings_page(request: Request) -> Response:
    me = await viewer(request)
    if me is None:
        return redirect(request, "/login?next=/settings")
    return await page(request, "settings.html", await _context(request, me), form=True)


async def _run_api(
    request: Request, me: dict[str, Any], action: str, form: Params
) -> tuple[Any, dict[str, list[str]]]:
    """Run the API handler of `action` as `me`: (its JSON answer, {}) or (None, errors)."""
    plugin_name, attribute, path_param = API_ACTIONS[action]
    target: Any = services(request).plugins.get_plugin(plugin_name)
    if target is None:
        return None, {action: ["This server has switched that off."]}
    for part in attribute.split("."):
        target = getattr(target, part)
    state = request.scope.setdefault("state", {})
    state["auth_user"] = me
    if path_param is not None:
        value = form.get("id")
        request.scope["path_params"] = {path_param: value if isinstance(value, str) else ""}
    try:
        response = await target(request)
    except ApiError as exc:
        message, fields = accounts._api_errors(exc)
        return None, {action: [m for v in fields.values() for m in v] or [message]}
    finally:
        state.pop("auth_user", None)
    return (orjson.loads(response.body) if response.body else {}), {}


async def settings_submit(request: Request) -> Response:
    svc = services(request)
    form = await accounts.checked_form(request)
    me = await viewer(request)
    if me is None:
        return redirect(request, "/login?next=/settings")
    action = form.get("action")
    errors: dict[str, list[str]] = {}
    notice: str | None = None
    shown: Any = None
    if action == "password":
        errors = await accounts.change_password(svc, request, me, form)
        if not errors:
            # Every session ended, this one too: sign in again with the new password.
            return await page(
                request,
                "login.html",
                {"errors": {}, "values": {}, "notice": "Password changed. Sign in again."},
                form=True,
            )
        errors = {"password": [m for v in errors.values() for m in v]}
    elif action == "email":
        errors = await _change_email(request, me, form)
        notice = None if errors else "E-mail address changed."
    elif isinstance(action, str) and action in team_settings.ACTIONS:
        try:
            notice, changed = await team_settings.run(svc, int(me["id"]), action, form)
            # Their profile pages show the team.
            for user_id in changed:
                await pages.forget_profile(svc, user_id)
        except team_lifecycle.TeamRefused as refused:
            errors = {"team": [str(refused)]}
    elif isinstance(action, str) and action in API_ACTIONS:
        answer, errors = await _run_api(request, me, action, form)
        if not errors:
            notice = "Saved."
            if action == "username":
                await profiles.invalidate(svc, int(me["id"]))
                await pages.forget_profile(svc, int(me["id"]))
            if isinstance(answer, dict) and (
                "secret" in answer or "key" in answer or "backup_codes" in answer or "uri" in answer
            ):
                shown = {"action": action, **answer}
    else:
        errors = {"form": ["Unknown action."]}
    fresh = await users_db.get_user(svc.db, int(me["id"]))
    request.state.web_viewer = fresh
    context = await _context(request, fresh or me)
    context.update({"errors": errors, "notice": notice, "shown": shown})
    return await page(request, "settings.html", context, 422 if errors else 200, form=True)


async def _change_email(request: Request, me: dict[str, Any], form: Params) -> dict[str, list[str]]:
    svc = services(request)
    email = form.get("user_email")
    current = form.get("current_password")
    if not isinstance(email, str) or not email or not isinstance(current, str) or not current:
        return {"email": ["Enter the new address and your current password."]}
    uid = int(me["id"])

    async def account() -> tuple[str, str | None]:
        return signin.account_key(uid), await users_db.password_hash(svc.db, uid)

    try:
        ok = await signin.check_password(svc, client_address(request.scope), current, account)
    except signin.SignInLocked:
        return {"email": [signin.LOCKED]}
    if not ok:
        return {"email": ["Current password is incorrect."]}
    found = await accounts_domain.problems(svc.db, None, email[:254], None)
    if found["user_email"]:
        return {"email": found["user_email"]}
    await users_db.update_user(svc.db, uid, email=email[:254])
    await profiles.invalidate(svc, uid)
    await pages.forget_profile(svc, uid)
    return {}
