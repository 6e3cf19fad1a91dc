"""Authentication: passwords, access-token JWTs, token lookup and the per-route scope check.

Every API route is built with `api_route(path, endpoint, scope=...)`: the wrapper validates the
bearer token (signature, expiry, revocation through a cached token row), checks the scope as
osu-web's `RequireScopes` does and leaves the token and its user on the request, where handlers
read them with `current_token`, `current_user` and `require_user`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bcrypt
import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Scope

from core.auth import store as oauth_db
from core.chat import notifications
from core.config import Key, Section, Settings
from core.files import private_dir, write_private
from core.http import ApiError
from core.services import Services, services
from core.users import store as users_db

if TYPE_CHECKING:
    from core.cache import Read

# --- scopes ------------------------------------------------------------------------------------

SCOPES = frozenset(
    {
        "public",
        "identify",
        "friends.read",
        "chat.read",
        "chat.write",
        "chat.write_manage",
        "forum.write",
        "forum.write_manage",
        "delegate",
        "group_permissions",
        "multiplayer.write_manage",
        "*",
    }
)
# `*` grants everything except these (ppy/osu-web RequireScopes).
NOT_IMPLIED_BY_STAR = frozenset({"delegate", "group_permissions"})
ANY_SCOPE = "any"

UNAUTHENTICATED = {"authentication": "basic"}
SCOPE_MISSING = {"error": "A required scope is missing."}
INVALID_SCOPES = {"error": "Invalid scope(s) provided."}

ACCESS_TOKEN_LIFETIME = 86400
REFRESH_TOKEN_LIFETIME = 90 * 86400


def unauthenticated() -> ApiError:
    return ApiError(401, dict(UNAUTHENTICATED))


SECTION = Section(
    "auth",
    (
        # Every worker and host must share it.
        Key(
            "private_key",
            "",
            "PEM file of the RSA key signing access tokens; empty: <data.dir>/oauth-private.pem.",
            path=True,
        ),
        # bcrypt accepts 4..31; each step doubles the time of a sign-in.
        Key("bcrypt_rounds", 10, "bcrypt cost of new password hashes.", min=4, max=31),
        Key(
            "cache_seconds",
            300,
            "Seconds a token row or user row stays cached between database reads.",
            min=0,
        ),
        # core.auth.signin explains the two locks.
        Key(
            "failed_login_limit",
            10,
            "Failed password checks allowed per client address and per account in the window.",
            min=1,
        ),
        Key("failed_login_window", 600, "Seconds of the failed sign-in window.", min=1),
    ),
    "Passwords and access tokens.",
)


def auth_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


# --- passwords ---------------------------------------------------------------------------------


def md5_hex(password: str) -> bytes:
    """osu! hashes the md5 hex digest, never the password itself (stable sends the md5)."""
    return hashlib.md5(password.encode("utf-8")).hexdigest().encode()


async def hash_password(password: str, rounds: int = 10) -> str:
    digest = md5_hex(password)
    # bcrypt holds a core for tens of milliseconds: keep it off the event loop.
    hashed = await asyncio.to_thread(bcrypt.hashpw, digest, bcrypt.gensalt(rounds))
    return hashed.decode()


async def verify_password(password: str, password_hash: str | None) -> bool:
    if not password_hash:
        return False
    try:
        return await asyncio.to_thread(bcrypt.checkpw, md5_hex(password), password_hash.encode())
    except ValueError:
        return False


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    """Constant-time comparison of a presented secret with its stored sha256."""
    if not stored_hash:
        return False
    return hmac.compare_digest(sha256_hex(secret), stored_hash)


def new_secret(nbytes: int = 30) -> str:
    return secrets.token_urlsafe(nbytes)


# --- JWT (RS256) -------------------------------------------------------------------------------


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _unb64(data: bytes) -> bytes:
    return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))


_HEADER = _b64(orjson.dumps({"typ": "JWT", "alg": "RS256"}))


class Signer:
    """The RSA key pair that signs and verifies access tokens."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self.private_key = private_key
        self.public_key = private_key.public_key()

    @classmethod
    def from_settings(cls, settings: Settings) -> Signer:
        path_text = auth_settings(settings)["private_key"]
        path = Path(path_text) if path_text else settings.data_dir / "oauth-private.pem"
        return cls(_load_or_create_key(path))

    def encode(self, claims: Mapping[str, Any]) -> str:
        signing_input = _HEADER + b"." + _b64(orjson.dumps(claims))
        signature = self.private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return (signing_input + b"." + _b64(signature)).decode()

    def decode(self, token: str) -> dict[str, Any] | None:
        """The verified claims, or None for anything that is not our well-formed RS256 token."""
        try:
            raw = token.encode("ascii")
            header_b64, payload_b64, signature_b64 = raw.split(b".")
            header = orjson.loads(_unb64(header_b64))
            if not isinstance(header, dict) or header.get("alg") != "RS256":
                return None
            self.public_key.verify(
                _unb64(signature_b64),
                header_b64 + b"." + payload_b64,
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = orjson.loads(_unb64(payload_b64))
        except (ValueError, UnicodeError, InvalidSignature, orjson.JSONDecodeError):
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("jti"), str):
            return None
        if not isinstance(claims.get("exp"), int | float):
            return None
        return claims


