"""`hitcircle daily-challenge pool add|list|remove` and `hitcircle daily-challenge rotate`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core.cli import run_on_app
from core.daily_challenge import pool, rotation
from core.daily_challenge import store as dc_db
from core.moderation.audit import OPERATOR, ModerationError
from core.services import services


def add_commands(cli: Any) -> None:
    group = cli.add_parser("daily-challenge", help="the daily challenge: its map pool and room")
    sub = group.add_subparsers(dest="daily_challenge_command", required=True)
    pool = sub.add_parser("pool", help="the maps the coming days' rooms are made from")
    pool_sub = pool.add_subparsers(dest="pool_command", required=True)
    add = pool_sub.add_parser("add", help="queue a map (used once, in the order added)")
    add.add_argument("beatmap_id", type=int)
    add.add_argument("--ruleset", type=int, default=None, help="0-3 (default: the map's own)")
    add.add_argument(
        "--required", default="", help="required mods: acronyms (HD,HR) or a JSON array"
    )
    add.add_argument("--allowed", default="", help="allowed mods: acronyms or a JSON array")
    add.set_defaults(func=lambda args: run_on_app(args, _add))
    show = pool_sub.add_parser("list", help="the queued maps (--all: with those used)")
    show.add_argument("--all", action="store_true")
    show.set_defaults(func=lambda args: run_on_app(args, _list))
    remove = pool_sub.add_parser("remove", help="drop a queued map by its pool id")
    remove.add_argument("entry_id", type=int)
    remove.set_defaults(func=lambda args: run_on_app(args, _remove))
    rotate = sub.add_parser("rotate", help="make today's room now, unless it exists")
    rotate.set_defaults(func=lambda args: run_on_app(args, _rotate))


async def _add(app: Any, args: argparse.Namespace) -> int:
    try:
        entry = await pool.add(
            app, OPERATOR, args.beatmap_id, args.ruleset, args.required, args.allowed
        )
    except ModerationError as exc:
        print(f"hitcircle daily-challenge: {exc}", file=sys.stderr)
        return 1
    details = entry["details"]
    print(
        f"pool entry {details['entry_id']}: beatmap {details['beatmap_id']} "
        f"ruleset {details['ruleset_id']}"
    )
    return 0


def _mods(mods: list[Any]) -> str:
    return ",".join(str(m["acronym"]) for m in mods) or "-"


async def _list(app: Any, args: argparse.Namespace) -> int:
    rows = await dc_db.entries(services(app).db, include_used=args.all)
    if not rows:
        print("the pool is empty: each day's room is a random ranked map")
        return 0
    for row in rows:
        used = f"used {row['used_on']}" if row["used_on"] else "queued"
        print(
            f"{row['id']}\tbeatmap {row['beatmap_id']}\truleset {row['ruleset_id']}\t"
            f"required {_mods(row['required_mods'])}\tallowed {_mods(row['allowed_mods'])}\t{used}"
        )
    return 0


async def _remove(app: Any, args: argparse.Namespace) -> int:
    try:
        await pool.remove(app, OPERATOR, args.entry_id)
    except ModerationError as exc:
        print(f"hitcircle daily-challenge: {exc}", file=sys.stderr)
        return 1
    print(f"pool entry {args.entry_id} removed")
    return 0


async def _rotate(app: Any, args: argparse.Namespace) -> int:
    from plugins.daily_challenge import make_room

    room_id, made = await make_room(app, services(app).clock.time())
    if room_id is None:
        print("hitcircle daily-challenge: empty pool and no ranked map", file=sys.stderr)
        return 1
    if made:
        await rotation.announce(app, room_id)
    print(f"room {room_id} ({'made now' if made else 'already there'})")
    return 0
