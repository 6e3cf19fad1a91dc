"""The raw SignalR MessagePack client of the tests: `core.testing.HubClient`, whose home is the
installed pytest plugin so plugin authors have it too."""

from core.testing import HANDSHAKE, HubClient

__all__ = ["HANDSHAKE", "HubClient"]
