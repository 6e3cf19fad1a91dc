"""What a beatmap source is (the `beatmap_sources` hook returns these) and how they are ordered.

A source answers a lookup miss with a whole set (`FetchedSet`), serves `.osu` files the server
does not have yet, and tells how a set is downloaded. Every method may return None: "not mine".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from starlette.applications import Starlette

from core.config import Key, Section, Settings, positive
from core.services import services

SECTION = Section(
    "beatmaps",
    (
        Key(
            "sources",
            ("local", "upstream"),
            "Tried in this order; names of sources that no enabled plugin provides are skipped.",
        ),
        Key(
            "cache_ttl",
            300,
            "Seconds encoded beatmap/beatmapset responses stay cached (dropped on change too).",
            min=1,
        ),
        Key("difficulty_workers", 2, "Processes computing difficulty attributes.", min=1, max=64),
        Key(
            "difficulty_timeout",
            20.0,
            "Seconds one difficulty calculation may take before the request gets 422.",
            check=positive,
        ),
        # Zip bombs.
        Key(
            "archive_max_uncompressed",
            512 * 1024 * 1024,
            "Bytes all entries of one imported .osz may hold uncompressed, together.",
            min=1,
        ),
    ),
    "Beatmap sources, caching and difficulty calculation.",
)


def beatmap_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


@dataclass
class FetchedSet:
    """A set as a source knows it: `beatmapsets` and `beatmaps` column values."""

    beatmapset: dict[str, Any]
    beatmaps: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Download:
    """A file to send (`path` on disk, or `data`) named `filename`, or a URL to redirect to."""

    data: bytes | None = None
    path: Path | None = None
    filename: str = ""
    url: str | None = None


class BeatmapSource(Protocol):
    """What the `beatmap_sources` hook returns: one place beatmaps come from.

    `name` is what `[beatmaps] sources` orders by, and the `origin` stored on the sets it gives
    (at most 16 characters). A method that raises counts as "not mine" and is logged.
    """

    name: str

    async def lookup(
        self,
        app: Starlette,
        *,
        beatmap_id: int | None = None,
        checksum: str | None = None,
        filename: str | None = None,
    ) -> FetchedSet | None:
        """The whole set holding the beatmap with this id, `.osu` md5 or file name."""
        ...

    async def beatmapset(self, app: Starlette, set_id: int) -> FetchedSet | None:
        """The set with this id (also used to refresh an unsettled set)."""
        ...

    async def osu_file(self, app: Starlette, beatmap: Mapping[str, Any]) -> bytes | None:
        """The `.osu` bytes of a stored beatmap row; kept in storage when their md5 matches."""
        ...

    async def download(
        self, app: Starlette, beatmapset: Mapping[str, Any], no_video: bool
    ) -> Download | None:
        """How a stored set is downloaded: a file, bytes or a URL to redirect to."""
        ...

    def refresh_after(self, app: Starlette) -> float | None:
        """Seconds after which an unsettled set from this source is fetched again (None: never)."""
        ...


def ordered_sources(app: Starlette) -> list[BeatmapSource]:
    by_name: dict[str, BeatmapSource] = {}
    for result in services(app).plugins.hook.beatmap_sources():
        for source in result or []:
            by_name.setdefault(source.name, source)
    order = beatmap_settings(services(app).settings)["sources"]
    return [by_name[name] for name in order if name in by_name]
