"""`hitcircle tags add|list|remove`, `hitcircle packs create|add-set|list|delete` and
`hitcircle beatmaps nominate`: the operator's side of tags, packs and nominations."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any

from core.beatmaps import feedback, packs, resolve, set_events
from core.beatmaps import store as beatmaps_db
from core.cli import fail, run_on_app
from core.db import duplicate_errors
from core.services import services

Command = Callable[[Any, argparse.Namespace], Awaitable[int]]


def _ruleset(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 3:
        raise argparse.ArgumentTypeError("a ruleset is 0-3")
    return number


def add_commands(cli: Any, group: Callable[[Any, str, str], Any]) -> None:
    """Add the commands; `group` makes (or finds) a shared group such as `beatmaps`."""
    tags = cli.add_parser("tags", help="the tags players vote for on beatmaps")
    tags_sub = tags.add_subparsers(dest="tags_command", required=True)
    add = tags_sub.add_parser("add", help="add a tag")
    add.add_argument("name")
    add.add_argument("--description", required=True)
    add.add_argument("--ruleset", type=_ruleset, default=None, help="0-3 (default: every one)")
    add.set_defaults(func=lambda args: run_on_app(args, _tag_add))
    tags_sub.add_parser("list", help="list the tags").set_defaults(
        func=lambda args: run_on_app(args, _tag_list)
    )
    remove = tags_sub.add_parser("remove", help="remove a tag (by name) and its votes")
    remove.add_argument("name")
    remove.set_defaults(func=lambda args: run_on_app(args, _tag_remove))

    pk = cli.add_parser("packs", help="beatmap packs")
    pk_sub = pk.add_subparsers(dest="packs_command", required=True)
    create = pk_sub.add_parser("create", help="create a pack; the tag's letter is its type")
    create.add_argument("tag", help="e.g. S1 (standard), T3 (theme); see docs/operators.md")
    create.add_argument("name")
    create.add_argument("--author", required=True)
    create.add_argument("--ruleset", type=_ruleset, default=None)
    create.add_argument("--url", default="", help="where the pack's archive is downloaded")
    create.add_argument(
        "--no-diff-reduction",
        action="store_true",
        help="passes with EZ, HT, NF or DC do not count towards completing it",
    )
    create.set_defaults(func=lambda args: run_on_app(args, _pack_create))
    add_set = pk_sub.add_parser("add-set", help="put a stored beatmapset in a pack")
    add_set.add_argument("tag")
    add_set.add_argument("set_id", type=int, metavar="SET_ID")
    add_set.set_defaults(func=lambda args: run_on_app(args, _pack_add_set))
    pk_sub.add_parser("list", help="list the packs").set_defaults(
        func=lambda args: run_on_app(args, _pack_list)
    )
    delete = pk_sub.add_parser("delete", help="delete a pack")
    delete.add_argument("tag")
    delete.set_defaults(func=lambda args: run_on_app(args, _pack_delete))

    beatmaps = group(cli, "beatmaps", "beatmap maintenance")
    nominate = beatmaps.add_parser("nominate", help="nominate a set (a modding history event)")
    nominate.add_argument("set_id", type=int, metavar="SET_ID")
    nominate.set_defaults(func=lambda args: run_on_app(args, _nominate))


async def _tag_add(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    name = args.name.strip()
    if not name or len(name) > feedback.MAX_TAG_NAME:
        return fail(f"a tag name is 1-{feedback.MAX_TAG_NAME} characters")
    if len(args.description) > feedback.MAX_TAG_DESCRIPTION:
        return fail(f"a description is at most {feedback.MAX_TAG_DESCRIPTION} characters")
    if await feedback.tag_by_name(db, name) is not None:
        return fail(f"tag {name!r} exists")
    try:
        tag_id = await feedback.add_tag(db, name, args.description, args.ruleset)
    except duplicate_errors():
        return fail(f"tag {name!r} exists (names are compared without case on MariaDB)")
    print(f"tag {tag_id}: {name}")
    return 0


async def _tag_list(app: Any, args: argparse.Namespace) -> int:
    for row in await feedback.all_tags(services(app).db):
        ruleset = "all" if row["ruleset_id"] is None else str(row["ruleset_id"])
        print(f"{row['id']}\t{row['name']}\truleset {ruleset}\t{row['description']}")
    return 0


async def _tag_remove(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    tag = await feedback.tag_by_name(db, args.name)
    if tag is None:
        return fail(f"no tag {args.name!r}")
    await feedback.remove_tag(db, int(tag["id"]))
    print(f"removed tag {args.name}")
    return 0


async def _pack_create(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    tag = args.tag.strip()
    if (
        not packs.TAG_PATTERN.fullmatch(tag)
        or len(tag) > packs.MAX_TAG
        or tag[0] not in packs.TYPE_PREFIXES.values()
    ):
        letters = ", ".join(f"{v} {k}" for k, v in packs.TYPE_PREFIXES.items())
        return fail(f"a pack tag is its type's letter ({letters}), then letters, digits, - or _")
    if await packs.by_tag(db, tag) is not None:
        return fail(f"pack {tag} exists")
    try:
        await packs.create(
            db,
            tag,
            args.name,
            args.author,
            args.ruleset,
            args.url,
            getattr(args, "no_diff_reduction", False),
        )
    except duplicate_errors():
        # MariaDB compares tags without case: `s1` is taken when `S1` exists.
        return fail(f"pack {tag} exists")
    print(f"pack {tag}: {args.name}")
    return 0


async def _pack_add_set(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    pack = await packs.by_tag(db, args.tag)
    if pack is None:
        return fail(f"no pack {args.tag}")
    row = await beatmaps_db.beatmapset_by_id(db, args.set_id)
    if row is None or row["deleted_at"] is not None:
        return fail(f"no beatmapset {args.set_id} is stored")
    if not await packs.add_set(db, int(pack["id"]), args.set_id):
        return fail(f"beatmapset {args.set_id} is in pack {args.tag} already")
    # `pack_tags` is in the cached set view.
    await resolve.invalidate(app, args.set_id)
    print(f"beatmapset {args.set_id} added to pack {args.tag}")
    return 0


async def _pack_list(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    for row in await packs.all_packs(db):
        count = len(await packs.set_ids(db, int(row["id"])))
        print(f"{row['tag']}\t{row['name']}\tby {row['author']}\t{count} sets")
    return 0


async def _pack_delete(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    pack = await packs.by_tag(db, args.tag)
    if pack is None:
        return fail(f"no pack {args.tag}")
    set_ids = await packs.set_ids(db, int(pack["id"]))
    await packs.delete(db, int(pack["id"]))
    for set_id in set_ids:
        await resolve.invalidate(app, set_id)
    print(f"deleted pack {args.tag}")
    return 0


async def _nominate(app: Any, args: argparse.Namespace) -> int:
    db = services(app).db
    row = await beatmaps_db.beatmapset_by_id(db, args.set_id)
    if row is None or row["deleted_at"] is not None:
        return fail(f"no beatmapset {args.set_id} is stored")
    modes = sorted(
        {
            int(r["mode"])
            for r in (await beatmaps_db.beatmaps_of_sets(db, [args.set_id]))[args.set_id]
        }
    )
    names = ["osu", "taiko", "fruits", "mania"]
    await set_events.record(
        db, args.set_id, set_events.NOMINATE, comment={"modes": [names[m] for m in modes if m < 4]}
    )
    print(f"beatmapset {args.set_id} nominated")
    return 0
