"""Web sign-in sessions: server-side, in the shared cache, revocable.

The browser holds only a random session id (cookie `hc_session`, HttpOnly, SameSite=Lax, Secure
when the public URL is https). The cache holds, under the id's SHA-256, the user (None for a
visitor who has only opened a form) and the session's CSRF token. Sign-in rotates the id; a
password change or reset ends every session of the account (`end_user_sessions`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from core.auth import sha256_hex
from core.services import Services, services

COOKIE = "hc_session"
VISITOR_SECONDS = 3600.0


@dataclass
class Session:
    id: str
    user_id: int | None
    csrf: str
    # A user whose password was right but whose device must still confirm a mailed key.
    pending: int | None = None


def _key(session_id: str) -> str:
    return f"web:session:{sha256_hex(session_id)}"


def _user_key(user_id: int) -> str:
    return f"web:sessions:{user_id}"


async def _load(svc: Services, session_id: str) -> Session | None:
    if not (20 <= len(session_id) <= 64):
        return None
    raw = await svc.cache.get(_key(session_id))
    if raw is None:
        return None
    data = orjson.loads(raw)
    return Session(session_id, data["user_id"], data["csrf"], data.get("pending"))


async def _store(svc: Services, session: Session, seconds: float) -> None:
    body = orjson.dumps(
        {"user_id": session.user_id, "csrf": session.csrf, "pending": session.pending}
    )
    await svc.cache.set(_key(session.id), body, ex=seconds)
    if session.user_id is not None:
        await svc.cache.sadd(_user_key(session.user_id), sha256_hex(session.id))
        await svc.cache.expire(_user_key(session.user_id), seconds)


async def current(request: Request) -> Session | None:
    """The request's session (once per request), or None."""
    if "web_session" in request.state._state:
        found: Session | None = request.state.web_session
        return found
    cookie = request.cookies.get(COOKIE, "")
    session = await _load(services(request), cookie) if cookie else None
    request.state.web_session = session
    return session


async def ensure(request: Request) -> Session:
    """The request's session, a new visitor session when there is none (for a form's token)."""
    session = await current(request)
    if session is None:
        session = Session(secrets.token_urlsafe(32), None, secrets.token_urlsafe(24))
        await _store(services(request), session, VISITOR_SECONDS)
        request.state.web_session = session
        request.state.web_new_cookie = session.id
    return session


async def sign_in(request: Request, user_id: int, lifetime: float) -> Session:
    """A fresh session for `user_id` (the old id, if any, stops working)."""
    svc = services(request)
    old = await current(request)
    if old is not None:
        await svc.cache.delete(_key(old.id))
    session = Session(secrets.token_urlsafe(32), user_id, secrets.token_urlsafe(24))
    await _store(svc, session, lifetime)
    request.state.web_session = session
    request.state.web_new_cookie = session.id
    return session


async def hold(request: Request, user_id: int) -> Session:
    """A fresh, not yet signed-in session waiting for `user_id`'s mailed key."""
    svc = services(request)
    old = await current(request)
    if old is not None:
        await svc.cache.delete(_key(old.id))
    session = Session(secrets.token_urlsafe(32), None, secrets.token_urlsafe(24), user_id)
    await _store(svc, session, VISITOR_SECONDS)
    request.state.web_session = session
    request.state.web_new_cookie = session.id
    return session


async def sign_out(request: Request) -> None:
    session = await current(request)
    if session is not None:
        svc = services(request)
        await svc.cache.delete(_key(session.id))
        if session.user_id is not None:
            await svc.cache.srem(_user_key(session.user_id), sha256_hex(session.id))
    request.state.web_session = None
    request.state.web_new_cookie = ""


async def end_user_sessions(svc: Services, user_id: int) -> None:
    """Every web session of the account ends (after a password change or reset)."""
    hashes = await svc.cache.smembers(_user_key(user_id))
    keys = [f"web:session:{h.decode()}" for h in hashes]
    if keys:
        await svc.cache.delete(*keys)
    await svc.cache.delete(_user_key(user_id))


def csrf_ok(session: Session | None, presented: Any) -> bool:
    return (
        session is not None
        and isinstance(presented, str)
        and secrets.compare_digest(session.csrf.encode(), presented.encode())
    )


def set_cookie(request: Request, response: Response, lifetime: float) -> None:
    """Send the session cookie when this request made, rotated or ended the session."""
    new = request.state._state.get("web_new_cookie")
    if new is None:
        return
    secure = request.url.scheme == "https" or services(request).settings.public_url.startswith(
        "https:"
    )
    if new == "":
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
        return
    response.set_cookie(
        COOKIE,
        new,
        max_age=int(lifetime),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