def _load_or_create_key(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        private_dir(path.parent)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        # 0600 from the start: the key is never readable by others, not even for a moment.
        write_private(tmp, pem)
        try:
            # link() fails if another worker created the key first: theirs wins, ours is dropped.
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} does not hold an RSA private key")
    return loaded


# --- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    id: str
    user_id: int | None  # the resource owner (client owner for delegate tokens)
    client_id: int
    scopes: frozenset[str]
    expires_at: float
    # The second factor this token's session still waits for ("mail", "totp"), or None.
    verification: str | None = None

    def can(self, scope: str) -> bool:
        if scope in self.scopes:
            return True
        return "*" in self.scopes and scope not in NOT_IMPLIED_BY_STAR


class Authenticator:
    """Per-app token machinery: the signer plus a small in-process cache of verified JWTs.

    The in-process cache holds only what the signature proves (a pure function of the token
    text); revocation lives in the shared cache and the database, so every worker sees it.
    """

    LOCAL_MAX = 4096

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.signer = Signer.from_settings(settings)
        conf = auth_settings(settings)
        self.cache_seconds = float(conf["cache_seconds"])
        self.bcrypt_rounds = int(conf["bcrypt_rounds"])
        # What an unknown account's password is checked against (core.auth.signin), made on
        # first need so that app start-up costs no bcrypt.
        self.dummy_hash: str | None = None
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def claims(self, token: str) -> dict[str, Any] | None:
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        claims = self.signer.decode(token)
        if claims is not None:
            self._verified[token] = claims
            if len(self._verified) > self.LOCAL_MAX:
                self._verified.popitem(last=False)
        return claims


def authenticator(svc: Services) -> Authenticator:
    """The app's Authenticator (`svc` is `services(app)`), made on first use."""
    return svc.extra_or_make("authenticator", Authenticator, lambda: Authenticator(svc.settings))


def token_key(jti: str) -> str:
    return f"auth:token:{jti}"


def user_key(user_id: int) -> str:
    return f"auth:user:{user_id}"


async def issue_access_token(
    svc: Services,
    *,
    user_id: int | None,
    client_id: int,
    scopes: Sequence[str],
    owner_id: int | None = None,
    verification: str | None = None,
    family: str | None = None,
) -> tuple[str, str]:
    """Store a token row and sign its JWT; returns (jwt, jti).

    `owner_id` is the resource owner of a client-credentials `delegate` token (the client's owner);
    the JWT `sub` stays "" for those, as on osu-web. `family` names the grant the token descends
    from (`oauth_db.family_of_code`, or an earlier token's family); without one, the token starts
    its own family (its jti). `verification` ("mail", "totp") makes a session that must still be
    verified (see `authenticate`).
    """
    auth = authenticator(svc)
    now = time.time()
    jti = secrets.token_hex(40)
    scope_list = sorted(set(scopes))
    await oauth_db.insert_access_token(
        svc.db,
        jti=jti,
        user_id=user_id if user_id is not None else owner_id,
        client_id=client_id,
        scopes=scope_list,
        created_at=now,
        expires_at=now + ACCESS_TOKEN_LIFETIME,
        verification=verification,
        family=family or jti,
    )
    claims = {
        "aud": str(client_id),
        "jti": jti,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now) + ACCESS_TOKEN_LIFETIME,
        "sub": str(user_id) if user_id is not None else "",
        "scopes": scope_list,
    }
    return auth.signer.encode(claims), jti


