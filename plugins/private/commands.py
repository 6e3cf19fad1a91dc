"""`hitcircle user create | set-password` (the moderation commands are in plugins/admin)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from core.app import standalone
from core.auth import auth_settings, hash_password, revoke_user_tokens
from core.cli import command_group
from core.config import load_settings
from core.services import Services, services
from core.users import accounts
from core.users import store as users_db


def add_commands(cli: Any) -> None:
    sub = command_group(cli, "user", "manage accounts")
    create = sub.add_parser("create", help="create an account; prints its id")
    create.add_argument("username")
    create.add_argument("--password", required=True)
    create.add_argument("--email", default=None)
    create.add_argument("--country", default=None, help="ISO 3166-1 alpha-2 (default: config)")
    create.set_defaults(func=lambda args: _run(args, _create))
    password = sub.add_parser("set-password", help="set a password; ends every session")
    password.add_argument("username")
    password.add_argument("--password", required=True)
    password.set_defaults(func=lambda args: _run(args, _set_password))


def _run(args: argparse.Namespace, command: Any) -> int:
    settings = load_settings(args.config)

    async def main() -> int:
        async with standalone(settings) as app:
            return await command(app, args)

    return asyncio.run(main())


def _fail(message: str) -> int:
    print(f"hitcircle: {message}", file=sys.stderr)
    return 1


async def _create(app: Any, args: argparse.Namespace) -> int:
    try:
        row = await accounts.create_account(
            app,
            username=args.username,
            password=args.password,
            email=args.email,
            country=args.country,
        )
    except accounts.AccountRefused as refused:
        return _fail(str(refused))
    print(row["id"])
    return 0


async def _find(svc: Services, username: str) -> dict[str, Any] | None:
    if username.isdigit():
        row = await users_db.get_user(svc.db, int(username))
        if row is not None:
            return row
    return await users_db.find_by_username(svc.db, username, previous=False)


async def _set_password(app: Any, args: argparse.Namespace) -> int:
    svc = services(app)
    row = await _find(svc, args.username)
    if row is None:
        return _fail(f"no user {args.username!r}")
    problems = users_db.password_errors(args.password, row["username"])
    if problems:
        return _fail("; ".join(problems))
    rounds = auth_settings(svc.settings)["bcrypt_rounds"]
    await users_db.update_user(
        svc.db, int(row["id"]), password_hash=await hash_password(args.password, rounds)
    )
    await revoke_user_tokens(svc, int(row["id"]))
    print(f"password of {row['username']} ({row['id']}) changed; sessions ended")
    return 0
