"""Local beatmaps: `hitcircle beatmaps import PATH...` and downloads of imported sets.

A plugin of its own (apart from `maps_upstream`) so an offline or LAN server runs with the
upstream plugin disabled and nothing ever reaches out. Settings: `[beatmaps_local]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from core.app import standalone
from core.beatmaps import archive
from core.beatmaps import store as beatmaps_db
from core.beatmaps.sources import Download, FetchedSet
from core.beatmaps.store import OPERATOR_STATUSES
from core.cli import command_group
from core.config import Key, Section, Settings, load_settings
from core.hooks import hookimpl
from core.services import services

SECTION = Section(
    "beatmaps_local",
    (
        Key(
            "default_status",
            "pending",
            "Status of imported sets when `--status` is not given.",
            choices=OPERATOR_STATUSES,
        ),
        # Far above official ids, below the client's 2^31.
        Key(
            "first_local_id",
            1_500_000_000,
            "Files without ids get ids from here up.",
            min=1,
            max=2**31 - 1,
        ),
    ),
    "Imported beatmaps (`hitcircle beatmaps import`).",
)


def local_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


@hookimpl
def settings_sections() -> list[Section]:
    return [SECTION]


class LocalSource:
    """Imported sets: everything is in the database already; downloads come from storage."""

    name = "local"

    async def lookup(self, app: Starlette, **_: Any) -> FetchedSet | None:
        return None

    async def beatmapset(self, app: Starlette, set_id: int) -> FetchedSet | None:
        return None

    async def osu_file(self, app: Starlette, beatmap: Mapping[str, Any]) -> bytes | None:
        return None

    def refresh_after(self, app: Starlette) -> float | None:
        return None

    async def download(
        self, app: Starlette, beatmapset: Mapping[str, Any], no_video: bool
    ) -> Download | None:
        storage = services(app).storage
        filename = _archive_name(beatmapset)
        key = beatmapset["osz_key"]
        if key:
            path = storage.local_path(key)
            if path is not None:
                return Download(path=path, filename=filename)
            data = await storage.get(key)
            if data is not None:
                return Download(data=data, filename=filename)
        if beatmapset["origin"] != "local":
            return None
        # Imported as loose .osu files: an archive of the difficulties stored for the set.
        rows = (await beatmaps_db.beatmaps_of_sets(services(app).db, [beatmapset["id"]]))[
            beatmapset["id"]
        ]
        files: list[tuple[str, bytes]] = []
        for row in rows:
            data = await storage.get(row["osu_key"]) if row["osu_key"] else None
            if data is not None:
                files.append((row["filename"] or f"{row['id']}.osu", data))
        if not files:
            return None
        return Download(data=await asyncio.to_thread(archive.build, files), filename=filename)


def _archive_name(beatmapset: Mapping[str, Any]) -> str:
    name = f"{beatmapset['id']} {beatmapset['artist']} - {beatmapset['title']}"
    safe = "".join(ch for ch in name if ch.isalnum() or ch in " -_.()[]")
    return f"{safe.strip()}.osz"


SOURCE = LocalSource()


@hookimpl
def beatmap_sources() -> list[Any]:
    return [SOURCE]


# --- CLI -----------------------------------------------------------------------------------


@hookimpl
def commands(cli: Any) -> None:
    # `beatmaps nominate` is core's (core/beatmaps/cli.py): the group is shared.
    sub = command_group(cli, "beatmaps", "beatmap maintenance")
    cmd = sub.add_parser(
        "import", help="import .osz archives and .osu files (folders are searched)"
    )
    cmd.add_argument("paths", nargs="+", metavar="PATH")
    cmd.add_argument(
        "--status", choices=OPERATOR_STATUSES, help="rank status of imported sets (default: config)"
    )
    cmd.set_defaults(func=cmd_import)
    cmd = sub.add_parser(
        "status",
        help="change a set's status (queued for clients; pp and statistics recomputed)",
    )
    cmd.add_argument("set_id", type=int, metavar="SET_ID")
    cmd.add_argument("status", choices=OPERATOR_STATUSES)
    cmd.set_defaults(func=cmd_status)


def cmd_import(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    config = local_settings(settings)
    return asyncio.run(run_import(settings, args.paths, args.status or config["default_status"]))


async def run_import(settings: Settings, paths: list[str], status: str) -> int:
    from core.beatmaps.importer import Importer, expand

    async with standalone(settings) as app:
        importer = Importer(app, status, local_settings(settings)["first_local_id"])
        groups = _groups(expand(paths))
        bar = Progress(sum(len(g) for g in groups))
        for group in groups:
            await importer.import_group(group)
            bar.advance(len(group), group[0].name)
        bar.close()
    summary = importer.summary
    for path, reason in summary.failed:
        print(f"refused {path}: {reason}", file=sys.stderr)
    print(summary.line())
    return 1 if summary.failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    return asyncio.run(run_status(settings, args.set_id, args.status))


async def run_status(settings: Settings, set_id: int, status: str) -> int:
    from core.beatmaps.status import UnknownSet, change_status

    async with standalone(settings) as app:
        try:
            players = await change_status(app, set_id, status)
        except UnknownSet:
            print(f"hitcircle beatmaps status: no beatmapset {set_id} is stored", file=sys.stderr)
            return 1
    print(f"beatmapset {set_id} is {status}; recomputed {players} players")
    return 0


def _groups(paths: list[Path]) -> list[list[Path]]:
    """One group per archive; loose `.osu` files grouped by folder (a folder is usually a set)."""
    groups: list[list[Path]] = []
    loose: dict[Path, list[Path]] = {}
    for path in paths:
        if path.suffix.lower() == ".osu":
            loose.setdefault(path.parent, []).append(path)
        else:
            groups.append([path])
    groups.extend(loose.values())
    return groups


class Progress:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.tty = sys.stderr.isatty()

    def advance(self, count: int, label: str) -> None:
        self.done += count
        width = 30
        filled = width * self.done // self.total
        bar = "#" * filled + "-" * (width - filled)
        line = f"[{bar}] {self.done}/{self.total} {label[:40]}"
        if self.tty:
            print(f"\r{line:<90}", end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)