async def revoke_access_tokens(svc: Services, jtis: Sequence[str]) -> None:
    """Revoke access tokens (and their refresh tokens) and drop them from the shared cache."""
    if not jtis:
        return
    await oauth_db.revoke_access_tokens(svc.db, jtis)
    await svc.cache.delete(*(token_key(j) for j in jtis))
    # Notification sockets of these tokens hear `logout` now rather than at their next check.
    for user_id, owned in (await oauth_db.token_owners(svc.db, jtis)).items():
        await notifications.publish_logout(svc.cache, user_id, owned)


def family_revoked_key(family: str) -> str:
    return f"auth:family-revoked:{family}"


async def revoke_family(svc: Services, family: str) -> None:
    """Revoke every token of a family (a replayed code or refresh token: RFC 6749 10.5, RFC 9700
    4.14.2) and remember that for the refresh lifetime, so a grant of the same family that is
    still in flight finds it (`family_revoked`) and revokes what it has just issued."""
    await svc.cache.set(family_revoked_key(family), b"1", ex=REFRESH_TOKEN_LIFETIME)
    await revoke_access_tokens(svc, await oauth_db.family_token_ids(svc.db, family))


async def family_revoked(svc: Services, family: str) -> bool:
    return await svc.cache.exists(family_revoked_key(family))


async def revoke_user_tokens(svc: Services, user_id: int) -> None:
    await revoke_access_tokens(svc, await oauth_db.active_token_ids(svc.db, user_id=user_id))


async def revoke_client_tokens(svc: Services, client_id: int) -> None:
    ids = await oauth_db.active_token_ids(svc.db, client_id=client_id)
    await revoke_access_tokens(svc, ids)


async def forget_user(svc: Services, user_id: int) -> None:
    """Drop the cached user row after a change (rename, restriction, profile edit)."""
    from core.rooms import listing

    await svc.cache.delete(user_key(user_id))
    # Room listings show the user's card, and hide a restricted host's rooms.
    await listing.changed(svc)


async def _token_row(svc: Services, jti: str, cached: bytes | None) -> dict[str, Any] | None:
    if cached is not None:
        row = orjson.loads(cached)
        return row or None
    row = await oauth_db.access_token_row(svc.db, jti)
    ttl = authenticator(svc).cache_seconds
    # A missing row is cached too (as {}), so a flood of unknown-jti tokens cannot reach the DB.
    await svc.cache.set(token_key(jti), orjson.dumps(row or {}), ex=ttl)
    return row


async def load_user(
    svc: Services, user_id: int, cached: bytes | None = None
) -> dict[str, Any] | None:
    """The user row (no password hash) through the shared cache."""
    if cached is None:
        cached = await svc.cache.get(user_key(user_id))
    if cached is not None:
        return users_db.decode_cached(cached)
    row = await users_db.get_user(svc.db, user_id)
    if row is not None:
        await svc.cache.set(
            user_key(user_id), users_db.encode_cached(row), ex=authenticator(svc).cache_seconds
        )
    return row


async def resolve_token(
    svc: Services,
    header: str | None,
    prefetch: dict[str, bytes | None] | None = None,
    known: Mapping[str, bytes | None] | None = None,
) -> tuple[Token, dict[str, Any] | None] | None:
    """(token, user row) for an `Authorization` header; raises 401 when a token is bad.

    Keys already in `prefetch` are read from the cache in the same round trip as the token and
    their values filled in, so a handler's cached response costs no extra round trip. Keys in
    `known` were read already (with the rate-limit counter, `core.ratelimit`): only the others
    are asked for, and none at all when `known` holds every one.
    """
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and not value:
        # An empty bearer is no token, as Laravel's `bearerToken()` reads it; aiosu sends one to
        # the routes that need none (news, wiki, changelog) before it has any token.
        return None
    if scheme.lower() != "bearer":
        raise unauthenticated()
    claims = authenticator(svc).claims(value)
    if claims is None or claims["exp"] <= time.time():
        raise unauthenticated()
    jti = claims["jti"]
    sub_id = _subject(claims)
    keys = [token_key(jti)] + ([user_key(sub_id)] if sub_id is not None else [])
    values = dict(known or {})
    missing = [k for k in (*keys, *(prefetch or ())) if k not in values]
    if missing:
        values.update(zip(missing, await svc.cache.mget(missing), strict=True))
    if prefetch is not None:
        for k in list(prefetch):
            prefetch[k] = values[k]
    found = [values[k] for k in keys]
    row = await _token_row(svc, jti, found[0])
    if row is None or row["revoked"]:
        raise unauthenticated()
    token = Token(
        id=jti,
        user_id=row["user_id"],
        client_id=row["client_id"],
        scopes=frozenset(row["scopes"].split()),
        expires_at=float(claims["exp"]),
        verification=row.get("verification"),
    )
    user = None
    if token.user_id is not None:
        user = await load_user(
            svc, token.user_id, found[1] if sub_id == token.user_id and len(found) > 1 else None
        )
        # A banned account's sessions end with the ban (core.moderation.sanctions).
        if user is None or user.get("is_deleted") or user.get("banned"):
            raise unauthenticated()
    return token, user


