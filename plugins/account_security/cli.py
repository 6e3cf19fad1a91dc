"""`hitcircle security totp-disable NAME | verify-email NAME`: an operator's help to a player."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli import fail, run_on_app
from core.db import utcnow
from core.services import services
from core.users import store as users_db
from plugins.account_security import store, views


def add_commands(cli: Any) -> None:
    group = cli.add_parser("security", help="account security: second factors, e-mail")
    sub = group.add_subparsers(dest="security_command", required=True)
    totp = sub.add_parser("totp-disable", help="turn off a player's TOTP (a lost authenticator)")
    totp.add_argument("username")
    totp.set_defaults(func=lambda args: _run(args, _totp_disable))
    email = sub.add_parser("verify-email", help="mark a player's e-mail address verified")
    email.add_argument("username")
    email.set_defaults(func=lambda args: _run(args, _verify_email))
    logins = sub.add_parser("logins", help="a player's recent sign-ins: time, address, country")
    logins.add_argument("username")
    logins.add_argument("--limit", type=int, default=20)
    logins.set_defaults(func=lambda args: _run(args, lambda svc, row: _logins(svc, row, args)))


def _run(args: argparse.Namespace, command: Any) -> int:
    """`command(services, user row)` as a command body, for the user `args.username` names."""

    async def body(host: Any, args: argparse.Namespace) -> int:
        svc = services(host)
        name: str = args.username
        row = None
        if name.isdecimal():
            row = await users_db.get_user(svc.db, int(name))
        if row is None:
            row = await users_db.find_by_username(svc.db, name, previous=False)
        if row is None:
            return fail(f"no user {name!r}")
        result: int = await command(svc, row)
        return result

    return run_on_app(args, body)


async def _totp_disable(svc: Any, row: Any) -> int:
    if (found := await store.security_row(svc.db, int(row["id"]))) is None or found[
        "totp_secret"
    ] is None:
        print(f"{row['username']} ({row['id']}) has no TOTP")
        return 0
    await views.disable_totp(svc, int(row["id"]))
    print(f"TOTP of {row['username']} ({row['id']}) turned off; backup codes deleted")
    return 0


async def _verify_email(svc: Any, row: Any) -> int:
    await store.update_security(svc.db, int(row["id"]), email_verified_at=utcnow())
    print(f"e-mail address of {row['username']} ({row['id']}) marked verified")
    return 0


async def _logins(svc: Any, row: Any, args: argparse.Namespace) -> int:
    found = await store.logins(svc.db, int(row["id"]), max(1, min(args.limit, 1000)))
    if not found:
        print(f"{row['username']} ({row['id']}) has not signed in with a password")
    for login in found:
        print(
            f"{login['created_at']:%Y-%m-%d %H:%M:%S}  {login['ip']:<39}  "
            f"{login['country_code'] or '--'}  {login['client']}"
        )
    return 0
