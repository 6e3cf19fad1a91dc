"""core.proxies: X-Forwarded-For counts only when it comes from a trusted proxy."""

from __future__ import annotations

import pytest

from core.config import ConfigError, Settings, validate
from core.proxies import forwarded_client, parse_networks

TRUSTED = parse_networks(["127.0.0.1", "10.0.0.0/8", "::1"])


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        # Straight from a client: its header is ignored, whatever it says.
        ("203.0.113.7", "1.2.3.4", "203.0.113.7"),
        # From our proxy: the address it saw.
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        # A client that forges a first hop: the proxy appended the real one.
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        # Two proxies of ours in a row.
        ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),
        ("::1", "2001:db8::9", "2001:db8::9"),
        # Nothing usable: the peer.
        ("127.0.0.1", "10.0.0.1", "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
        ("127.0.0.1", " , ", "127.0.0.1"),
    ],
)
def test_forwarded_client(peer: str, header: str, client: str) -> None:
    assert forwarded_client(peer, header, TRUSTED) == client


def test_bad_networks_are_a_config_error(settings: Settings) -> None:
    with pytest.raises(ConfigError) as refused:
        validate(settings.replace(server={"trusted_proxies": ("10.0.0.0/8", "proxy.local")}))
    assert refused.value.key == "server.trusted_proxies"
    assert "proxy.local" in str(refused.value)
