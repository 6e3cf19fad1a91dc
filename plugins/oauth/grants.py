"""Client authentication, scope policy, login checks and the four grants of `/oauth/token`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request

from core.auth import (
    REFRESH_TOKEN_LIFETIME,
    authenticator,
    family_revoked,
    issue_access_token,
    new_secret,
    revoke_access_tokens,
    revoke_family,
    secret_matches,
    sha256_hex,
    signin,
)
from core.auth import oauth_errors as errors
from core.auth import store as oauth_db
from core.auth.authorize import CODE_VERIFIER, check_scope_policy, parse_scopes
from core.config import Key, Section, Settings
from core.db import utcnow
from core.http import Params
from core.plugins import fire, resolve
from core.ratelimit import client_address
from core.services import Services, services
from core.users import store as users_db

LAZER_SECRETS = (
    "FGc9GAtyHzeQDshWP5Ah7dega8hJACAJpQtw6OXk",  # production builds
    "3LP2mhUrV89xxzD1YKNndXHEhWWCRLPNKioZ9ymT",  # development (debug) builds
)


SECTION = Section(
    "oauth",
    (
        Key("lazer_client_id", 5, "Client id of the built-in osu!lazer client.", min=1),
        Key(
            "lazer_client_secrets",
            LAZER_SECRETS,
            "Secrets the built-in lazer client may present; empty accepts any secret.",
        ),
    ),
    "OAuth: the built-in lazer client.",
)


def oauth_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


# --- client authentication ---------------------------------------------------------------------


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None, None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else (None, None)


async def authenticate_client(request: Request, p: Params, grant: str) -> dict[str, Any]:
    """The client row for the body's (or else HTTP Basic) credentials; 401 invalid_client."""
    raw_id = p.get("client_id")
    secret = p.get("client_secret")
    if raw_id is None:
        raw_id, basic_secret = _basic_credentials(request)
        secret = secret if secret is not None else basic_secret
    sent_auth = "authorization" in request.headers
    if raw_id is None:
        raise errors.missing("client_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        raise errors.invalid_client(sent_auth)
    text = str(raw_id).strip()
    if not text.isdecimal() or len(text) > 18:
        raise errors.invalid_client(sent_auth)
    client = await oauth_db.get_client(services(request).db, int(text))
    if client is None or client["revoked"] or not isinstance(secret, str):
        raise errors.invalid_client(sent_auth)
    if client["secret_hash"] is None:
        allowed = oauth_settings(services(request).settings)["lazer_client_secrets"]
        ok = not allowed or any(hmac.compare_digest(secret, s) for s in allowed)
    else:
        ok = secret_matches(secret, client["secret_hash"])
    if not ok:
        raise errors.invalid_client(sent_auth)
    if grant == "password" and not client["password_client"]:
        raise errors.invalid_client(sent_auth)
    return client


# --- scopes ------------------------------------------------------------------------------------


# --- sign-in -----------------------------------------------------------------------------------


async def check_login(request: Request, username: str, password: str) -> dict[str, Any]:
    """The user for these credentials; invalid_grant with the client-visible hint otherwise.

    Failed attempts are counted and locked out per client address and per account by
    `core.auth.signin` (past the limit even a correct password is refused, so guessing gains
    nothing); a name no account has costs the same bcrypt check as a wrong password. A banned
    account is refused with `signin.refusal`'s words.
    """
    try:
        user = await signin.sign_in(
            services(request), client_address(request.scope), username, password
        )
    except signin.SignInLocked:
        raise errors.invalid_grant(signin.LOCKED) from None
    if user is None:
        raise errors.invalid_grant("Incorrect sign in")
    refused = signin.refusal(user)
    if refused:
        raise errors.invalid_grant(refused)
    return user


# --- token issue -------------------------------------------------------------------------------


async def issue_tokens(
    svc: Services,
    *,
    user_id: int | None,
    client_id: int,
    scopes: Sequence[str],
    refresh: bool,
    owner_id: int | None = None,
    verification: str | None = None,
    family: str | None = None,
) -> tuple[dict[str, Any], str]:
    """The token answer and the access token's id (`jti`)."""
    access, jti = await issue_access_token(
        svc,
        user_id=user_id,
        client_id=client_id,
        scopes=scopes,
        owner_id=owner_id,
        verification=verification,
        family=family,
    )
    body: dict[str, Any] = {"token_type": "Bearer", "expires_in": 86400, "access_token": access}
    if refresh:
        refresh_token = new_secret(48)
        await oauth_db.insert_refresh_token(
            svc.db,
            token_hash=sha256_hex(refresh_token),
            access_token_id=jti,
            expires_at=time.time() + REFRESH_TOKEN_LIFETIME,
        )
        body["refresh_token"] = refresh_token
    return body, jti


async def password_grant(request: Request, p: Params, client: dict[str, Any]) -> dict[str, Any]:
    username = p.get("username")
    password = p.get("password")
    if not isinstance(username, str):
        raise errors.missing("username")
    if not isinstance(password, str):
        raise errors.missing("password")
    scopes = parse_scopes(p.get("scope"))
    user = await check_login(request, username, password)
    await check_scope_policy(services(request), scopes, client, user["id"], "password")
    svc = services(request)
    hooks = svc.plugins.hook
    # Every answer is awaited (none is left pending), then the first one counts.
    refusals = [await resolve(r) for r in hooks.login_refused(app=request.app, user=user)]
    refusal = next((r for r in refusals if r), None)
    if refusal is not None:
        raise errors.invalid_grant(str(refusal))
    methods = [
        await resolve(r)
        for r in hooks.session_verification(app=request.app, user=user, request=request)
    ]
    verification = next((m for m in methods if m), None)
    await users_db.touch_last_visit(svc.db, user["id"])
    body, jti = await issue_tokens(
        svc,
        user_id=user["id"],
        client_id=client["id"],
        scopes=scopes,
        refresh=True,
        verification=verification,
    )
    await fire(
        svc.plugins,
        "user_logged_in",
        app=request.app,
        user=user,
        token_id=jti,
        verification=verification,
        request=request,
    )
    return body


async def client_credentials_grant(
    request: Request, p: Params, client: dict[str, Any]
) -> dict[str, Any]:
    scopes = parse_scopes(p.get("scope"))
    await check_scope_policy(services(request), scopes, client, None, "client_credentials")
    owner = client["user_id"] if "delegate" in scopes else None
    body, _ = await issue_tokens(
        services(request),
        user_id=None,
        client_id=client["id"],
        scopes=scopes,
        refresh=False,
        owner_id=owner,
    )
    return body


async def authorization_code_grant(
    request: Request, p: Params, client: dict[str, Any]
) -> dict[str, Any]:
    code = p.get("code")
    if not isinstance(code, str):
        raise errors.missing("code")
    svc = services(request)
    row = await oauth_db.auth_code_row(svc.db, sha256_hex(code))
    if row is None:
        raise errors.invalid_request("Cannot decrypt the authorization code")
    if int(row["client_id"]) != int(client["id"]):
        raise errors.invalid_request("Authorization code was not issued to this client")
    family = oauth_db.family_of_code(row["id"])
    if row["revoked"]:
        # Used before: whoever holds it now may have stolen it (RFC 6749 4.1.2), so the tokens
        # it gave (and their refreshes) die too.
        await revoke_family(svc, family)
        raise errors.invalid_request("Authorization code has been revoked")
    if row["expires_at"] <= utcnow():
        raise errors.invalid_request("Authorization code has expired")
    if row["redirect_uri"]:
        redirect_uri = p.get("redirect_uri")
        if not isinstance(redirect_uri, str):
            raise errors.missing("redirect_uri")
        if redirect_uri != row["redirect_uri"]:
            raise errors.invalid_request("Invalid redirect URI")
    check_code_verifier(row, p.get("code_verifier"))
    if not await oauth_db.use_auth_code(svc.db, row["id"]):
        await revoke_family(svc, family)
        raise errors.invalid_request("Authorization code has been revoked")
    body, _ = await issue_tokens(
        svc,
        user_id=int(row["user_id"]),
        client_id=client["id"],
        scopes=row["scopes"].split(),
        refresh=True,
        family=family,
    )
    await _unless_family_revoked(
        svc, family, errors.invalid_request("Authorization code has been revoked")
    )
    return body


async def _unless_family_revoked(svc: Services, family: str, error: Exception) -> None:
    """A replay raced this grant and revoked the family, perhaps before our token existed:
    revoke what was just issued as well."""
    if await family_revoked(svc, family):
        await revoke_family(svc, family)
        raise error


def pkce_challenge(verifier: str, method: str) -> str:
    """The `code_challenge` a verifier answers (RFC 7636 4.2)."""
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier


def check_code_verifier(row: dict[str, Any], verifier: Any) -> None:
    """PKCE: a code issued with a challenge needs the verifier that answers it (league's errors)."""
    challenge = row.get("code_challenge")
    if not challenge:
        return
    if not isinstance(verifier, str):
        raise errors.missing("code_verifier")
    if not CODE_VERIFIER.fullmatch(verifier):
        raise errors.invalid_request("Code Verifier must follow the specifications of RFC-7636.")
    expected = pkce_challenge(verifier, row.get("code_challenge_method") or "plain")
    if not hmac.compare_digest(expected.encode(), str(challenge).encode()):
        raise errors.invalid_grant("Failed to verify `code_verifier`.")


async def refresh_token_grant(
    request: Request, p: Params, client: dict[str, Any]
) -> dict[str, Any]:
    presented = p.get("refresh_token")
    if not isinstance(presented, str):
        raise errors.missing("refresh_token")
    svc = services(request)
    row = await oauth_db.refresh_token_row(svc.db, sha256_hex(presented))
    if row is None:
        raise errors.invalid_refresh("Cannot decrypt the refresh token")
    if int(row["client_id"]) != int(client["id"]):
        raise errors.invalid_refresh("Token is not linked to client")
    family = row["family"] or row["access_token_id"]
    if row["revoked"]:
        # A rotated-out token presented again: one of the two users of this chain stole it, and
        # the chain ends for both (RFC 9700 4.14.2).
        await revoke_family(svc, family)
        raise errors.invalid_refresh("Token has been revoked")
    if row["expires_at"] <= utcnow():
        raise errors.invalid_refresh("Token has expired")
    previous = row["scopes"].split()
    requested = parse_scopes(p.get("scope"))
    for scope in requested:
        if scope not in previous:
            raise errors.invalid_scope(scope)
    # Rotation: the old refresh token and its access token die with this use.
    if not await oauth_db.use_refresh_token(svc.db, row["id"]):
        await revoke_family(svc, family)
        raise errors.invalid_refresh("Token has been revoked")
    await revoke_access_tokens(svc, [row["access_token_id"]])
    user_id = None if row["user_id"] is None else int(row["user_id"])
    if user_id is not None:
        user = await users_db.get_user(svc.db, user_id)
        if user is None or user["is_deleted"]:
            raise errors.invalid_refresh("Token has been revoked")
    body, _ = await issue_tokens(
        svc,
        user_id=user_id,
        client_id=client["id"],
        scopes=requested or previous,
        refresh=True,
        # A session still waiting for its second factor keeps waiting (osu-web keeps the
        # verification state across refreshes).
        verification=row["verification"],
        family=family,
    )
    await _unless_family_revoked(svc, family, errors.invalid_refresh("Token has been revoked"))
    return body


GRANTS = {
    "password": password_grant,
    "client_credentials": client_credentials_grant,
    "authorization_code": authorization_code_grant,
    "refresh_token": refresh_token_grant,
}


def touch_authenticator(svc: Services) -> None:
    """Load (or create) the signing key at start-up rather than on the first request."""
    authenticator(svc)
