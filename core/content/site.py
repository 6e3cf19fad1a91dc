"""The `[content]` section: where the operator's files are, the changelog stream's names and the
seasonal backgrounds. Core declares it (`core.sections`): the comments on news posts read the
news folder too, whether or not the `content` plugin serves the overlays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config import Key, Section, Settings
from core.content import changelog, documents


def _urls(value: Any) -> str | None:
    bad = [u for u in value if not u.startswith(("http://", "https://"))]
    return f"expected http(s) URLs, got {bad[0]!r}" if bad else None


def _time(value: Any) -> str | None:
    if value and documents.meta_time(value) is None:
        return f"expected an ISO 8601 time like 2027-03-01T00:00:00Z, got {value!r}"
    return None


SECTION = Section(
    "content",
    (
        Key(
            "dir",
            "",
            "Folder of the news/, wiki/ and changelog/ files (empty: data/content).",
            path=True,
        ),
        Key("changelog_stream", "hitcircle", "Name of this server's changelog stream."),
        Key("changelog_display_name", "hitcircle", "How the changelog stream is shown."),
        Key(
            "seasonal_backgrounds",
            (),
            "Image URLs of the seasonal menu backgrounds (lazer shows *.ppy.sh only).",
            check=_urls,
        ),
        Key(
            "seasonal_ends_at",
            "",
            "When the season ends, ISO 8601 (empty: the end of the current year).",
            check=_time,
        ),
        Key("seasonal_user_id", 0, "The user credited for the backgrounds (0: nobody).", min=0),
    ),
    "News, wiki, changelog and seasonal backgrounds for lazer's overlays.",
)


def content_settings(settings: Settings) -> dict[str, Any]:
    return SECTION.read(settings)


def content_dir(settings: Settings) -> Path:
    folder: str = SECTION.read(settings)["dir"]
    return Path(folder) if folder else settings.data_dir / "content"


def news_dir(settings: Settings) -> Path:
    return content_dir(settings) / "news"


def stream(settings: Settings) -> changelog.Stream:
    conf = SECTION.read(settings)
    return changelog.Stream(conf["changelog_stream"], conf["changelog_display_name"])
