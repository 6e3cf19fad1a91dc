"""Realtime multiplayer: the `multiplayer` SignalR hub (ppy/osu IMultiplayerServer.cs).

Room state lives in the cache under a lock per room, so members connected to different workers
play in the same room; rooms also exist as database rows for the HTTP API (plugins/api_v2/rooms).
"""

from __future__ import annotations

from core.config import Section
from core.hooks import hookimpl
from core.signalr import Hub
from plugins.multiplayer import hub
from plugins.multiplayer.hub import MultiplayerHub


@hookimpl
def hubs() -> list[type[Hub]]:
    return [MultiplayerHub]


@hookimpl
def settings_sections() -> list[Section]:
    return [hub.SECTION]
