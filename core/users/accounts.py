"""Creating an account: one service for `POST /users` and `hitcircle user create` alike.

It checks the name, address and password by osu-web's rules (ppy/osu-web
app/Libraries/UserRegistration.php), hashes the password, stores the user and fires
`user_registered`, so plugins hear of every new account whichever way it was made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from databases import Database
from starlette.applications import Starlette

from core.auth import auth_settings, hash_password
from core.plugins import resolve
from core.services import HasServices, services
from core.users import profiles
from core.users import store as users_db

# The registration form's field names (ppy/osu osu.Game/Online/API/RegistrationRequest.cs), which
# the client shows each list of problems under; `country` is the CLI's own.
FIELDS = ("username", "user_email", "password")
USERNAME_TAKEN = "Username is already in use!"
EMAIL_TAKEN = "Email address already used."


class AccountRefused(Exception):
    """The account was not created; `problems` lists what is wrong, per form field."""

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        super().__init__("; ".join(p for field in problems.values() for p in field))
        self.problems = {name: list(found) for name, found in problems.items()}


async def problems(
    db: Database, username: str | None, email: str | None, password: str | None
) -> dict[str, list[str]]:
    """What is wrong with each given value (None: not given, nothing to check)."""
    found: dict[str, list[str]] = {name: [] for name in FIELDS}
    if username is not None:
        found["username"] += users_db.username_errors(username)
        if not found["username"] and await users_db.username_taken(db, username):
            found["username"].append(USERNAME_TAKEN)
    if email is not None:
        found["user_email"] += users_db.email_errors(email)
        if not found["user_email"] and await users_db.email_taken(db, email):
            found["user_email"].append(EMAIL_TAKEN)
    if password is not None:
        found["password"] += users_db.password_errors(password, username or "")
    return found


async def create_account(
    app: Starlette | HasServices,
    *,
    username: str,
    password: str,
    email: str | None,
    country: str | None = None,
) -> dict[str, Any]:
    """Store a new user and tell the plugins; returns the user row or raises AccountRefused."""
    svc = services(app)
    conf = profiles.accounts_settings(svc.settings)
    found = await problems(svc.db, username, email, password)
    country_code = (country or conf["default_country"]).upper()
    if len(country_code) != 2 or not country_code.isalpha():
        found["country"] = [f"country must be two letters, got {country_code!r}"]
    if any(found.values()):
        raise AccountRefused(found)
    rounds = auth_settings(svc.settings)["bcrypt_rounds"]
    try:
        user_id = await users_db.insert_user(
            svc.db,
            username=username,
            password_hash=await hash_password(password, rounds),
            email=email,
            country_code=country_code,
        )
    except Exception:
        # Lost a race for the same name or address: a unique index decided. The loser hears
        # what the check before would have told it.
        lost: dict[str, list[str]] = {}
        if await users_db.username_taken(svc.db, username):
            lost["username"] = [USERNAME_TAKEN]
        if email is not None and await users_db.email_taken(svc.db, email):
            lost["user_email"] = [EMAIL_TAKEN]
        if lost:
            raise AccountRefused(lost) from None
        raise
    row = await users_db.get_user(svc.db, user_id)
    assert row is not None
    for result in svc.plugins.hook.user_registered(app=app, user=row):
        await resolve(result)
    return row
