"""The moderation commands: `hitcircle user silence | unsilence | restrict | ban | unrestrict |
rename | group | badge | supporter | wipe-scores`, `hitcircle scores delete`, `hitcircle reports
list | resolve | dismiss`, `hitcircle groups list | create` and `hitcircle audit`.

The command line acts as the operator: every action is allowed, and the audit log records it
with no actor id and the name "cli".
"""

from __future__ import annotations

import argparse
from typing import Any

from core.cli import command_group, fail, run_on_app
from core.moderation import audit, identity, queue, recognition, sanctions, score_removal
from core.moderation import store as moderation_db
from core.moderation.audit import OPERATOR, ModerationError
from core.moderation.views import user_group
from core.services import Services, services
from core.users import profiles
from core.users import store as users_db


def add_commands(cli: Any) -> None:
    user = command_group(cli, "user", "manage accounts")
    silence = user.add_parser("silence", help="silence a user: no chat until it ends")
    silence.add_argument("username")
    silence.add_argument("--duration", required=True, help="e.g. 30m, 1h, 7d (seconds if bare)")
    silence.add_argument("--reason", required=True)
    silence.set_defaults(func=lambda args: _run(args, _silence))
    unsilence = user.add_parser("unsilence", help="end a user's silence now")
    unsilence.add_argument("username")
    unsilence.add_argument("--reason")
    unsilence.set_defaults(func=lambda args: _run(args, _unsilence))
    restrict = user.add_parser("restrict", help="restrict a user (hidden from others, no chat)")
    restrict.add_argument("username")
    restrict.add_argument("--reason")
    restrict.add_argument("--lift", action="store_true", help="the same as `user unrestrict`")
    restrict.set_defaults(func=lambda args: _run(args, _restrict))
    ban = user.add_parser("ban", help="ban a user: restricted, sessions ended, sign-in refused")
    ban.add_argument("username")
    ban.add_argument("--reason", required=True)
    ban.set_defaults(func=lambda args: _run(args, _ban))
    unrestrict = user.add_parser("unrestrict", help="lift a user's restriction or ban")
    unrestrict.add_argument("username")
    unrestrict.add_argument("--reason")
    unrestrict.set_defaults(func=lambda args: _run(args, _unrestrict))
    rename = user.add_parser("rename", help="rename a user (the old name stays theirs)")
    rename.add_argument("username")
    rename.add_argument("new_username")
    rename.add_argument("--reason")
    rename.set_defaults(func=lambda args: _run(args, _rename))
    group = user.add_parser("group", help="add a user to a group or remove them")
    group_sub = group.add_subparsers(dest="group_command", required=True)
    group_add = group_sub.add_parser("add", help="add a user to a group")
    group_add.add_argument("username")
    group_add.add_argument("group", help="the group's identifier (admin, gmt, nat, bot, ...)")
    group_add.add_argument("--playmodes", help="comma-separated rulesets, for groups with them")
    group_add.add_argument("--probationary", action="store_true")
    group_add.set_defaults(func=lambda args: _run(args, _group_add))
    group_remove = group_sub.add_parser("remove", help="remove a user from a group")
    group_remove.add_argument("username")
    group_remove.add_argument("group")
    group_remove.set_defaults(func=lambda args: _run(args, _group_remove))
    badge = user.add_parser("badge", help="award a badge or take one away")
    badge_sub = badge.add_subparsers(dest="badge_command", required=True)
    badge_add = badge_sub.add_parser("add", help="award a badge; prints its id")
    badge_add.add_argument("username")
    badge_add.add_argument("--description", required=True)
    badge_add.add_argument("--image-url", required=True)
    badge_add.add_argument("--url", default=None)
    badge_add.set_defaults(func=lambda args: _run(args, _badge_add))
    badge_remove = badge_sub.add_parser("remove", help="take a badge away")
    badge_remove.add_argument("username")
    badge_remove.add_argument("badge_id", type=int)
    badge_remove.set_defaults(func=lambda args: _run(args, _badge_remove))
    badge_list = badge_sub.add_parser("list", help="a user's badges with their ids")
    badge_list.add_argument("username")
    badge_list.set_defaults(func=lambda args: _run(args, _badge_list))
    supporter = user.add_parser(
        "supporter", help="make an account an osu!supporter (or stop it with --off)"
    )
    supporter.add_argument("username")
    supporter.add_argument("--off", action="store_true")
    supporter.set_defaults(func=lambda args: _run(args, _supporter))
    wipe = user.add_parser("wipe-scores", help="delete every score of a user; stats recomputed")
    wipe.add_argument("username")
    wipe.add_argument("--ruleset", choices=("osu", "taiko", "fruits", "mania"))
    wipe.add_argument("--reason")
    wipe.set_defaults(func=lambda args: _run(args, _wipe))

    scores = command_group(cli, "scores", "scores")
    delete = scores.add_parser("delete", help="delete a score; its player's stats recomputed")
    delete.add_argument("score_id", type=int)
    delete.add_argument("--reason")
    delete.set_defaults(func=lambda args: _run(args, _score_delete))

    reports = command_group(cli, "reports", "the reports queue")
    listing = reports.add_parser("list", help="reports, newest first")
    listing.add_argument("--status", default="open", choices=queue.STATUSES)
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(func=lambda args: _run(args, _reports_list))
    for name, resolution in (("resolve", "resolved"), ("dismiss", "dismissed")):
        close = reports.add_parser(name, help=f"mark a report {resolution}")
        close.add_argument("report_id", type=int)
        close.add_argument("--note")
        close.set_defaults(func=lambda args, r=resolution: _run(args, _reports_close, r))

    groups = command_group(cli, "groups", "user groups")
    groups.add_parser("list", help="every group").set_defaults(
        func=lambda args: _run(args, _groups_list)
    )
    create = groups.add_parser("create", help="create a custom group")
    create.add_argument("identifier", help="lower case letters, digits and _")
    create.add_argument("--name", required=True)
    create.add_argument("--short-name", required=True, help="the badge text, up to 8 letters")
    create.add_argument("--colour", help="#RRGGBB")
    create.add_argument("--description")
    create.add_argument("--playmodes", action="store_true", help="memberships name rulesets")
    create.set_defaults(func=lambda args: _run(args, _groups_create))

    log = cli.add_parser("audit", help="read the moderation audit log, newest first")
    log.add_argument("--user", help="only actions on this user")
    log.add_argument("--action", help="only this action (silence, ban, ...)")
    log.add_argument("--limit", type=int, default=50)
    log.set_defaults(func=lambda args: _run(args, _audit))


