"""File storage behind the `storage_backends` hook: replays, avatars, beatmap archives."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol, TypeAlias

from core.config import Settings
from core.files import private_dir

# Keys are relative paths of plain segments: no `..`, no absolute paths, no odd characters.
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


class InvalidKey(ValueError):
    pass


def check_key(key: str) -> list[str]:
    parts = key.split("/")
    if not parts or len(parts) > 8 or not all(_SEGMENT.match(p) for p in parts):
        raise InvalidKey(f"invalid storage key {key!r}")
    return parts


class Storage(Protocol):
    """A place for files by key; keys pass `check_key` (relative paths of plain segments)."""

    async def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, replacing what was there; readers never see half of it."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under `key`, or None."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove `key`; False when there was nothing."""
        ...

    async def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A file on this machine holding `key` (served without reading it), or None."""
        ...

    def keys(self, prefix: str = "") -> AsyncIterator[str]:
        """Every stored key that starts with `prefix`, in no set order (`storage copy`)."""
        ...

    async def close(self) -> None:
        """Let go of connections when the app or command ends."""
        ...


# What the `storage_backends` hook maps each backend name to: settings in, a Storage out.
StorageFactory: TypeAlias = Callable[[Settings], Storage]


class LocalStorage:
    """Files under a root folder; writes go through a temporary file so readers never see half."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key))

    def local_path(self, key: str) -> Path | None:
        path = self._path(key)
        return path if path.is_file() else None

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        private_dir(path.parent)
        # mkstemp makes the file 0600, and the rename keeps that mode (`core.files`).
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        paths = await asyncio.to_thread(
            lambda: (
                sorted(p for p in self.root.rglob("*") if p.is_file()) if self.root.is_dir() else []
            )
        )
        for path in paths:
            key = path.relative_to(self.root).as_posix()
            # Temporary files of writes under way are not keys.
            if key.startswith(prefix) and not path.name.startswith(".tmp-"):
                yield key

    async def close(self) -> None:
        return None
