"""Files hitcircle creates under its data directory: readable by the account that runs it only.

Whatever the umask, directories hitcircle makes are 0700 and files 0600: the SQLite database
(whose `-wal`, `-shm` and `-journal` files SQLite creates with the database file's own mode),
replays, beatmap archives and avatars (`core.storage.LocalStorage`) and the token signing key
(`core.auth`). What exists already keeps the mode the operator gave it; a database others can
read is reported once.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from loguru import logger

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600

_reported: set[Path] = set()


def private_dir(path: Path) -> None:
    """Make `path` and its missing parents, each 0700; existing directories are left alone."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made meanwhile by another worker
        # mkdir's mode passes through the umask, which may have removed bits 0700 needs.
        os.chmod(directory, PRIVATE_DIR)


def private_file(path: Path) -> bool:
    """Create `path` empty with mode 0600 unless it exists; True when it was created."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return True


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to a new file `path` (0600 from the moment it exists; it must not exist)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    with os.fdopen(fd, "wb") as fh:
        os.fchmod(fh.fileno(), PRIVATE_FILE)
        fh.write(data)


def private_database(path: Path) -> None:
    """Create the SQLite file 0600 before SQLite does (it would use 0644 under umask 022), or
    report once an existing one that group or others may read."""
    if path.name in ("", ":memory:"):
        return
    if private_file(path):
        return
    resolved = path.resolve()
    if resolved in _reported:
        return
    _reported.add(resolved)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        logger.warning(
            "{} has mode {:o}: other accounts may read it; `chmod 600 {}*` while hitcircle is "
            "stopped (new databases are created 0600)",
            path,
            mode,
            path,
        )
