"""In-game sign-up: `POST /users` as osu!lazer sends it (multipart `user[...]` fields)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.auth import auth_settings, hash_password
from core.domain import profiles
from core.domain import users as users_db
from core.hooks import hookimpl
from core.http import json, params
from core.plugins import resolve


async def register(request: Request) -> Response:
    state = request.app.state
    form = (await params(request)).dict("user")
    fields = {k: form.get(k) for k in ("username", "user_email", "password")}
    problems: dict[str, list[str]] = {"username": [], "user_email": [], "password": []}
    values: dict[str, str] = {}
    for name, value in fields.items():
        if not isinstance(value, str) or not value:
            problems[name].append("This field is required.")
        elif len(value) > 4096:
            problems[name].append("This value is too long.")
        else:
            values[name] = value
    username = values.get("username")
    email = values.get("user_email")
    password = values.get("password")
    if username is not None:
        problems["username"] += users_db.username_errors(username)
        if not problems["username"] and await users_db.username_taken(state.db, username):
            problems["username"].append("Username is already in use!")
    if email is not None:
        problems["user_email"] += users_db.email_errors(email)
        if not problems["user_email"] and await users_db.email_taken(state.db, email):
            problems["user_email"].append("Email address already used.")
    if password is not None:
        problems["password"] += users_db.password_errors(password, username or "")
    if any(problems.values()):
        return json({"form_error": {"user": problems}}, 422)
    assert username is not None and email is not None and password is not None
    conf = profiles.accounts_settings(state.settings)
    rounds = auth_settings(state.settings)["bcrypt_rounds"]
    try:
        user_id = await users_db.insert_user(
            state.db,
            username=username,
            password_hash=await hash_password(password, rounds),
            email=email,
            country_code=conf["default_country"],
        )
    except Exception:
        # Lost a race for the same name: the unique index decided.
        if await users_db.username_taken(state.db, username):
            problems["username"].append("Username is already in use!")
            return json({"form_error": {"user": problems}}, 422)
        raise
    row = await users_db.get_user(state.db, user_id)
    assert row is not None
    for result in state.plugins.hook.user_registered(app=request.app, user=row):
        await resolve(result)
    return json(profiles.user_compact(row, conf))


@hookimpl
def routes() -> list[BaseRoute]:
    return [Route("/users", register, methods=["POST"])]
