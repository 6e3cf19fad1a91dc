"""Account pages: register, sign in and out, e-mail verification, password reset, password change.

The rules are the API's: accounts are made by `core.users.accounts.create_account`, passwords are
checked under `core.auth.signin`'s failed-attempt locks, and the mailed keys are those of the
`account_security` plugin, whose handlers the reset and verification forms call (reached through
the plugin manager, so this plugin works, without those pages, when it is switched off).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.auth import auth_settings, hash_password, revoke_user_tokens, signin
from core.geoip import country_of
from core.http import ApiError, Params, params
from core.openapi import describe
from core.plugins import fire, resolve
from core.ratelimit import client_address, throttle
from core.services import services
from core.users import accounts
from core.users import store as users_db
from plugins.web import sessions
from plugins.web.render import lifetime, page, redirect, viewer

CSRF_FIELD = "csrf_token"
# The page to return to after signing in: long enough for an OAuth authorize URL.
NEXT_LIMIT = 2048


class Refused(Exception):
    """A form that failed its CSRF check or a limit: answered with a page saying so."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def checked_form(request: Request) -> Params:
    """The POSTed form, once its CSRF token matched the session's."""
    p = await params(request)
    session = await sessions.current(request)
    if not sessions.csrf_ok(session, p.get(CSRF_FIELD)):
        raise Refused(403, "This form has expired. Reload the page and try again.")
    return p


def security_plugin(request: Request) -> Any:
    """The `account_security` plugin module when it is enabled, else None."""
    return services(request).plugins.get_plugin("account_security")


