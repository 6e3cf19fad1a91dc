"""`hitcircle spotlights create|add-set|list`: the operator's spotlights (ranking charts)."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli import command_group, fail, run_on_app
from core.moderation.audit import OPERATOR, ModerationError
from core.services import services
from core.spotlights import making
from core.spotlights import store as spotlights_db


def add_commands(cli: Any) -> None:
    sub = command_group(cli, "spotlights", "spotlights: ranking charts over chosen beatmapsets")
    create = sub.add_parser("create", help="make a spotlight (then add its sets with add-set)")
    create.add_argument("name")
    create.add_argument("--type", required=True, choices=spotlights_db.TYPES)
    create.add_argument("--start", required=True, metavar="YYYY-MM-DD", help="first day (UTC)")
    create.add_argument("--end", required=True, metavar="YYYY-MM-DD", help="last day (UTC)")
    create.add_argument(
        "--mode-specific",
        action="store_true",
        help="each ruleset counts only the beatmaps made for it (no converts)",
    )
    create.set_defaults(func=lambda args: _run(args, _create))
    add = sub.add_parser("add-set", help="add a beatmapset to a spotlight")
    add.add_argument("spotlight_id", type=int, metavar="ID")
    add.add_argument("set_id", type=int, metavar="SET_ID")
    add.set_defaults(func=lambda args: _run(args, _add_set))
    show = sub.add_parser("list", help="every spotlight, newest first")
    show.set_defaults(func=lambda args: _run(args, _list))


def _run(args: argparse.Namespace, command: Any) -> int:
    # Checked before anything opens: a refused command touches nothing.
    if args.spotlights_command == "create":
        try:
            making.check(args.name, args.type, args.start, args.end)
        except ModerationError as exc:
            return fail(str(exc))
    if args.spotlights_command == "add-set" and not 0 < args.set_id <= making.MAX_SET_ID:
        return fail(f"no beatmapset {args.set_id}")
    return run_on_app(args, command)


async def _create(app: Any, args: argparse.Namespace) -> int:
    entry = await making.create(
        services(app),
        OPERATOR,
        name=args.name,
        type=args.type,
        start=args.start,
        end=args.end,
        mode_specific=args.mode_specific,
    )
    made = entry["details"]
    window = f"{args.type}, {args.start} to {args.end}"
    print(f"spotlight {made['spotlight_id']}: {made['name']} ({window})")
    return 0


async def _add_set(app: Any, args: argparse.Namespace) -> int:
    try:
        entry = await making.add_set(app, OPERATOR, args.spotlight_id, args.set_id)
    except ModerationError as exc:
        return fail(str(exc))
    added = entry["details"]
    print(
        f"spotlight {args.spotlight_id}: added {added['artist']} - {added['title']} ({args.set_id})"
    )
    return 0


async def _list(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    rows = await spotlights_db.listing(db)
    if not rows:
        print("no spotlights")
        return 0
    counts = await spotlights_db.set_counts(db)
    for row in rows:
        specific = "\tmode-specific" if row["mode_specific"] else ""
        print(
            f"{row['id']}\t{row['name']}\t{row['type']}\t{row['start_date']:%Y-%m-%d} to "
            f"{row['end_date']:%Y-%m-%d}\t{counts.get(int(row['id']), 0)} sets{specific}"
        )
    return 0
