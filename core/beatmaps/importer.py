"""`hitcircle beatmaps import` (plugin `maps_local`) and editor submissions (plugin
`beatmap_submission`): `.osz` archives and `.osu` files into the beatmap tables.

Every archive is read and checked whole before anything is written (one transaction per set), so
a broken or hostile archive leaves no trace. Known checksums are skipped before any difficulty is
computed (the expensive part): importing twice changes nothing and costs little.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.beatmaps import archive, difficulty, set_events
from core.beatmaps import store as beatmaps_db
from core.beatmaps.osu_file import OsuFile, OsuFileError, parse
from core.beatmaps.resolve import invalidate, osu_key
from core.beatmaps.sources import beatmap_settings
from core.beatmaps.store import STATUS_IDS, STATUS_NAMES
from core.db import utcnow
from core.services import services
from core.users import store as users_db

MAX_OSU_FILE = archive.MAX_OSU_BYTES


class ImportError_(ValueError):
    """One input is refused; `str()` is the reason."""


# What refuses a file or package (its one line is the reason), as opposed to a bug.
REFUSALS: tuple[type[Exception], ...] = (
    ImportError_,
    archive.ArchiveError,
    OsuFileError,
    difficulty.DifficultyError,
)


@dataclass
class Summary:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    sets: set[int] = field(default_factory=set)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"imported {self.imported} new and {self.updated} updated beatmaps in "
            f"{len(self.sets)} sets, {self.unchanged} unchanged, {len(self.failed)} failed"
        )


@dataclass
class Parsed:
    name: str
    data: bytes
    info: OsuFile
    stars: float = 0.0
    max_combo: int = 0
    # osu! files only: the taiko/catch/mania converts (core.beatmaps.converts), stored with it;
    # None when rosu-pp could not convert it (the set's first view tries again and logs why).
    converts: list[dict[str, Any]] | None = None


def expand(paths: Sequence[str]) -> list[Path]:
    """Files to import: the `.osz`/`.osu` files named, and those found under named folders."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(_walk(path)))
        else:
            found.append(path)
    return found


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith((".osz", ".osu")):
                yield Path(dirpath) / name


