"""`hitcircle user create | set-password`, `hitcircle teams ...` (moderation: plugins/admin)."""

from __future__ import annotations

import argparse
from typing import Any

from core.auth import auth_settings, hash_password, revoke_user_tokens
from core.cli import command_group, fail, run_on_app
from core.services import Services, services
from core.teams import lifecycle
from core.teams import store as teams_db
from core.users import accounts
from core.users import store as users_db


def add_commands(cli: Any) -> None:
    sub = command_group(cli, "user", "manage accounts")
    create = sub.add_parser("create", help="create an account; prints its id")
    create.add_argument("username")
    create.add_argument("--password", required=True)
    create.add_argument("--email", default=None)
    create.add_argument("--country", default=None, help="ISO 3166-1 alpha-2 (default: config)")
    create.set_defaults(func=lambda args: run_on_app(args, _create))
    password = sub.add_parser("set-password", help="set a password; ends every session")
    password.add_argument("username")
    password.add_argument("--password", required=True)
    password.set_defaults(func=lambda args: run_on_app(args, _set_password))


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
        return fail(str(refused))
    print(row["id"])
    return 0


async def _find(svc: Services, username: str) -> dict[str, Any] | None:
    if username.isdecimal():
        row = await users_db.get_user(svc.db, int(username))
        if row is not None:
            return row
    return await users_db.find_by_username(svc.db, username, previous=False)


async def _set_password(app: Any, args: argparse.Namespace) -> int:
    svc = services(app)
    row = await _find(svc, args.username)
    if row is None:
        return fail(f"no user {args.username!r}")
    problems = users_db.password_errors(args.password, row["username"])
    if problems:
        return fail("; ".join(problems))
    rounds = auth_settings(svc.settings)["bcrypt_rounds"]
    await users_db.update_user(
        svc.db, int(row["id"]), password_hash=await hash_password(args.password, rounds)
    )
    await revoke_user_tokens(svc, int(row["id"]))
    print(f"password of {row['username']} ({row['id']}) changed; sessions ended")
    return 0


# --- `hitcircle teams` -------------------------------------------------------------------------


def add_team_commands(cli: Any) -> None:
    sub = command_group(cli, "teams", "manage teams")
    create = sub.add_parser("create", help="create a team led by a user; prints its id")
    create.add_argument("name")
    create.add_argument("short_name")
    create.add_argument("--leader", required=True, help="username or id of the leader")
    create.add_argument("--flag-url", default=None, help="http(s) URL of the flag image")
    create.add_argument("--colour", default=None, help="primary colour, #rrggbb")
    create.add_argument("--description", default=None)
    create.set_defaults(func=lambda args: run_on_app(args, _team_create))
    listing = sub.add_parser("list", help="list teams: id, short name, name, leader, members")
    listing.set_defaults(func=lambda args: run_on_app(args, _team_list))
    for name, helptext, command in (
        ("add-member", "put a user (not in a team) in a team", _team_add),
        ("remove-member", "take a user (not the leader) out of a team", _team_remove),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("team", type=int)
        cmd.add_argument("user", help="username or id")
        cmd.set_defaults(func=lambda args, command=command: run_on_app(args, command))
    disband = sub.add_parser("disband", help="delete a team, its members and requests")
    disband.add_argument("team", type=int)
    disband.set_defaults(func=lambda args: run_on_app(args, _team_disband))


async def _team_create(app: Any, args: argparse.Namespace) -> int:
    svc = services(app)
    leader = await _find(svc, args.leader)
    if leader is None:
        return fail(f"no user {args.leader!r}")
    fields = {
        "name": args.name,
        "short_name": args.short_name,
        "flag_url": args.flag_url,
        "colour_primary": args.colour,
        "description": args.description,
    }
    try:
        team_id = await lifecycle.create(svc, int(leader["id"]), fields)
    except lifecycle.TeamRefused as refused:
        return fail(str(refused))
    print(team_id)
    return 0


async def _team_list(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    for row in await teams_db.list_teams(db):
        members = await teams_db.member_ids(db, int(row["id"]))
        print(
            f"{row['id']}\t[{row['short_name']}]\t{row['name']}\t"
            f"leader {row['leader_id']}\t{len(members)} members"
        )
    return 0


async def _team_member(app: Any, args: argparse.Namespace, change: Any, done: str) -> int:
    svc = services(app)
    row = await _find(svc, args.user)
    if row is None:
        return fail(f"no user {args.user!r}")
    try:
        await change(svc, args.team, int(row["id"]))
    except lifecycle.TeamRefused as refused:
        return fail(str(refused))
    print(f"{row['username']} ({row['id']}) {done} team {args.team}")
    return 0


async def _team_add(app: Any, args: argparse.Namespace) -> int:
    return await _team_member(app, args, lifecycle.add_member, "added to")


async def _team_remove(app: Any, args: argparse.Namespace) -> int:
    return await _team_member(app, args, lifecycle.remove_member, "removed from")


async def _team_disband(app: Any, args: argparse.Namespace) -> int:
    try:
        await lifecycle.disband(services(app), None, args.team)
    except lifecycle.TeamRefused as refused:
        return fail(str(refused))
    print(f"team {args.team} disbanded")
    return 0
