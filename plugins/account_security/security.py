"""What account security does, apart from HTTP: keys, mails, second factors, trusted devices."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from core.auth import revoke_user_tokens, sha256_hex, token_key
from core.auth import store as oauth_db
from core.chat import notifications
from core.config import ConfigError, Key, Section, Settings
from core.mail import mail_enabled, send_mail
from core.services import Services
from plugins.account_security import store

SECTION = Section(
    "account_security",
    (
        Key(
            "require_verified_email",
            False,
            "New accounts verify their e-mail address before they can sign in (needs [mail]).",
        ),
        Key(
            "session_verification",
            "off",
            "'off', or 'new_devices': a password sign-in from a device that has not verified "
            "lately gives a mailed key or a TOTP code before it changes anything (needs [mail]).",
            choices=("off", "new_devices"),
        ),
        Key(
            "trusted_device_days",
            30,
            "Days a device that verified a session is not asked again; 0: every time.",
            min=0,
        ),
        Key("session_key_lifetime", 600, "Seconds a mailed session key is valid.", min=1),
        Key("reset_key_lifetime", 3600, "Seconds a mailed password-reset key is valid.", min=1),
        Key(
            "email_key_lifetime", 86400, "Seconds a mailed e-mail verification key is valid.", min=1
        ),
        Key(
            "key_attempts", 5, "Wrong keys tried against one mailed key before it is spent.", min=1
        ),
        Key(
            "totp_issuer",
            "",
            "The name authenticator apps show for this server; empty: the public host name.",
        ),
    ),
    "Account security: e-mail verification, session verification, TOTP, password resets.",
)

BACKUP_CODES = 10


def security_settings(settings: Settings) -> dict[str, Any]:
    values = SECTION.read(settings)
    for key, needed in (
        ("require_verified_email", values["require_verified_email"]),
        ("session_verification", values["session_verification"] != "off"),
    ):
        if needed and not mail_enabled(settings):
            raise ConfigError(f"account_security.{key}", "needs a mail server ([mail] host)")
    return values


# --- keys ----------------------------------------------------------------------------------


def short_key() -> str:
    """A session key to type from a mail: 8 hexadecimal characters, as osu-web sends."""
    return secrets.token_hex(4)


def long_key() -> str:
    """A key for a link (password reset, e-mail verification)."""
    return secrets.token_urlsafe(24)


def key_hash(key: str) -> str:
    return sha256_hex(key.strip().lower())


async def check_key(
    svc: Services, user_id: int, purpose: str, presented: str
) -> Mapping[str, Any] | None:
    """The live key of `purpose` if `presented` is it (then spent); None otherwise."""
    row = await store.live_key(svc.db, user_id, purpose)
    if row is None:
        return None
    if not secrets.compare_digest(row["key_hash"], key_hash(presented)):
        await store.count_attempt(
            svc.db, int(row["id"]), security_settings(svc.settings)["key_attempts"]
        )
        return None
    if not await store.use_key(svc.db, int(row["id"])):
        return None
    return row


async def mail_key(
    svc: Services,
    user: Mapping[str, Any],
    purpose: str,
    subject: str,
    text: str,
    key: str,
    lifetime: float,
    token_id: str | None = None,
) -> None:
    """Store a new key (replacing earlier ones of the purpose) and mail it; `{key}` in `text`."""
    await store.add_key(svc.db, int(user["id"]), purpose, key_hash(key), lifetime, token_id)
    await send_mail(svc.settings, user["email"], subject, text.format(key=key))


# --- sessions ------------------------------------------------------------------------------


def device_hash(request: Request) -> str:
    """A device as the server can tell it: the client address and the user agent."""
    address = request.client.host if request.client else ""
    agent = request.headers.get("user-agent", "")
    return hashlib.sha256(f"{address}\n{agent}".encode()).hexdigest()


async def totp_enabled(svc: Services, user_id: int) -> bool:
    row = await store.security_row(svc.db, user_id)
    return row is not None and row["totp_secret"] is not None


async def verification_method(
    svc: Services, user: Mapping[str, Any], request: Request
) -> str | None:
    """The second factor a new password session of `user` from this device needs, or None."""
    conf = security_settings(svc.settings)
    if conf["session_verification"] == "off":
        return None
    if await store.is_trusted(svc.db, int(user["id"]), device_hash(request)):
        return None
    if await totp_enabled(svc, int(user["id"])) and _api_version(request) >= 20250913:
        return "totp"
    return "mail"


def _api_version(request: Request) -> int:
    """osu-web's api_version(): older API clients can only verify by mail (app/helpers.php,
    app/Libraries/SessionVerification/State.php). lazer's sign-in request has no header; it is
    new enough for either method."""
    value = request.headers.get("x-api-version", "")
    return int(value) if value.isdecimal() and len(value) <= 9 else 99999999


async def mail_session_key(svc: Services, user: Mapping[str, Any], token_id: str) -> None:
    conf = security_settings(svc.settings)
    await mail_key(
        svc,
        user,
        store.SESSION,
        "Your sign-in verification code",
        f"Hello {user['username']},\n\nSomeone (hopefully you) signed in to your account "
        f"on {svc.settings.public_url} from a new device. Enter this code to confirm it:\n\n"
        "    {key}\n\nIf it was not you, change your password.\n",
        short_key(),
        conf["session_key_lifetime"],
        token_id,
    )


async def session_verified(svc: Services, user_id: int, token_id: str, request: Request) -> None:
    """Mark the token's session verified, trust the device, and tell lazer (`verified`)."""
    await oauth_db.set_verification(svc.db, token_id, None)
    await svc.cache.delete(token_key(token_id))
    days = security_settings(svc.settings)["trusted_device_days"]
    if days:
        await store.trust_device(svc.db, user_id, device_hash(request), days * 86400)
    await notifications.publish_to_users(svc.cache, [user_id], notifications.frame("verified"))


