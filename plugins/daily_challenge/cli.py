"""`hitcircle daily-challenge pool add|list|remove` and `hitcircle daily-challenge rotate`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from core.cli import run_on_app
from core.daily_challenge import rotation
from core.daily_challenge import store as dc_db
from core.rooms.items import InvalidItem, check_item
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


def parse_mods(value: str) -> list[Any]:
    """`HD,HR` or a JSON array of lazer mods (`[{"acronym": "DT", "settings": {...}}]`)."""
    value = value.strip()
    if not value:
        return []
    if value.startswith(("[", "{")):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidItem(f"mods are not valid JSON: {exc}") from None
        if not isinstance(parsed, list):
            raise InvalidItem("mods must be a JSON array")
        return parsed
    return [{"acronym": part.strip()} for part in value.split(",") if part.strip()]


async def _add(app: Any, args: argparse.Namespace) -> int:
    from core.beatmaps import resolve

    try:
        required, allowed = parse_mods(args.required), parse_mods(args.allowed)
        ruleset = args.ruleset
        if ruleset is None:
            found = await resolve.find_beatmap(app, beatmap_id=args.beatmap_id)
            ruleset = int(found["mode"]) if found is not None else 0
        beatmap, req, alw = await check_item(
            app,
            beatmap_id=args.beatmap_id,
            ruleset_id=ruleset,
            checksum=None,
            required=required,
            allowed=allowed,
            freestyle=False,
        )
    except InvalidItem as exc:
        print(f"hitcircle daily-challenge: {exc}", file=sys.stderr)
        return 1
    entry_id = await dc_db.add_entry(services(app).db, int(beatmap["id"]), ruleset, req, alw)
    print(f"pool entry {entry_id}: beatmap {beatmap['id']} ruleset {ruleset}")
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
    if not await dc_db.remove_entry(services(app).db, args.entry_id):
        print(f"hitcircle daily-challenge: no queued pool entry {args.entry_id}", file=sys.stderr)
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
