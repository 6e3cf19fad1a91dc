"""Registrations racing for one e-mail address or one name: one account, the others refused."""

import asyncio

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from core.services import services
from core.users import store as users_db
from core.users.accounts import EMAIL_TAKEN, USERNAME_TAKEN
from tests.plugins.registration.test_registration import form


async def accounts_where(app: Starlette, condition: sa.ColumnElement[bool]) -> int:
    query = sa.select(sa.func.count()).select_from(users_db.users).where(condition)
    return int(await services(app).db.fetch_val(query))


async def test_concurrent_registrations_with_one_email(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    emails = ["same@example.com", "Same@Example.com", "SAME@example.COM"] * 2
    bodies = [form(f"player{n}", email, "correct horse") for n, email in enumerate(emails)]
    answers = await asyncio.gather(
        *(client.post("/users", content=body, headers=headers) for body, headers in bodies)
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [422] * 5, [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 422:
            problems = answer.json()["form_error"]["user"]
            assert problems == {"username": [], "user_email": [EMAIL_TAKEN], "password": []}
    assert await accounts_where(app, users_db.users.c.email_clean == "same@example.com") == 1


async def test_concurrent_registrations_with_one_name(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    names = ["new player", "New_Player", "NEW PLAYER", "new_player"]
    bodies = [form(name, f"p{n}@example.com", "correct horse") for n, name in enumerate(names)]
    answers = await asyncio.gather(
        *(client.post("/users", content=body, headers=headers) for body, headers in bodies)
    )
    assert sorted(a.status_code for a in answers) == [200, 422, 422, 422]
    for answer in answers:
        if answer.status_code == 422:
            assert answer.json()["form_error"]["user"]["username"] == [USERNAME_TAKEN]
    assert await accounts_where(app, users_db.users.c.username_clean == "new_player") == 1