# --- TOTP ----------------------------------------------------------------------------------


def totp_code_ok(secret: str, code: str, at: float) -> int | None:
    """The time step `code` belongs to (this one or a neighbour, for clock drift), or None."""
    import pyotp

    code = code.strip().replace(" ", "")
    if not (code.isdecimal() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = int(at) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


async def second_factor_ok(svc: Services, user_id: int, code: str, at: float) -> bool:
    """A TOTP code (each time step once) or an unused backup code of the user."""
    row = await store.security_row(svc.db, user_id)
    if row is None or row["totp_secret"] is None:
        return False
    step = totp_code_ok(row["totp_secret"], code, at)
    if step is not None:
        return await store.claim_totp_step(svc.db, user_id, step)
    return await store.use_backup_code(svc.db, user_id, backup_hash(code))


def new_backup_codes() -> list[str]:
    return [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(BACKUP_CODES)]


def backup_hash(code: str) -> str:
    return sha256_hex(code.strip().lower().replace(" ", ""))


def issuer(settings: Settings) -> str:
    from urllib.parse import urlsplit

    name: str = security_settings(settings)["totp_issuer"]
    return name or urlsplit(settings.public_url).hostname or "hitcircle"


async def password_changed(svc: Services, user_id: int) -> None:
    """After a reset: every session ends and no device stays trusted."""
    await revoke_user_tokens(svc, user_id)
    await store.forget_devices(svc.db, user_id)


async def record_login(svc: Services, user: Mapping[str, Any], request: Request) -> None:
    """Note a sign-in; an account without a country yet (`XX`) gets the one it signed in from."""
    from core.geoip import country_of
    from core.users import profiles
    from core.users import store as users_db

    address = request.client.host if request.client else ""
    country = country_of(svc.settings, address)
    await store.record_login(
        svc.db, int(user["id"]), address, country, request.headers.get("user-agent", "")
    )
    if country is not None and user.get("country_code") == "XX":
        await users_db.update_user(svc.db, int(user["id"]), country_code=country)
        await profiles.invalidate(svc, int(user["id"]))
