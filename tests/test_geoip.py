"""core.geoip: countries from a local MaxMind-format file; nothing when there is none."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from core.config import ConfigError, Settings
from core.geoip import check, country_of
from tests.geoip_support import write_country_db


def with_geoip(settings: Settings, database: str) -> Settings:
    return dataclasses.replace(settings, extra={**settings.extra, "geoip": {"database": database}})


def test_countries_of_addresses(settings: Settings) -> None:
    write_country_db(settings.data_dir / "countries.mmdb")
    configured = with_geoip(settings, "countries.mmdb")  # relative to the data directory
    check(configured)
    assert country_of(configured, "203.0.113.9") == "JP"
    assert country_of(configured, "2001:db8::5") == "DE"
    assert country_of(configured, "8.8.8.8") is None
    assert country_of(configured, "testclient") is None
    assert country_of(configured, "") is None
    assert country_of(configured, None) is None


def test_without_a_database_every_lookup_is_none(settings: Settings) -> None:
    check(settings)
    assert country_of(settings, "203.0.113.9") is None


def test_an_unreadable_database_stops_start_up(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as missing:
        check(with_geoip(settings, str(tmp_path / "none.mmdb")))
    assert missing.value.key == "geoip.database"
    (tmp_path / "junk.mmdb").write_bytes(b"not a database")
    with pytest.raises(ConfigError):
        check(with_geoip(settings, str(tmp_path / "junk.mmdb")))


def test_a_replaced_file_is_read_afresh(settings: Settings, tmp_path: Path) -> None:
    path = write_country_db(tmp_path / "c.mmdb")
    configured = with_geoip(settings, str(path))
    assert country_of(configured, "203.0.113.9") == "JP"
    write_country_db(path, {"203.0.113.0/24": "KR"})
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))
    assert country_of(configured, "203.0.113.9") == "KR"