def _subject(claims: Mapping[str, Any]) -> int | None:
    """The user id a verified token names (`sub`); None for client-credentials tokens."""
    sub = claims.get("sub")
    return int(sub) if isinstance(sub, str) and sub.isdecimal() and len(sub) <= 18 else None


def bearer_claims(svc: Services, header: bytes | str | None) -> dict[str, Any] | None:
    """The verified, unexpired claims of a bearer `Authorization` header, or None."""
    if not header:
        return None
    raw = header.encode("latin-1") if isinstance(header, str) else header
    scheme, _, value = raw.partition(b" ")
    value = value.strip()
    if scheme.lower() != b"bearer" or not value:
        return None
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return None
    claims = authenticator(svc).claims(text)
    if claims is None or claims["exp"] <= time.time():
        return None
    return claims


def claimed_user_id(request: Request) -> int | None:
    """The user id the request's bearer token names, from its verified signature alone (not yet
    checked for revocation): for a route's `prefetch`, which runs before the token lookup."""
    claims = _state(request).get(CLAIMS)
    if claims is None:
        claims = bearer_claims(services(request), request.headers.get("authorization"))
    return None if claims is None else _subject(claims)


# Where a request keeps the cache values read ahead of its handler (`cached`).
PREFETCHED = "prefetched"
# Set when `prefetch_keys` named the route's keys too (see `api_route`).
ROUTE_KEYS_NAMED = "route_keys_named"
# The request's verified claims, as `prefetch_keys` found them (`claimed_user_id`).
CLAIMS = "bearer_claims"
Prefetch = Callable[[Request], Sequence[str]]


def scope_claims(svc: Services, scope: Scope) -> dict[str, Any] | None:
    """`bearer_claims` of a request's (first) `Authorization` header, read from its scope."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return bearer_claims(svc, value)
    return None


def prefetch_keys(scope: Scope, claims: Mapping[str, Any] | None) -> list[str]:
    """The cache keys a request will read first: its bearer token's row and user, and what its
    route's `prefetch` names. `core.ratelimit` reads them with the request's counter, so a
    cached answer costs one round trip to the cache. `claims` are the request's
    (`scope_claims`): only what the signature proves is used here; `authenticate` still checks
    the token in full.
    """
    if claims is None:
        return []
    keys = [token_key(claims["jti"])]
    sub_id = _subject(claims)
    if sub_id is not None:
        keys.append(user_key(sub_id))
    found = _route_for(scope)
    prefetch = getattr(found[0], "prefetch", None) if found is not None else None
    if found is not None and prefetch is not None:
        state = scope.setdefault("state", {})
        state[CLAIMS] = claims
        keys += prefetch(Request({**scope, **found[1]}))
        # The route's own keys are among them: its `guarded` need not name them again.
        state[ROUTE_KEYS_NAMED] = True
    return keys


def _route_for(scope: Scope) -> tuple[Any, Scope] | None:
    """The route the app's router will hand `scope` to (`core.routing.IndexedRouter`)."""
    from core.routing import IndexedRouter

    router = scope["app"].router
    return router.route_for(scope) if isinstance(router, IndexedRouter) else None


# --- request helpers and routes ----------------------------------------------------------------


def _state(request: Request) -> dict[str, Any]:
    svc: dict[str, Any] = request.scope.setdefault("state", {})
    return svc


def reader(request: Request) -> Read:
    """`cached` for this request, as the `core.cache.Read` the cached views take."""

    async def read(key: str) -> bytes | None:
        return await cached(request, key)

    return read


async def cached(request: Request, key: str) -> bytes | None:
    """A cache value, from the token lookup's round trip when the route prefetched it."""
    prefetched = _state(request).get(PREFETCHED)
    if prefetched is not None and key in prefetched:
        value: bytes | None = prefetched[key]
        return value
    found: bytes | None = await services(request).cache.get(key)
    return found


def current_token(request: Request) -> Token | None:
    return _state(request).get("auth_token")


