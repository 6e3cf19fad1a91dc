"""Countries of client addresses from a local MaxMind-format database (maxminddb).

`[geoip] database` names the `.mmdb` file (GeoLite2-Country, GeoIP2-Country, DB-IP's free
country file, ...), relative to the data directory unless absolute. Nothing is downloaded: the
operator keeps the file current (MaxMind's geoipupdate does it). Without a file every lookup is
None and accounts get `[accounts] default_country`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from loguru import logger

from core.config import ConfigError, Key, Section, Settings

SECTION = Section(
    "geoip",
    (
        Key(
            "database",
            "",
            "A MaxMind-format country database (.mmdb), relative to data.dir unless absolute; "
            "empty: no countries from addresses.",
        ),
    ),
    "Countries of client addresses.",
)

# One reader per file, shared by the app (maxminddb readers are thread-safe and read-only); the
# file's modification time is part of the key, so a replaced file is opened afresh.
_readers: dict[tuple[str, float], Any] = {}


def database_path(settings: Settings) -> Path | None:
    name: str = SECTION.read(settings)["database"]
    if not name:
        return None
    path = Path(name)
    return path if path.is_absolute() else settings.data_dir / path


def check(settings: Settings) -> None:
    """Stop start-up when a database is named but cannot be read."""
    path = database_path(settings)
    if path is not None and _reader(path) is None:
        raise ConfigError("geoip.database", f"cannot read a MaxMind database at {path}")


def _reader(path: Path) -> Any:
    import maxminddb

    try:
        key = (str(path), os.stat(path).st_mtime)
    except OSError:
        return None
    reader = _readers.get(key)
    if reader is None:
        try:
            reader = maxminddb.open_database(str(path))
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            logger.warning("GeoIP database {} unreadable: {}", path, exc)
            return None
        _readers.clear()
        _readers[key] = reader
    return reader


def country_of(settings: Settings, address: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of `address`, or None (no database, unknown, private)."""
    path = database_path(settings)
    if path is None or not address:
        return None
    reader = _reader(path)
    if reader is None:
        return None
    try:
        record = reader.get(address)
    except ValueError:
        return None  # not an IP address (a test client's "testclient", say)
    if not isinstance(record, dict):
        return None
    for part in ("country", "registered_country"):
        code = (record.get(part) or {}).get("iso_code")
        if isinstance(code, str) and len(code) == 2 and code.isalpha():
            return code.upper()
    return None
