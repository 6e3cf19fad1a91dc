"""Spectator hub: play sessions, frames relayed to watchers on any worker, and the replays
built from those frames once the score is submitted (ppy/osu-server-spectator
Hubs/Spectator/SpectatorHub.cs, Hubs/ScoreUploader.cs)."""

from __future__ import annotations

from typing import Any

from core.config import Section
from core.hooks import hookimpl
from core.services import services
from plugins.spectator import buffer
from plugins.spectator.hub import SpectatorHub


@hookimpl
def hubs() -> list[type[SpectatorHub]]:
    return [SpectatorHub]


@hookimpl
async def score_processed(app: Any, score: Any) -> None:
    host = services(app).hubs.get(SpectatorHub.name)
    if host is not None and isinstance(host.hub, SpectatorHub):
        await host.hub.score_processed(score)


@hookimpl
def settings_sections() -> list[Section]:
    return [buffer.SECTION]
