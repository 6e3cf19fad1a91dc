"""`hitcircle user create | set-password | restrict | supporter`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from core.app import standalone
from core.auth import auth_settings, hash_password, revoke_user_tokens
from core.config import load_settings
from core.services import Services, services
from core.users import accounts, activity, profiles
from core.users import store as users_db


def add_commands(cli: Any) -> None:
    user = cli.add_parser("user", help="manage accounts")
    sub = user.add_subparsers(dest="user_command", required=True)
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
    restrict = sub.add_parser("restrict", help="restrict an account (or lift it with --lift)")
    restrict.add_argument("username")
    restrict.add_argument("--lift", action="store_true")
    restrict.set_defaults(func=lambda args: _run(args, _restrict))
    supporter = sub.add_parser(
        "supporter", help="make an account an osu!supporter (or stop it with --off)"
    )
    supporter.add_argument("username")
    supporter.add_argument("--off", action="store_true")
    supporter.set_defaults(func=lambda args: _run(args, _supporter))


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


async def _restrict(app: Any, args: argparse.Namespace) -> int:
    svc = services(app)
    row = await _find(svc, args.username)
    if row is None:
        return _fail(f"no user {args.username!r}")
    await users_db.update_user(svc.db, int(row["id"]), restricted=not args.lift)
    if not args.lift:
        # The account history moderation keeps; a restriction from here has no end date.
        await activity.add_history(svc.db, int(row["id"]), "restriction", permanent=True)
    await profiles.invalidate(svc, int(row["id"]))
    print(f"{row['username']} ({row['id']}) {'unrestricted' if args.lift else 'restricted'}")
    return 0


async def _supporter(app: Any, args: argparse.Namespace) -> int:
    svc = services(app)
    row = await _find(svc, args.username)
    if row is None:
        return _fail(f"no user {args.username!r}")
    if args.off:
        await users_db.update_user(svc.db, int(row["id"]), support_level=0)
    else:
        level = max(int(row["support_level"]), 1)
        await users_db.update_user(svc.db, int(row["id"]), support_level=level, has_supported=True)
    await profiles.invalidate(svc, int(row["id"]))
    state = "is no longer" if args.off else "is now"
    print(f"{row['username']} ({row['id']}) {state} an osu!supporter")
    if args.off and profiles.accounts_settings(svc.settings)["everyone_supporter"]:
        print("note: [accounts] everyone_supporter is on, so every account still counts as one")
    return 0
