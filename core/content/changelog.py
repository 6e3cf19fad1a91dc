"""This server's releases as one changelog stream, from `<content>/changelog/<version>.md`
(ppy/osu-web app/Http/Controllers/ChangelogController.php, app/Transformers/BuildTransformer.php,
UpdateStreamTransformer.php, ChangelogEntryTransformer.php, GithubUserTransformer.php).

Front matter of a release: `version` (else the file name), `date` (else the file's time),
optionally `id`, `youtube_id` and `entries`, a list of `{type, category, title, message, url,
major, author, github_pull_request_id, repository}` (`message` is Markdown). Builds without an
`id` are numbered 1, 2, ... by date; give `id` to keep a number fixed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loguru import logger

from core.content import documents, render
from core.http import time_offset

LIMIT = 21
STREAM_ID = 1
# osu-web ChangelogEntry::getTypeAttribute: anything else reads as `fix`.
ENTRY_TYPES = ("add", "fix")
MESSAGE_FORMATS = ("html", "markdown")
# osu-web changelog.generic, for a build with no entries (ChangelogEntry::placeholder).
GENERIC = "Bug fixes and minor improvements"


@dataclass(frozen=True)
class Stream:
    name: str
    display_name: str


@dataclass(frozen=True)
class Build:
    id: int
    version: str
    date: dt.datetime
    youtube_id: str | None
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def display_version(self) -> str:
        return re.sub(r"[^0-9.]", "", self.version)


def _entries(raw: Any, path: Path) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        logger.warning("changelog {}: `entries` is not a list: ignored", path)
        return []
    return [e for e in raw if isinstance(e, dict)]


def load(folder: Path) -> list[Build]:
    """Every release, newest (highest id) first."""
    found: list[tuple[dt.datetime, str, int | None, str | None, list[dict[str, Any]]]] = []
    for path in documents.markdown_files(folder):
        doc = documents.read(path)
        if doc is None:
            continue
        version = documents.meta_str(doc.meta, "version") or path.name[:-3]
        date = documents.meta_time(doc.meta.get("date")) or doc.modified
        entries = _entries(doc.meta.get("entries"), path)
        given = documents.meta_int(doc.meta, "id")
        found.append((date, version, given, documents.meta_str(doc.meta, "youtube_id"), entries))
    found.sort(key=lambda item: (item[0], item[1]))
    taken = {item[2] for item in found if item[2] is not None}
    builds: dict[int, Build] = {}
    versions: set[str] = set()
    counter = 0
    for date, version, given, youtube_id, entries in found:
        build_id = given
        if build_id is None:
            counter += 1
            while counter in taken:
                counter += 1
            build_id = counter
        if build_id in builds or version in versions:
            logger.warning("changelog: release {} repeats an id or version: skipped", version)
            continue
        versions.add(version)
        builds[build_id] = Build(build_id, version, date, youtube_id, entries)
    return sorted(builds.values(), key=lambda b: b.id, reverse=True)


def stream_shape(stream: Stream) -> dict[str, Any]:
    return {
        "id": STREAM_ID,
        "name": stream.name,
        "display_name": stream.display_name,
        "is_featured": True,
    }


def _github_user(entry: dict[str, Any]) -> dict[str, Any]:
    author = documents.meta_str(entry, "author")
    return {
        "display_name": author or "[no name]",
        "github_url": f"https://github.com/{author}" if author else None,
        "github_username": author,
        "id": None,
        "osu_username": None,
        "user_id": None,
        "user_url": None,
    }


def entry_shape(
    build: Build, index: int, entry: dict[str, Any], formats: tuple[str, ...]
) -> dict[str, Any]:
    kind = documents.meta_str(entry, "type")
    message = documents.meta_str(entry, "message")
    pull = documents.meta_int(entry, "github_pull_request_id")
    repository = documents.meta_str(entry, "repository")
    out: dict[str, Any] = {
        # Stable while the release's entries keep their order.
        "id": build.id * 1000 + index + 1,
        "repository": repository,
        "github_pull_request_id": pull,
        "github_url": (
            f"https://github.com/{repository}/pull/{pull}" if repository and pull else None
        ),
        "url": documents.meta_str(entry, "url"),
        "type": kind if kind in ENTRY_TYPES else "fix",
        "category": documents.meta_str(entry, "category") or "Misc",
        "title": documents.meta_str(entry, "title"),
        "major": bool(entry.get("major") is True),
        "created_at": time_offset(build.date),
        "github_user": _github_user(entry),
    }
    if "markdown" in formats:
        out["message"] = message
    if "html" in formats:
        # The operator's own text; raw HTML in it is escaped all the same (a changelog is text).
        out["message_html"] = render.to_html(message) if message else None
    return out


def _placeholder(formats: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": None,
        "repository": None,
        "github_pull_request_id": None,
        "github_url": None,
        "url": None,
        "type": "fix",
        "category": "Misc",
        "title": GENERIC,
        "major": False,
        "created_at": time_offset(dt.datetime(1970, 1, 1)),
        "github_user": _github_user({"author": "peppy"}),
    }
    if "markdown" in formats:
        out["message"] = None
    if "html" in formats:
        out["message_html"] = None
    return out


def build_shape(
    build: Build,
    stream: Stream,
    *,
    formats: tuple[str, ...] | None = None,
    builds: list[Build] | None = None,
) -> dict[str, Any]:
    """A Build with `update_stream`; with `formats`, its `changelog_entries` in them; with
    `builds` (all of them, newest first), its `versions` (next and previous)."""
    out: dict[str, Any] = {
        "created_at": time_offset(build.date),
        "display_version": build.display_version,
        "id": build.id,
        "users": 0,
        "version": build.version,
        "youtube_id": build.youtube_id,
        "update_stream": stream_shape(stream),
    }
    if formats is not None:
        entries = [entry_shape(build, i, e, formats) for i, e in enumerate(build.entries)]
        out["changelog_entries"] = entries or [_placeholder(formats)]
    if builds is not None:
        index = builds.index(build)
        versions: dict[str, Any] = {}
        if index > 0:
            versions["next"] = build_shape(builds[index - 1], stream)
        if index + 1 < len(builds):
            versions["previous"] = build_shape(builds[index + 1], stream)
        out["versions"] = versions
    return out


def message_formats(requested: list[Any]) -> tuple[str, ...]:
    """osu-web changelogEntryMessageIncludes: the known formats asked for, else both."""
    chosen = tuple(dict.fromkeys(f for f in requested if f in MESSAGE_FORMATS))
    return chosen or MESSAGE_FORMATS


def listing(
    builds: list[Build],
    stream: Stream,
    *,
    stream_name: str | None,
    from_version: str | None,
    to_version: str | None,
    max_id: int | None,
    formats: tuple[str, ...],
) -> dict[str, Any]:
    """GET /changelog."""
    chosen = builds if stream_name is None or stream_name == stream.name else []
    by_version = {b.version: b.id for b in builds}
    if from_version is not None:
        low = by_version.get(from_version)
        chosen = [b for b in chosen if low is not None and b.id >= low]
    if to_version is not None:
        high = by_version.get(to_version)
        chosen = [b for b in chosen if high is not None and b.id <= high]
    if max_id is not None:
        chosen = [b for b in chosen if b.id <= max_id]
    latest = builds[0] if builds else None
    streams = []
    if latest is not None:
        streams.append(
            stream_shape(stream) | {"latest_build": build_shape(latest, stream), "user_count": 0}
        )
    return {
        "streams": streams,
        "builds": [build_shape(b, stream, formats=formats) for b in chosen[:LIMIT]],
        "search": {
            "stream": stream_name,
            "from": from_version,
            "to": to_version,
            "max_id": max_id,
            "limit": LIMIT,
        },
    }


def lookup(builds: list[Build], stream: Stream, key: str, by_id: bool) -> Build | None:
    """GET /changelog/{changelog}: by id (`key=id`), else version, else stream name (its latest
    build), else the version with everything but digits and dots removed."""
    if by_id:
        if not key.isdecimal() or len(key) > 19:
            return None
        return next((b for b in builds if b.id == int(key)), None)
    found = next((b for b in builds if b.version == key), None)
    if found is None and key == stream.name and builds:
        found = builds[0]
    if found is None:
        normalized = re.sub(r"[^0-9.]", "", key)
        found = next((b for b in builds if b.version == normalized), None)
    return found