def current_user(request: Request) -> Mapping[str, Any] | None:
    """The token's user row; None for client-credentials tokens and token-less requests."""
    return _state(request).get("auth_user")


def require_user(request: Request) -> Mapping[str, Any]:
    user = current_user(request)
    if user is None:
        raise unauthenticated()
    return user


def unverified(method: str) -> ApiError:
    """401 for a session that must still be verified; lazer shows its verification screen."""
    return ApiError(401, {"method": method})


async def authenticate(
    request: Request,
    scope: str | None,
    prefetch: Sequence[str] = (),
    allow_unverified: bool = False,
) -> None:
    """Validate the bearer token for `scope` and leave it on the request (see module doc).

    A token whose session waits for a second factor may read (GET) but not change anything:
    any other method answers 401 `{"method": ...}`, as osu-web's VerifyUser middleware does
    (app/Http/Middleware/VerifyUser.php), unless the route allows it (`allow_unverified`).
    """
    state = _state(request)
    # Read with the rate-limit counter (core.ratelimit), when the middleware counted this one.
    known: dict[str, bytes | None] | None = state.get(PREFETCHED)
    fetched: dict[str, bytes | None] | None = dict.fromkeys(prefetch) if prefetch else None
    resolved = await resolve_token(
        services(request), request.headers.get("authorization"), fetched, known
    )
    if fetched is not None and resolved is not None:
        state[PREFETCHED] = {**(known or {}), **fetched}
    if resolved is None:
        if scope is None:
            return
        raise unauthenticated()
    token, user = resolved
    svc = _state(request)
    svc["auth_token"] = token
    svc["auth_user"] = user
    refusal = scope_refusal(token, scope)
    if refusal is not None:
        raise refusal
    if token.verification is not None and request.method != "GET" and not allow_unverified:
        raise unverified(token.verification)


def scope_refusal(token: Token, scope: str | None) -> ApiError | None:
    """The 403 osu-web's `RequireScopes` answers when `token` lacks `scope`, or None.

    `None` and `"any"` need no scope; `"*"` only a lazer token ("Invalid scope(s) provided.");
    any other name that scope or `*` ("A required scope is missing."). The hubs check the same.
    """
    if scope is None or scope == ANY_SCOPE:
        return None
    if scope == "*":
        return None if "*" in token.scopes else ApiError(403, dict(INVALID_SCOPES))
    return None if token.can(scope) else ApiError(403, dict(SCOPE_MISSING))


Endpoint = Callable[[Request], Awaitable[Response]]


def api_route(
    path: str,
    endpoint: Endpoint,
    *,
    methods: Sequence[str] = ("GET",),
    scope: str | None = "public",
    name: str | None = None,
    prefetch: Prefetch | None = None,
    allow_unverified: bool = False,
) -> Route:
    """A Starlette Route whose endpoint runs only for a token carrying `scope`.

    `prefetch(request)` names cache keys the handler will read; they come back with the token
    lookup in one round trip and the handler finds them with `cached(request, key)`.

    `scope=None`: no token needed (a token that is sent is still validated); `"any"`: any valid
    token; `"*"`: lazer-only (403 "Invalid scope(s) provided." otherwise); any other name: that
    scope or `*` (403 "A required scope is missing." otherwise). The route keeps the declared
    scope as `required_scope`. `allow_unverified`: a session still waiting for its second factor
    may call it with any method (the verification routes themselves).
    """
    if scope is not None and scope != ANY_SCOPE and scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def guarded(request: Request) -> Response:
        keys: Sequence[str] = ()
        if prefetch is not None:
            state = _state(request)
            # Read already, with the rate-limit counter (`prefetch_keys`), unless that read
            # did not happen (no limit, the cache down) or left the route's keys out.
            if PREFETCHED not in state or not state.get(ROUTE_KEYS_NAMED):
                keys = prefetch(request)
        await authenticate(request, scope, keys, allow_unverified)
        return await endpoint(request)

    guarded.__name__ = getattr(endpoint, "__name__", "endpoint")
    guarded.__doc__ = endpoint.__doc__
    route = Route(path, guarded, methods=list(methods), name=name or guarded.__name__)
    route.required_scope = scope  # type: ignore[attr-defined]
    route.endpoint_function = endpoint  # type: ignore[attr-defined]
    # For `prefetch_keys`, which reads the keys ahead of routing.
    route.prefetch = prefetch  # type: ignore[attr-defined]
    return route
