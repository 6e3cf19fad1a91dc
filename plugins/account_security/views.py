"""The routes: lazer's session verification, password reset, e-mail verification, TOTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any

from loguru import logger
from starlette.requests import Request
from starlette.responses import Response

from core.auth import auth_settings, current_token, hash_password, require_user
from core.auth import store as oauth_db
from core.db import utcnow
from core.http import ApiError, json, no_content, params, time_z, unprocessable
from core.mail import MailUnavailable, mail_enabled
from core.openapi import describe
from core.openapi_schemas import BOOL, INT, STR, obj
from core.ratelimit import throttle
from core.services import Services, services
from core.users import store as users_db
from plugins.account_security import security, store

# Mails go out after the answer: the time an answer takes must not tell whether the account
# exists. The tasks are kept here until they end (asyncio keeps only weak references).
_background: set[asyncio.Task[None]] = set()


def in_background(work: Awaitable[None]) -> None:
    async def run() -> None:
        try:
            await work
        except MailUnavailable:
            pass  # logged by core.mail
        except Exception:
            logger.exception("account mail failed")

    task = asyncio.create_task(run())
    _background.add(task)
    task.add_done_callback(_background.discard)


def _require_mail(svc: Services) -> None:
    # 422, not 503: nothing is down, this server was set up without mail (a fixed answer, which
    # a client must not retry as it would a passing outage).
    if not mail_enabled(svc.settings):
        raise unprocessable("This server does not send e-mail.")


async def _find(svc: Services, name: str) -> Mapping[str, Any] | None:
    """An account by username or e-mail address (as sign-in takes either)."""
    row = await users_db.get_login(svc.db, name)
    if row is None or row["is_deleted"] or not row.get("email"):
        return None
    return row


# --- lazer's session verification ----------------------------------------------------------


def _not_verified(method: str) -> ApiError:
    return ApiError(422, {"error": "Incorrect key.", "method": method})


async def verify_session(request: Request) -> Response:
    """`POST session/verify` (form `verification_key`): a mailed key or a TOTP/backup code."""
    await throttle(request, "session-verify", "60/10minutes")
    user = require_user(request)
    token = current_token(request)
    assert token is not None
    # The key is checked first: malformed input is refused even when nothing waits for it.
    p = await params(request)
    presented = p.str("verification_key", max_length=64) or ""
    if token.verification is None:
        return no_content()
    svc = services(request)
    ok = False
    if token.verification == "totp":
        ok = await security.second_factor_ok(svc, int(user["id"]), presented, svc.clock.time())
    else:
        # The key mailed for this sign-in (a refresh in between keeps the same session).
        ok = await security.check_key(svc, int(user["id"]), store.SESSION, presented) is not None
    if not ok:
        raise _not_verified(token.verification)
    await security.session_verified(svc, int(user["id"]), token.id, request)
    return no_content()


# A session not waiting for a mailed key gets 422 without a body, as from osu-web.
@describe(responses={200: "Message", 422: None})
async def reissue(request: Request) -> Response:
    """`POST session/verify/reissue`: a new mailed key (only for a mail verification)."""
    await throttle(request, "session-reissue", "3/5minutes")
    user = require_user(request)
    token = current_token(request)
    assert token is not None
    if token.verification != "mail":
        return Response(status_code=422)
    svc = services(request)
    _require_mail(svc)
    await security.mail_session_key(svc, user, token.id)
    return json({"message": "A new verification code has been sent to your e-mail address."})


# A session not waiting for a mailed key gets 422 without a body, as from osu-web.
@describe(responses={200: "Message", 422: None})
async def mail_fallback(request: Request) -> Response:
    """`POST session/verify/mail-fallback`: no authenticator at hand; verify by mail instead."""
    await throttle(request, "session-reissue", "3/5minutes")
    user = require_user(request)
    token = current_token(request)
    assert token is not None
    if token.verification is None:
        return Response(status_code=422)
    svc = services(request)
    _require_mail(svc)
    await oauth_db.set_verification(svc.db, token.id, "mail")
    from core.auth import token_key

    await svc.cache.delete(token_key(token.id))
    await security.mail_session_key(svc, user, token.id)
    return json({"message": "A verification code has been sent to your e-mail address."})


# --- password reset ------------------------------------------------------------------------

RESET_SENT = (
    "If an account with that name or e-mail address exists, a reset key has been sent to it."
)
BAD_RESET = "The reset key is invalid or has expired."


async def _mail_request(
    request: Request, bucket: str, limit: str
) -> tuple[Services, Mapping[str, Any] | None]:
    """The start of a request that mails a key to `username`: mail configured, the rate limit,
    then the account (None when there is none; the caller answers the same either way)."""
    svc = services(request)
    _require_mail(svc)
    await throttle(request, bucket, limit)
    p = await params(request)
    name = p.str("username", max_length=254)
    if not name:
        raise unprocessable("username is required")
    return svc, await _find(svc, name)


@describe(responses={200: "Message"})
async def reset_request(request: Request) -> Response:
    """Mail a reset key; the answer is the same whether or not the account exists."""
    svc, user = await _mail_request(request, "password-reset", "5/hour")
    if user is not None:
        conf = security.security_settings(svc.settings)
        in_background(
            security.mail_key(
                svc,
                user,
                store.PASSWORD_RESET,
                "Reset your password",
                f"Hello {user['username']},\n\nUse this key to choose a new password on "
                f"{svc.settings.public_url}:\n\n    {{key}}\n\nIt works once, for "
                f"{conf['reset_key_lifetime'] // 60} minutes. If you did not ask for it, "
                "ignore this mail.\n",
                security.long_key(),
                conf["reset_key_lifetime"],
            )
        )
    return json({"message": RESET_SENT})


@describe(responses={200: "Message"})
async def reset_complete(request: Request) -> Response:
    """A new password with the mailed key; every session of the account ends."""
    svc = services(request)
    await throttle(request, "password-reset-complete", "10/hour")
    p = await params(request)
    name = p.str("username", max_length=254)
    key = p.str("key", max_length=128)
    password = p.str("password", max_length=4096)
    if not name or not key or password is None:
        raise unprocessable("username, key and password are required")
    user = await _find(svc, name)
    if user is None:
        raise unprocessable(BAD_RESET)
    # Checked before the key is spent, so a weak password does not cost the key.
    problems = users_db.password_errors(password, user["username"])
    if problems:
        raise ApiError(422, {"error": problems[0], "form_error": {"password": problems}})
    if await security.check_key(svc, int(user["id"]), store.PASSWORD_RESET, key) is None:
        raise unprocessable(BAD_RESET)
    rounds = auth_settings(svc.settings)["bcrypt_rounds"]
    await users_db.update_user(
        svc.db, int(user["id"]), password_hash=await hash_password(password, rounds)
    )
    await security.password_changed(svc, int(user["id"]))
    return json({"message": "Your password has been changed. Sign in with the new one."})


# --- e-mail verification -------------------------------------------------------------------

VERIFY_SENT = (
    "If that account waits for its e-mail address to be verified, a new key has been sent."
)


async def mail_email_key(svc: Services, user: Mapping[str, Any]) -> None:
    conf = security.security_settings(svc.settings)
    await security.mail_key(
        svc,
        user,
        store.EMAIL,
        "Verify your e-mail address",
        f"Hello {user['username']},\n\nWelcome to {svc.settings.public_url}! Confirm this "
        "address with the key below to finish your sign-up:\n\n    {key}\n",
        security.long_key(),
        conf["email_key_lifetime"],
    )


async def email_pending(svc: Services, user_id: int) -> bool:
    row = await store.security_row(svc.db, user_id)
    return row is not None and bool(row["email_required"]) and row["email_verified_at"] is None


@describe(responses={200: "Message"})
async def email_verify(request: Request) -> Response:
    svc = services(request)
    await throttle(request, "email-verify", "10/hour")
    p = await params(request)
    name = p.str("username", max_length=254)
    key = p.str("key", max_length=128)
    if not name or not key:
        raise unprocessable("username and key are required")
    user = await _find(svc, name)
    if user is None or not await email_pending(svc, int(user["id"])):
        raise unprocessable(BAD_RESET.replace("reset", "verification"))
    if await security.check_key(svc, int(user["id"]), store.EMAIL, key) is None:
        raise unprocessable(BAD_RESET.replace("reset", "verification"))
    await store.update_security(svc.db, int(user["id"]), email_verified_at=utcnow())
    return json({"message": "Your e-mail address is verified. You can sign in now."})


@describe(responses={200: "Message"})
async def email_resend(request: Request) -> Response:
    svc, user = await _mail_request(request, "email-resend", "3/hour")
    if user is not None and await email_pending(svc, int(user["id"])):
        in_background(mail_email_key(svc, user))
    return json({"message": VERIFY_SENT})


# --- TOTP ----------------------------------------------------------------------------------


@describe(responses={200: obj({"enabled": BOOL, "backup_codes_left": INT})})
async def totp_status(request: Request) -> Response:
    user = require_user(request)
    svc = services(request)
    row = await store.security_row(svc.db, int(user["id"]))
    enabled = row is not None and row["totp_secret"] is not None
    left = await store.unused_backup_codes(svc.db, int(user["id"])) if enabled else 0
    return json({"enabled": enabled, "backup_codes_left": left})


@describe(responses={200: obj({"secret": STR, "uri": STR})})
async def totp_setup(request: Request) -> Response:
    """A new secret to put in an authenticator app; enabled once a code from it is sent."""
    import pyotp

    user = require_user(request)
    svc = services(request)
    if await security.totp_enabled(svc, int(user["id"])):
        raise unprocessable("Two-factor authentication is already enabled.")
    secret = pyotp.random_base32()
    await store.update_security(svc.db, int(user["id"]), totp_pending=secret)
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user["username"], issuer_name=security.issuer(svc.settings)
    )
    return json({"secret": secret, "uri": uri})


@describe(
    responses={
        200: obj({"enabled": {"const": True}, "backup_codes": {"type": "array", "items": STR}})
    }
)
async def totp_enable(request: Request) -> Response:
    """Confirm the pending secret with a code from the app; the backup codes are shown once."""
    await throttle(request, "totp", "10/10minutes")
    user = require_user(request)
    svc = services(request)
    p = await params(request)
    code = p.str("code", max_length=16) or ""
    row = await store.security_row(svc.db, int(user["id"]))
    if row is None or row["totp_pending"] is None:
        raise unprocessable("Start with the setup: there is no secret waiting to be confirmed.")
    step = security.totp_code_ok(row["totp_pending"], code, svc.clock.time())
    if step is None:
        raise ApiError(
            422, {"error": "Incorrect code.", "form_error": {"code": ["Incorrect code."]}}
        )
    codes = security.new_backup_codes()
    await store.update_security(
        svc.db,
        int(user["id"]),
        totp_secret=row["totp_pending"],
        totp_pending=None,
        totp_enabled_at=utcnow(),
        totp_last_step=step,
    )
    await store.replace_backup_codes(
        svc.db, int(user["id"]), [security.backup_hash(c) for c in codes]
    )
    return json({"enabled": True, "backup_codes": codes})


async def totp_disable(request: Request) -> Response:
    """Turn TOTP off with a current code or a backup code."""
    await throttle(request, "totp", "10/10minutes")
    user = require_user(request)
    svc = services(request)
    p = await params(request)
    code = p.str("code", max_length=32) or ""
    if not await security.totp_enabled(svc, int(user["id"])):
        raise unprocessable("Two-factor authentication is not enabled.")
    if not await security.second_factor_ok(svc, int(user["id"]), code, svc.clock.time()):
        raise ApiError(
            422, {"error": "Incorrect code.", "form_error": {"code": ["Incorrect code."]}}
        )
    await disable_totp(svc, int(user["id"]))
    return no_content()


async def disable_totp(svc: Services, user_id: int) -> None:
    await store.update_security(
        svc.db, user_id, totp_secret=None, totp_pending=None, totp_enabled_at=None
    )
    await store.replace_backup_codes(svc.db, user_id, [])


# --- sign-ins ------------------------------------------------------------------------------


LOGIN = obj(
    {
        "created_at": STR,
        "ip": {"type": ["string", "null"]},
        "country_code": {"type": ["string", "null"]},
        "client": {"type": ["string", "null"]},
    }
)


def login_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "created_at": time_z(row["created_at"]),
        "ip": row["ip"],
        "country_code": row["country_code"],
        "client": row["client"],
    }


@describe(responses={200: obj({"logins": {"type": "array", "items": LOGIN}})})
async def my_logins(request: Request) -> Response:
    """The player's own recent sign-ins (newest first), to spot one that was not them."""
    user = require_user(request)
    p = await params(request)
    limit = p.int("limit", 50, minimum=1, maximum=100)
    rows = await store.logins(services(request).db, int(user["id"]), limit or 50)
    return json({"logins": [login_json(row) for row in rows]})
