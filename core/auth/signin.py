"""Password checks under a failed-attempt lock: OAuth sign-in and the password change alike.

Counters live in the shared cache, in fixed windows of `[auth] failed_login_window` seconds that
start at a bucket's first attempt, with `[auth] failed_login_limit` allowed in each:

- **Per client address** (`core.ratelimit.client_address`). An address past the limit is refused
  before the database or bcrypt is reached, whichever account it names.
- **Per account.** The account is the user row whatever name found it (username or e-mail share
  one bucket); a name no account has gets a bucket of its own, so unknown names behave the same.
  Past the limit the account refuses *only addresses that have already failed* (their counter is
  not zero). An address with no failure in the window still gets its attempt, so nobody can lock
  a player out by failing against their name from other addresses: the player, signing in from a
  clean address, is let through. A guesser spread over many addresses gets one try per address
  and window once the account is locked (instead of `limit` per address).

Every attempt increments its counters *before* bcrypt runs and is checked against the value the
increment returned, so concurrent attempts cannot all read "below the limit" and then all run
(the count is atomic in Redis and in the memory cache alike). A correct password gives its
increments back, so counters hold failures (and attempts still in flight), never successes.

A name no account has still costs one bcrypt check, against a dummy hash of the configured cost,
so the time of a refusal does not tell whether the account exists.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.auth import auth_settings, authenticator, hash_password, verify_password
from core.cache import Cache
from core.services import Services
from core.users import store as users_db

# osu-web's message for its login throttle (ppy/osu-web resources/lang/en/users.php
# `login.locked_ip`); the same for both locks, so it does not say which one (or that the account
# exists).
LOCKED = "Your IP address is locked. Please wait a few minutes."


BANNED = "This account is banned."


def refusal(user: Mapping[str, Any]) -> str | None:
    """Why an account whose password checked out may still not sign in (a ban, set by
    `core.moderation.sanctions`), or None. Asked only after the password: a wrong guess learns
    nothing about the account."""
    return BANNED if user.get("banned") else None


class SignInLocked(Exception):
    """Too many failed attempts: refused without checking the password."""

    def __init__(self) -> None:
        super().__init__(LOCKED)


def address_key(address: str) -> str:
    return f"login:fail:ip:{address}"


def account_key(user_id: int) -> str:
    return f"login:fail:user:{user_id}"


def unknown_name_key(name: str) -> str:
    return f"login:fail:name:{name[:64]}"


async def _bump(cache: Cache, key: str, window: float) -> int:
    count = await cache.incr(key)
    if count == 1:
        # The window starts at the first attempt; later ones do not extend it.
        await cache.expire(key, window)
    return count


async def _dummy_hash(svc: Services) -> str:
    """A bcrypt hash of a random password at the configured cost, made once per process."""
    auth = authenticator(svc)
    if auth.dummy_hash is None:
        lock = svc.extra_or_make("signin-dummy-lock", asyncio.Lock, asyncio.Lock)
        async with lock:
            if auth.dummy_hash is None:
                auth.dummy_hash = await hash_password(secrets.token_hex(16), auth.bcrypt_rounds)
    return auth.dummy_hash


async def check_password(
    svc: Services,
    address: str,
    password: str,
    account: Callable[[], Awaitable[tuple[str, str | None]]],
) -> bool:
    """Whether `password` is right, counting a failure against `address` and the account; raises
    SignInLocked when either lock refuses the attempt (see the module doc).

    `account()` is called only once the address is known not to be locked, and returns the
    account's bucket (`account_key` or `unknown_name_key`) and its password hash (None: no such
    account; a dummy bcrypt check runs anyway and the answer is False).
    """
    conf = auth_settings(svc.settings)
    limit, window = int(conf["failed_login_limit"]), float(conf["failed_login_window"])
    cache = svc.cache
    key = address_key(address)
    address_count = await _bump(cache, key, window)
    if address_count > limit:
        raise SignInLocked()
    # Whether this address failed (or has an attempt in flight) before this one.
    address_failed = address_count > 1
    bucket, password_hash = await account()
    account_count = await _bump(cache, bucket, window)
    if account_count > limit and address_failed:
        raise SignInLocked()
    if password_hash:
        ok = await verify_password(password, password_hash)
    else:
        await verify_password(password, await _dummy_hash(svc))
        ok = False
    if ok:
        # A success is not a failure: give back this attempt's counts.
        await _refund(cache, key)
        await _refund(cache, bucket)
    return ok


async def _refund(cache: Cache, key: str) -> None:
    # At zero (or below, had the window ended meanwhile) the key goes: a counter left without
    # an expiry would never start a new window.
    if await cache.incr(key, -1) <= 0:
        await cache.delete(key)


async def sign_in(svc: Services, address: str, name: str, password: str) -> dict[str, Any] | None:
    """The user row (with its hash) that `name` (username or e-mail) and `password` sign in as,
    or None; raises SignInLocked. Deleted accounts are None too, after the same checks."""
    found: list[dict[str, Any] | None] = [None]

    async def account() -> tuple[str, str | None]:
        user = None
        if 0 < len(name) <= 254 and 0 < len(password) <= 4096:
            user = await users_db.get_login(svc.db, name)
        found[0] = user
        if user is None:
            return unknown_name_key(users_db.clean_username(name)), None
        return account_key(int(user["id"])), user["password_hash"]

    ok = await check_password(svc, address, password, account)
    user = found[0]
    if not ok or user is None or user["is_deleted"]:
        return None
    return user