def _text(p: Params, name: str, limit: int = 4096) -> str:
    value = p.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _api_errors(exc: ApiError) -> tuple[str, dict[str, list[str]]]:
    """An API refusal as (message, errors per field)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    fields = body.get("form_error") or {}
    message = str(body.get("error") or body.get("hint") or "That did not work.")
    return message, {k: [str(m) for m in v] for k, v in fields.items() if isinstance(v, list)}


# --- register ------------------------------------------------------------------------------


async def register_page(request: Request) -> Response:
    return await page(request, "register.html", {"errors": {}, "values": {}}, form=True)


async def register_submit(request: Request) -> Response:
    svc = services(request)
    p = await checked_form(request)
    # No limit of its own: like `POST /users`, the host's `[ratelimit]` groups count it (an
    # operator tightens both with `"/users"` and `"/register"` groups).
    values = {
        "username": _text(p, "username", 64),
        "user_email": _text(p, "user_email", 254),
        "password": _text(p, "password"),
    }
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if not value:
            errors[name] = ["This field is required."]
    if not errors:
        try:
            row = await accounts.create_account(
                request.app,
                username=values["username"],
                password=values["password"],
                email=values["user_email"],
                country=country_of(svc.settings, request.client.host if request.client else None),
            )
        except accounts.AccountRefused as refused:
            errors = {k: v for k, v in refused.problems.items() if v}
        else:
            security = security_plugin(request)
            if security is not None and await security.views.email_pending(svc, int(row["id"])):
                return redirect(request, f"/verify-email?username={row['username']}&sent=1")
            await sessions.sign_in(request, int(row["id"]), lifetime(request))
            return redirect(request, f"/users/{row['id']}")
    shown = {k: v for k, v in values.items() if k != "password"}
    return await page(request, "register.html", {"errors": errors, "values": shown}, 422, form=True)


# --- sign in / out -------------------------------------------------------------------------


async def login_page(request: Request) -> Response:
    p = await params(request)
    context = {"errors": {}, "values": {}, "next": _text(p, "next", NEXT_LIMIT)}
    return await page(request, "login.html", context, form=True)


async def login_submit(request: Request) -> Response:
    svc = services(request)
    p = await checked_form(request)
    name, password = _text(p, "username", 254), _text(p, "password")
    code = _text(p, "code", 32)

    def refuse(message: str, status: int = 422, totp: bool = False) -> Any:
        return page(
            request,
            "login.html",
            {
                "errors": {"form": [message]},
                "values": {"username": name},
                "totp": totp,
                "next": _text(p, "next", NEXT_LIMIT),
            },
            status,
            form=True,
        )

    if not name or not password:
        return await refuse("Enter your username and password.")
    try:
        user = await signin.sign_in(svc, client_address(request.scope), name, password)
    except signin.SignInLocked:
        return await refuse(signin.LOCKED, 429)
    if user is None:
        return await refuse("Incorrect username or password.")
    refused = signin.refusal(user)
    if refused:
        return await refuse(refused, 403)
    for result in svc.plugins.hook.login_refused(app=request.app, user=user):
        message = await resolve(result)
        if message:
            return await refuse(str(message), 403)
    security = security_plugin(request)
    if security is not None and await security.security.totp_enabled(svc, int(user["id"])):
        # The password was right; the second factor decides.
        await throttle(request, "totp", "10/10minutes")
        ok = code and await security.security.second_factor_ok(
            svc, int(user["id"]), code, svc.clock.time()
        )
        if not ok:
            message = "Incorrect code." if code else "Enter the code from your authenticator."
            return await refuse(message, 422, totp=True)
        totp_checked = True
    else:
        totp_checked = False
    if security is not None and not totp_checked:
        # `[account_security] session_verification`: a device that has not verified lately
        # confirms a mailed key first, as lazer's sign-in does.
        method = await security.security.verification_method(svc, user, request)
        if method is not None:
            await sessions.hold(request, int(user["id"]))
            security.views.in_background(
                security.security.mail_session_key(svc, user, None)  # no API token: a web one
            )
            return await page(
                request,
                "login_verify.html",
                {"errors": {}, "next": _text(p, "next", NEXT_LIMIT)},
                form=True,
            )
    await signed_in_with_password(request, user)
    return redirect(request, _next(p, int(user["id"])))


async def signed_in_with_password(request: Request, user: dict[str, Any]) -> None:
    """The session starts, and the sign-in is announced as the API's is (the login history of
    account_security keeps it); the web makes no API token, so `token_id` is empty."""
    svc = services(request)
    await sessions.sign_in(request, int(user["id"]), lifetime(request))
    await users_db.touch_last_visit(svc.db, int(user["id"]))
    await fire(
        svc.plugins,
        "user_logged_in",
        app=request.app,
        user=user,
        token_id="",
        verification=None,
        request=request,
    )


def _next(p: Params, user_id: int) -> str:
    target = _text(p, "next", NEXT_LIMIT)
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = f"/users/{user_id}"
    return target


async def login_verify(request: Request) -> Response:
    """The mailed key of a sign-in held for device verification."""
    svc = services(request)
    p = await checked_form(request)
    session = await sessions.current(request)
    security = security_plugin(request)
    if session is None or session.pending is None or security is None:
        return redirect(request, "/login")
    await throttle(request, "session-verify", "60/10minutes")
    user_id = session.pending
    key = _text(p, "key", 64)
    if (
        not key
        or await security.security.check_key(svc, user_id, security.store.SESSION, key) is None
    ):
        context = {"errors": {"key": ["Incorrect key."]}, "next": _text(p, "next", NEXT_LIMIT)}
        return await page(request, "login_verify.html", context, 422, form=True)
    days = security.security.security_settings(svc.settings)["trusted_device_days"]
    if days:
        device = security.security.device_hash(request)
        await security.store.trust_device(svc.db, user_id, device, days * 86400)
    user = await users_db.get_user(svc.db, user_id)
    if user is None:
        return redirect(request, "/login")
    await signed_in_with_password(request, dict(user))
    return redirect(request, _next(p, user_id))


# Refusals (CSRF, rate limits) are pages (`guarded`).
@describe(responses={303: None}, content_type="text/html")
async def logout(request: Request) -> Response:
    await checked_form(request)
    await sessions.sign_out(request)
    return redirect(request, "/")


# --- e-mail verification and password reset (the account_security plugin's handlers) ---------


async def _call_api(request: Request, handler: Any) -> tuple[str | None, dict[str, list[str]]]:
    """Run an account_security handler on this form: (its message, {}) or (None, errors)."""
    try:
        response = await handler(request)
    except ApiError as exc:
        message, fields = _api_errors(exc)
        return None, fields or {"form": [message]}
    body = orjson.loads(response.body) if response.body else {}
    return str(body.get("message", "Done.")), {}


async def verify_email_page(request: Request) -> Response:
    if security_plugin(request) is None:
        return await _unavailable(request)
    p = await params(request)
    values = {"username": _text(p, "username", 254), "key": _text(p, "key", 128)}
    notice = "We sent you a mail with a key. Enter it here." if p.get("sent") else None
    context = {"errors": {}, "values": values, "notice": notice}
    return await page(request, "verify_email.html", context, form=True)


async def verify_email_submit(request: Request) -> Response:
    security = security_plugin(request)
    if security is None:
        return await _unavailable(request)
    p = await checked_form(request)
    values = {"username": _text(p, "username", 254), "key": _text(p, "key", 128)}
    resend = p.get("resend") is not None
    handler = security.views.email_resend if resend else security.views.email_verify
    message, errors = await _call_api(request, handler)
    context = {"errors": errors, "values": values, "notice": message}
    if message is not None and not resend:
        return await page(
            request, "login.html", {"errors": {}, "values": values, "notice": message}, form=True
        )
    return await page(request, "verify_email.html", context, 200 if message else 422, form=True)


async def reset_page(request: Request) -> Response:
    if security_plugin(request) is None:
        return await _unavailable(request)
    context = {"errors": {}, "values": {}, "step": "request"}
    return await page(request, "password_reset.html", context, form=True)


async def reset_submit(request: Request) -> Response:
    security = security_plugin(request)
    if security is None:
        return await _unavailable(request)
    p = await checked_form(request)
    completing = p.get("key") is not None
    values = {"username": _text(p, "username", 254), "key": _text(p, "key", 128)}
    handler = security.views.reset_complete if completing else security.views.reset_request
    message, errors = await _call_api(request, handler)
    if message is not None and completing:
        user = await users_db.get_login(services(request).db, values["username"])
        if user is not None:
            await sessions.end_user_sessions(services(request), int(user["id"]))
        return await page(
            request, "login.html", {"errors": {}, "values": {}, "notice": message}, form=True
        )
    context = {
        "errors": errors,
        "values": values,
        "notice": message,
        # After the mail went out, the same page asks for the key and the new password.
        "step": "complete" if completing or message is not None else "request",
    }
    return await page(request, "password_reset.html", context, 200 if message else 422, form=True)


async def _unavailable(request: Request) -> Response:
    context = {"what": "page (this server does not manage accounts by mail)"}
    return await page(request, "404.html", context, 404)


# --- settings: password --------------------------------------------------------------------


async def change_password(
    svc: Any, request: Request, user: dict[str, Any], p: Params
) -> dict[str, list[str]]:
    """The API's password change (plugins/private): same locks and rules; every token and web
    session of the account ends, this one included. Returns the errors per field."""
    current, new = _text(p, "current_password"), _text(p, "password")
    if not current:
        return {"current_password": ["This field is required."]}
    user_id = int(user["id"])

    async def account() -> tuple[str, str | None]:
        return signin.account_key(user_id), await users_db.password_hash(svc.db, user_id)

    try:
        ok = await signin.check_password(svc, client_address(request.scope), current, account)
    except signin.SignInLocked:
        return {"current_password": [signin.LOCKED]}
    if not ok:
        return {"current_password": ["Current password is incorrect."]}
    problems = users_db.password_errors(new, user["username"])
    if problems:
        return {"password": problems}
    rounds = auth_settings(svc.settings)["bcrypt_rounds"]
    await users_db.update_user(svc.db, user_id, password_hash=await hash_password(new, rounds))
    security = security_plugin(request)
    if security is not None:
        await security.security.password_changed(svc, user_id)
    else:
        await revoke_user_tokens(svc, user_id)
    await sessions.end_user_sessions(svc, user_id)
    return {}


async def signed_in(request: Request) -> dict[str, Any] | None:
    return await viewer(request)
