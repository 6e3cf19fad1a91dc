"""The client's address behind a reverse proxy: `X-Forwarded-For`, trusted only from the
proxies named in `server.trusted_proxies`.

A request whose direct peer is a trusted proxy gets, as `scope["client"]`, the last address in
`X-Forwarded-For` that is not itself a trusted proxy (each proxy appends the address it saw, so
the addresses to the right of the first untrusted one were written by our proxies, and what is
to its left the client could have made up). Everything that counts or records addresses (rate
limits, the sign-in lock, devices, GeoIP, login history) then sees the real client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> list[Network]:
    """CIDRs or single addresses; ValueError names the first bad one."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {value!r}") from None
    return networks


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(peer: str, header: str, networks: Sequence[Network]) -> str:
    """The client address for a request from `peer` carrying `X-Forwarded-For: header`."""
    if not _trusted(peer, networks):
        return peer
    for hop in reversed([part.strip() for part in header.split(",") if part.strip()]):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage where an address should be: keep what we know
    return peer


class TrustedProxies:
    """ASGI middleware: rewrites `scope["client"]` for requests from trusted proxies."""

    def __init__(self, app: ASGIApp, networks: Sequence[Network]) -> None:
        self.app = app
        self.networks = list(networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.networks and scope.get("client"):
            peer, port = scope["client"]
            header = b",".join(
                value for name, value in scope.get("headers", []) if name == b"x-forwarded-for"
            ).decode("latin-1")
            if header:
                client = forwarded_client(peer, header, self.networks)
                if client != peer:
                    scope = {**scope, "client": (client, port)}
        await self.app(scope, receive, send)