def _run(args: argparse.Namespace, command: Any, *extra: Any) -> int:
    """`command(services, args, *extra)` as a command body; a refused change is one line."""

    async def body(app: Any, args: argparse.Namespace, *extra: Any) -> int:
        try:
            result: int = await command(services(app), args, *extra)
        except ModerationError as exc:
            return fail(str(exc))
        return result

    return run_on_app(args, body, *extra)


class NoUser(ModerationError):
    pass


async def _find(svc: Services, username: str) -> dict[str, Any]:
    row = None
    if username.isdecimal() and len(username) <= 18:
        row = await users_db.get_user(svc.db, int(username))
    if row is None:
        row = await users_db.find_by_username(svc.db, username, previous=False)
    if row is None:
        raise NoUser(f"no user {username!r}")
    return row


def _who(row: dict[str, Any]) -> str:
    return f"{row['username']} ({row['id']})"


async def _silence(svc: Services, args: argparse.Namespace) -> int:
    seconds = audit.parse_duration(args.duration)
    reason = audit.clean_reason(args.reason, required=True)
    row = await _find(svc, args.username)
    await sanctions.silence(svc, OPERATOR, row, seconds, reason)
    print(f"{_who(row)} silenced for {args.duration}")
    return 0


async def _unsilence(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    await sanctions.unsilence(svc, OPERATOR, row, audit.clean_reason(args.reason, required=False))
    print(f"{_who(row)} unsilenced")
    return 0


async def _restrict(svc: Services, args: argparse.Namespace) -> int:
    if args.lift:
        return await _unrestrict(svc, args)
    row = await _find(svc, args.username)
    await sanctions.restrict(svc, OPERATOR, row, audit.clean_reason(args.reason, required=False))
    print(f"{_who(row)} restricted")
    return 0


async def _ban(svc: Services, args: argparse.Namespace) -> int:
    reason = audit.clean_reason(args.reason, required=True)
    row = await _find(svc, args.username)
    await sanctions.ban(svc, OPERATOR, row, reason)
    print(f"{_who(row)} banned; every session ended")
    return 0


async def _unrestrict(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    await sanctions.unrestrict(svc, OPERATOR, row, audit.clean_reason(args.reason, required=False))
    print(f"{_who(row)} unrestricted")
    return 0


async def _rename(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    reason = audit.clean_reason(args.reason, required=False)
    await identity.rename(svc, OPERATOR, row, args.new_username, reason)
    print(f"{_who(row)} is now {args.new_username}")
    return 0


async def _group_add(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    modes = [m.strip() for m in (args.playmodes or "").split(",") if m.strip()]
    await identity.add_to_group(
        svc, OPERATOR, row, args.group, playmodes=modes, probationary=args.probationary
    )
    print(f"{_who(row)} is in {args.group}")
    return 0


async def _group_remove(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    await identity.remove_from_group(svc, OPERATOR, row, args.group)
    print(f"{_who(row)} left {args.group}")
    return 0


async def _badge_add(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    entry = await recognition.add_badge(
        svc, OPERATOR, row, description=args.description, image_url=args.image_url, url=args.url
    )
    print(entry["details"]["badge_id"])
    return 0


async def _badge_remove(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    await recognition.remove_badge(svc, OPERATOR, row, args.badge_id)
    print(f"badge {args.badge_id} of {_who(row)} removed")
    return 0


async def _badge_list(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    for badge in await moderation_db.user_badges(svc.db, int(row["id"])):
        print(f"{badge['id']}  {badge['awarded_at']:%Y-%m-%d}  {badge['description']}")
    return 0


async def _supporter(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    await recognition.set_supporter(svc, OPERATOR, row, not args.off)
    state = "is no longer" if args.off else "is now"
    print(f"{_who(row)} {state} an osu!supporter")
    if args.off and profiles.accounts_settings(svc.settings)["everyone_supporter"]:
        print("note: [accounts] everyone_supporter is on, so every account still counts as one")
    return 0


async def _wipe(svc: Services, args: argparse.Namespace) -> int:
    row = await _find(svc, args.username)
    reason = audit.clean_reason(args.reason, required=False)
    entry = await score_removal.wipe_scores(svc, OPERATOR, row, args.ruleset, reason)
    print(f"{entry['details']['deleted']} scores of {_who(row)} deleted; statistics recomputed")
    return 0


async def _score_delete(svc: Services, args: argparse.Namespace) -> int:
    reason = audit.clean_reason(args.reason, required=False)
    entry = await score_removal.delete_score(svc, OPERATOR, args.score_id, reason)
    print(f"score {args.score_id} of user {entry['user_id']} deleted; statistics recomputed")
    return 0


async def _reports_list(svc: Services, args: argparse.Namespace) -> int:
    limit = min(max(args.limit, 1), 1000)
    for r in await queue.list_reports(svc, OPERATOR, args.status, None, limit):
        comments = " ".join(r["comments"].split())[:80]
        print(
            f"{r['id']}  {r['created_at']}  {r['status']}  {r['reportable_type']} "
            f"{r['reportable_id']} (user {r['user_id']}) by {r['reporter_id']}: "
            f"{r['reason']}  {comments}"
        )
    return 0


async def _reports_close(svc: Services, args: argparse.Namespace, resolution: str) -> int:
    note = audit.clean_reason(args.note, required=False)
    await queue.close(svc, OPERATOR, args.report_id, resolution, note)
    print(f"report {args.report_id} {resolution}")
    return 0


async def _groups_list(svc: Services, args: argparse.Namespace) -> int:
    for row in await moderation_db.all_groups(svc.db):
        group = user_group(row)
        members = len(await moderation_db.members(svc.db, int(row["id"])))
        print(
            f"{group['id']}  {group['identifier']}  {group['short_name']}  "
            f"{group['colour'] or '-'}  {group['name']}  ({members} members)"
        )
    return 0


async def _groups_create(svc: Services, args: argparse.Namespace) -> int:
    entry = await identity.create_group(
        svc,
        OPERATOR,
        identifier=args.identifier,
        name=args.name,
        short_name=args.short_name,
        colour=args.colour,
        description=args.description,
        has_playmodes=args.playmodes,
    )
    print(entry["details"]["group_id"])
    return 0


async def _audit(svc: Services, args: argparse.Namespace) -> int:
    user_id = None
    if args.user is not None:
        user_id = int((await _find(svc, args.user))["id"])
    limit = min(max(args.limit, 1), 1000)
    entries = await moderation_db.log_entries(
        svc.db, user_id=user_id, action=args.action, limit=limit
    )
    for e in entries:
        details = " ".join(f"{k}={v}" for k, v in e["details"].items())
        print(
            f"{e['id']}  {e['created_at']:%Y-%m-%d %H:%M:%S}  {e['actor_name']}  {e['action']}  "
            f"user {e['user_id'] if e['user_id'] is not None else '-'}  "
            f"{e['reason'] or ''}  {details}".rstrip()
        )
    return 0
