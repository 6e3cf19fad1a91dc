"""Wiki pages from `<content>/wiki/<Path>/<locale>.md`, the layout of ppy/osu-wiki
(ppy/osu-web app/Models/Wiki/Page.php, app/Transformers/WikiPageTransformer.php).

A page missing in the requested locale falls back to `en`. Front matter: `tags`, `layout`
(`markdown_page` or `main_page`), `title` (else the first `# ` heading, else the path's last
segment) and `subtitle` (else the parent page's title, else the path's second last segment).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from core.content import documents

FALLBACK_LOCALE = "en"
MAIN_PAGE = "Main_page"
LAYOUTS = ("markdown_page", "main_page")
LOCALE = re.compile(r"^[a-z]{2}(-[a-z]{2,4})?$")
# A path segment: no dot segments, separators or control characters can reach the file system.
SEGMENT = re.compile(r"^[^/\\\x00-\x1f.][^/\\\x00-\x1f]{0,199}$")
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.M)
MAX_DEPTH = 16


def clean_locale(locale: str) -> str | None:
    """osu-web LocaleMeta::sanitizeCode, for the shapes of locale codes: lower case, or None."""
    lowered = locale.lower()
    return lowered if LOCALE.match(lowered) else None


def clean_path(path: str) -> str | None:
    """The page path with surrounding slashes trimmed and spaces as `_` (osu-web
    OsuWiki::cleanPath), or None when a segment could leave the wiki folder."""
    trimmed = path.strip("/").replace(" ", "_") or MAIN_PAGE
    segments = trimmed.split("/")
    if len(segments) > MAX_DEPTH or not all(SEGMENT.match(s) for s in segments):
        return None
    return trimmed


def _file(folder: Path, path: str, locale: str) -> Path:
    return folder.joinpath(*path.split("/"), f"{locale}.md")


def available_locales(folder: Path, path: str) -> list[str]:
    return sorted(p.name[:-3] for p in documents.markdown_files(folder.joinpath(*path.split("/"))))


def _title(doc: documents.Document, path: str) -> str:
    given = documents.meta_str(doc.meta, "title")
    if given:
        return given
    heading = _HEADING.search(doc.body)
    return heading.group(1) if heading else path.split("/")[-1].replace("_", " ")


def _lookup(folder: Path, path: str, locale: str) -> tuple[documents.Document, str] | None:
    for candidate in dict.fromkeys((locale, FALLBACK_LOCALE)):
        doc = documents.read(_file(folder, path, candidate))
        if doc is not None:
            return doc, candidate
    return None


def page(folder: Path, locale: str, path: str) -> dict[str, Any] | None:
    """GET /wiki/{locale}/{path}: the WikiPage shape, or None (404)."""
    found = _lookup(folder, path, locale)
    if found is None:
        return None
    doc, found_locale = found
    layout = documents.meta_str(doc.meta, "layout")
    tags = doc.meta.get("tags")
    segments = path.split("/")
    subtitle = documents.meta_str(doc.meta, "subtitle")
    if len(segments) > 1:
        parent_path = "/".join(segments[:-1])
        parent = _lookup(folder, parent_path, locale)
        if parent is not None:
            subtitle = _title(parent[0], parent_path)
        elif subtitle is None:
            subtitle = segments[-2].replace("_", " ")
    return {
        "available_locales": available_locales(folder, path),
        "layout": layout if layout in LAYOUTS else "markdown_page",
        "locale": found_locale,
        "markdown": doc.raw,
        "path": path,
        "subtitle": subtitle,
        "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
        "title": _title(doc, path),
    }