class Importer:
    def __init__(self, app: Any, status: str, first_local_id: int) -> None:
        if status not in STATUS_IDS:
            raise ValueError(f"unknown status {status!r}")
        self.app = app
        self.status = STATUS_IDS[status]
        self.first_local_id = first_local_id
        self.summary = Summary()

    async def import_path(self, path: Path) -> None:
        """Import one `.osz` or `.osu` file; a refusal is recorded in the summary, not raised."""
        await self.import_group([path])

    async def import_group(self, paths: Sequence[Path]) -> None:
        """One `.osz`, or loose `.osu` files of one folder (grouped into sets by their metadata)."""
        try:
            if len(paths) == 1 and paths[0].suffix.lower() == ".osz":
                path = paths[0]
                if not path.is_file():
                    raise ImportError_("no such file")
                if path.stat().st_size > archive.MAX_ARCHIVE_BYTES:
                    raise ImportError_("archive larger than the limit")
                await self.import_archive(path.name, path.read_bytes())
                return
            loose: list[tuple[str, bytes]] = []
            for path in paths:
                if path.suffix.lower() != ".osu":
                    self.summary.failed.append((str(path), "not a .osz or .osu file"))
                elif not path.is_file():
                    self.summary.failed.append((str(path), "no such file"))
                elif path.stat().st_size > MAX_OSU_FILE:
                    self.summary.failed.append((str(path), ".osu file larger than the limit"))
                else:
                    loose.append((str(path), path.read_bytes()))
            await self.import_loose(loose)
        except REFUSALS as exc:
            self.summary.failed.append((str(paths[0]), str(exc)))
        except OSError as exc:
            self.summary.failed.append((str(paths[0]), exc.strerror or str(exc)))

    async def import_archive(self, name: str, data: bytes) -> None:
        limit = beatmap_settings(services(self.app).settings)["archive_max_uncompressed"]
        entries = archive.osu_entries(data, limit)
        known = await beatmaps_db.known_checksums(
            services(self.app).db, [hashlib.md5(entry.data).hexdigest() for entry in entries]
        )
        if len(known) == len(entries):
            # Nothing new in the archive: not even parsed.
            self.summary.unchanged += len(entries)
            return
        parsed = [self._parse(entry.name, entry.data) for entry in entries]
        key = f"beatmaps/osz/{hashlib.sha1(data).hexdigest()}.osz"
        await self._store(parsed, archive_data=data, archive_key=key, replace_missing=True)

    async def submit(
        self, data: bytes, set_id: int, members: set[int], owner: Mapping[str, Any]
    ) -> list[Parsed]:
        """Store an editor's whole package as set `set_id`, owned by `owner`.

        The archive is checked as an import is; every `.osu` must carry this set's id (or none)
        and one of `members`, the ids the set was given, each exactly once (osu-server-beatmap-
        submission's BeatmapSubmissionController.updateBeatmapSetFromArchiveAsync), so the
        editor's beatmap ids stay stable. Raises ImportError_ (or ArchiveError, OsuFileError,
        DifficultyError) and writes nothing when refused. Returns the parsed difficulties.
        """
        limit = beatmap_settings(services(self.app).settings)["archive_max_uncompressed"]
        entries = archive.osu_entries(data, limit)
        parsed = [self._parse(entry.name, entry.data) for entry in entries]
        seen: set[int] = set()
        for p in parsed:
            if p.info.beatmapset_id not in (0, set_id):
                raise ImportError_(f"{p.name}: BeatmapSetID is not {set_id}")
            if p.info.beatmap_id not in members or p.info.beatmap_id in seen:
                raise ImportError_(f"{p.name}: beatmap has invalid ID inside")
            seen.add(p.info.beatmap_id)
        missing = sorted(members - seen)
        if missing:
            ids = ", ".join(str(i) for i in missing)
            raise ImportError_(f"the package is missing .osu files for beatmaps {ids}")
        key = f"beatmaps/osz/{hashlib.sha1(data).hexdigest()}.osz"
        await self._store(
            parsed,
            archive_data=data,
            archive_key=key,
            replace_missing=True,
            set_id=set_id,
            owner=owner,
        )
        return parsed

    async def import_loose(self, files: list[tuple[str, bytes]]) -> None:
        """Loose `.osu` files: each bad file is refused alone, the others import."""
        groups: dict[Any, list[Parsed]] = {}
        for path, data in files:
            try:
                p = self._parse(Path(path).name, data)
            except OsuFileError as exc:
                self.summary.failed.append((path, str(exc)))
                continue
            info = p.info
            key = info.beatmapset_id or (info.artist, info.title, info.creator)
            groups.setdefault(key, []).append(p)
        for parsed in groups.values():
            await self._store(parsed, archive_data=None, archive_key=None, replace_missing=False)

    def _parse(self, name: str, data: bytes) -> Parsed:
        """The file's metadata (cheap); the difficulty comes later, for new files only."""
        try:
            info = parse(data)
        except OsuFileError as exc:
            raise OsuFileError(f"{name}: {exc}") from None
        return Parsed(name=name, data=data, info=info)

    async def _rate(self, parsed: Sequence[Parsed], *, whole: bool) -> list[Parsed]:
        """Star rating and max combo of each file. A file rosu-pp refuses fails the whole
        archive (`whole`), or is refused alone among loose files."""
        rated: list[Parsed] = []
        for p in parsed:
            try:
                p.stars, p.max_combo, p.converts = await difficulty.run(
                    difficulty.summary_with_converts, p.data
                )
            except difficulty.DifficultyError as exc:
                if whole:
                    raise
                self.summary.failed.append((p.name, str(exc)))
                continue
            rated.append(p)
        return rated

    async def _store(
        self,
        parsed: list[Parsed],
        archive_data: bytes | None,
        archive_key: str | None,
        replace_missing: bool,
        set_id: int | None = None,
        owner: Mapping[str, Any] | None = None,
    ) -> None:
        """`set_id` and `owner` (a submission): the set and its mapper are given, not read from
        the files, and the set is stored even when no `.osu` changed (the package did)."""
        db = services(self.app).db
        known = await beatmaps_db.known_checksums(db, [p.info.checksum for p in parsed])
        if set_id is not None:
            # Only this set's difficulties count as known: the same file elsewhere is not ours.
            mine = {
                row["checksum"]
                for row in (await beatmaps_db.beatmaps_of_sets(db, [set_id]))[set_id]
            }
            known &= mine
        fresh = [p for p in parsed if p.info.checksum not in known]
        self.summary.unchanged += len(parsed) - len(fresh)
        fresh = await self._rate(fresh, whole=replace_missing)
        if not fresh and set_id is None:
            return
        if set_id is None:
            set_id = await self._set_id(parsed)
        claimed = [p.info.beatmap_id for p in fresh if p.info.beatmap_id]
        existing = {row["id"]: row for row in await beatmaps_db.beatmaps_by_ids(db, claimed)}
        _, next_map = await beatmaps_db.max_ids(db)
        next_map = max(next_map, self.first_local_id - 1)
        now = utcnow()
        rows: list[dict[str, Any]] = []
        updated = 0
        for p in fresh:
            beatmap_id = p.info.beatmap_id
            current = existing.get(beatmap_id) if beatmap_id else None
            if not beatmap_id or (current is not None and current["beatmapset_id"] != set_id):
                next_map += 1
                beatmap_id = next_map
            elif current is not None:
                updated += 1
            rows.append(self._beatmap_row(p, beatmap_id, now))
        if replace_missing:
            # The archive is the whole set: keep difficulties it still has under their ids.
            for p in parsed:
                if p.info.checksum in known:
                    row = await beatmaps_db.beatmap_by_checksum(db, p.info.checksum)
                    if row is not None and row["beatmapset_id"] == set_id:
                        # The set's status is its difficulties' too.
                        rows.append({**row, "status": self.status})
        storage = services(self.app).storage
        for p in fresh:
            await storage.put(osu_key(p.info.checksum), p.data)
        if archive_data is not None and archive_key is not None:
            await storage.put(archive_key, archive_data)
        existing_set = await beatmaps_db.beatmapset_by_id(db, set_id)
        set_row = self._set_row(set_id, fresh or parsed, rows, archive_key, now, existing_set)
        if owner is not None:
            set_row["creator"] = owner["username"]
            mapper: Mapping[str, Any] | None = owner
        else:
            # A mapper with an account here owns the set (and its difficulties).
            mapper = await users_db.find_by_username(db, set_row["creator"], previous=False)
        if mapper is not None:
            set_row["user_id"] = int(mapper["id"])
            for row in rows:
                if not row.get("user_id") or owner is not None:
                    row["user_id"] = int(mapper["id"])
        old_ids, old_sums = await beatmaps_db.store_set(
            db, set_row, rows, replace_missing=replace_missing
        )
        for p, row in zip(fresh, rows, strict=False):
            if p.converts is not None:
                await beatmaps_db.store_converts(db, row["id"], p.info.checksum, p.converts)
        await invalidate(self.app, set_id, old_ids, old_sums)
        previous = (
            STATUS_NAMES.get(int(existing_set["status"])) if existing_set is not None else None
        )
        for kind in set_events.status_events(previous, STATUS_NAMES[self.status]):
            await set_events.record(db, set_id, kind)
        self.summary.imported += len(fresh) - updated
        self.summary.updated += updated
        self.summary.sets.add(set_id)

    async def _set_id(self, parsed: list[Parsed]) -> int:
        claimed = Counter(p.info.beatmapset_id for p in parsed if p.info.beatmapset_id)
        if claimed:
            return claimed.most_common(1)[0][0]
        # No id in the files: a difficulty we already know tells the set, else a new local id.
        db = services(self.app).db
        for p in parsed:
            row = await beatmaps_db.beatmap_by_checksum(db, p.info.checksum)
            if row is not None:
                return int(row["beatmapset_id"])
        max_set, _ = await beatmaps_db.max_ids(db)
        return max(max_set, self.first_local_id - 1) + 1

    def _beatmap_row(self, p: Parsed, beatmap_id: int, now: Any) -> dict[str, Any]:
        info = p.info
        return {
            "id": beatmap_id,
            "checksum": info.checksum,
            "filename": p.name[:255],
            "mode": info.mode,
            "status": self.status,
            "version": info.version or "Normal",
            "user_id": 0,
            "difficulty_rating": p.stars,
            "total_length": info.total_length,
            "hit_length": info.hit_length,
            "bpm": info.bpm,
            "cs": info.cs,
            "ar": info.approach_rate,
            "accuracy": info.od,
            "drain": info.hp,
            "count_circles": info.count_circles,
            "count_sliders": info.count_sliders,
            "count_spinners": info.count_spinners,
            "max_combo": p.max_combo,
            "last_updated": now,
            "deleted_at": None,
            "osu_key": osu_key(info.checksum),
        }

    def _set_row(
        self,
        set_id: int,
        fresh: list[Parsed],
        rows: list[dict[str, Any]],
        archive_key: str | None,
        now: Any,
        existing: Any,
    ) -> dict[str, Any]:
        info = fresh[0].info
        ranked = self.status > 0
        previous_ranked = existing["ranked_date"] if existing is not None else None
        return {
            "id": set_id,
            "artist": info.artist or "Unknown",
            "artist_unicode": info.artist_unicode or info.artist or "Unknown",
            "title": info.title or "Unknown",
            "title_unicode": info.title_unicode or info.title or "Unknown",
            "creator": info.creator or "Unknown",
            "user_id": 0,
            "source": info.source,
            "tags": info.tags,
            "status": self.status,
            "genre_id": 1,
            "language_id": 1,
            "bpm": max((r["bpm"] for r in rows), default=info.bpm),
            "nsfw": False,
            "video": any(p.info.video for p in fresh),
            "storyboard": any(p.info.storyboard for p in fresh),
            "spotlight": False,
            "download_disabled": False,
            "audio_offset": 0,
            "track_id": None,
            "rating": 0.0,
            # Players' ratings survive a re-import (core/beatmaps/feedback.py keeps the counts).
            "ratings": existing["ratings"] if existing is not None else None,
            "description": None,
            "favourite_count": 0,
            "play_count": 0,
            "submitted_date": existing["submitted_date"] if existing is not None else now,
            "ranked_date": (previous_ranked or now) if ranked else None,
            "last_updated": now,
            "deleted_at": None,
            "origin": "local",
            "fetched_at": now,
            "osz_key": archive_key,
        }
