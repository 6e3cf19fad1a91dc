"""Read `.osz` archives defensively: size and count limits, no path tricks, `.osu` files only.

Nothing is extracted to disk; the `.osu` entries are read into memory under a byte budget, so a
zip bomb stops at the limit instead of filling memory.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass

MAX_ARCHIVE_BYTES = 256 * 1024 * 1024
MAX_ENTRIES = 2000
# The sum of every entry's uncompressed size (`beatmaps.archive_max_uncompressed`): each entry
# under the per-entry checks can still add up to a bomb, so the whole archive has a budget too.
MAX_TOTAL_UNCOMPRESSED = 512 * 1024 * 1024
MAX_OSU_BYTES = 16 * 1024 * 1024
MAX_OSU_FILES = 200
MAX_RATIO = 200  # real archives of audio and images compress far less than this
# Entries (and archives) at least this large are held to MAX_RATIO; smaller ones cannot hurt.
RATIO_FLOOR = 64 * 1024


class ArchiveError(ValueError):
    """The archive is refused; `str()` says why in one line."""


@dataclass(frozen=True)
class OsuEntry:
    name: str
    data: bytes


def check_name(name: str) -> None:
    """Refuse names that could escape a folder (absolute, `..`, backslashes, NUL)."""
    if "\\" in name or "\x00" in name:
        raise ArchiveError(f"refused entry name {name!r}")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveError(f"refused absolute path {name!r}")
    normal = posixpath.normpath(name)
    if normal.startswith("../") or normal == ".." or "/../" in f"/{name}/":
        raise ArchiveError(f"refused path traversal in {name!r}")


def osu_entries(data: bytes, max_total: int = MAX_TOTAL_UNCOMPRESSED) -> list[OsuEntry]:
    """The `.osu` files of an archive, after checking every entry of it.

    `max_total` bounds the uncompressed bytes of all entries together. The declared sizes are
    what is checked; zipfile never returns more than an entry declares, so they bound the work.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ArchiveError(f"archive larger than {MAX_ARCHIVE_BYTES // (1024 * 1024)} MiB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ArchiveError(f"not a zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ArchiveError(f"more than {MAX_ENTRIES} entries")
        total = 0
        for info in infos:
            check_name(info.filename)
            if info.flag_bits & 0x1:
                raise ArchiveError(f"encrypted entry {info.filename!r}")
            total += info.file_size
            if total > max_total:
                raise ArchiveError("uncompressed size over the limit (zip bomb?)")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= RATIO_FLOOR and ratio > MAX_RATIO:
                raise ArchiveError(f"entry {info.filename!r} looks like a zip bomb")
        # Many entries each just under the per-entry check still compress as one bomb.
        if total >= RATIO_FLOOR and total / max(len(data), 1) > MAX_RATIO:
            raise ArchiveError("archive expands too much for its size (zip bomb?)")
        entries: list[OsuEntry] = []
        for info in infos:
            if info.is_dir() or not info.filename.lower().endswith(".osu"):
                continue
            if "/" in info.filename:
                continue  # difficulties live at the top level; nested copies are ignored
            if len(entries) >= MAX_OSU_FILES:
                raise ArchiveError(f"more than {MAX_OSU_FILES} .osu files")
            if info.file_size > MAX_OSU_BYTES:
                raise ArchiveError(f"{info.filename!r} is larger than the .osu limit")
            entries.append(OsuEntry(info.filename, _read_limited(archive, info)))
        # A corrupt member anywhere means a broken download: refuse the whole archive.
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError, zlib.error) as exc:
            raise ArchiveError(f"corrupt archive ({exc})") from None
        if bad is not None:
            raise ArchiveError(f"corrupt entry {bad!r}")
    if not entries:
        raise ArchiveError("no .osu files in the archive")
    return entries


def _read_limited(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # The declared size can lie; read at most one byte past the limit and check.
    try:
        with archive.open(info) as fh:
            data = fh.read(MAX_OSU_BYTES + 1)
    except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"cannot read {info.filename!r} ({exc})") from None
    if len(data) > MAX_OSU_BYTES:
        raise ArchiveError(f"{info.filename!r} is larger than the .osu limit")
    return data


def build(files: list[tuple[str, bytes]]) -> bytes:
    """A `.osz` of the given files (for sets imported as loose `.osu` files)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()
