"""A small MaxMind-format country database for tests, written with mmdb-writer."""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

COUNTRIES = {"203.0.113.0/24": "JP", "198.51.100.0/24": "FR", "2001:db8::/32": "DE"}


def write_country_db(path: Path, countries: dict[str, str] = COUNTRIES) -> Path:
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-Country", ipv4_compatible=True)
    for network, code in countries.items():
        writer.insert_network(IPSet([network]), {"country": {"iso_code": code}})
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path
