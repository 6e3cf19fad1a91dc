"""The authorization-code flow's front half: an authorize request checked, the user's answer
turned into the redirect back to the client, and the code issued.

One home for what `GET/POST/DELETE /oauth/authorize` accept: the OAuth plugin's endpoints and
the web site's consent page (`authorize_page` hook) both call `validate`. The checks and their
errors are league/oauth2-server's AuthCodeGrant::validateAuthorizationRequest as osu-web
(Laravel Passport) runs it: an unknown or revoked client and a redirect URI other than the
registered one answer 401 `invalid_client` and are never redirected to (RFC 6749 4.1.2.1: the
URI is not trusted yet).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from core.auth import SCOPES, new_secret, sha256_hex
from core.auth import oauth_errors as errors
from core.auth import store as oauth_db
from core.http import Params
from core.services import Services
from core.users import store as users_db

AUTH_CODE_LIFETIME = 600

# RFC 7636 4.1: 43 to 128 unreserved characters.
CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE_METHODS = ("S256", "plain")

# What each scope lets the client do, in plain words for the consent pages.
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


# The parameters of an authorize request (`validate` reads them; the API document names them).
PARAMETERS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class Authorization:
    """A checked authorize request: what the user is asked to grant, and to whom."""

    client: dict[str, Any]
    redirect_uri: str | None  # as sent (None: the registered one is used, and not re-checked)
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    @property
    def target(self) -> str:
        """Where the answer goes: the client's registered redirect URI."""
        return str(self.client["redirect"])

    def form_fields(self) -> dict[str, str]:
        """The request again, as the hidden fields of the page's form."""
        return {
            "client_id": str(self.client["id"]),
            "redirect_uri": self.redirect_uri or "",
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "state": self.state or "",
            "code_challenge": self.code_challenge or "",
            "code_challenge_method": self.code_challenge_method or "",
        }

    def scope_text(self) -> list[str]:
        return [SCOPE_TEXT.get(s, s) for s in self.scopes]


# Scope policy (osu-web's Token::validate): which scopes need client credentials, delegation, or
# a bot or the client's own owner.
CLIENT_ONLY = frozenset({"delegate", "forum.write_manage", "group_permissions"})
DELEGATABLE = frozenset(
    {
        "chat.write",
        "chat.write_manage",
        "forum.write",
        "forum.write_manage",
        "multiplayer.write_manage",
        "delegate",
        "group_permissions",
    }
)
OWN_CLIENT = frozenset({"chat.read", "chat.write", "chat.write_manage", "multiplayer.write_manage"})


def parse_scopes(raw: Any) -> list[str]:
    """Space-delimited (or a JSON list); unknown names -> invalid_scope."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else str(raw).replace("+", " ").split()
    scopes: list[str] = []
    for item in items:
        name = str(item).strip()
        if not name:
            continue
        if name not in SCOPES:
            raise errors.invalid_scope(name)
        if name not in scopes:
            scopes.append(name)
    return sorted(scopes)


async def check_scope_policy(
    svc: Services, scopes: Sequence[str], client: dict[str, Any], user_id: int | None, grant: str
) -> None:
    """osu-web's Token::validate rules, with its messages (400 `{"error": ...}`)."""
    chosen = set(scopes)
    if not chosen:
        raise errors.scope_policy("Tokens without scopes are not valid.")
    if "*" in chosen and len(chosen) > 1:
        raise errors.scope_policy("* is not valid with other scopes")
    if grant == "client_credentials":
        if "*" in chosen:
            raise errors.scope_policy("* is not allowed with Client Credentials")
        if chosen == {"public"}:
            return
        if client["user_id"] is None:
            raise errors.scope_policy("The client is missing owner.")
        if "delegate" not in chosen:
            if chosen & DELEGATABLE:
                raise errors.scope_policy("delegate scope is required.")
            raise errors.invalid_scope(sorted(chosen - {"public"})[0])
        if not chosen <= DELEGATABLE:
            raise errors.scope_policy("Delegation is not supported for this combination of scopes.")
        owner = await users_db.get_user(svc.db, client["user_id"])
        if owner is None or not owner["is_bot"]:
            raise errors.scope_policy(
                "Delegation with Client Credentials is only available to bots."
            )
        return
    if chosen & CLIENT_ONLY:
        raise errors.scope_policy("This scope is only valid for client_credentials tokens.")
    if "*" in chosen:
        if grant != "password":
            raise errors.invalid_scope("*")
        return
    if chosen & OWN_CLIENT and client["user_id"] != user_id:
        owner = (
            None
            if client["user_id"] is None
            else await users_db.get_user(svc.db, client["user_id"])
        )
        if owner is None or not owner["is_bot"]:
            raise errors.scope_policy("This scope is only available for bots or your own clients.")


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


async def validate(svc: Services, p: Params) -> Authorization:
    """The authorize request in `p`, checked; raises the OAuth error (`core.http.ApiError`)."""
    raw_id = p.get("client_id")
    text = str(raw_id).strip() if isinstance(raw_id, int | str) else ""
    client = None
    if text.isdecimal() and len(text) <= 18:
        client = await oauth_db.get_client(svc.db, int(text))
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
    # identify is the default of the code grant and always part of it.
    scopes = sorted({*parse_scopes(p.get("scope")), "identify"})
    state = p.get("state")
    challenge, method = _pkce(p)
    return Authorization(
        client=client,
        redirect_uri=redirect_uri if isinstance(redirect_uri, str) else None,
        scopes=scopes,
        state=state if isinstance(state, str) else None,
        code_challenge=challenge,
        code_challenge_method=method,
    )


def redirect_url(target: str, query: dict[str, str | None]) -> str:
    """`target` with `query` added (None values left out)."""
    values = {k: v for k, v in query.items() if v is not None}
    separator = "&" if "?" in target else "?"
    return f"{target}{separator}{urlencode(values)}"


def denied_url(authorization: Authorization) -> str:
    """Where a user who said no goes: the client, with league's `access_denied` answer."""
    return redirect_url(
        authorization.target,
        {
            "error": "access_denied",
            "error_description": errors.ACCESS_DENIED,
            "hint": "The user denied the request",
            "message": errors.ACCESS_DENIED,
            "state": authorization.state,
        },
    )


async def issue_auth_code(
    svc: Services,
    *,
    user_id: int,
    client_id: int,
    scopes: Sequence[str],
    redirect_uri: str | None,
    code_challenge: str | None = None,
    code_challenge_method: str | None = None,
) -> str:
    """A new single-use code (stored as its hash), valid for `AUTH_CODE_LIFETIME` seconds."""
    code = new_secret(40)
    await oauth_db.insert_auth_code(
        svc.db,
        code_hash=sha256_hex(code),
        user_id=user_id,
        client_id=client_id,
        scopes=scopes,
        redirect_uri=redirect_uri,
        expires_at=time.time() + AUTH_CODE_LIFETIME,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
    )
    return code


async def approved_url(svc: Services, authorization: Authorization, user_id: int) -> str:
    """Issue the code for `user_id`'s approval: the client's redirect URI with code and state.

    The caller has checked `check_scope_policy` for this user."""
    code = await issue_auth_code(
        svc,
        user_id=user_id,
        client_id=int(authorization.client["id"]),
        scopes=authorization.scopes,
        redirect_uri=authorization.redirect_uri,
        code_challenge=authorization.code_challenge,
        code_challenge_method=authorization.code_challenge_method,
    )
    return redirect_url(authorization.target, {"code": code, "state": authorization.state})
