"""Files hitcircle creates under its data directory are private (0600, directories 0700) under
the usual umask 022: the SQLite database with its WAL and shared-memory files, stored replays
and archives, and the token signing key."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from core.app import standalone
from core.auth import authenticator
from core.config import Settings
from core.db import is_sqlite, sqlite_path
from core.files import private_database, private_dir, private_file
from core.services import services
from tests.conftest import create_user


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


async def test_a_new_data_dir_is_private_under_umask_022(
    settings: Settings, tmp_path: Path, umask_022: None
) -> None:
    data = tmp_path / "srv" / "hitcircle" / "data"
    fresh = settings.replace(data={"dir": str(data)})
    async with standalone(fresh) as host:
        svc = services(host)
        # A write, so the embedded database has its -wal and -shm files.
        await create_user(host, "peppy")  # type: ignore[arg-type]
        authenticator(svc)  # creates the signing key on first use
        await svc.storage.put("replays/1.osr", b"replay")
        await svc.storage.put("beatmaps/archives/2.osz", b"archive")
        files = [
            data / "oauth-private.pem",
            data / "files" / "replays" / "1.osr",
            data / "files" / "beatmaps" / "archives" / "2.osz",
        ]
        if is_sqlite(fresh.database_url):
            db = sqlite_path(fresh.database_url)
            assert db.parent == data
            files += [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        found = {p: mode(p) for p in files}
        assert found == dict.fromkeys(files, 0o600)
    directories = [
        tmp_path / "srv",
        tmp_path / "srv" / "hitcircle",
        data,
        data / "files",
        data / "files" / "replays",
        data / "files" / "beatmaps",
        data / "files" / "beatmaps" / "archives",
    ]
    assert {d: mode(d) for d in directories} == dict.fromkeys(directories, 0o700)
    # Nothing else was left readable by others.
    exposed = [p for p in data.rglob("*") if mode(p) & 0o077]
    assert exposed == []


def test_existing_files_and_directories_keep_their_mode(tmp_path: Path, umask_022: None) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    private_dir(shared / "a" / "b")
    assert (mode(shared), mode(shared / "a"), mode(shared / "a" / "b")) == (0o755, 0o700, 0o700)
    existing = shared / "existing.db"
    existing.write_bytes(b"")
    os.chmod(existing, 0o640)
    assert not private_file(existing)
    assert mode(existing) == 0o640
    assert private_file(shared / "new")
    assert mode(shared / "new") == 0o600


def test_an_exposed_existing_database_is_reported_once(tmp_path: Path, umask_022: None) -> None:
    db = tmp_path / "old.db"
    db.write_bytes(b"")
    os.chmod(db, 0o644)
    lines: list[str] = []
    sink = logger.add(lines.append, level="WARNING", format="{message}")
    try:
        private_database(db)
        private_database(db)
    finally:
        logger.remove(sink)
    assert len(lines) == 1 and "mode 644" in lines[0] and "chmod 600" in lines[0]
    assert mode(db) == 0o644
