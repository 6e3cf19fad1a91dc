"""Markdown files with YAML front matter, read once per modification.

A file is `---`, YAML, `---`, then the Markdown body (front matter is optional). Each read checks
the file's modification time and size and parses it again only when either changed, so an
operator's edit shows on the next request of every worker, without a restart.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

# Files larger than this are not content an operator writes by hand; they are skipped.
MAX_FILE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Document:
    path: Path
    meta: dict[str, Any]
    body: str
    # The whole file as written (the wiki answers it as `markdown`).
    raw: str
    modified: dt.datetime


_cache: dict[Path, tuple[tuple[int, int], Document]] = {}
_lock = threading.Lock()


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body). Front matter that is not a YAML mapping counts as none."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    # Imported here, on the first front matter read: not every worker reads documents (memory
    # at start-up).
    import yaml

    for end in range(1, len(lines)):
        if lines[end].strip() in ("---", "..."):
            head = "\n".join(lines[1:end])
            body = "\n".join(lines[end + 1 :]).lstrip("\n")
            try:
                meta = yaml.safe_load(head)
            except yaml.YAMLError as exc:
                raise ValueError(f"front matter is not valid YAML ({exc})") from None
            return (meta if isinstance(meta, dict) else {}), body
    return {}, text


def read(path: Path) -> Document | None:
    """The document at `path`, or None when it is missing, too large or unreadable (logged)."""
    try:
        stat = path.stat()
    except OSError:
        # A removed file leaves nothing behind.
        with _lock:
            _cache.pop(path, None)
        return None
    if not path.is_file():
        return None
    stamp = (stat.st_mtime_ns, stat.st_size)
    with _lock:
        hit = _cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    if stat.st_size > MAX_FILE_BYTES:
        logger.warning("content file {} is over {} bytes: skipped", path, MAX_FILE_BYTES)
        return None
    try:
        raw = path.read_bytes().decode("utf-8")
        meta, body = split_front_matter(raw.replace("\r\n", "\n"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        logger.warning("content file {} cannot be read: {}", path, exc)
        return None
    modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(tzinfo=None, microsecond=0)
    document = Document(path, meta, body, raw, modified)
    with _lock:
        _cache[path] = (stamp, document)
    return document


def markdown_files(folder: Path) -> list[Path]:
    """The `*.md` files directly in `folder`, by name; none when it does not exist."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(
        Path(e.path) for e in entries if e.name.endswith(".md") and not e.name.startswith(".")
    )


def meta_time(value: Any) -> dt.datetime | None:
    """A front matter date or time as naive UTC; None when absent or not a time."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        # osu-wiki writes `2021-05-27 12:00:00 +0000`.
        for form in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z"):
            try:
                return meta_time(dt.datetime.strptime(text, form))
            except ValueError:
                pass
        try:
            return meta_time(dt.datetime.fromisoformat(text))
        except ValueError:
            return None
    return None


def meta_str(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text or None


def meta_int(meta: dict[str, Any], key: str) -> int | None:
    value = meta.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53:
        return value
    return None
